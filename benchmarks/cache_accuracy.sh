#!/usr/bin/env bash
# What the attention cache costs in accuracy: Attentive CutMix on Fashion-MNIST with the cache off (a fresh
# extractor pass every batch, the paper's way) and on, 3 seeds each, on the budget of
# configs/fashion-mnist-attentive.json (ResNet-18 of width 16, 2000 training images per class, 3 epochs, random
# crops with padding 2 and flips). The extractor is the README's reference run (runs/fmnist).
#
#   benchmarks/cache_accuracy.sh [OUT_DIR]      (default runs/cache-study; finished runs are kept and skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/cache-study}
extractor=${EXTRACTOR:-runs/fmnist}
if [[ ! -f $extractor/checkpoint.safetensors ]]; then
  echo "no extractor at $extractor: run the README's reference run first (or set EXTRACTOR=a run folder)" >&2
  exit 1
fi
for seed in 0 1 2; do
  for cache in false true; do
    run=$out/cache-$cache/seed$seed
    [[ -f $run/result.json ]] && continue
    echo "== cache $cache, seed $seed -> $run"
    build/bin/harness train --config configs/fashion-mnist-attentive.json --set seed=$seed --set mix.cache=$cache \
      --set mix.extractor.path="$extractor" --out "$run" --quiet
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys, glob
out = sys.argv[1]
print(f"{'cache':6} {'seeds':>5} {'best top-1 (mean ± sd)':>24} {'last top-1':>11} {'train s/epoch':>14} {'cache build s':>14}")
for cache in ("false", "true"):
    rs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/cache-{cache}/seed*/result.json"))]
    best = [r["final"]["best_test_top1"] for r in rs]
    last = [r["final"]["last_test_top1"] for r in rs]
    secs = [statistics.mean(e["seconds"] for e in r["epochs"]) for r in rs]
    build = [r["attention"].get("cache_build_seconds", 0.0) for r in rs]
    sd = statistics.stdev(best) if len(best) > 1 else 0.0
    print(f"{cache:6} {len(rs):5d} {statistics.mean(best):17.2f} ± {sd:4.2f} {statistics.mean(last):11.2f} "
          f"{statistics.mean(secs):14.1f} {statistics.mean(build):14.1f}")
PY
