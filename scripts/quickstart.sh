#!/usr/bin/env bash
# scripts/quickstart.sh: the main job. Installs what is missing, builds, and runs Eidetic.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" >&2
"$BUILD_DIR/eidetic" --version
"$BUILD_DIR/eidetic" --help
