#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of fuzz/ (clang, with
# AddressSanitizer and UndefinedBehaviorSanitizer), writes their seed corpora and runs each
# target for SECONDS (default 60). A crash, a leak, a sanitizer report, an input that takes
# more than 30 s or a run over 2 GiB fails the script; the input that did it is kept under
# build-fuzz/artifacts/TARGET/ and the target's log under build-fuzz/logs/. The corpus each run
# grows is kept in build-fuzz/corpus/TARGET, so later runs start where earlier ones stopped.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (targets run at once; default 1),
# FUZZ_SEED (libFuzzer's -seed: 0, the default, draws one; CI fixes it so that its runs repeat).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ccache hits across clones of the project (CI builds a fresh clone in another folder): paths
# under ROOT are hashed relative to it, and the working directory is left out of the hash.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${1:-60}"
shift || true
ALL=(safetensors llama2c_checkpoint npy megatron tokenizer model_config yaml_config challenge_csv gguf)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_EACH'" >&2; exit 2; }

"$ROOT/scripts/setup.sh" --fuzz
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  GENERATOR="Unix Makefiles"
  command -v ninja >/dev/null && GENERATOR=Ninja
  LAUNCHER=()
  command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT/fuzz" -B "$BUILD" -G "$GENERATOR" -DCMAKE_CXX_COMPILER=clang++ "${LAUNCHER[@]}" >/dev/null
fi
cmake --build "$BUILD" -j "$(nproc)"
rm -rf "$BUILD/seeds"
python3 "$ROOT/fuzz/make_seeds.py" "$BUILD/seeds"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$BUILD/logs"
failed=()
run_one() {
  local t="$1"
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t"
  local log="$BUILD/logs/$t.log"
  # -malloc_limit_mb: one allocation over 512 MiB from an input of at most 64 KiB is a defect
  # (every size read from a file is checked against the file before anything is allocated).
  if "$BUILD/${t}_fuzz" -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=512 \
      -max_len=65536 -print_final_stats=1 -seed="${FUZZ_SEED:-0}" -artifact_prefix="$BUILD/artifacts/$t/" \
      "$BUILD/corpus/$t" "$BUILD/seeds/$t" >"$log" 2>&1; then
    local runs
    runs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    echo "[fuzz] $t: ${SECONDS_EACH} s, $runs inputs, no defect"
  else
    echo "[fuzz] $t: FAILED; the end of $log:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}
JOBS="${FUZZ_JOBS:-1}"
for ((i = 0; i < ${#TARGETS[@]}; i += JOBS)); do
  pids=()
  for t in "${TARGETS[@]:i:JOBS}"; do
    [[ -x "$BUILD/${t}_fuzz" ]] || { echo "fuzz.sh: no fuzz target '$t' (targets: ${ALL[*]})" >&2; exit 2; }
    run_one "$t" & pids+=("$!:$t")
  done
  for p in "${pids[@]}"; do wait "${p%%:*}" || failed+=("${p#*:}"); done
done
if ((${#failed[@]})); then
  echo "[fuzz] failed: ${failed[*]}" >&2
  exit 1
fi
echo "[fuzz] all ${#TARGETS[@]} targets ran ${SECONDS_EACH} s each without a defect"
