#!/usr/bin/env bash
# scripts/sanitize.sh [CTEST ARGS...]: the `cpu` test suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (EIDETIC_SANITIZE=ON, in build-asan) and run. Any sanitizer report
# fails the test that made it, and so the script. Arguments are passed to ctest (default -L cpu).
# libtorch is not instrumented; its one-time allocations that live until exit are listed in
# scripts/lsan.supp so that a leak report names our code only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BUILD_DIR="${ASAN_BUILD_DIR:-$ROOT/build-asan}"
export CMAKE_ARGS="-DEIDETIC_SANITIZE=ON -DEIDETIC_CUDA=OFF -DEIDETIC_BUILD_BENCH=OFF ${CMAKE_ARGS:-}"
"$ROOT/scripts/setup.sh" --test
"$ROOT/scripts/build.sh"
export EIDETIC_PYTHON="${EIDETIC_PYTHON:-$ROOT/.venv/bin/python}"
# One test per core, counted before OMP_NUM_THREADS is set (GNU nproc reports it when set).
JOBS="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_odr_violation=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$BUILD_DIR"
(($#)) || set -- -L cpu
ctest --output-on-failure --no-tests=error -j "$JOBS" "$@"
