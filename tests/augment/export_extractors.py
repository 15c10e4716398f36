#!/usr/bin/env python3
"""TorchScript extractors for the Attentive CutMix tests, written by the venv's torch into OUT_DIR.

  blockmean.pt    features = 4×4 average pooling of the image: its heatmap is known for any input
  pointwise.pt    a bias-free 1×1 convolution then ReLU: commutes with shifts and flips (the cache test)
  flat.pt         returns B×K (not a feature map)       tuple.pt   returns a tuple
  pool1.pt        a 1×1 map (no spatial information)    rgb.pt     a 3×3 convolution over 3 channels
  resnet18.pt     torchvision's ResNet-18 up to layer4 (seeded random weights), and resnet18_io.safetensors
                  with an input batch and the channel mean of its feature map computed here
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, sys.argv[2])  # scripts/, for the safetensors writer
from convert_torchvision import write_safetensors  # noqa: E402

out = sys.argv[1]
torch.manual_seed(0)


class BlockMean(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 4)


class Pointwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, 0.5, 2.0]).view(3, 1, 1, 1))

    def forward(self, x):
        return F.relu(self.conv(x))


class Flat(nn.Module):
    def forward(self, x):
        return x.flatten(1)


class Tuple(nn.Module):
    def forward(self, x):
        return x, x


class Pool1(nn.Module):
    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 1)


for name, module in [("blockmean", BlockMean()), ("pointwise", Pointwise()), ("flat", Flat()),
                     ("tuple", Tuple()), ("pool1", Pool1()), ("rgb", nn.Conv2d(3, 4, 3, padding=1))]:
    torch.jit.save(torch.jit.script(module.eval()), os.path.join(out, name + ".pt"))

net = torchvision.models.resnet18(weights=None).eval()
body = nn.Sequential(*list(net.children())[:-2]).eval()
torch.jit.save(torch.jit.script(body), os.path.join(out, "resnet18.pt"))
x = torch.randn(3, 3, 64, 64)
with torch.no_grad():
    heat = body(x).mean(1)
write_safetensors(os.path.join(out, "resnet18_io.safetensors"), {"input": x, "heatmap": heat}, {})
print("ok")
