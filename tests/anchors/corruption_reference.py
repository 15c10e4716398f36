"""The seven corruptions at severity 3, written in NumPy/PIL/SciPy from the CIFAR-10-C definitions
(Hendrycks and Dietterich, ICLR 2019, make_cifar_c.py), for tests/anchors/test_corruption_anchor.cpp.

Writes OUT/corruptions.safetensors: for a colour image (3x32x32) and a grey one (1x28x28), both 8-bit as data
sets store them, the input in [0, 1], the random draws the C++ side is fed (standard normal noise, Poisson
counts), and each corruption's output. Where the published code uses skimage (not in the venv), the same
operation is written here: gaussian = scipy.ndimage.gaussian_filter (what skimage calls, mode 'nearest',
truncate 4), rgb2hsv/hsv2rgb = the standard library's colorsys per pixel.
"""
import colorsys
import io
import os
import sys

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

sys.path.insert(0, sys.argv[2])
from convert_torchvision import write_safetensors  # noqa: E402

out = sys.argv[1]
SEVERITY = 3
rng = np.random.default_rng(3)


def photo(c, h, w):
    """Smooth shapes with an edge and some texture: what blur, JPEG and pixelation change."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = [0.5 + 0.4 * np.sin(6 * xx + 2 * k) * np.cos(4 * yy - k) for k in range(c)]
    img = np.stack(base) + 0.15 * (xx > 0.5) + 0.05 * rng.standard_normal((c, h, w))
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def hwc(x):
    return np.ascontiguousarray(x.transpose(1, 2, 0))


def chw(x):
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def brightness(x, c):
    if x.shape[0] == 1:
        return np.clip(x + c, 0, 1)
    y = np.empty_like(x)
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
            y[:, i, j] = colorsys.hsv_to_rgb(h, s, min(v + c, 1.0))
    return y


def jpeg(x8, q):
    mode = "RGB" if x8.shape[0] == 3 else "L"
    img = Image.fromarray(hwc(x8) if mode == "RGB" else x8[0], mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    back = np.asarray(Image.open(buf)).astype(np.float64) / 255
    return chw(back) if mode == "RGB" else back[None]


def pixelate(x8, c):
    mode = "RGB" if x8.shape[0] == 3 else "L"
    img = Image.fromarray(hwc(x8) if mode == "RGB" else x8[0], mode)
    h, w = x8.shape[1:]
    img = img.resize((int(w * c), int(h * c)), Image.BOX).resize((w, h), Image.BOX)
    back = np.asarray(img).astype(np.float64) / 255
    return chw(back) if mode == "RGB" else back[None]


t = {}
for name, (c, h, w) in {"colour": (3, 32, 32), "grey": (1, 28, 28)}.items():
    x8 = photo(c, h, w)
    x = x8.astype(np.float64) / 255
    t[f"{name}/input"] = torch.from_numpy(x.astype(np.float32))
    noise = rng.standard_normal(x.shape)
    counts = rng.poisson(x * [500, 250, 100, 75, 50][SEVERITY - 1]).astype(np.float64)
    t[f"{name}/draws/gaussian_noise"] = torch.from_numpy(noise.astype(np.float32))
    t[f"{name}/draws/shot_noise"] = torch.from_numpy(counts.astype(np.float32))
    sigma = [0.4, 0.6, 0.7, 0.8, 1.0][SEVERITY - 1] * min(h, w) / 32
    m = x.mean(axis=(1, 2), keepdims=True)
    contrast = [0.75, 0.5, 0.4, 0.3, 0.15][SEVERITY - 1]
    results = {
        "gaussian_noise": x + noise * [0.04, 0.06, 0.08, 0.09, 0.10][SEVERITY - 1],
        "shot_noise": counts / [500, 250, 100, 75, 50][SEVERITY - 1],
        "gaussian_blur": gaussian_filter(x, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0),
        "contrast": (x - m) * contrast + m,
        "brightness": brightness(x, [0.05, 0.1, 0.15, 0.2, 0.3][SEVERITY - 1]),
        "jpeg": jpeg(x8, [80, 65, 58, 50, 40][SEVERITY - 1]),
        "pixelate": pixelate(x8, [0.95, 0.9, 0.85, 0.75, 0.65][SEVERITY - 1]),
    }
    for k, v in results.items():
        t[f"{name}/{k}"] = torch.from_numpy(np.clip(v, 0, 1).astype(np.float32))

write_safetensors(os.path.join(out, "corruptions.safetensors"), t, {"severity": str(SEVERITY)})
