"""Helpers shared by the Python tests (each test script imports this file from tests/).

skip(reason): a test that cannot run here says why and exits with 77, which CTest reports as
skipped (SKIP_RETURN_CODE). Under EIDETIC_STRICT=1 a skip is a failure instead (exit 1): CI
sets it for every test that can run without a GPU, so a missing reference library or asset
folder cannot pass unnoticed.
"""
import argparse
import json
import os
import subprocess
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


def parse_args(*required):
    """The command line of a test whose only options are `required` (e.g. "--eidetic"), each
    taking a value and each required."""
    ap = argparse.ArgumentParser()
    for name in required:
        ap.add_argument(name, required=True)
    return ap.parse_args()


def verdict(failed, failure, success):
    """The end of a test's main(): prints `failure` and returns 1 (the exit code) when `failed`
    is true, else prints `success` and returns 0."""
    if failed:
        print(failure)
        return 1
    print(success)
    return 0


def find_assets():
    """The folder of real assets (models, tokenizers, corpora): $EIDETIC_ASSETS, else
    ../shared/assets beside the source tree ($EIDETIC_SOURCE_DIR, else the folder above tests/).
    None when absent."""
    env = os.environ.get("EIDETIC_ASSETS")
    if env:
        return env if os.path.isdir(env) else None
    src = os.environ.get("EIDETIC_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = os.path.join(src, "..", "shared", "assets")
    return os.path.realpath(p) if os.path.isdir(p) else None


def run_json_tool(cmd, request):
    """Runs a test tool that reads one JSON request on stdin and writes its JSON answer on stdout;
    returns the answer, or raises RuntimeError with the tool's stderr when it fails."""
    r = subprocess.run(cmd, input=json.dumps(request).encode(), capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.decode(errors='replace')}")
    return json.loads(r.stdout)


class Report:
    """Element-by-element comparisons of our outputs with a reference's: counts the checks and
    the failures, and prints the first few differing inputs with where they first differ."""

    def __init__(self):
        self.failures = 0
        self.checks = 0

    def compare(self, name, inputs, mine, ref, show=3):
        assert len(mine) == len(ref), (name, len(mine), len(ref))
        bad = [i for i in range(len(ref)) if mine[i] != ref[i]]
        self.checks += len(ref)
        if not bad:
            print(f"ok   {name}: {len(ref)} equal", flush=True)
            return
        self.failures += len(bad)
        print(f"FAIL {name}: {len(bad)} of {len(ref)} differ", flush=True)
        for i in bad[:show]:
            shown = repr(inputs[i])
            print(f"  input: {shown[:400]}{'...' if len(shown) > 400 else ''}")
            a, b = mine[i], ref[i]
            if isinstance(a, list) and isinstance(b, list):
                k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
                print(f"    first difference at position {k}")
                a, b = a[max(0, k - 5):k + 10], b[max(0, k - 5):k + 10]
            print(f"    eidetic: {a!r}")
            print(f"    HF/ref:  {b!r}")


def one_line_error_problems(r, needles):
    """What is wrong with a command's failure `r` (a CompletedProcess with text output) as a
    clean one: a non-zero exit and one line on stderr holding every needle (a usage error's
    pointer to --help aside). An empty list when nothing is."""
    lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("Run `eidetic --help`")]
    problems = []
    if r.returncode == 0:
        problems.append("exit 0")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    for n in needles:
        if n not in r.stderr:
            problems.append(f"no '{n}' in the message")
    return problems


# ---- tiny models with transformers (the callers have checked that torch and transformers import) ----


def tiny_random_neox(folder, vocab):
    """A tiny GPT-NeoX with random weights (torch seed 0) saved to `folder` with transformers,
    returned as loaded back from there: the model eidetic reads."""
    import torch
    import transformers
    torch.manual_seed(0)
    cfg = transformers.GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                     vocab_size=vocab, max_position_embeddings=64, initializer_range=0.3)
    transformers.AutoModelForCausalLM.from_config(cfg).eval().save_pretrained(folder)
    return transformers.AutoModelForCausalLM.from_pretrained(folder).eval()


def random_items(n, prefix_len, suffix_len, vocab, seed=1):
    """`n` random prefixes and suffixes of token ids below `vocab`, drawn in that order from a
    torch generator seeded with `seed`."""
    import torch
    g = torch.Generator().manual_seed(seed)
    prefix = torch.randint(0, vocab, (n, prefix_len), generator=g)
    suffix = torch.randint(0, vocab, (n, suffix_len), generator=g)
    return prefix, suffix


def greedy(model, prompts, steps):
    """Greedy by definition: the argmax of a full forward pass, one token at a time. Returns the
    `steps` tokens that follow each row of `prompts`."""
    import torch
    seq = prompts.clone()
    with torch.no_grad():
        for _ in range(steps):
            seq = torch.cat([seq, model(seq).logits[:, -1].argmax(-1, keepdim=True)], 1)
    return seq[:, prompts.shape[1]:]


def discoverable_config(work, seed, batch_size):
    """The text of a config that runs the discoverable attack on the CPU against the model in
    WORK/model, with the items in WORK/prefix.npy and WORK/suffix.npy."""
    return f"""seed: {seed}
model:
  path: {work}/model
  device: cpu
attack:
  name: discoverable
  prefix: {work}/prefix.npy
  suffix: {work}/suffix.npy
engine:
  batch_size: {batch_size}
profile:
  measure_ceilings: false
"""
