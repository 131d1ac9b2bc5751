"""Joins `eidetic bench --json` and `bench/hf_generate.py --json` records into one table.

For each case (model, dtype, batch, shape): Eidetic's tokens/s, its share of the roofline floor
(computed from the ceilings measured in the same run), Hugging Face's tokens/s in each cache
mode, the ratio to the faster of them, and peak memory of both. Prints Markdown, ready for
bench/RESULTS.md.

Usage: python3 bench/compare.py EIDETIC.jsonl HF.jsonl
"""
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ours = [r for r in load(sys.argv[1]) if r.get("tool") == "eidetic"]
    theirs = load(sys.argv[2]) if len(sys.argv) > 2 else []
    hf = {}
    for r in theirs:
        hf[(r["kind"], r["model"], r["dtype"], r["batch"], r["shape"])] = r
    if ours:
        r0 = ours[0]
        print(f"Device: {r0['device']}; measured copy {r0['copy_tbps']:.2f} TB/s, matmul {r0['matmul_tflops']:.0f} TFLOP/s; "
              f"commit {r0['commit']}\n")
    print("| case | model | dtype | batch | shape | Eidetic tok/s | % of floor | HF dynamic tok/s | HF static tok/s | "
          "ratio to faster HF | Eidetic peak GiB | HF peak GiB |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in ours:
        key = (r["model"], r["dtype"], r["batch"], r["shape"])
        if r["kind"] == "generate":
            dyn = hf.get(("generate-dynamic",) + key)
            sta = hf.get(("generate-static",) + key)
            base = [x for x in (dyn, sta) if x]
        else:
            dyn = sta = None
            base = [x for x in (hf.get(("score",) + key),) if x]
        best = max(base, key=lambda x: x["tokens_per_s"]) if base else None
        ratio = f"{r['tokens_per_s'] / best['tokens_per_s']:.2f}x" if best else "n/a"
        fmt = lambda x: f"{x['tokens_per_s']:.0f}" if x else "n/a"
        hf_peak = f"{best['peak_gib']:.2f}" if best else "n/a"
        print(f"| {r['kind']} | {r['model']} | {r['dtype']} | {r['batch']} | {r['shape']} | {r['tokens_per_s']:.0f} | "
              f"{r['percent_of_floor']:.1f}% | {fmt(dyn) if r['kind'] == 'generate' else fmt(best)} | {fmt(sta)} | "
              f"{ratio} | {r['peak_gib']:.2f} | {hf_peak} |")


if __name__ == "__main__":
    main()
