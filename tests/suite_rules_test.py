"""The suite's own rules, checked so that they cannot erode unnoticed.

- Every CTest test carries the label `cpu` or `gpu` (scripts/test.sh and bench/gpu/run.sh
  select by label; an unlabelled test would run in neither selection).
- No GoogleTest suite calls GTEST_SKIP directly and no Python test exits 77 on its own: skips go
  through EIDETIC_SKIP (tests/test_util.h) and skip() (tests/testlib.py), which turn into
  failures under EIDETIC_STRICT=1.
Usage: suite_rules_test.py --source DIR --build DIR
"""
import argparse
import json
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    failures = []

    shown = subprocess.run(["ctest", "--show-only=json-v1"], cwd=args.build, capture_output=True, text=True, check=True)
    tests = json.loads(shown.stdout)["tests"]
    for t in tests:
        labels = next((p["value"] for p in t.get("properties", []) if p["name"] == "LABELS"), [])
        if not set(labels) & {"cpu", "gpu"}:
            failures.append(f"test {t['name']} has no cpu or gpu label (labels: {labels})")
    print(f"{len(tests)} tests, each labelled cpu or gpu" if not failures else "")

    tests_dir = os.path.join(args.source, "tests")
    for name in sorted(os.listdir(tests_dir)):
        path = os.path.join(tests_dir, name)
        if not os.path.isfile(path):
            continue
        with open(path, errors="replace") as f:
            text = f.read()
        if name.endswith((".cpp", ".h")) and name != "test_util.h":
            for m in re.finditer(r"\bGTEST_SKIP\b", text):
                line = text.count("\n", 0, m.start()) + 1
                failures.append(f"tests/{name}:{line}: GTEST_SKIP called directly; use EIDETIC_SKIP (tests/test_util.h)")
        if name.endswith(".py") and name != "testlib.py":
            for m in re.finditer(r"(sys\.)?exit\(\s*77\s*\)", text):
                line = text.count("\n", 0, m.start()) + 1
                failures.append(f"tests/{name}:{line}: exits 77 directly; use skip() from tests/testlib.py")

    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
