#!/usr/bin/env python3
"""Training step time of Attentive CutMix (extractor pass per batch, and attention cache) over CutMix's, on the
same model, data and batch, in one run.

Each variant trains configs/fashion-mnist-attentive.json's model (ResNet-18 of width 16, batch 128, channels
last) for one epoch over --per-class training images per class, with mixing on every batch (CutMix prob 1);
the extractor is the README's reference run (runs/fmnist). Variants alternate, --reps times, each in a fresh
process. The step time is the epoch's training seconds over its steps (evaluation and the cache's one-off
build excluded; the build is reported on its own).

    .venv/bin/python benchmarks/bench_attentive_step.py [--harness build/bin/harness] [--reps 3] [--device cuda]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile

VARIANTS = {
    "cutmix": ["mix={\"method\": \"cutmix\", \"prob\": 1.0}"],
    "attentive (per-batch extractor pass)": ["mix.cache=false"],
    "attentive (attention cache)": ["mix.cache=true"],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--harness", default="build/bin/harness")
    ap.add_argument("--config", default="configs/fashion-mnist-attentive.json")
    ap.add_argument("--extractor", default="runs/fmnist")
    ap.add_argument("--per-class", type=int, default=600)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu, cuda (all variants)")
    ap.add_argument("--set", action="append", default=[], help="more --set overrides for every variant")
    args = ap.parse_args()
    times = {k: [] for k in VARIANTS}
    builds = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for name, sets in VARIANTS.items():
                out = os.path.join(tmp, f"{rep}-{len(times[name])}-{name.split()[0]}-{len(sets[0])}")
                cmd = [args.harness, "train", "--config", args.config, "--out", out, "--quiet",
                       "--set", "epochs=1", "--set", f"dataset.subset.train={args.per_class}",
                       "--set", f"mix.extractor.path={args.extractor}", "--set", f"device={args.device}"]
                for s in sets + args.set:
                    cmd += ["--set", s]
                subprocess.run(cmd, check=True)
                r = json.load(open(os.path.join(out, "result.json")))
                e = r["epochs"][0]
                steps = (args.per_class * 10) // r["config"]["batch_size"]
                times[name].append(e["seconds"] / steps)
                if "cache_build_seconds" in r.get("attention", {}):
                    builds.append(r["attention"]["cache_build_seconds"])
                print(f"rep {rep + 1}: {name:40} {1e3 * times[name][-1]:8.1f} ms/step", flush=True)
    base = statistics.median(times["cutmix"])
    print(f"\n{'variant':40} {'ms/step (median)':>17} {'x CutMix':>9}")
    for name, t in times.items():
        print(f"{name:40} {1e3 * statistics.median(t):17.1f} {statistics.median(t) / base:9.3f}")
    if builds:
        print(f"attention cache build: {statistics.median(builds):.1f} s for {args.per_class * 10} images "
              f"(once per run and extractor)")


if __name__ == "__main__":
    main()
