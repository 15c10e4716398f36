"""Mixup and CutMix outputs of timm and torchvision on one batch, for tests/augment/test_cross_checks.cpp.

Writes OUT/mix.safetensors holding the input batch, its labels and, for each anchor, the mixed images and soft
targets. The C++ side recovers the pairing (timm: the batch flipped; torchvision: rolled by one), λ (from the
targets) and the box (from the pixels that changed), runs our mixers with them and compares element for element.
"""
import os
import sys

import numpy as np
import torch
from timm.data.mixup import Mixup
from torchvision.transforms import v2

sys.path.insert(0, sys.argv[2])
from convert_torchvision import write_safetensors  # noqa: E402

out = sys.argv[1]
K, B = 10, 8
torch.manual_seed(0)
np.random.seed(0)
x = torch.randn(B, 3, 16, 20)
y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])  # distinct labels: λ can be read off the targets
t = {"input": x, "labels": y}

m = Mixup(mixup_alpha=1.0, cutmix_alpha=0.0, prob=1.0, mode="batch", label_smoothing=0.0, num_classes=K)
xi, ti = m(x.clone(), y.clone())
t["timm_mixup/images"], t["timm_mixup/targets"] = xi, ti
m = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, prob=1.0, mode="batch", label_smoothing=0.0, num_classes=K)
xi, ti = m(x.clone(), y.clone())
t["timm_cutmix/images"], t["timm_cutmix/targets"] = xi, ti

xi, ti = v2.MixUp(alpha=1.0, num_classes=K)(x.clone(), y.clone())
t["tv_mixup/images"], t["tv_mixup/targets"] = xi, ti
xi, ti = v2.CutMix(alpha=1.0, num_classes=K)(x.clone(), y.clone())
t["tv_cutmix/images"], t["tv_cutmix/targets"] = xi, ti

write_safetensors(os.path.join(out, "mix.safetensors"), t, {"timm": __import__("timm").__version__})
