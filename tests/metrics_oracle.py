#!/usr/bin/env python3
"""tests/metrics_oracle.py: holds eidetic::metrics equal to independent references.

Membership inference (Carlini et al. 2022, "Membership inference attacks from first
principles"): roc_curve against scikit-learn's roc_curve(drop_intermediate=False), point for
point and exactly; roc_auc against roc_auc_score (to 1e-12: scikit-learn integrates the curve
with the trapezoid rule in floating point) and against the exact Mann-Whitney fraction; the
TPR at low FPRs against the same rule applied to scikit-learn's curve; bootstrap_auc against a
Python rendering of its definition (stratified resampling with the same counter-based draws).

Text metrics of extraction attacks (Carlini et al. 2021, "Extracting Training Data from Large
Language Models"; Ippolito et al. 2022 for approximate memorization): zlib sizes against
len(zlib.compress(s.encode("utf-8"))) on random Unicode text, ASCII lowercasing, token edit
distance against a plain Python Levenshtein, BLEU-4 against NLTK's sentence_bleu with
SmoothingFunction().method1 (exactly), trigram Jaccard against Python sets.

Drives the C++ side through tests/metrics_tool.cpp (`--tool`). Exit status: 0 all equal, 1 a
difference (the first few are printed), 77 skipped (scikit-learn or NLTK missing).
"""

import argparse
import math
import random
import sys
import zlib
from fractions import Fraction
from testlib import run_json_tool, skip, verdict

MASK = (1 << 64) - 1

try:
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
except ImportError as e:  # the references are missing: skipped, not failed
    skip(f"{e} (scripts/setup.sh --test installs scikit-learn and nltk)")


class Report:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def check(self, name, ok, detail):
        self.checks += 1
        if not ok:
            self.failures += 1
            if self.failures <= 12:
                shown = detail if len(detail) < 600 else detail[:600] + "..."
                print(f"FAIL {name}: {shown}")


# ---- references written here --------------------------------------------------------------


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
        prev = cur
    return prev[len(b)]


def trigram_jaccard(a, b):
    sa = {tuple(a[i:i + 3]) for i in range(len(a) - 2)}
    sb = {tuple(b[i:i + 3]) for i in range(len(b) - 2)}
    if not sa and not sb:
        return 1.0 if a == b else 0.0
    return len(sa & sb) / len(sa | sb)


def mann_whitney(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l == 1]
    neg = [s for s, l in zip(scores, labels) if l == 0]
    wins = sum((p > n) * 2 + (p == n) for p in pos for n in neg)
    return Fraction(wins, 2 * len(pos) * len(neg))


def mix64(z):  # kernels/rng.h's SplitMix64 finalizer
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def random_bits(seed, stream, step, index):
    return mix64(mix64(mix64(mix64(seed) ^ stream) ^ step) ^ index)


def bootstrap_auc(scores, labels, samples, confidence, seed):
    """metrics/membership.h's definition: members resampled from members (stream 0xa0c1),
    non-members from non-members (stream 0xa0c0), draw i of resample s = bits % class size;
    the percentile interval picks the sorted AUCs at int(q * (samples - 1))."""
    pos = [s for s, l in zip(scores, labels) if l == 1]
    neg = [s for s, l in zip(scores, labels) if l == 0]
    aucs = []
    for s in range(samples):
        p = [pos[random_bits(seed, 0xA0C1, s, i) % len(pos)] for i in range(len(pos))]
        n = [neg[random_bits(seed, 0xA0C0, s, i) % len(neg)] for i in range(len(neg))]
        aucs.append(float(mann_whitney(p + n, [1] * len(p) + [0] * len(n))))
    aucs.sort()
    alpha = (1 - confidence) / 2
    at = lambda q: aucs[int(min(max(q * (samples - 1), 0.0), samples - 1))]
    return float(mann_whitney(scores, labels)), at(alpha), at(1 - alpha)


# ---- random inputs ------------------------------------------------------------------------


def random_scores(rng, n):
    kind = rng.randrange(4)
    if kind == 0:  # continuous
        return [rng.gauss(0, 1) for _ in range(n)]
    if kind == 1:  # heavy ties
        return [float(rng.randrange(4)) for _ in range(n)]
    if kind == 2:  # rounded: some ties
        return [round(rng.uniform(-5, 5), 1) for _ in range(n)]
    return [rng.choice([-1e300, -3.5, 0.0, 1e-300, 2.25, 7e10, 1e308]) for _ in range(n)]


def random_labels(rng, n):
    p = rng.uniform(0.05, 0.95)
    labels = [int(rng.random() < p) for _ in range(n)]
    i, j = rng.sample(range(n), 2)  # at least one member and one non-member
    labels[i], labels[j] = 1, 0
    return labels


def random_text(rng):
    kind = rng.randrange(5)
    n = rng.choice([0, 1, 2, 5, 20, 100, 1000, 5000]) if kind else rng.randrange(0, 40000)
    if kind == 0:  # repetitive ASCII: compresses well
        words = ["the", "data", "extraction", " ", "\n", "1234", "email@example.com"]
        return "".join(rng.choice(words) for _ in range(n // 4 + 1))[:n]
    if kind == 1:
        return "".join(chr(rng.randrange(32, 127)) for _ in range(n))
    ranges = [(0x20, 0x7F), (0xA0, 0x800), (0x800, 0xD800), (0xE000, 0x10000), (0x10000, 0x110000)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randrange(lo, hi)))
    return "".join(out)


def mutate(rng, ref, vocab):
    out = list(ref)
    for _ in range(rng.choice([0, 0, 1, 2, 3, 6, 15])):
        op = rng.randrange(3)
        if op == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(vocab)
        elif op == 1:
            out.insert(rng.randrange(len(out) + 1), rng.randrange(vocab))
        elif out:
            del out[rng.randrange(len(out))]
    return out


def random_pair(rng):
    vocab = rng.choice([2, 3, 5, 20, 50257])
    n = rng.choice([0, 1, 2, 3, 4, 5, 8, 20, 50, 64])
    ref = [rng.randrange(vocab) for _ in range(n)]
    kind = rng.randrange(4)
    if kind == 0:
        cand = [rng.randrange(vocab) for _ in range(rng.randrange(0, 60))]
    elif kind == 1:
        cand = list(ref)
    else:
        cand = mutate(rng, ref, vocab)
    return cand, ref


# ---- the comparisons ----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", required=True, help="the eidetic_metrics_tool executable")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cases", type=int, default=600, help="random cases per metric")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rep = Report()

    # Membership inference.
    roc_cases = []
    for k in range(args.cases):
        n = rng.choice([2, 3, 5, 10, 50, 200, 1000]) if k % 10 else rng.randrange(2, 5000)
        scores, labels = random_scores(rng, n), random_labels(rng, n)
        roc_cases.append({"scores": scores, "labels": labels})
    fixed_fprs = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0]
    for case in roc_cases:
        fpr, _, _ = roc_curve(case["labels"], case["scores"], drop_intermediate=False)
        case["max_fpr"] = fixed_fprs + [float(fpr[rng.randrange(len(fpr))]) for _ in range(3)]
    bad_inputs = [
        {"scores": [1.0, 2.0], "labels": [1, 1]},
        {"scores": [1.0, 2.0], "labels": [0, 0]},
        {"scores": [1.0, 2.0], "labels": [0]},
        {"scores": [], "labels": []},
    ]
    boot_cases = []
    for _ in range(12):
        n = rng.choice([2, 5, 20, 40])
        boot_cases.append({"scores": random_scores(rng, n)[:n], "labels": random_labels(rng, n),
                           "samples": rng.choice([1, 10, 200]), "confidence": rng.choice([0.5, 0.9, 0.95]),
                           "seed": rng.randrange(1 << 63)})

    texts = [random_text(rng) for _ in range(args.cases)] + ["", "a", "hello world", "\u00e9\U0001F642" * 300]
    pairs = [random_pair(rng) for _ in range(args.cases * 4)]
    pairs += [([], []), ([1], []), ([], [1]), ([1, 2, 3, 4], [1, 2, 3, 4]), ([7] * 10, [7] * 3)]

    answer = run_json_tool([args.tool], {
        "roc": roc_cases + bad_inputs, "bootstrap_auc": boot_cases, "zlib": texts, "lower": texts,
        "edit": pairs, "nedit": pairs, "bleu": pairs, "jaccard": pairs})

    worst_auc = 0.0
    for case, got in zip(roc_cases, answer["roc"]):
        tag = f"n={len(case['scores'])} scores={case['scores'][:8]} labels={case['labels'][:8]}"
        if "error" in got:
            rep.check("roc_curve", False, f"{tag}: error {got['error']}")
            continue
        fpr, tpr, thr = roc_curve(case["labels"], case["scores"], drop_intermediate=False)
        thr_got = [math.inf if t == "inf" else -math.inf if t == "-inf" else t for t in got["thresholds"]]
        # exact: both sides divide the same integer counts by the same class size, once; the
        # thresholds are the input scores, copied (JSON carries doubles with round-trip digits).
        rep.check("roc_curve fpr", got["fpr"] == fpr.tolist(), f"{tag}\n  ours {got['fpr'][:10]}\n  sklearn {fpr.tolist()[:10]}")
        rep.check("roc_curve tpr", got["tpr"] == tpr.tolist(), f"{tag}\n  ours {got['tpr'][:10]}\n  sklearn {tpr.tolist()[:10]}")
        rep.check("roc_curve thresholds", thr_got == thr.tolist(), f"{tag}\n  ours {thr_got[:10]}\n  sklearn {thr.tolist()[:10]}")
        ref_auc = roc_auc_score(case["labels"], case["scores"])
        worst_auc = max(worst_auc, abs(got["auc"] - ref_auc))
        # scikit-learn sums up to n = 5000 trapezoids in floating point: worst case ~n u = 5.6e-13
        # absolute on a value <= 1 (measured: 1.1e-16); 1e-12 sits just above that bound.
        rep.check("roc_auc vs roc_auc_score", abs(got["auc"] - ref_auc) <= 1e-12, f"{tag}: ours {got['auc']!r} sklearn {ref_auc!r}")
        if len(case["scores"]) <= 1000:
            exact = float(mann_whitney(case["scores"], case["labels"]))
            # float(Fraction) rounds once; ours divides the exact integer count in long double,
            # then rounds to double: at most 1 ulp apart (<= 1.1e-16 below 1; measured: 0).
            rep.check("roc_auc vs the exact fraction", abs(got["auc"] - exact) <= 1e-16 * max(1.0, exact) * 2,
                      f"{tag}: ours {got['auc']!r} exact {exact!r}")
        want = [max(float(t) for f, t in zip(fpr, tpr) if f <= m) for m in case["max_fpr"]]
        # exact: each value is one of the curves' TPRs above, copied.
        rep.check("tpr_at_fpr", got["tpr_at"] == want, f"{tag} max_fpr {case['max_fpr']}: ours {got['tpr_at']} want {want}")
    for case, got in zip(bad_inputs, answer["roc"][len(roc_cases):]):
        rep.check("roc errors", "error" in got, f"{case}: no error, got {str(got)[:200]}")

    for case, got in zip(boot_cases, answer["bootstrap_auc"]):
        value, low, high = bootstrap_auc(case["scores"], case["labels"], case["samples"], case["confidence"], case["seed"])
        # Every AUC here is a Mann-Whitney count over the pairs: float(Fraction) rounds once, ours
        # twice (long double, then double), so at most 1 ulp apart (<= 1.1e-16 for values <= 1;
        # measured: 0), as in the exact-fraction check above.
        ok = "error" not in got and abs(got["value"] - value) <= 2e-16 and abs(got["low"] - low) <= 2e-16 and \
            abs(got["high"] - high) <= 2e-16 and got["n"] == len(case["scores"]) and got["low"] <= got["high"]
        rep.check("bootstrap_auc", ok, f"{case}: ours {got}, want value {value} low {low} high {high}")

    # Text metrics.
    for t, got in zip(texts, answer["zlib"]):
        want = len(zlib.compress(t.encode("utf-8")))
        rep.check("zlib_compressed_bytes", got == want, f"text {t[:60]!r} (len {len(t)}): ours {got} python {want}")
    for t, got in zip(texts, answer["lower"]):
        want = "".join(c.lower() if "A" <= c <= "Z" else c for c in t)
        rep.check("to_lower_ascii", got == want, f"text {t[:60]!r}")

    smooth = SmoothingFunction().method1
    exact_bleu = 0
    for (cand, ref), e, ne, b, j in zip(pairs, answer["edit"], answer["nedit"], answer["bleu"], answer["jaccard"]):
        tag = f"candidate {cand[:20]} reference {ref[:20]}"
        d = levenshtein(cand, ref)
        rep.check("token_edit_distance", e == d, f"{tag}: ours {e} python {d}")
        # exact: one IEEE division of the same two integers on both sides.
        rep.check("normalized_edit_distance", ne == d / max(len(ref), 1), f"{tag}: ours {ne} want {d / max(len(ref), 1)}")
        want = float(sentence_bleu([ref], cand, smoothing_function=smooth))
        # exact: NLTK's formula (math.fsum of w log p, then exp) with the same libm's log and exp.
        exact_bleu += b == want
        rep.check("bleu4 vs nltk", b == want, f"{tag}: ours {b!r} nltk {want!r}")
        jw = trigram_jaccard(cand, ref)
        # exact: one IEEE division of the same two set sizes on both sides.
        rep.check("trigram_jaccard", j == jw, f"{tag}: ours {j!r} python {jw!r}")

    print(f"{rep.checks} checks: {len(roc_cases)} ROC cases (largest |AUC - roc_auc_score| {worst_auc:.3g}), "
          f"{len(boot_cases)} bootstrap cases, {len(texts)} texts, {len(pairs)} token pairs "
          f"({exact_bleu} BLEU values bit-identical to NLTK)")
    return verdict(rep.failures, f"FAILED: {rep.failures} differences", "OK")


if __name__ == "__main__":
    sys.exit(main())
