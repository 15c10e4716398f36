#!/usr/bin/env bash
# The all-reduce across two nodes over TCP beside one node's shared memory: bench_allreduce (nccl-tests'
# columns, then the reducer on a ResNet-18's gradients and one step) run twice, 2 ranks each:
#   1. one node, shared memory (Open MPI's vader), as benchmarks in docs/benchmarks.md;
#   2. two simulated nodes (tests/cluster/simnodes: network namespaces on a bridge), one rank per node, TCP.
# Needs root (namespaces). Usage: benchmarks/allreduce_nodes.sh [BUILD_DIR] [WIDTH]   (build, 16)
#
# Both runs set mpi_yield_when_idle: on a machine with fewer spare cores than busy-polling ranks, the kernel's
# network processing between namespaces (softirqs) waits for a scheduler tick, about 4 ms a message here;
# a real node handles its NIC's interrupts on cores the ranks leave free.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build}
WIDTH=${2:-16}
SIM=$ROOT/tests/cluster/simnodes
BENCH=$BUILD/benchmarks/bench_allreduce
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$SIM" check
CLUSTER=bar$$
TMP=$(mktemp -d)
trap '"$SIM" down "$CLUSTER"; rm -rf "$TMP"' EXIT
"$SIM" up "$CLUSTER" 2
NET=$("$SIM" subnet "$CLUSTER")
printf 'n1 slots=1\nn2 slots=1\n' >"$TMP/hosts"
common=(--mca mpi_yield_when_idle 1 -x OMP_NUM_THREADS=1 -np 2 "$BENCH" --max-bytes 33554432 --width "$WIDTH")
echo "## one node, 2 ranks, shared memory"
mpirun --allow-run-as-root --mca btl self,vader "${common[@]}"
echo
echo "## two simulated nodes, 1 rank each, TCP over a bridge"
ACM_SIMNODES=$CLUSTER "$SIM" exec "$CLUSTER" n1 mpirun --allow-run-as-root --hostfile "$TMP/hosts" \
  --mca plm_rsh_agent "$SIM agent" --mca btl self,tcp --mca btl_tcp_if_include "$NET" \
  --mca oob_tcp_if_include "$NET" "${common[@]}"
