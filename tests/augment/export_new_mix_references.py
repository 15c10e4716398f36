"""References for SaliencyMix, FMix and ResizeMix, for tests/anchors/test_cross_checks.cpp (NewMixers).

Writes OUT/newmix.safetensors. Each reference is independent of our C++ and of LibTorch's kernels:

- saliency: the spectral-residual saliency map (Hou and Zhang, CVPR 2007) in NumPy, step by step as OpenCV's
  StaticSaliencySpectralResidual computes it (the SaliencyMix reference code's choice): grey (cv2 BGR2GRAY
  weights on the tensor's channels as the reference code passes them), bilinear resize (half-pixel centres) to
  64x64, log amplitude minus its 3x3 mean (reflect-101 border), inverse DFT with the original phase, 5x5 Gaussian
  (sigma 8) of the magnitude, squared, divided by its maximum, resized back.
- fmix: make_low_freq_image and binarise_mask of FMix's reference code (ecs-vlc/FMix, fmix.py), rewritten
  here in NumPy from it, fed normal draws made here; C++ reads the same draws.
- resizemix: the donor resized with torchvision's resize (bilinear, antialias) and pasted into a box.
"""
import os
import sys

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

sys.path.insert(0, sys.argv[2])
from convert_torchvision import write_safetensors  # noqa: E402

out = sys.argv[1]
rng = np.random.default_rng(0)


def resize_bilinear(a, h, w):
    """Bilinear with half-pixel centres and edge clamping, no antialiasing (cv2.INTER_LINEAR)."""
    H, W = a.shape

    def axis(n_out, n_in):
        s = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        s = np.clip(s, 0, None)
        i0 = np.minimum(np.floor(s).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        f = s - i0
        return i0, i1, f

    y0, y1, fy = axis(h, H)
    x0, x1, fx = axis(w, W)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def blur(a, taps):
    r = len(taps) // 2
    p = np.pad(a, r, mode="reflect")  # numpy's reflect is OpenCV's BORDER_REFLECT_101
    rows = sum(taps[k] * p[k:k + a.shape[0], :] for k in range(len(taps)))
    return sum(taps[k] * rows[:, k:k + a.shape[1]] for k in range(len(taps)))


def spectral_residual(img):  # img: C x H x W
    C, H, W = img.shape
    grey = 0.114 * img[0] + 0.587 * img[1] + 0.299 * img[2] if C == 3 else img[0]
    g = resize_bilinear(grey.astype(np.float64), 64, 64)
    spec = np.fft.fft2(g)
    log_amp = np.log(np.maximum(np.abs(spec), 1e-300))
    residual = log_amp - blur(log_amp, np.full(3, 1 / 3))
    back = np.fft.ifft2(np.exp(residual) * np.exp(1j * np.angle(spec)))
    taps = np.exp(-((np.arange(5) - 2) ** 2) / (2 * 8.0 ** 2))
    m = blur(np.abs(back), taps / taps.sum()) ** 2
    m /= m.max()
    return resize_bilinear(m, H, W)


t = {}
# Saliency: one bright blob over faint (even images) or strong (odd images) noise, and plain noise; 3 and 1
# channels. A blob over an exactly flat background is no test: its spectrum has coefficients at rounding level,
# whose logarithms no two FFTs agree on.
imgs = []
for k in range(4):
    H, W = 28, 32
    yy, xx = np.mgrid[0:H, 0:W]
    cy, cx = rng.integers(4, H - 4), rng.integers(4, W - 4)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6.0)
    noise = 0.3 if k % 2 else 0.03
    imgs.append(noise * rng.standard_normal((3, H, W)) + blob[None] * np.array([1.0, 0.8, 0.6])[:, None, None])
x3 = np.stack(imgs).astype(np.float32)
t["sal/input3"] = torch.from_numpy(x3)
t["sal/map3"] = torch.from_numpy(np.stack([spectral_residual(i.astype(np.float64)) for i in x3]))
x1 = rng.standard_normal((2, 1, 20, 24)).astype(np.float32)
t["sal/input1"] = torch.from_numpy(x1)
t["sal/map1"] = torch.from_numpy(np.stack([spectral_residual(i.astype(np.float64)) for i in x1]))


def fftfreqnd(h, w):
    fy = np.expand_dims(np.fft.fftfreq(h), -1)
    fx = np.fft.fftfreq(w)[: w // 2 + 2] if w % 2 == 1 else np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


def low_freq_image(param, decay, h, w):
    freqs = fftfreqnd(h, w)
    scale = np.ones(1) / (np.maximum(freqs, np.array([1.0 / max(w, h)])) ** decay)
    spectrum = scale[..., None] * param
    mask = np.real(np.fft.irfftn(spectrum[..., 0] + 1j * spectrum[..., 1], (h, w)))
    mask = mask - mask.min()
    return mask / mask.max()


def binarise(mask, keep):  # 1 on the recipient's `keep` highest pixels, as fmix.binarise_mask with max_soft 0
    idx = mask.reshape(-1).argsort()[::-1]
    m = np.zeros(mask.size)
    m[idx[:keep]] = 1
    return m.reshape(mask.shape)


for name, (h, w, decay, kappa) in {"even": (32, 32, 3.0, 0.37), "odd": (27, 29, 3.0, 0.61), "flat": (16, 20, 1.5, 0.5)}.items():
    f = w // 2 + (2 if w % 2 else 1)
    param = rng.standard_normal((h, f, 2))
    grey = low_freq_image(param, decay, h, w)
    keep = int(np.ceil(kappa * h * w))
    t[f"fmix/{name}/param"] = torch.from_numpy(param)
    t[f"fmix/{name}/grey"] = torch.from_numpy(grey)
    t[f"fmix/{name}/recipient"] = torch.from_numpy(binarise(grey, keep).astype(np.float32))
    t[f"fmix/{name}/meta"] = torch.tensor([h, w, keep], dtype=torch.int64)
    t[f"fmix/{name}/decay"] = torch.tensor([decay], dtype=torch.float64)

# ResizeMix: batch of 4, partner = rolled by one, box (y0, y1, x0, x1).
x = torch.from_numpy(rng.standard_normal((4, 3, 24, 20)).astype(np.float32))
box = (5, 5 + 11, 3, 3 + 9)
mixed = x.clone()
donor = x.roll(1, 0)
mixed[:, :, box[0]:box[1], box[2]:box[3]] = F.resize(donor, [box[1] - box[0], box[3] - box[2]], antialias=True)
t["resize/input"], t["resize/images"] = x, mixed
t["resize/box"] = torch.tensor(box, dtype=torch.int64)

write_safetensors(os.path.join(out, "newmix.safetensors"), t, {"numpy": np.__version__})
