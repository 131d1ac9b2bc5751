#!/usr/bin/env bash
# bench/gpu/run.sh: the one prepared script for a lent GPU machine (H100/H200).
#
# Builds Eidetic against the machine's torch (/opt/torch/.venv), runs the `gpu` tests (then the
# `cpu` ones, which are quick), and the kernel benchmarks, writing every log under $OUT. It
# prints a short summary last. Designed to finish in well under 8 minutes on 16 cores.
# Usage on the device: bash bench/gpu/run.sh
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${OUT:-$ROOT/out/gpu}"
mkdir -p "$OUT"
PY="${EIDETIC_PYTHON:-/opt/torch/.venv/bin/python3}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu}"
start=$(date +%s)

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  echo "commit: $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

echo "== build" >&2
BUILD_DIR="$BUILD_DIR" EIDETIC_PYTHON="$PY" JOBS="$(nproc)" \
  CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90 -DEIDETIC_PYTHON_FOR_TESTS=$PY ${CMAKE_ARGS:-}" \
  bash "$ROOT/scripts/build.sh" >"$OUT/build.log" 2>&1
build_rc=$?
tail -5 "$OUT/build.log"
if ((build_rc != 0)); then
  echo "build failed (rc $build_rc); see build.log" >&2
  exit "$build_rc"
fi

echo "== gpu tests" >&2
(cd "$BUILD_DIR" && ctest -L gpu --output-on-failure -j 4) >"$OUT/tests-gpu.log" 2>&1
gpu_rc=$?
echo "== cpu tests" >&2
(cd "$BUILD_DIR" && ctest -L cpu --output-on-failure -j 8) >"$OUT/tests-cpu.log" 2>&1
cpu_rc=$?

echo "== kernel benchmarks" >&2
"$BUILD_DIR/bench/kernels_bench" --benchmark_min_time=0.2 \
  --benchmark_out="$OUT/kernels_bench.json" --benchmark_out_format=json \
  >"$OUT/kernels_bench.txt" 2>&1
bench_rc=$?

echo
echo "== summary ($(($(date +%s) - start)) s)"
grep -E "tests passed|tests failed" "$OUT/tests-gpu.log" | sed 's/^/gpu: /'
grep -E "tests passed|tests failed" "$OUT/tests-cpu.log" | sed 's/^/cpu: /'
grep -E "^(argmax|match)_cuda" "$OUT/kernels_bench.txt"
exit $((gpu_rc || cpu_rc || bench_rc))
