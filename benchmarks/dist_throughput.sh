#!/usr/bin/env bash
# Training throughput of `harness train` at 1 and 2 ranks on this machine: one epoch of the main job's recipe
# (configs/fashion-mnist-resnet18w16.json: ResNet-18 of width 16 on Fashion-MNIST, global batch 128) with the
# machine's cores split evenly (1 rank × CORES threads, 2 ranks × CORES/2 threads). Prints each run's training
# images/s (from result.json) and the ratio. SUBSET=N trains on N images per class (default 1000: 10 000
# images, 78 steps).
#
#   benchmarks/dist_throughput.sh [OUT_DIR]     (default runs/dist-throughput; reruns replace it)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/dist-throughput}
cores=${CORES:-$(nproc)}
subset=${SUBSET:-1000}
rm -rf "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for ranks in 1 2; do
  threads=$((cores / ranks > 0 ? cores / ranks : 1))
  echo "== $ranks rank(s) × $threads thread(s)"
  mpirun --oversubscribe --bind-to none -np "$ranks" -x OMP_NUM_THREADS="$threads" \
    build/bin/harness train --config configs/fashion-mnist-resnet18w16.json --out "$out/np$ranks" --quiet \
    --set epochs=1 --set threads="$threads" --set loader_threads=0 \
    --set dataset.subset.mode=per_class --set dataset.subset.train="$subset" --set dataset.subset.test=100
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = {n: json.load(open(f"{out}/np{n}/result.json")) for n in (1, 2)}
for n, j in r.items():
    e = j["epochs"][0]
    t = j["timing"]
    print(f"{n} rank(s): {e['images_per_s']:8.1f} img/s  (epoch {e['seconds']:.1f} s, communication "
          f"{t['communication']:.1f} s, test top-1 {e['test_top1']:.2f} %)")
print(f"2 ranks / 1 rank: {r[2]['epochs'][0]['images_per_s'] / r[1]['epochs'][0]['images_per_s']:.2f}")
PY
