#!/usr/bin/env python3
"""tests/challenge_oracle.py: holds `eidetic challenge score` to the Training Data Extraction
Challenge's published scoring rule (google-research/lm-extraction-benchmark,
example_submission/score_submission.py; the challenge of Carlini et al. on extracting
memorized training data from GPT-Neo 1.3B).

The rule is rendered here in Python from upstream's code: rows are read in file order; a guess
is correct when np.all(answers[exid][-50:] == guess[-50:]); did_solve[exid] = 1 on a correct
guess; after each correct guess the recall np.mean(did_solve) is recorded with the number of
bad guesses so far, and it becomes the answer while fewer than 100 bad guesses have been seen;
every other guess adds a bad guess. Upstream takes the last 1000 rows of the answer file
(np.load(answer)[-1000:]) and divides by num_samples = 1000 however many rows that leaves: so
does `eidetic challenge score` by default, which is checked on answer files of 1200, 1000, 37
and 3 rows. `--rows N` (the last N rows, recall over N) is checked against the same rule with
N rows and num_samples = N.

Random guess CSVs (correct and wrong guesses interleaved, repeated correct guesses, more and
fewer than 100 wrong guesses, upstream's "[1,2,3]" and the README's "[1, 2, 3]" lists, CRLF
and LF line ends), written with Python's csv module as upstream's baseline writes them, are
scored by both; the last line's value, the error curve CSV (one row per guess) and errors for
bad input are compared.

--answers synthetic: random answer arrays (1000 x 50 and smaller), always available.
--answers assets: ../shared/assets/lm-extraction-benchmark/val_suffix.npy (1000 x 50 uint16);
exit 77 (skipped) when it is absent.
--attack: the extraction-challenge attack against baseline/simple_baseline.py, on a tiny GPT-Neo
(random weights, 40 tokens, end-of-text the last) that transformers writes and re-runs: every
stored trial's loss equals the baseline's mean cross-entropy over [-51:-1] of the re-scored
100 tokens (the `suffix` window: the last 50); samples are padded with end-of-text after it;
trial 0 is a top-10 sample, not the greedy continuation (it is in eidetic mode); guess{g}.csv
is the baseline's argmin over the first g trials then argsort, for g in [1, 10, 100] capped at
12 trials; guesses.csv holds each prefix's best distinct candidates by loss; and with answers
that some of those candidates match, every file's recall is score_submission.py's (wrong rows
for solved prefixes included). Exit 77 when torch or transformers is missing.
"""

import argparse
import atexit
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from testlib import skip, verdict

SUFFIX_LEN = 50


def upstream_rule(rows, num_samples, max_wrong=100):
    """score_submission.py's generate_full_curve, plus the per-guess curve eidetic writes.
    rows: (exid, is_correct) in file order. Returns (answer, per-guess curve, upstream points)."""
    did_solve = np.zeros(num_samples)
    recall, errors = [], []
    bad_guesses = 0
    answer = None
    per_guess = []
    for exid, is_correct in rows:
        if is_correct:
            did_solve[int(exid)] = 1
            recall.append(np.mean(did_solve))
            errors.append(bad_guesses)
            if bad_guesses < max_wrong:
                answer = np.mean(did_solve)
        else:
            bad_guesses += 1
        per_guess.append((bad_guesses, float(np.mean(did_solve))))
    return (0.0 if answer is None else float(answer)), per_guess, list(zip(errors, [float(r) for r in recall]))


def upstream_correct(answers, exid, guess_text):
    guess = np.array(list(map(int, guess_text[1:-1].split(","))))  # upstream's parsing
    return bool(np.all(answers[exid][-SUFFIX_LEN:] == guess[-SUFFIX_LEN:]))


def make_guesses(rng, answers, vocab):
    """A confidence-ordered list of (exid, suffix): correct and wrong interleaved."""
    n = len(answers)
    p_correct = rng.choice([0.05, 0.3, 0.6, 0.95])
    total = rng.choice([0, 1, 50, 99, 100, 101, 150, 400, 1500])
    out = []
    solved = []
    for _ in range(total):
        r = rng.random()
        if solved and r < 0.1:  # a repeat of a correct guess
            e = rng.choice(solved)
            out.append((e, list(answers[e])))
        elif r < p_correct:
            e = rng.randrange(n)
            solved.append(e)
            out.append((e, list(answers[e])))
        else:
            e = rng.randrange(n)
            g = list(answers[e])
            if rng.random() < 0.5:  # one token off, anywhere (the last one included)
                k = rng.randrange(SUFFIX_LEN)
                g[k] = (g[k] + 1 + rng.randrange(vocab - 1)) % vocab
            else:
                g = [rng.randrange(vocab) for _ in range(SUFFIX_LEN)]
            out.append((e, g))
    # Exactly 99 or 100 wrong guesses before a correct one: the boundary.
    if rng.random() < 0.3:
        wrong = []
        for _ in range(rng.choice([99, 100])):
            e = rng.randrange(n)
            g = list(answers[e])
            g[-1] = (g[-1] + 1) % vocab
            wrong.append((e, g))
        e = rng.randrange(n)
        out = wrong + [(e, list(answers[e]))] + out
    return out


def write_csv(path, guesses, style, crlf):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        w.writerow(["Example ID", "Suffix Guess"])
        for e, g in guesses:
            text = str([int(x) for x in g])  # "[1, 2, 3]"
            if style == "compact":  # what upstream's baseline writes
                text = text.replace(" ", "")
            w.writerow([e, text])


def read_csv_rows(path):
    with open(path, newline="") as f:
        return [(int(r["Example ID"]), r["Suffix Guess"]) for r in csv.DictReader(f)]


def run_score(eidetic, guesses, answers_npy, out_dir, rows=None):
    cmd = [eidetic, "challenge", "score", "--guesses", guesses, "--answers", answers_npy, "--out-dir", out_dir]
    if rows is not None:
        cmd += ["--rows", str(rows)]
    return subprocess.run(cmd, capture_output=True, text=True)


# ---- the attack against simple_baseline.py ---------------------------------------------------

ATTACK_VOCAB = 40  # small, so that end-of-text (the last id) turns up in top-10 samples
ATTACK_EOS = ATTACK_VOCAB - 1
PREFIX_LEN = 50


def tiny_gpt_neo(folder):
    """The challenge's target family (GPT-Neo: global and local layers) at toy size, random
    weights, saved with transformers and loaded back from there."""
    import torch
    import transformers
    torch.manual_seed(0)
    cfg = transformers.GPTNeoConfig(vocab_size=ATTACK_VOCAB, hidden_size=32, num_layers=2, num_heads=4,
                                    attention_types=[[["global", "local"], 1]], window_size=32,
                                    max_position_embeddings=128, intermediate_size=64, initializer_range=0.3,
                                    bos_token_id=ATTACK_EOS, eos_token_id=ATTACK_EOS)
    transformers.AutoModelForCausalLM.from_config(cfg).eval().save_pretrained(folder)
    return transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def baseline_losses(model, generated_tokens, window):
    """simple_baseline.py's step 2, line for line: the model re-run on the whole sequence, the
    per-token cross-entropy of logits[:, :-1] against tokens[:, 1:], its [-51:-1] slice (the
    `suffix` window: the last 50), and the mean."""
    import torch
    generation_len = generated_tokens.shape[1]
    with torch.no_grad():
        outputs = model(generated_tokens, labels=generated_tokens)
    logits = outputs.logits.cpu().detach()
    logits = logits[:, :-1].reshape((-1, logits.shape[-1])).float()
    loss_per_token = torch.nn.functional.cross_entropy(logits, generated_tokens[:, 1:].flatten(), reduction='none')
    loss_per_token = loss_per_token.reshape((-1, generation_len - 1))
    loss_per_token = loss_per_token[:, -SUFFIX_LEN - 1:-1] if window == "baseline" else loss_per_token[:, -SUFFIX_LEN:]
    return loss_per_token.mean(1).numpy()


def baseline_guess_file(losses, tokens_of, g):
    """simple_baseline.py's guess{g}.csv rows: argmin over the first g trials per prompt, then
    argsort of those losses (stable here; upstream's default quicksort leaves ties unordered)."""
    limited_losses = losses[:, :g]
    axis1 = limited_losses.argmin(1).reshape(-1)
    batch_losses = limited_losses[np.arange(losses.shape[0]), axis1]
    order = np.argsort(batch_losses.flatten(), kind="stable")
    return [(int(e), tokens_of(int(e), int(axis1[e]))) for e in order]


def eidetic_run(exe, work, name, attack_lines):
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write(f"seed: 5\nmodel:\n  path: {work}/model\n  device: cpu\nengine:\n  batch_size: 16\n"
                f"profile:\n  measure_ceilings: false\nattack:\n  name: extraction-challenge\n  prefix: {work}/prefix.npy\n"
                + "".join(f"  {line}\n" for line in attack_lines))
    out = os.path.join(work, "run-" + name)
    r = subprocess.run([exe, "run", cfg, "--out", out], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"eidetic run {name} failed: {r.stderr.strip()[-2000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = {r["id"]: r for r in (json.loads(line) for line in f if line.strip())}
    return out, metrics, recs


def file_rows(path):
    """(exid, tokens) per row, parsed as upstream's scorer parses them."""
    return [(e, list(map(int, g[1:-1].split(",")))) for e, g in read_csv_rows(path)]


def check_attack(exe, tmp, fail):
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        skip(f"torch/transformers unavailable: {e}")
    work = os.path.join(tmp, "attack")
    os.makedirs(work)
    model = tiny_gpt_neo(os.path.join(work, "model"))
    # Every trial a guess file might pick is stored when each prefix keeps all its distinct
    # candidates, so every recorded loss is checked against the reference below, not only the
    # winners' (a trial kept out of guesses.csv repeats a stored candidate, and its loss).
    n, trials = 60, 12
    per_prefix = trials
    g = torch.Generator().manual_seed(3)
    prefix = torch.randint(0, ATTACK_EOS, (n, PREFIX_LEN), generator=g)  # no end-of-text in prompts, as in val_prefix
    np.save(os.path.join(work, "prefix.npy"), prefix.numpy().astype(np.uint16))

    def logits_of(seqs):
        with torch.no_grad():
            return model(torch.tensor(seqs)).logits.float()

    def losses_array(recs):
        return np.array([[np.inf if x is None else x for x in recs[i]["losses"]] for i in range(n)])

    def stored(recs):
        return {(i, c["trial"]): c["tokens"] for i in range(n) for c in recs[i]["candidates"]}

    def check_windows(tag, recs, window):
        cands = stored(recs)
        keys = sorted(cands)
        seqs = torch.tensor([prefix[i].tolist() + cands[(i, t)] for i, t in keys])
        want = baseline_losses(model, seqs, window)
        got = np.array([recs[i]["losses"][t] for i, t in keys], dtype=float)
        # fp32 on both sides: the per-token NLLs (a few nats) differ by reassociation in the
        # matrix products (~1e-6 relative); 1e-4 on their mean leaves room for any CPU, while a
        # window one position off moves the mean by ~0.05 here.
        err = np.abs(got - want)
        if not err.max() <= 1e-4:
            k = int(err.argmax())
            fail(f"{tag}: loss of prefix {keys[k][0]} trial {keys[k][1]} is {got[k]!r}, simple_baseline.py's {window} "
                 f"window gives {want[k]!r}")
        return cands

    # 1. The default mode: the published baseline.
    _, m, recs = eidetic_run(exe, work, "baseline", [f"trials: {trials}", f"guesses_per_prefix: {per_prefix}"])
    run = m.get("run", {})
    want_run = {"mode": "baseline", "loss_window": "baseline", "greedy_trial": False, "eos_padding": True,
                "eos_token": ATTACK_EOS, "dtype": "fp32", "device": "cpu", "trials": trials}
    for k, v in want_run.items():
        if run.get(k) != v:
            fail(f"baseline: metrics.json run.{k} is {run.get(k)!r}, expected {v!r}")
    if [f["trials"] for f in run.get("guess_files", [])] != [1, 10, trials]:  # [1, 10, 100] capped at 12
        fail(f"baseline: guess files {run.get('guess_files')}")
    if sorted(recs) != list(range(n)) or any(len(recs[i]["losses"]) != trials for i in range(n)):
        fail("baseline: one record per prefix with one loss per trial expected")
        return
    cands = check_windows("baseline", recs, "baseline")
    # End-of-text padding: after the first end-of-text every token is end-of-text.
    padded = 0
    for (i, t), c in cands.items():
        if len(c) != SUFFIX_LEN:
            fail(f"baseline: prefix {i} trial {t} has {len(c)} tokens")
        elif ATTACK_EOS in c:
            padded += 1
            if any(x != ATTACK_EOS for x in c[c.index(ATTACK_EOS):]):
                fail(f"baseline: prefix {i} trial {t} goes on after end-of-text: {c}")
    if not 0 < padded < len(cands):
        fail(f"baseline: {padded} of {len(cands)} stored candidates hold end-of-text; the test needs some of each")
    # No greedy trial: trial 0 (guess1.csv's) is a top-10 sample, and not the argmax everywhere.
    logits = logits_of([prefix[i].tolist() + cands[(i, 0)] for i in range(n)])
    off_argmax = 0
    for i in range(n):
        c = cands[(i, 0)]
        end = c.index(ATTACK_EOS) + 1 if ATTACK_EOS in c else SUFFIX_LEN  # sampled tokens; the rest is padding
        for j in range(end):
            row = logits[i, PREFIX_LEN - 1 + j]
            tenth = torch.topk(row, 10).values[-1].item()
            # 1e-4: HF's and eidetic's fp32 logits differ by ~1e-5; a token outside the top 10
            # would fall short of the 10th logit by far more here (logits spread over several units).
            if row[c[j]].item() < tenth - 1e-4:
                fail(f"baseline: prefix {i} trial 0 token {j} is outside the top 10")
            off_argmax += row[c[j]].item() < row.max().item() - 1e-2
    if off_argmax == 0:
        fail("baseline: trial 0 is the greedy continuation of every prefix; the baseline has no greedy trial")
    # guess{g}.csv: the baseline's argmin over the first g trials, then argsort.
    losses = losses_array(recs)
    out = os.path.join(work, "run-baseline")
    for gt in (1, 10, trials):
        want = baseline_guess_file(losses, lambda e, t: cands.get((e, t)), gt)
        got = file_rows(os.path.join(out, f"guess{gt}.csv"))
        if got != want:
            k = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
            fail(f"baseline: guess{gt}.csv row {k} differs from simple_baseline.py's selection")
    # guesses.csv: per prefix the best `per_prefix` distinct candidates, rows by loss.
    loss_by_tokens = {(i, tuple(c)): losses[i, t] for (i, t), c in cands.items()}
    rows = file_rows(os.path.join(out, "guesses.csv"))
    row_losses = [loss_by_tokens.get((e, tuple(c)), np.nan) for e, c in rows]
    if any(np.isnan(row_losses)) or row_losses != sorted(row_losses):
        fail("baseline: guesses.csv rows are not candidates in ascending loss")
    for i in range(n):
        mine = [tuple(c) for e, c in rows if e == i]
        distinct = len({tuple(recs[i]["candidates"][k]["tokens"]) for k in range(len(recs[i]["candidates"]))})
        if len(set(mine)) != len(mine) or len(mine) != min(per_prefix, distinct) or \
                loss_by_tokens.get((i, mine[0]) if mine else None) != losses[i].min():
            fail(f"baseline: guesses.csv holds {len(mine)} rows for prefix {i}, not its best distinct candidates")

    # 2. The same run with answers: some prefixes' best, second or first-trial candidate, the
    # rest random; every file scored as score_submission.py scores it.
    answers = []
    rng = np.random.default_rng(7)
    for i in range(n):
        ranked = recs[i]["ranked"]
        pick = [ranked[0], ranked[-1], 0, None][i % 4]
        answers.append(cands[(i, pick)] if pick is not None else rng.integers(0, ATTACK_VOCAB, SUFFIX_LEN).tolist())
    np.save(os.path.join(work, "answers.npy"), np.array(answers, dtype=np.uint16))
    out2, m2, recs2 = eidetic_run(exe, work, "answers", [f"trials: {trials}", f"guesses_per_prefix: {per_prefix}",
                                                          f"answers: {work}/answers.npy"])
    for i in range(n):
        r = {k: v for k, v in recs2[i].items() if k not in ("exact", "any_trial_exact", "edit_distance", "bleu4")}
        if r != recs[i]:
            fail(f"answers: the record of prefix {i} differs from the run without answers")
            break
    value = {x["name"]: x.get("value") for x in m2.get("metrics", [])}
    arr = np.array(answers)
    wrong_after_solved = 0
    for fname, metric in [("guesses.csv", "recall_at_100_errors")] + \
            [(f"guess{gt}.csv", f"recall_at_100_errors_guess{gt}") for gt in (1, 10, trials)]:
        parsed = read_csv_rows(os.path.join(out2, fname))
        rows = [(e, upstream_correct(arr, e, gtext)) for e, gtext in parsed]
        want, _, _ = upstream_rule(rows, n)
        if value.get(metric) != want:  # exact: solved / n on both sides
            fail(f"answers: {metric} is {value.get(metric)!r}, score_submission.py gives {want!r} for {fname}")
        solved = set()
        for e, c in rows:
            wrong_after_solved += (not c) and e in solved
            if c:
                solved.add(e)
        if fname == "guesses.csv" and (sum(not c for _, c in rows) <= 100 or not 0 < want < 1):
            fail(f"answers: guesses.csv should cross 100 wrong guesses with some solved ({len(rows)} rows, {want})")
    if not wrong_after_solved:
        fail("answers: no wrong guess for an already solved prefix; the test needs one (it is an error upstream)")

    # 3. Eidetic mode: a greedy trial 0, the suffix window, no padding.
    _, m3, recs3 = eidetic_run(exe, work, "eidetic", ["mode: eidetic", "trials: 4"])
    run = m3.get("run", {})
    for k, v in {"mode": "eidetic", "loss_window": "suffix", "greedy_trial": True, "eos_padding": False}.items():
        if run.get(k) != v:
            fail(f"eidetic: metrics.json run.{k} is {run.get(k)!r}, expected {v!r}")
    cands3 = check_windows("eidetic", recs3, "suffix")
    logits = logits_of([prefix[i].tolist() + cands3[(i, 0)] for i in range(n)])
    for i in range(n):
        for j, tok in enumerate(cands3[(i, 0)]):
            row = logits[i, PREFIX_LEN - 1 + j]
            if row[tok].item() < row.max().item() - 1e-4:  # 1e-4: fp32 logits, as above
                fail(f"eidetic: trial 0 of prefix {i} is not greedy at token {j}")
                break
    # The baseline's window in eidetic mode, by name.
    _, m4, recs4 = eidetic_run(exe, work, "eidetic-bw", ["mode: eidetic", "trials: 2", "loss_window: baseline"])
    if m4.get("run", {}).get("loss_window") != "baseline":
        fail("eidetic-bw: loss_window not recorded")
    check_windows("eidetic-bw", recs4, "baseline")
    print(f"attack: {n} prefixes x {trials} trials; {padded} padded candidates; windows, selection and scores checked")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--answers", choices=["synthetic", "assets"], default="synthetic")
    ap.add_argument("--files", type=int, default=16, help="random guess files per answer set")
    ap.add_argument("--seed", type=int, default=20221207)
    ap.add_argument("--attack", action="store_true",
                    help="check the extraction-challenge attack against simple_baseline.py instead")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="eidetic_challenge_oracle_")
    atexit.register(shutil.rmtree, tmp, True)

    if args.attack:
        failures = []
        check_attack(args.eidetic, tmp, lambda msg: failures.append(msg) or (len(failures) <= 10 and print(f"FAIL {msg}")))
        return verdict(len(failures), f"FAILED: {len(failures)} differences", "OK")

    answer_sets = []  # (name, path of the .npy, answers as int64, vocab)
    if args.answers == "assets":
        src = os.environ.get("EIDETIC_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        assets = os.environ.get("EIDETIC_ASSETS") or os.path.join(src, "..", "shared", "assets")
        path = os.path.join(assets, "lm-extraction-benchmark", "val_suffix.npy")
        if not os.path.isfile(path):
            skip(f"{os.path.realpath(path)} is absent")
        real = np.load(path)
        if real.shape != (1000, SUFFIX_LEN):
            print(f"FAIL: {path} has shape {real.shape}, expected (1000, {SUFFIX_LEN})")
            return 1
        answer_sets.append(("val_suffix", path, real[-1000:].astype(np.int64), 50257))
    else:
        for name, rows, dtype, vocab in [("synthetic1200", 1200, np.uint16, 50257), ("synthetic1000", 1000, np.uint16, 50257),
                                         ("synthetic37", 37, np.int64, 7), ("synthetic3", 3, np.int32, 2)]:
            arr = np.array([[rng.randrange(vocab) for _ in range(SUFFIX_LEN)] for _ in range(rows)], dtype=dtype)
            path = os.path.join(tmp, f"{name}.npy")
            np.save(path, arr)
            answer_sets.append((name, path, arr[-1000:].astype(np.int64), vocab))  # upstream's [-1000:]

    failures = 0
    files = 0

    def fail(msg):
        nonlocal failures
        failures += 1
        if failures <= 10:
            print(f"FAIL {msg}")

    for name, npy, answers, vocab in answer_sets:
        for k in range(args.files):
            guesses = make_guesses(rng, answers, vocab)
            style = rng.choice(["compact", "spaced"])
            crlf = rng.random() < 0.5
            case = os.path.join(tmp, f"{name}_{k}")
            os.makedirs(case)
            csv_path = os.path.join(case, "guesses.csv")
            write_csv(csv_path, guesses, style, crlf)
            rows = [(e, upstream_correct(answers, e, g)) for e, g in read_csv_rows(csv_path)]
            # Half the files by default (upstream's num_samples = 1000), half with --rows = the
            # number of answers (recall over them).
            by_rows = k % 2 == 1
            want, per_guess, points = upstream_rule(rows, len(answers) if by_rows else 1000)
            r = run_score(args.eidetic, csv_path, npy, case, rows=len(answers) if by_rows else None)
            files += 1
            tag = f"{name} file {k} ({'--rows' if by_rows else 'default'}, {len(rows)} guesses, {sum(not c for _, c in rows)} wrong, {style}, {'CRLF' if crlf else 'LF'})"
            if r.returncode != 0:
                fail(f"{tag}: exit {r.returncode}: {r.stderr.strip()}")
                continue
            last = r.stdout.rstrip("\n").split("\n")[-1]
            if not last.startswith("recall_at_100_errors: "):
                fail(f"{tag}: last line {last!r}")
                continue
            got = float(last.split(": ", 1)[1])
            # exact: solved / examples, one IEEE division on both sides (np.mean of 0/1 values sums
            # exactly), printed with round-trip digits.
            if got != want:
                fail(f"{tag}: eidetic {got!r}, the published rule {want!r}")
            with open(os.path.join(case, "error_curve.csv")) as f:
                lines = f.read().split("\n")
            if lines[0] != "wrong_guesses,recall" or lines[-1] != "":
                fail(f"{tag}: error_curve.csv header/ending {lines[0]!r} ... {lines[-1]!r}")
                continue
            curve = [(int(a), float(b)) for a, b in (ln.split(",") for ln in lines[1:-1])]
            # exact: as above, every recall is solved / examples, written with round-trip digits.
            if curve != per_guess:
                i = next((i for i in range(min(len(curve), len(per_guess))) if curve[i] != per_guess[i]),
                         min(len(curve), len(per_guess)))
                fail(f"{tag}: error curve differs at guess {i}: eidetic {curve[i:i + 3]} rule {per_guess[i:i + 3]}")
            at_correct = [curve[i] for i, (_, c) in enumerate(rows) if c]
            if at_correct != points:  # exact: the same recalls as above
                fail(f"{tag}: the curve at correct guesses differs from upstream's (errors, recall) points")
            if not os.path.getsize(os.path.join(case, "error_curve.svg")):
                fail(f"{tag}: empty error_curve.svg")

        # Bad input: an example id outside the answers, a suffix of another length.
        n = len(answers)
        bad = os.path.join(tmp, f"{name}_bad")
        os.makedirs(bad)
        for label, rows_, line, needle in [
            ("id out of range", [(0, list(answers[0])), (n, list(answers[0]))], 3, f"example id {n} is outside the answers"),
            ("short suffix", [(0, list(answers[0])), (1, list(answers[1])), (0, list(answers[0][:49]))], 4,
             "has 49 tokens, its answer has 50"),
        ]:
            p = os.path.join(bad, "guesses.csv")
            write_csv(p, rows_, "compact", False)
            r = run_score(args.eidetic, p, npy, bad)
            if r.returncode != 1 or f"{p}:{line}: " not in r.stderr or needle not in r.stderr:
                fail(f"{name} {label}: exit {r.returncode}, stderr {r.stderr.strip()!r}")

    print(f"{files} guess files scored against {', '.join(n for n, *_ in answer_sets)}")
    return verdict(failures, f"FAILED: {failures} differences", "OK")


if __name__ == "__main__":
    sys.exit(main())
