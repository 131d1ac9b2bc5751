"""Every config in configs/ at small settings, run by one eidetic binary: its metrics as JSON.

A regression check for changes that must not change results: run it with the binary before
and after the change, then compare the two files (`--compare A.json B.json` prints a Markdown
table of every metric, marking those that differ). The settings are shrunk with --set so the
whole set runs in a few minutes on a 2-core CPU (one torch thread, so that both binaries do the
same arithmetic); the data that configs name under data/ is generated here, deterministically.

Usage:
  config_metrics.py --eidetic build/eidetic --out after.json     (run from the project root)
  config_metrics.py --compare before.json after.json
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

SMALL = {
    "carlini2021.yaml": ["attack.samples=16", "attack.length=32", "attack.ngram=8", "attack.window=8",
                         "attack.precision_at=[4, 8]"],
    "challenge.yaml": ["attack.trials=3", "attack.limit=16"],
    "discoverable.yaml": ["attack.limit=16"],
    "lab-capacity.yaml": ["lab.random_sequences=64", "train.epochs=2", "sweep.values=[8, 16]"],
    "lab-duplicates.yaml": ["lab.copies=[1, 32]", "train.steps=150", "arch.hidden_size=32", "arch.layers=2"],
    "lab-model-size.yaml": ["lab.copies=[1, 32]", "train.steps=150", "sweep.values=[16, 32]", "arch.layers=2"],
    "lab-prefix-length.yaml": ["lab.copies=[1, 32]", "train.steps=150", "lab.prefix_lens=[2, 8]", "arch.hidden_size=32",
                               "arch.layers=2"],
    "membership.yaml": ["model.tokenizer={root}/../shared/assets/tokenizers/gpt2/encoder.json"],  # data/ written below
    "pythia-memorization.yaml": ["model.path=gpt2-tiny", "attack.rows=8"],
    "quickstart.yaml": ["lab.copies=[1, 32]", "train.steps=150", "arch.hidden_size=32", "arch.layers=2"],
    "secret-sharer.yaml": ["attack.max_exact=100", "attack.estimate_samples=64"],
}


def write_data(work):
    """The files configs name under data/: member and non-member texts, and a Megatron dataset."""
    data = os.path.join(work, "data")
    os.makedirs(os.path.join(data, "pile"), exist_ok=True)
    with open(os.path.join(data, "members.jsonl"), "w") as f:
        for i in range(12):
            f.write(json.dumps({"text": f"member document {i}: the quick brown fox jumps over the lazy dog " * 2}) + "\n")
    with open(os.path.join(data, "nonmembers.jsonl"), "w") as f:
        for i in range(12):
            f.write(json.dumps({"text": f"other document {i}: a slow green turtle walks under the busy bridge " * 2}) + "\n")
    rows = [[(r * 131 + j * 17) % 50000 for j in range(64)] for r in range(8)]
    prefix = os.path.join(data, "pile", "document")
    with open(prefix + ".bin", "wb") as f:
        for row in rows:
            f.write(struct.pack(f"<{len(row)}i", *row))
    with open(prefix + ".idx", "wb") as f:
        f.write(b"MMIDIDX\x00\x00")
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", 4))  # int32
        f.write(struct.pack("<Q", len(rows)))
        f.write(struct.pack("<Q", len(rows) + 1))
        f.write(struct.pack(f"<{len(rows)}i", *[len(r) for r in rows]))
        f.write(struct.pack(f"<{len(rows)}q", *[i * 64 * 4 for i in range(len(rows))]))
        f.write(struct.pack(f"<{len(rows) + 1}q", *range(len(rows) + 1)))
    return data


def run_all(eidetic, out):
    root = os.getcwd()
    results = {}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as work:
        write_data(work)
        for name, sets in SMALL.items():
            cfg = os.path.join(root, "configs", name)
            run_dir = os.path.join(work, name.replace(".yaml", ""))
            args = [eidetic, "run", cfg, "--out", run_dir, "-q", "--set", "profile.measure_ceilings=false"]
            for s in sets:
                args += ["--set", s.format(root=root)]
            # data/... paths in configs are relative to the working directory.
            cwd = work if name in ("membership.yaml", "pythia-memorization.yaml") else root
            r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd)
            if r.returncode != 0:
                results[name] = {"error": r.stderr.strip()[-400:]}
                print(f"{name}: failed: {r.stderr.strip()[-200:]}", file=sys.stderr)
                continue
            with open(os.path.join(run_dir, "metrics.json")) as f:
                m = json.load(f)
            results[name] = {x["name"]: [x.get("value"), x.get("ci_low"), x.get("ci_high"), x.get("n")] for x in m["metrics"]}
            print(f"{name}: {len(results[name])} metrics", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)


def compare(a_path, b_path):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    print("| config | metric | before | after | equal |")
    print("|---|---|---|---|---|")
    same = differ = 0
    for cfg in sorted(set(a) | set(b)):
        ma, mb = a.get(cfg, {}), b.get(cfg, {})
        for metric in sorted(set(ma) | set(mb)):
            va, vb = ma.get(metric), mb.get(metric)
            eq = va == vb
            same += eq
            differ += not eq
            fmt = lambda v: "—" if v is None else (v if isinstance(v, str) else f"{v[0]:.6g}" if v[0] is not None else "null")
            print(f"| {cfg} | {metric} | {fmt(va)} | {fmt(vb)} | {'yes' if eq else '**no**'} |")
    print(f"\n{same} equal, {differ} different (value, interval and n compared exactly)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic")
    ap.add_argument("--out")
    ap.add_argument("--compare", nargs=2)
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        run_all(os.path.abspath(args.eidetic), args.out)


if __name__ == "__main__":
    main()
