"""A real run killed with SIGKILL mid-way and resumed equals an uninterrupted run.

Builds a tiny random GPT-NeoX with transformers, 300 prefixes, and suffixes of which the
first 90 are the model's own greedy continuations (computed here with transformers' forward pass), so the
true extraction rate is known: exactly 0.3. Then:
  1. an uninterrupted `eidetic run` must report exact_extraction_rate = 0.3 over 300 items;
  2. a second run is killed with SIGKILL after its 20th batch (EIDETIC_CRASH_AT=batch:20, the
     test hook of common/crash_point.h, so the kill cannot miss), a torn half-line is
     appended as a kill inside a write would leave it, and `eidetic run --resume` finishes it;
  3. results.jsonl then has one valid record per item (no duplicates, no torn lines) and
     metrics.json's metrics equal the uninterrupted run's;
  4. re-running into a finished run without --resume, or resuming with another config, fails.
Usage: run_resume_test.py --eidetic PATH   (exit 77: transformers missing)
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
from testlib import discoverable_config, greedy, parse_args, random_items, skip, tiny_random_neox

try:
    import numpy as np
    import torch
    import transformers
except ImportError as e:
    skip(str(e))

transformers.logging.set_verbosity_error()
N, P, S, KNOWN = 300, 12, 16, 90


def make_data(work):
    model = tiny_random_neox(os.path.join(work, "model"), 97)
    prefix, suffix = random_items(N, P, S, 97)
    suffix[:KNOWN] = greedy(model, prefix[:KNOWN], S)
    np.save(os.path.join(work, "prefix.npy"), prefix.numpy().astype(np.uint16))
    np.save(os.path.join(work, "suffix.npy"), suffix.numpy().astype(np.int64))
    with open(os.path.join(work, "exp.yaml"), "w") as f:
        f.write(discoverable_config(work, 3, 4))


def records(path):
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n"), "results.jsonl ends in a torn line"
    return [json.loads(line) for line in text.splitlines()]


def main():
    args = parse_args("--eidetic")
    with tempfile.TemporaryDirectory() as work:
        make_data(work)
        cfg = os.path.join(work, "exp.yaml")
        full = os.path.join(work, "full")
        subprocess.run([args.eidetic, "run", cfg, "--out", full, "--quiet"], check=True)
        m_full = json.load(open(os.path.join(full, "metrics.json")))
        rate = {m["name"]: m for m in m_full["metrics"]}["exact_extraction_rate"]
        print("uninterrupted exact_extraction_rate", rate["value"], "n", rate["n"])
        assert rate["n"] == N, rate
        # exact: a mean of 0/1 values sums exactly in double, then divides once, as KNOWN / N does.
        assert rate["value"] == KNOWN / N, f"expected {KNOWN / N}, got {rate['value']}"
        assert len(records(os.path.join(full, "results.jsonl"))) == N

        killed = os.path.join(work, "killed")
        results = os.path.join(killed, "results.jsonl")
        env = dict(os.environ, EIDETIC_CRASH_AT="batch:20")
        proc = subprocess.run([args.eidetic, "run", cfg, "--out", killed, "--quiet"], env=env)
        assert proc.returncode == -signal.SIGKILL, f"expected death by SIGKILL at batch 20, got {proc.returncode}"
        done_before = sum(1 for _ in open(results))
        print(f"killed after {done_before} records")
        assert done_before == 19 * 4, done_before  # 19 batches of 4 appended; the 20th died before its write
        with open(results, "a") as f:  # what a kill inside a write leaves behind
            f.write('{"id": 299, "generated": [1, 2')
        subprocess.run([args.eidetic, "run", cfg, "--out", killed, "--resume", "--quiet"], check=True)
        recs = records(results)
        ids = [r["id"] for r in recs]
        assert len(ids) == len(set(ids)), "duplicate records after resume"
        assert sorted(ids) == list(range(N)), "missing records after resume"
        m_resumed = json.load(open(os.path.join(killed, "metrics.json")))
        assert m_resumed["metrics"] == m_full["metrics"], (m_resumed["metrics"], m_full["metrics"])
        manifest = json.load(open(os.path.join(killed, "manifest.json")))
        assert manifest["status"] == "complete" and manifest["resumed_at"], manifest

        again = subprocess.run([args.eidetic, "run", cfg, "--out", full, "--quiet"], capture_output=True, text=True)
        assert again.returncode != 0 and "already holds a run" in again.stderr, again.stderr
        other = subprocess.run([args.eidetic, "run", cfg, "--out", killed, "--resume", "--set", "seed=4", "--quiet"],
                               capture_output=True, text=True)
        assert other.returncode != 0 and "config differs" in other.stderr, other.stderr
    print("resume test passed")


if __name__ == "__main__":
    main()
