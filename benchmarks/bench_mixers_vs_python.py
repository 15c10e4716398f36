#!/usr/bin/env python3
"""Our batch mixers against a plain copy and against timm's and torchvision's, on the same batches, in one run.

Runs build/benchmarks/bench_mixers (Google Benchmark, JSON out), then times timm 1.0's Mixup (mixup-only and
cutmix-only modes) and torchvision.transforms.v2's MixUp and CutMix on the same shapes (128×3×32×32 and
64×3×224×224, float32, 10 classes) with the same intra-op thread count, each the median of repeated calls.
Prints, per shape: our time and bytes/s, our speed as a fraction of the copy's (goal >= 0.5), and each
anchor's time divided by ours (> 1: ours is faster).

    .venv/bin/python benchmarks/bench_mixers_vs_python.py [--bench build/benchmarks/bench_mixers] [--threads N]
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch


def median_seconds(fn, min_time=1.0, min_reps=5):
    fn()  # warm-up
    times, start = [], time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def anchors(b, size, classes=10):
    from timm.data import Mixup
    from torchvision.transforms import v2

    x = torch.randn(b, 3, size, size)
    y = torch.randint(0, classes, (b,))
    timm_mixup = Mixup(mixup_alpha=1.0, cutmix_alpha=0.0, prob=1.0, mode="batch", label_smoothing=0.0,
                       num_classes=classes)
    timm_cutmix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, prob=1.0, mode="batch", label_smoothing=0.0,
                        num_classes=classes)
    tv_mixup = v2.MixUp(alpha=1.0, num_classes=classes)
    tv_cutmix = v2.CutMix(alpha=1.0, num_classes=classes)
    # timm mixes in place: each call gets a fresh copy, whose cost is timed separately and subtracted.
    copy = median_seconds(lambda: x.clone())
    return {
        "copy": copy,
        ("Mixup", "timm"): median_seconds(lambda: timm_mixup(x.clone(), y)) - copy,
        ("CutMix", "timm"): median_seconds(lambda: timm_cutmix(x.clone(), y)) - copy,
        ("Mixup", "torchvision"): median_seconds(lambda: tv_mixup(x, y)),
        ("CutMix", "torchvision"): median_seconds(lambda: tv_cutmix(x, y)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default="build/benchmarks/bench_mixers")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--min-time", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run([args.bench, "--benchmark_format=json", f"--benchmark_min_time={args.min_time}"],
                         check=True, capture_output=True, text=True, env=env).stdout
    ours = {}
    for bm in json.loads(out)["benchmarks"]:
        name, b, size = bm["name"].split("/")[:3]
        ours[(name[3:], int(b), int(size))] = (bm["real_time"] * 1e-6, bm.get("bytes_per_second", 0.0))
    print(f"threads {args.threads}, torch {torch.__version__}")
    for b, size in [(128, 32), (64, 224)]:
        a = anchors(b, size)
        copy_t = ours[("Copy", b, size)][0]
        print(f"\n{b}×3×{size}×{size} float32 ({b * 3 * size * size * 4 / 2**20:.1f} MiB): copy {copy_t * 1e3:.3f} ms "
              f"(Python clone {a['copy'] * 1e3:.3f} ms)")
        print(f"  {'method':24} {'ours ms':>9} {'GB/s':>7} {'x copy':>7} {'timm/ours':>10} {'tv/ours':>8}")
        for name in ["None", "Mixup", "Cutout", "CutMix", "AttentiveCutMix", "AttentionCacheLookup"]:
            t, bps = ours[(name, b, size)]
            timm = a.get((name, "timm"))
            tv = a.get((name, "torchvision"))
            print(f"  {name:24} {t * 1e3:9.3f} {bps / 1e9:7.2f} {copy_t / t:7.2f} "
                  f"{(f'{timm / t:10.2f}' if timm else ' ' * 10)} {(f'{tv / t:8.2f}' if tv else '')}")


if __name__ == "__main__":
    main()
