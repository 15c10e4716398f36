"""torchvision's evaluation transform on one image file, the anchor for the ImageNet reader's geometry.

Usage: pil_reference.py IMAGE RESIZE SIZE OUT
Writes the 3 x SIZE x SIZE uint8 result of Resize(RESIZE) + CenterCrop(SIZE) on PIL's RGB decode to OUT.
"""
import sys

import numpy as np
from PIL import Image
from torchvision import transforms

path, resize, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
img = Image.open(path).convert("RGB")
img = transforms.CenterCrop(size)(transforms.Resize(resize)(img))
np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)).tofile(out)
