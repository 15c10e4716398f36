#!/usr/bin/env python3
"""JPEG folder reading, one thread each, on the same files: the harness's reader against torchvision.io and PIL.

For the evaluation crop (Resize(256) + CenterCrop(224)) and training's RandomResizedCrop(224), times
  - ours: build/benchmarks/bench_jpeg (the loader's path: read the file, decode only the crop's region at the
    DCT scale chosen by `decode_oversample`, resample as PIL), at oversample 2 (the default), 1 and 0 (full size);
  - torchvision.io: read_file + decode_jpeg, then transforms.v2 Resize + CenterCrop / RandomResizedCrop
    (antialiased bilinear) on the uint8 tensor;
  - PIL: Image.open + convert("RGB"), torchvision's transforms on the PIL image, then pil_to_tensor;
  - PIL with draft mode (the decoder's own DCT scaling, asked for the resize target or twice it), centre crop.
Every contender ends with the 3×224×224 uint8 image. After a warm-up pass each, --repeat rounds in which every
reader makes one pass over all files in turn; prints one table: each reader's median images/s, and ours divided
by each anchor's within a round (> 1: ours is faster), median over rounds and range.

The files: --folder DIR (every *.JPEG/*.jpg below it), or by default --count synthetic photo-like JPEGs made
here with PIL (quality 90, 4:2:0, ImageNet's common sizes 500×375 and 375×500 most often, up to 1024×768;
smooth fields, edges and grain for an ImageNet-like ~0.7 byte a pixel).

    .venv/bin/python benchmarks/bench_jpeg.py [--bench build/benchmarks/bench_jpeg] [--count 300] [--repeat 5]
"""
import argparse
import glob
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torchvision import io as tvio
from torchvision import transforms
from torchvision.transforms import functional as F
from torchvision.transforms import v2

SIZES = [(500, 375)] * 6 + [(375, 500)] * 3 + [(500, 333)] * 2 + [(500, 500), (640, 480), (800, 600), (1024, 768),
                                                                    (333, 500), (400, 300)]


def make_photo(rng, width, height):
    """Smooth colour fields at several scales, hard-edged shapes and grain."""
    img = np.zeros((height, width, 3), np.float32)
    for cells, amp in ((3, 70.0), (12, 35.0), (48, 18.0)):
        low = rng.normal(0, amp, (cells, cells, 3)).astype(np.float32)
        for c in range(3):
            plane = Image.fromarray(low[:, :, c]).resize((width, height), Image.BICUBIC)
            img[:, :, c] += np.asarray(plane)
    img += 128
    for _ in range(rng.integers(3, 9)):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1, y1 = x0 + rng.integers(10, width // 2), y0 + rng.integers(10, height // 2)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * 0.4 + rng.uniform(0, 255, 3) * 0.6
    img += rng.normal(0, 7.0, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def make_files(folder, count, seed=0):
    rng = np.random.default_rng(seed)
    files = []
    for i in range(count):
        w, h = SIZES[i % len(SIZES)]
        path = os.path.join(folder, f"img_{i:04d}.JPEG")
        make_photo(rng, w, h).save(path, quality=90, subsampling="4:2:0")
        files.append(path)
    return files


def one_pass(fn, files):
    t = time.perf_counter()
    for f in files:
        fn(f)
    return len(files) / (time.perf_counter() - t)


def python_readers(size=224, resize=256):
    torch.set_num_threads(1)
    centre_tv = v2.Compose([v2.Resize(resize, antialias=True), v2.CenterCrop(size)])
    rrc_tv = v2.RandomResizedCrop(size, antialias=True)
    centre_pil = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(size)])
    rrc_pil = transforms.RandomResizedCrop(size)

    def tv(t):
        return lambda f: t(tvio.decode_jpeg(tvio.read_file(f))).contiguous()

    def pil(t):
        return lambda f: F.pil_to_tensor(t(Image.open(f).convert("RGB")))

    def pil_draft(scale):
        def run(f):
            img = Image.open(f)
            w, h = img.size
            short = min(w, h)
            img.draft("RGB", (int(w * resize * scale / short), int(h * resize * scale / short)))
            return F.pil_to_tensor(centre_pil(img.convert("RGB")))
        return run

    return {
        ("center", "torchvision.io"): tv(centre_tv),
        ("center", "PIL"): pil(centre_pil),
        ("center", "PIL draft x2"): pil_draft(2),
        ("center", "PIL draft x1"): pil_draft(1),
        ("random_resized", "torchvision.io"): tv(rrc_tv),
        ("random_resized", "PIL"): pil(rrc_pil),
    }


def ours(bench, list_file, crop, oversample):
    """One timed pass after a warm-up pass, in a fresh process."""
    out = subprocess.run([bench, "--files", list_file, "--crop", crop, "--oversample", str(oversample),
                          "--repeat", "1"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["images_per_s"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", default="build/benchmarks/bench_jpeg")
    p.add_argument("--folder", help="JPEGs to read (default: synthetic ones made here)")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--repeat", type=int, default=5, help="rounds")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.folder:
            files = sorted(glob.glob(os.path.join(a.folder, "**", "*.JPEG"), recursive=True) +
                           glob.glob(os.path.join(a.folder, "**", "*.jpg"), recursive=True))
        else:
            files = make_files(tmp, a.count)
        list_file = os.path.join(tmp, "files.txt")
        with open(list_file, "w") as f:
            f.write("\n".join(files) + "\n")
        mean_px = statistics.mean(Image.open(f).size[0] * Image.open(f).size[1] for f in files)
        mean_kb = statistics.mean(os.path.getsize(f) for f in files) / 1024
        print(f"{len(files)} JPEGs, mean {mean_px / 1e3:.0f} kpixel, {mean_kb:.0f} KiB; one thread each; "
              f"{a.repeat} rounds; torch {torch.__version__}, PIL {Image.__version__}")
        # Rounds: every reader makes one pass per round, in turn, so that this VM's drifts hit all of them
        # alike; each ratio is taken within a round, and the medians over rounds are printed.
        readers = python_readers()
        for fn in readers.values():
            for f in files:
                fn(f)  # warm-up: page cache, allocators, lazy imports
        crops = ("center", "random_resized")
        rates = {}
        for _ in range(a.repeat):
            for crop in crops:
                for oversample in (2, 1, 0):
                    rates.setdefault((crop, f"ours, oversample {oversample}"), []).append(
                        ours(a.bench, list_file, crop, oversample))
            for key, fn in readers.items():
                rates.setdefault(key, []).append(one_pass(fn, files))
    print(f"{'crop':<15} {'reader':<22} {'images/s':>9}   ours (oversample 2, 1, 0) / it: median over rounds (range)")
    for crop in crops:
        mine = [rates[(crop, f"ours, oversample {o}")] for o in (2, 1, 0)]
        for o, r in zip((2, 1, 0), mine):
            print(f"{crop:<15} {'ours, oversample ' + str(o):<22} {statistics.median(r):9.1f}")
        for (c, name), r in rates.items():
            if c != crop or name.startswith("ours"):
                continue
            cells = []
            for m in mine:
                ratios = [x / y for x, y in zip(m, r)]
                cells.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
            print(f"{crop:<15} {name:<22} {statistics.median(r):9.1f}   " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
