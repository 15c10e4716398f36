"""Writes torchvision reference outputs for tests/models/test_torchvision_match.cpp (ResNet, DenseNet, EfficientNet).

For each architecture: a randomly initialised torchvision model (BatchNorm statistics and affine parameters
randomised too, so that eval mode exercises them), its state_dict as a .pth, the .safetensors the converter makes of
it, and an input with the model's eval-mode logits and feature map.
"""
import os
import subprocess
import sys

import torch
import torchvision

out, converter = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(converter))
from convert_torchvision import write_safetensors  # noqa: E402

torch.manual_seed(0)
for arch in sys.argv[3:]:
    model = getattr(torchvision.models, arch)(weights=None)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.0)
                m.bias.uniform_(-0.1, 0.1)
                m.num_batches_tracked.fill_(7)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        if arch.startswith("resnet"):
            feats = torch.nn.Sequential(*list(model.children())[:-2])(x)
        elif arch.startswith("densenet"):
            feats = torch.nn.functional.relu(model.features(x))  # DenseNet.forward applies it after features
        else:
            feats = model.features(x)
        logits = model(x)
    pth = os.path.join(out, f"{arch}.pth")
    torch.save(model.state_dict(), pth)
    subprocess.run([sys.executable, converter, pth, os.path.join(out, f"{arch}.safetensors"), "--arch", arch],
                   check=True)
    write_safetensors(os.path.join(out, f"{arch}-io.safetensors"),
                      {"input": x, "logits": logits, "features": feats}, {"arch": arch})
