"""Helpers shared by the Python tests (each test script imports this file from tests/).

skip(reason): a test that cannot run here says why and exits with 77, which CTest reports as
skipped (SKIP_RETURN_CODE). Under EIDETIC_STRICT=1 a skip is a failure instead (exit 1): CI
sets it for every test that can run without a GPU, so a missing reference library or asset
folder cannot pass unnoticed.
"""
import os
import sys

SKIP = 77


def strict():
    return os.environ.get("EIDETIC_STRICT", "") not in ("", "0")


def skip(reason):
    if strict():
        print(f"FAIL: EIDETIC_STRICT=1 and this test would skip: {reason}", flush=True)
        sys.exit(1)
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)
