"""A run killed at each of its phases and resumed equals an uninterrupted run, for every attack
and for the memorization lab.

EIDETIC_CRASH_AT=PHASE[:N] (common/crash_point.h) makes the process SIGKILL itself the N-th
time it reaches PHASE: the same as `kill -9`, but at a known point, so no kill can miss. For
each attack (discoverable, pythia-memorization, extraction-challenge, sample-and-rank,
membership, exposure) and for a tiny lab, the test runs the config once uninterrupted, then
once per phase killed there and finished with `eidetic run --resume`, and requires:
  - the killed process died of SIGKILL (the hook fired at that phase);
  - the resumed run exits 0 with status complete;
  - results.jsonl holds exactly one record per item, each equal to the uninterrupted run's;
  - metrics.json equals the uninterrupted run's, timings aside (the profile, and the lab's
    training seconds and tokens/s).
The target is a tiny random GPT-NeoX (transformers writes it) with a byte-level tokenizer, so
the whole test takes about a minute on two cores.

With --quickstart it does the same to `eidetic quickstart` itself (configs/quickstart.yaml: the
real corpus and tokenizer, the quickstart's attacks), killed in each of its phases and finished
with `eidetic quickstart --resume`. The model, the planted counts and the training are cut down
with --set (one layer of width 32, copies 1 and 8, one epoch of 20 steps) so that the fifteen
runs take minutes, not an hour.
Usage: crash_resume_test.py --eidetic PATH [--quickstart]   (exit 77: numpy, torch or
transformers missing)
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile

from testlib import skip, verdict

try:
    import numpy as np
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from megatron_oracle import write_dataset
except ImportError as e:
    skip(f"{e} (scripts/setup.sh --test installs the reference libraries)")

transformers.logging.set_verbosity_error()
V = 256
FAILURES = []


def byte_symbols():
    """GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest map to 256+."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, extra = [], 0
    for b in range(256):
        if b in keep:
            out.append(chr(b))
        else:
            out.append(chr(256 + extra))
            extra += 1
    return out


def byte_level_tokenizer(path):
    """One token per byte (id = byte value), GPT-2's byte-to-unicode symbols, no merges."""
    vocab = {sym: b for b, sym in enumerate(byte_symbols())}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.save(path)


def make_target(work):
    torch.manual_seed(0)
    cfg = transformers.GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                                     vocab_size=V, max_position_embeddings=128, initializer_range=0.3,
                                     bos_token_id=0, eos_token_id=0)
    model = transformers.AutoModelForCausalLM.from_config(cfg).eval()
    model.save_pretrained(os.path.join(work, "model"))
    byte_level_tokenizer(os.path.join(work, "model", "tokenizer.json"))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def configs(work):
    """name -> (config text, phases to crash at). Batches are small so each run has several."""
    g = np.random.default_rng(1)
    ids = lambda n, t: g.integers(1, V, size=(n, t)).astype(np.int64)
    for name, arr in {"prefix": ids(24, 10), "suffix": ids(24, 8), "members": ids(12, 16), "nonmembers": ids(12, 16),
                      "c_prefix": ids(8, 12), "c_answers": ids(8, 6)}.items():
        np.save(os.path.join(work, name + ".npy"), arr)
    np.save(os.path.join(work, "dups.npy"), g.integers(1, 5, size=24).astype(np.int64))
    write_dataset(os.path.join(work, "pile"), [list(r) for r in ids(12, 24)], np.int32, list(range(13)))
    corpus = write(os.path.join(work, "corpus.txt"), "the cat sat on the mat. " * 40)
    head = (f"seed: 5\nmodel:\n  path: {work}/model\n  device: cpu\nengine:\n  batch_size: 4\n"
            "profile:\n  measure_ceilings: false\n")
    attack = {
        "discoverable": (f"  name: discoverable\n  prefix: {work}/prefix.npy\n  suffix: {work}/suffix.npy\n"
                         f"  duplicates: {work}/dups.npy\n"),
        "pythia": f"  name: pythia-memorization\n  dataset: {work}/pile\n  rows: 0\n  context: 12\n  continuation: 12\n",
        "challenge": (f"  name: extraction-challenge\n  prefix: {work}/c_prefix.npy\n  answers: {work}/c_answers.npy\n"
                      "  trials: 3\n  suffix_len: 6\n"),
        "sample-and-rank": (f"  name: sample-and-rank\n  samples: 12\n  length: 16\n  corpus: [{corpus}]\n  ngram: 8\n"
                            "  window: 4\n  precision_at: [4, 8]\n"),
        "membership": f"  name: membership\n  members: [{work}/members.npy]\n  nonmembers: [{work}/nonmembers.npy]\n",
        "exposure": ("  name: exposure\n  secrets: [\"12\", \"34\", \"56\"]\n  format: \"code {secret}\"\n"
                     "  separator: \"\"\n  length: 2\n"),
    }
    out = {}
    for name, text in attack.items():
        phases = ["batch:2", "records"] + (["report"] if name == "discoverable" else [])
        out[name] = (head + "attack:\n" + text, phases)
    words = "the lab plants its items in plain background text made of short paragraphs like this one".split()
    background = write(os.path.join(work, "background.txt"), "\n".join(
        " ".join(words[(i + j) % len(words)] for j in range(40)) + f" paragraph {i}.\n" for i in range(16)))
    lab = (f"seed: 2\nmodel:\n  path: lab\n  device: cpu\nlab:\n  copies: [1, 4]\n  items_per_count: 1\n"
           f"  background: [{background}]\n  tokenizer_vocab: 300\n  exposure_max_exact: 100\n"
           "arch:\n  hidden_size: 32\n  layers: 1\n  heads: 2\n  max_positions: 128\n"
           "train:\n  steps: 12\n  batch_size: 4\n  seq_len: 32\n  warmup_steps: 2\n  checkpoint_every: 4\n"
           "engine:\n  batch_size: 4\nprofile:\n  measure_ceilings: false\n")
    out["lab"] = (lab, ["lab-corpus", "lab-tokenizer", "train-step:6", "lab-model", "batch:2", "records", "report"])
    return out


def eidetic(exe, *args, crash=None):
    env = dict(os.environ)
    env.pop("EIDETIC_CRASH_AT", None)
    if crash:
        env["EIDETIC_CRASH_AT"] = crash
    return subprocess.run([exe, *args, "--quiet"], capture_output=True, text=True, env=env)


def records(run):
    with open(os.path.join(run, "results.jsonl")) as f:
        text = f.read().replace(run, "RUN")
    return [json.loads(line) for line in text.splitlines()]


def comparable(run):
    """metrics.json without what depends on the clock or on the run folder's name."""
    with open(os.path.join(run, "metrics.json")) as f:
        m = json.loads(f.read().replace(run, "RUN"))
    m.pop("profile", None)
    for k in ("train_seconds", "train_tokens_per_s"):
        m.get("lab", {}).pop(k, None)
    return m


def first_difference(a, b, path="metrics.json"):
    """Where two JSON values first differ, as a path and the two values."""
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: present in one only"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} entries != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


def resumed_equal(name, phase, run, want_records, want_metrics, resumed):
    """The checks on a killed and resumed run (see the module's docstring)."""
    if not check(resumed.returncode == 0, f"{name} @ {phase}: resume failed: {resumed.stderr.strip()}"):
        return
    with open(os.path.join(run, "manifest.json")) as f:
        manifest = json.load(f)
    check(manifest["status"] == "complete" and manifest.get("resumed_at"),
          f"{name} @ {phase}: manifest {manifest['status']}, resumed_at {manifest.get('resumed_at')}")
    got = records(run)
    ids = [x["id"] for x in got]
    check(len(ids) == len(set(ids)), f"{name} @ {phase}: duplicate records after resume")
    check(sorted(got, key=lambda x: x["id"]) == want_records,
          f"{name} @ {phase}: records differ from the uninterrupted run's")
    got_metrics = comparable(run)
    check(got_metrics == want_metrics, f"{name} @ {phase}: metrics differ from the uninterrupted run's: "
                                       f"{first_difference(got_metrics, want_metrics)}")
    for report in ("report.md", "report.html"):
        check(os.path.exists(os.path.join(run, report)), f"{name} @ {phase}: no {report}")
    print(f"{name} @ {phase}: killed, resumed, equal", flush=True)


def quickstart(exe, work):
    """`eidetic quickstart` killed in each phase and resumed."""
    sets = [a for kv in ("train.epochs=1", "lab.copies=[1,8]", "lab.items_per_count=1", "arch.layers=1",
                         "arch.hidden_size=32", "arch.heads=2", "profile.measure_ceilings=false") for a in ("--set", kv)]
    full = os.path.join(work, "quickstart-full")
    r = eidetic(exe, "quickstart", "--out", full, *sets)
    if not check(r.returncode == 0, f"quickstart: uninterrupted run failed: {r.stderr.strip()}"):
        return
    want_records = sorted(records(full), key=lambda x: x["id"])
    want_metrics = comparable(full)
    check(len(want_records) > 0, "quickstart: no records")
    for phase in ["lab-corpus", "lab-tokenizer", "train-step:10", "lab-model", "batch:2", "records", "report"]:
        run = os.path.join(work, f"quickstart-{phase.replace(':', '-')}")
        killed = eidetic(exe, "quickstart", "--out", run, *sets, crash=phase)
        if not check(killed.returncode == -signal.SIGKILL,
                     f"quickstart @ {phase}: expected death by SIGKILL, got exit {killed.returncode}: "
                     f"{killed.stderr.strip()[-300:]}"):
            continue
        resumed = eidetic(exe, "quickstart", "--out", run, *sets, "--resume")
        resumed_equal("quickstart", phase, run, want_records, want_metrics, resumed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--only", help="run one config (a name from configs())")
    ap.add_argument("--quickstart", action="store_true", help="kill and resume `eidetic quickstart` instead")
    args = ap.parse_args()
    if args.quickstart:
        with tempfile.TemporaryDirectory() as work:
            quickstart(args.eidetic, work)
        return verdict(FAILURES, f"{len(FAILURES)} failure(s)", "quickstart crash-resume test passed")
    with tempfile.TemporaryDirectory() as work:
        make_target(work)
        for name, (text, phases) in configs(work).items():
            if args.only and name != args.only:
                continue
            cfg = write(os.path.join(work, name + ".yaml"), text)
            full = os.path.join(work, name + "-full")
            r = eidetic(args.eidetic, "run", cfg, "--out", full)
            if not check(r.returncode == 0, f"{name}: uninterrupted run failed: {r.stderr.strip()}"):
                continue
            want_records = sorted(records(full), key=lambda x: x["id"])
            want_metrics = comparable(full)
            check(len(want_records) > 0, f"{name}: no records")
            for phase in phases:
                run = os.path.join(work, f"{name}-{phase.replace(':', '-')}")
                killed = eidetic(args.eidetic, "run", cfg, "--out", run, crash=phase)
                if not check(killed.returncode == -signal.SIGKILL,
                             f"{name} @ {phase}: expected death by SIGKILL, got exit {killed.returncode}: "
                             f"{killed.stderr.strip()[-300:]}"):
                    continue
                resumed = eidetic(args.eidetic, "run", cfg, "--out", run, "--resume")
                resumed_equal(name, phase, run, want_records, want_metrics, resumed)
    return verdict(FAILURES, f"{len(FAILURES)} failure(s)", "crash-resume test passed")


if __name__ == "__main__":
    sys.exit(main())
