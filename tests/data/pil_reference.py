"""torchvision's transforms on PIL's decode of image files, the anchor for the ImageNet reader's crops.

Usage: pil_reference.py JOBS
JOBS holds one job a line, either
    IMAGE OUT center RESIZE SIZE
    IMAGE OUT box TOP LEFT HEIGHT WIDTH SIZE
Each writes the 3 x SIZE x SIZE uint8 result to OUT: Resize(RESIZE) + CenterCrop(SIZE) (evaluation), or
resized_crop(TOP, LEFT, HEIGHT, WIDTH, SIZE) with bilinear antialiasing (what RandomResizedCrop applies to
the box it drew). One process for all jobs: importing torchvision costs more than the transforms.
"""
import sys

import numpy as np
from PIL import Image
from torchvision import transforms
from torchvision.transforms import functional as F

for line in open(sys.argv[1]):
    if not line.strip():
        continue
    path, out, mode, *rest = line.split()
    args = [int(a) for a in rest]
    img = Image.open(path).convert("RGB")
    if mode == "center":
        img = transforms.CenterCrop(args[1])(transforms.Resize(args[0])(img))
    else:
        top, left, height, width, size = args
        img = F.resized_crop(img, top, left, height, width, [size, size], transforms.InterpolationMode.BILINEAR)
    np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)).tofile(out)
