#!/usr/bin/env bash
# scripts/test.sh: the test command. Installs what is missing, builds, runs every test.
# `gpu` tests skip themselves on a machine without a CUDA device.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh" --test
"$ROOT/scripts/build.sh"
export EIDETIC_PYTHON="${EIDETIC_PYTHON:-$ROOT/.venv/bin/python}"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
