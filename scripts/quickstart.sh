#!/usr/bin/env bash
# scripts/quickstart.sh: the main job. Installs what is missing, builds, and runs the
# memorization lab (`eidetic quickstart`): it plants items in a corpus, trains a model on it,
# attacks the model, and prints where the report is. Arguments go to `eidetic quickstart`
# (e.g. --out DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" >&2
cd "$ROOT"
"$BUILD_DIR/eidetic" quickstart "$@"
