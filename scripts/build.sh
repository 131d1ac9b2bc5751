#!/usr/bin/env bash
# scripts/build.sh: configure (once) and build Eidetic against the venv's libtorch.
# Environment: BUILD_DIR (default build), EIDETIC_PYTHON (a python whose torch to use; default
# the project venv), CMAKE_ARGS (extra configure arguments), JOBS (default: all cores).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# ccache hits across clones of the project (CI builds a fresh clone in another folder): paths
# under ROOT are hashed relative to it, and the working directory is left out of the hash.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
PYTHON="${EIDETIC_PYTHON:-$ROOT/.venv/bin/python}"
JOBS="${JOBS:-$(nproc)}"

GENERATOR="Unix Makefiles"
command -v ninja >/dev/null && GENERATOR=Ninja
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  TORCH_PREFIX="$("$PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  # shellcheck disable=SC2086
  cmake -S "$ROOT" -B "$BUILD_DIR" -G "$GENERATOR" \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" \
    ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
