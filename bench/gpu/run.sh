#!/usr/bin/env bash
# bench/gpu/run.sh: the one prepared script for a lent GPU machine (H100/H200).
#
# Builds Eidetic against the machine's torch (/opt/torch/.venv), runs the `gpu` tests (then the
# `cpu` ones, which are quick), the kernel benchmarks, and the engine benchmark beside Hugging
# Face generate on the same card, writing every log under $OUT. It prints a short summary and
# the comparison table last. Designed to finish in under 8 minutes on 16 cores.
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
  CMAKE_ARGS="-DEIDETIC_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DEIDETIC_PYTHON_FOR_TESTS=$PY ${CMAKE_ARGS:-}" \
  bash "$ROOT/scripts/build.sh" >"$OUT/build.log" 2>&1
build_rc=$?
tail -5 "$OUT/build.log"
if ((build_rc != 0)); then
  echo "build failed (rc $build_rc); see build.log" >&2
  exit "$build_rc"
fi

echo "== gpu tests" >&2
# EIDETIC_STRICT=1: on this machine a skipped gpu test is a failure (a build without CUDA
# kernels, or a device the tests cannot see, must not read as "100% tests passed").
(cd "$BUILD_DIR" && EIDETIC_STRICT=1 ctest -L gpu --no-tests=error --output-on-failure -j 4) >"$OUT/tests-gpu.log" 2>&1
gpu_rc=$?
if grep -q "The following tests did not run" "$OUT/tests-gpu.log"; then gpu_rc=1; fi
echo "== cpu tests" >&2
(cd "$BUILD_DIR" && ctest -L cpu --output-on-failure -j 8) >"$OUT/tests-cpu.log" 2>&1
cpu_rc=$?

echo "== kernel benchmarks" >&2
"$BUILD_DIR/bench/kernels_bench" --benchmark_min_time=0.2 \
  --benchmark_out="$OUT/kernels_bench.json" --benchmark_out_format=json \
  >"$OUT/kernels_bench.txt" 2>&1
bench_rc=$?

echo "== engine benchmark (Eidetic, then Hugging Face, same card)" >&2
MODELS="${BENCH_MODELS:-gpt2-124m,pythia-160m,pythia-410m,pythia-1.4b}"
model_args=()
for m in ${MODELS//,/ }; do model_args+=(--model "$m"); done
timeout 240 "$BUILD_DIR/eidetic" bench --device cuda "${model_args[@]}" --batch-sizes 1024 --shapes 32+32,50+50 \
  --dtype bf16 --score --repeats 3 --json "$OUT/eidetic_bench.jsonl" >"$OUT/eidetic_bench.txt" 2>&1
engine_rc=$?
timeout 240 "$PY" "$ROOT/bench/hf_generate.py" --models "$MODELS" --batch 1024 --shapes 32+32,50+50 --dtype bf16 \
  --score --repeats 3 --json "$OUT/hf_bench.jsonl" >"$OUT/hf_bench.txt" 2>&1
hf_rc=$?
"$PY" "$ROOT/bench/compare.py" "$OUT/eidetic_bench.jsonl" "$OUT/hf_bench.jsonl" >"$OUT/compare.md" 2>&1

echo
echo "== summary ($(($(date +%s) - start)) s)"
for label in gpu cpu; do
  grep -E "tests passed|tests failed" "$OUT/tests-$label.log" | sed "s/^/$label: /"
  # Skipped and failed tests by name: a skip on the GPU machine is a failure of this script.
  sed -n '/The following tests did not run/,/^$/p;/The following tests FAILED/,/^$/p' "$OUT/tests-$label.log" |
    sed "s/^/$label: /"
done
echo "gpu tests rc $gpu_rc (skips count as failures), cpu tests rc $cpu_rc"
grep -E "^(argmax|match)_cuda" "$OUT/kernels_bench.txt"
echo "engine rc $engine_rc, hf rc $hf_rc"
cat "$OUT/compare.md"
exit $((gpu_rc || cpu_rc || bench_rc || engine_rc))
