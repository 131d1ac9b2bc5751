#!/usr/bin/env python3
"""tests/bpe_trainer_oracle.py: eidetic's BPE trainer against Hugging Face's BpeTrainer.

tok::train_byte_level_bpe (tokenizers/bpe_trainer.cpp, run through `eidetic_tokenize_tool
train`) and Hugging Face `tokenizers`' own trainer are given the same documents and the same
settings: a BPE model trained by trainers.BpeTrainer with the ByteLevel pre-tokenizer (GPT-2
regex, no prefix space), the same vocabulary size, special tokens (in order) and min_frequency,
and the whole byte-level alphabet as initial alphabet. For each case the two tokenizer.json
files must hold the same vocabulary (token -> id, all of it), the same merges in the same order,
and the same added tokens; and a held-out text must encode to the same ids (eidetic's tokenizer
through the tool's `batch` mode, HF's through `tokenizers`).

Cases: a slice of tinyshakespeare split into paragraphs with the lab's settings (when the
assets folder is there), synthetic documents with many equal pair counts (tie-breaking), with
Unicode, digits and whitespace runs, and several special tokens, one where min_frequency,
not the vocabulary size, ends training, and 60 tiny random corpora over two or three letters.

Exit status: 0 all equal, 1 a difference, 77 skipped (no `tokenizers` module).
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from testlib import find_assets, parse_args, skip

try:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
except ImportError as e:  # pragma: no cover
    skip(f"reference library missing ({e}); run scripts/setup.sh --test")


FUZZ_CASES = 60


def hf_train(docs, vocab_size, specials, min_frequency):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    t0 = time.perf_counter()
    tok.train_from_iterator(docs, trainer=trainer)
    return tok, time.perf_counter() - t0


def merge_pairs(merges):
    # tokenizer.json holds merges as "a b" lines or as [a, b] pairs, depending on the writer.
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def run_case(tool, name, docs, held_out, vocab_size, specials, min_frequency, stops_early, workdir, quiet=False):
    failures = []
    path = os.path.join(workdir, name + ".tokenizer.json")
    cmd = [tool, "train", path, "--vocab-size", str(vocab_size), "--min-frequency", str(min_frequency)]
    for s in specials:
        cmd += ["--special", s]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, input=json.dumps(docs).encode(), capture_output=True)
    ours_s = time.perf_counter() - t0
    if r.returncode != 0:
        return [f"{name}: {' '.join(cmd)} failed: {r.stderr.decode(errors='replace')}"]
    ours = json.load(open(path, encoding="utf-8"))
    hf_tok, hf_s = hf_train(docs, vocab_size, specials, min_frequency)
    ref = json.loads(hf_tok.to_str())
    n_bytes = sum(len(d.encode()) for d in docs)
    if not quiet:
        print(f"{name}: {len(docs)} documents, {n_bytes} bytes, vocab {vocab_size}, min_frequency {min_frequency}, "
              f"specials {specials}: eidetic {ours_s:.2f} s (tool run), HF {hf_s:.2f} s")

    # Vocabulary: every token with the same id.
    v_ours, v_ref = ours["model"]["vocab"], ref["model"]["vocab"]
    if v_ours != v_ref:
        only_ours = sorted(set(v_ours) - set(v_ref), key=lambda t: v_ours[t])
        only_ref = sorted(set(v_ref) - set(v_ours), key=lambda t: v_ref[t])
        moved = sorted((v_ref[t], t, v_ours[t]) for t in set(v_ours) & set(v_ref) if v_ours[t] != v_ref[t])
        failures.append(f"{name}: vocabularies differ ({len(v_ours)} vs HF {len(v_ref)} tokens; only eidetic "
                        f"{only_ours[:5]}, only HF {only_ref[:5]}; {len(moved)} with other ids, first "
                        f"(HF id, token, eidetic id): {moved[:5]})")
    # Merges: same pairs in the same order.
    m_ours, m_ref = merge_pairs(ours["model"]["merges"]), merge_pairs(ref["model"]["merges"])
    if m_ours != m_ref:
        k = next((i for i in range(min(len(m_ours), len(m_ref))) if m_ours[i] != m_ref[i]), min(len(m_ours), len(m_ref)))
        failures.append(f"{name}: merges differ ({len(m_ours)} vs HF {len(m_ref)}), first at rank {k}: "
                        f"eidetic {m_ours[k:k + 3]}, HF {m_ref[k:k + 3]}")
    # Added tokens: the special tokens with the same ids.
    a_ours = [(a["id"], a["content"], a["special"]) for a in ours["added_tokens"]]
    a_ref = [(a["id"], a["content"], a["special"]) for a in ref["added_tokens"]]
    if a_ours != a_ref:
        failures.append(f"{name}: added tokens differ: eidetic {a_ours}, HF {a_ref}")
    # The case must test what it is meant to: min_frequency (not the size) ends training, or not.
    if stops_early is not None and (len(v_ref) < vocab_size) != stops_early:
        failures.append(f"{name}: HF's vocabulary has {len(v_ref)} of {vocab_size} tokens; this case expects "
                        f"training to {'stop at min_frequency' if stops_early else 'reach the vocabulary size'}")

    # The held-out text through each side's own tokenizer and loader.
    r = subprocess.run([tool, "batch", path], input=json.dumps({"encode": held_out}).encode(), capture_output=True)
    if r.returncode != 0:
        return failures + [f"{name}: encoding with eidetic's tokenizer failed: {r.stderr.decode(errors='replace')}"]
    enc_ours = json.loads(r.stdout)["encode"]
    enc_ref = [e.ids for e in hf_tok.encode_batch(held_out, add_special_tokens=False)]
    bad = [i for i in range(len(held_out)) if enc_ours[i] != enc_ref[i]]
    n_ids = sum(len(e) for e in enc_ref)
    if bad:
        i = bad[0]
        failures.append(f"{name}: {len(bad)} of {len(held_out)} held-out texts encode differently; first "
                        f"{held_out[i][:80]!r}: eidetic {enc_ours[i][:20]}, HF {enc_ref[i][:20]}")
    if not quiet or failures:
        print(f"  vocab {len(v_ref)}, merges {len(m_ref)}, held-out {sum(len(t.encode()) for t in held_out)} bytes "
              f"-> {n_ids} ids: {'equal' if not failures else 'DIFFERENT'}")
    return failures


def shakespeare_case(assets):
    path = os.path.join(assets, "corpora", "tinyshakespeare.txt") if assets else None
    if not path or not os.path.isfile(path):
        return None
    text = open(path, encoding="utf-8").read()
    train, held = text[:250_000], text[250_000:300_000]
    docs = [p + "\n" for p in train.split("\n\n") if p.strip()]
    held_out = [p for p in held.split("\n\n") if p.strip()]
    return docs, held_out


def synthetic_docs(rng, n_docs, alphabet, extras):
    words = []
    for _ in range(300):
        n = rng.randint(1, 7)
        words.append("".join(rng.choice(alphabet) for _ in range(n)))
    docs = []
    for _ in range(n_docs):
        parts = []
        for _ in range(rng.randint(3, 25)):
            w = rng.choice(words) if rng.random() < 0.8 else rng.choice(extras)
            parts.append(w)
            parts.append(rng.choice([" ", " ", " ", "  ", "\n", "\t", ", ", ". ", "\n\n", " - ", "'s ", "'ll "]))
        docs.append("".join(parts))
    return docs


def main():
    args = parse_args("--tool")
    rng = random.Random(20240611)
    extras = ["1999", "42", "3.14", "naïve", "Straße", "東京", "日本語", "😀😀", "—", "…", "<|endoftext|>",
              "ﬁne", "x\u0301", "🎉ok", "   ", "\r\n", "$$$", "((x))", "don't", "ÀÉÎÕÜ"]
    cases = []
    sh = shakespeare_case(find_assets())
    if sh:
        # The lab's settings (BpeTrainOptions' defaults) on real text.
        cases.append(("shakespeare", sh[0], sh[1], 1000, ["<|endoftext|>"], 2, False))
    else:
        print("note: no assets folder with corpora/tinyshakespeare.txt; the synthetic cases only")
    # Few letters, uniform choice: many pairs with equal counts, so the tie-break decides often.
    tie_docs = synthetic_docs(rng, 600, "abcdeé", extras)
    cases.append(("ties", tie_docs[:500], tie_docs[500:], 700, ["<|endoftext|>", "<pad>", "<|im_start|>"], 1, False))
    # Mixed scripts; min_frequency 5 ends training before the (large) vocabulary is reached.
    mixed_docs = synthetic_docs(rng, 400, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789äöüßçñ東京日本語😀", extras)
    cases.append(("min_frequency", mixed_docs[:300], mixed_docs[300:], 20000, ["<|endoftext|>"], 5, True))

    failures = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            failures += run_case(args.tool, *case, workdir)
        # Many tiny corpora over two or three letters: long runs of one letter (overlapping pairs
        # such as "a a a", whose counts the reference updates in its own way), equal counts
        # everywhere, and training that ends by min_frequency or by size.
        t1 = time.perf_counter()
        for i in range(FUZZ_CASES):
            alphabet = rng.choice(["ab", "abc", "aab", "xy z"])
            docs = [" ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
                             for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 30))]
            failures += run_case(args.tool, f"fuzz{i}", docs, docs[:3], rng.choice([270, 300, 400, 2000]),
                                 ["<|endoftext|>"], rng.choice([1, 2]), None, workdir, quiet=True)
        print(f"fuzz: {FUZZ_CASES} small corpora in {time.perf_counter() - t1:.1f} s")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(cases)} cases and {FUZZ_CASES} small ones in {time.perf_counter() - t0:.1f} s: {'FAILED' if failures else 'all equal'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
