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

mimir's figures (iamgroot42/mimir attack_utils.py): the thinned ROC curve against roc_curve's
default (drop_intermediate=True), the TPR at low FPR against tpr[np.where(fpr < bound)[0][-1]]
on it, PR-AUC against auc(recall, precision) of precision_recall_curve with non-members as the
positives and the scores negated.

Secret Sharer exposure (TF Privacy exposures.py): Owen's T and the skew-normal against scipy and
an mpmath reference, the MLE fit's likelihood against scipy.stats.skewnorm.fit's, extrapolated
exposure against TF Privacy's formula, interpolated exposure against a rendering of its code.

Text: sacrebleu's sentence_bleu, the trigram near-duplicate rule of Carlini et al. 2021 (a
rendering with collections.Counter), Python's str.lower(), the zlib scores of mimir and of
Carlini et al. 2021.

ReCaLL (Xie et al. 2024) as mimir computes it (attacks/recall.py): process_prefix's truncation of
the shots, get_conditional_ll's windows and value (its code run on a toy float64 causal LM with
transformers' loss), and the score against mimir's ratio; the held-out choice of a parameter (the
min-k% k sweep) against roc_auc_score on each part.

Drives the C++ side through tests/metrics_tool.cpp (`--tool`). Exit status: 0 all equal, 1 a
difference (the first few are printed), 77 skipped (scikit-learn, NLTK, scipy, sacrebleu,
mpmath or torch missing).
"""

import argparse
import math
import random
import string
import sys
import types
import unicodedata
import warnings
import zlib
from collections import Counter
from fractions import Fraction
from testlib import run_json_tool, skip, verdict

MASK = (1 << 64) - 1

try:
    import numpy as np
    from sklearn.metrics import auc, precision_recall_curve, roc_auc_score, roc_curve
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    import mpmath
    import sacrebleu
    import scipy.special
    import scipy.stats
    import torch
except ImportError as e:  # the references are missing: skipped, not failed
    skip(f"{e} (scripts/setup.sh --test installs scikit-learn, nltk, scipy, sacrebleu and mpmath; torch is the build's)")

EPS = sys.float_info.epsilon


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


# ---- mimir, TF Privacy, sacrebleu and paper renderings ------------------------------------


def mimir_tpr(fpr, tpr, bound):
    """mimir's attack_utils.py: tpr[np.where(np.array(fpr) < upper_bound)[0][-1]]."""
    return float(tpr[np.where(np.array(fpr) < bound)[0][-1]])


def mimir_pr_auc(scores, labels):
    """mimir's get_precision_recall_metrics with preds_member = minus Eidetic's member scores:
    labels non-members = 1, predictions not negated."""
    labels_nm = [0 if l == 1 else 1 for l in labels]
    precision, recall, _ = precision_recall_curve(labels_nm, [-x for x in scores])
    return auc(recall, precision)


def tf_exposure_interpolation(perplexities, perplexities_reference):
    """TF Privacy's compute_exposure_interpolation, as in its source."""
    keys = list(perplexities)
    perplexities_concat = [(p, -1) for p in perplexities_reference]
    for i, k in enumerate(keys):
        perplexities_concat.extend((p, i) for p in perplexities[k])
    indices_concat = np.fromiter((i for _, i in sorted(perplexities_concat)), dtype=int)
    cum_sum = np.cumsum(indices_concat == -1)
    ranks = {k: cum_sum[indices_concat == i] + 1 for i, k in enumerate(keys)}
    exposures = {k: np.log2(len(list(perplexities_reference))) - np.log2(ranks[k]) for k in ranks}
    return exposures, ranks


def tf_exposure_extrapolation(secret, params):
    """TF Privacy's compute_exposure_extrapolation for one secret, given the fit's parameters."""
    with np.errstate(divide="ignore"):
        return float(-np.log2(scipy.stats.skewnorm.cdf(secret, *params)))


def mp_owens_t(h, a):
    """Owen's T in mpmath at enough digits: exp(-h^2/2)/(2 pi) * integral_0^a of
    exp(-h^2 x^2/2)/(1+x^2), the integrand O(1) so that mpmath's tolerance is relative, split at
    multiples of its width 1/|h|."""
    h, a = mpmath.mpf(h), mpmath.mpf(a)
    A = abs(a)
    width = 1 / abs(h) if h != 0 else mpmath.mpf(1)
    pts, k = [mpmath.mpf(0)], 1
    while k * width < A and k < 2 ** 20:
        pts.append(k * width)
        k *= 2
    pts.append(A)
    integral = mpmath.quad(lambda x: mpmath.exp(-h * h * x * x / 2) / (1 + x * x), pts)
    return mpmath.sign(a) * mpmath.exp(-h * h / 2) / (2 * mpmath.pi) * integral


def mp_skewnorm_cdf(z, a):
    """Phi(z) - 2 T(z, a) with enough digits for the cancellation (for a > 0 the result is
    at most exp(-z^2 (1 + a^2)/2)/2 for z < 0 while Phi(z) is not); 0.0 where that bound is below
    1e-304."""
    if a > 0 and z < 0:
        exponent = z * z * (1 + a * a) / 2
        if exponent > 700:  # the result is below exp(-exponent)/2 < 1e-304: no digits to spend
            return 0.0
        lost = exponent / math.log(10)
    else:
        lost = 0.0
    with mpmath.workdps(40 + int(lost)):
        return float(mpmath.ncdf(z) - 2 * mp_owens_t(z, a))


def split_words(text):
    """metrics::duplicate_words: runs of characters that are neither str.isspace() nor in
    string.punctuation."""
    words, cur = [], []
    for c in text:
        if c.isspace() or c in string.punctuation:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def tri(words):
    return Counter(tuple(words[i:i + 3]) for i in range(len(words) - 2))


def trigram_duplicate(s1, s2):
    """Carlini et al. 2021 section 6.1, as written: s1 duplicates s2 iff
    |tri(s1) & tri(s2)| >= |tri(s1)| / 2 (Counter & is the multiset intersection); with no
    trigram in s1 (fewer than 3 words), Eidetic's documented rule: equal word lists."""
    w1, w2 = split_words(s1), split_words(s2)
    if len(w1) < 3:
        return w1 == w2
    t1, t2 = tri(w1), tri(w2)
    return sum((t1 & t2).values()) >= sum(t1.values()) / 2


def trigram_containment(s1, s2):
    """The fraction |tri(s1) & tri(s2)| / |tri(s1)| of the same rule (Eidetic's dedup_threshold
    compares it with a threshold; the paper's is 1/2); 1 or 0 by equal word lists when s1 has
    fewer than 3 words."""
    w1, w2 = split_words(s1), split_words(s2)
    if len(w1) < 3:
        return 1.0 if w1 == w2 else 0.0
    t1, t2 = tri(w1), tri(w2)
    return sum((t1 & t2).values()) / sum(t1.values())


def random_bleu_text(rng):
    words = ["the", "The", "cat", "sat", "on", "mat", "a", "dog", "3.14", "1,000", "2-3", "U.S.", "e-mail",
             "don't", "(see", "above)", "&amp;", "&quot;x&quot;", "<skipped>", "x-\ny", "caf\u00e9", "na\u00efve",
             "\u65e5\u672c", "\u0394\u03b5\u03bb\u03c4\u03b1", "\U0001F642", "$5", "50%", "a.b", "end.", "end,", "9-",
             "--", "...", "?!", "@user", "#tag", "x/y", "[1]", "{k}", "~", "|", "1.", ".5"]
    seps = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009", "\x1c", ""]
    n = rng.choice([0, 1, 2, 3, 5, 8, 15, 30])
    out = "".join(rng.choice(words) + rng.choice(seps) for _ in range(n))
    if rng.random() < 0.2:
        out = rng.choice(["", " ", "\n", "  \u2028"]) + out + rng.choice(["", " ", "\n", " \u3000 ", "."])
    return out


def mutate_text(rng, text):
    toks = text.split(" ")
    for _ in range(rng.choice([0, 1, 2, 4, 8])):
        op = rng.randrange(3)
        if op == 0 and toks:
            toks[rng.randrange(len(toks))] = rng.choice(["the", "a", "cat", ".", "x", ""])
        elif op == 1:
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(["the", "dog", ",", "1"]))
        elif toks:
            del toks[rng.randrange(len(toks))]
    return " ".join(toks)


def random_dup_text(rng):
    vocab = ["my", "name", "is", "John", "john", "Smith", "at", "com", "email", "don", "t", "caf\u00e9",
             "\u2019s", "x"]
    seps = [" ", " ", ", ", ". ", "-", "'", "\n", "\u00a0", "\u2019", "...", "  "]
    n = rng.choice([0, 1, 2, 3, 4, 6, 10, 25])
    return "".join(rng.choice(vocab[:rng.choice([3, 6, 14])]) + rng.choice(seps) for _ in range(n))


def random_lower_text(rng):
    """Strings rich in the final-sigma context: sigmas next to letters, case-ignorable characters
    (apostrophes, periods, colons, combining marks, soft hyphens, modifier letters, format
    characters), digits, spaces and other cased letters."""
    alphabet = ["\u03a3", "\u03a3", "\u03c3", "\u03c2", "A", "a", "\u0391", "\u03b1", "1", " ", "'", ".", ":",
                "\u0301", "\u00ad", "\u02b0", "\u200d", "\u2019", "\u0130", "\u1e9e", "\u01c5", "\u0345", "\u00df",
                "\U00010400", "\u24b6", "\u2160", "-", "\u0387", "\U0001e900"]
    n = rng.choice([1, 2, 3, 4, 6, 10, 30])
    return "".join(rng.choice(alphabet) for _ in range(n))


# ---- the comparisons ----------------------------------------------------------------------


def check_mimir(args, rng, rep, roc_cases, roc_answers):
    """TPR at low FPR and PR-AUC as mimir computes them."""
    differ = 0
    for case, got in zip(roc_cases, roc_answers):
        if "error" in got:
            continue  # reported by the ROC checks
        tag = f"n={len(case['scores'])} scores={case['scores'][:8]} labels={case['labels'][:8]}"
        fpr, tpr, thr = roc_curve(case["labels"], case["scores"])  # mimir's call: drop_intermediate=True
        d = got["dropped"]
        thr_got = [math.inf if t == "inf" else -math.inf if t == "-inf" else t for t in d["thresholds"]]
        # exact: the same integer counts divided once by the same class sizes; thresholds copied.
        ok = d["fpr"] == fpr.tolist() and d["tpr"] == tpr.tolist() and thr_got == thr.tolist()
        rep.check("roc_curve_drop_intermediate", ok, f"{tag}\n  ours {d['fpr'][:10]} {d['tpr'][:10]}\n  sklearn "
                  f"{fpr.tolist()[:10]} {tpr.tolist()[:10]}")
        full_fpr, full_tpr, _ = roc_curve(case["labels"], case["scores"], drop_intermediate=False)
        for b, mine, below in zip(case["below_fpr"], got["mimir"], got["below"]):
            want = mimir_tpr(fpr, tpr, b)
            # exact: each value is one of the curve's TPRs, copied.
            rep.check("mimir_tpr_at_fpr", mine == want, f"{tag} bound {b}: ours {mine} mimir {want}")
            want_full = mimir_tpr(full_fpr, full_tpr, b)
            rep.check("tpr_below_fpr", below == want_full, f"{tag} bound {b}: ours {below} want {want_full}")
            differ += want != want_full
    # Tied scores: a diagonal run of tie groups keeps only its ends on the thinned curve
    # ((0, 0), (1/4, 1/4), (1, 1) here), so mimir's figure at FPR < 0.6 is 1/4 where the full
    # curve's is 1/2.
    tie = {"scores": [4.0, 4.0, 3.0, 3.0, 2.0, 2.0, 1.0, 1.0], "labels": [1, 0] * 4, "below_fpr": [0.6, 0.0]}
    measurable = [[999, 0.001], [1000, 0.001], [99, 0.01], [100, 0.01], [9, 0.1], [10, 0.1], [0, 1.0], [1, 1.0],
                  [3, 0.3], [4, 0.3], [4, 0.25]]
    measurable += [[rng.randrange(0, 3000), rng.choice([0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1 / 3, 0.0007])]
                   for _ in range(200)]
    bad_measurable = [[100, 0.0], [100, 1.5], [-1, 0.01], [100, -0.01]]
    pr_cases = [{"scores": c["scores"], "labels": c["labels"]} for c in roc_cases]
    pr_cases += [{"scores": [1.0, 2.0], "labels": [1, 1]}, {"scores": [1.0, 2.0], "labels": [1, 2]}]
    ans = run_json_tool([args.tool], {"roc": [tie], "measurable": measurable + bad_measurable, "pr_auc": pr_cases})
    t = ans["roc"][0]
    rep.check("mimir tie example", t["mimir"][0] == 0.25 and t["below"][0] == 0.5 and
              mimir_tpr(*roc_curve(tie["labels"], tie["scores"])[:2], 0.6) == 0.25 and
              mimir_tpr(*roc_curve(tie["labels"], tie["scores"], drop_intermediate=False)[:2], 0.6) == 0.5,
              f"ours mimir {t['mimir'][0]} full {t['below'][0]}")
    rep.check("tpr_below_fpr bound 0", "error" in t["mimir"][1] and "error" in t["below"][1], f"{t}")
    for (n, b), got in zip(measurable, ans["measurable"]):
        rep.check("tpr_at_fpr_measurable", got == (n >= math.ceil(1 / b)), f"n {n} bound {b}: ours {got}")
    for case, got in zip(bad_measurable, ans["measurable"][len(measurable):]):
        rep.check("tpr_at_fpr_measurable errors", isinstance(got, dict) and "error" in got, f"{case}: {got}")
    exact_pr, worst_pr = 0, 0.0
    for case, got in zip(roc_cases, ans["pr_auc"]):
        want = mimir_pr_auc(case["scores"], case["labels"])
        diff = abs(got - want) if not isinstance(got, dict) else math.inf
        exact_pr += diff == 0
        worst_pr = max(worst_pr, diff)
        # Ours sums the same trapezoid terms in NumPy's pairwise order, so equality is expected;
        # the bound allows for a NumPy whose reduction order differs: every term has the same sign
        # and they add up to <= 1, so any order is within n u <= 5000 * 1.1e-16 = 5.6e-13.
        rep.check("pr_auc vs mimir", diff <= 1e-12, f"n={len(case['scores'])} {case['scores'][:6]} "
                  f"{case['labels'][:6]}: ours {got!r} mimir {want!r}")
    for got in ans["pr_auc"][len(roc_cases):]:
        rep.check("pr_auc errors", isinstance(got, dict) and "error" in got, f"{got}")
    return (f"mimir: {differ} TPR@FPR values where the thinned and full curves differ (ties), PR-AUC "
            f"{exact_pr}/{len(roc_cases)} bit-identical (largest difference {worst_pr:.2g})")


def skew_datasets(rng):
    """Reference perplexity-like samples: skew-normal, gamma, log-normal, normal, uniform."""
    nrng = np.random.default_rng(rng.randrange(1 << 32))
    out = []
    for k in range(14):
        n = [30, 100, 300, 1000, 2000][k % 5]
        kind = k % 7
        if kind == 0:
            x = scipy.stats.skewnorm.rvs(rng.choice([-6, -2, 2, 5]), loc=20, scale=4, size=n, random_state=nrng)
        elif kind == 1:
            x = nrng.gamma(rng.choice([2.0, 5.0, 20.0]), 3.0, size=n) + 5
        elif kind == 2:
            x = np.exp(nrng.normal(3.0, rng.choice([0.2, 0.5]), size=n))
        elif kind == 3:
            x = nrng.normal(50, 7, size=n)
        elif kind == 4:
            x = nrng.uniform(10, 30, size=n)
        elif kind == 5:
            x = -nrng.gamma(3.0, 2.0, size=n) + 100
        else:
            x = scipy.stats.skewnorm.rvs(0.5, loc=-3, scale=0.01, size=n, random_state=nrng)
        out.append([float(v) for v in x])
    return out


def check_exposure(args, rng, rep):
    """Skew-normal, its MLE fit and the Secret Sharer exposure."""
    # Owen's T and the skew-normal on a grid, z exact (loc 0, scale 1) so that the references
    # see the same arguments.
    hs = [-38.0, -20.0, -8.0, -3.0, -1.0, -0.1, 0.0, 0.4, 2.0, 9.0, 30.0]
    as_ = [-1000.0, -50.0, -5.0, -1.0, -0.1, 0.0, 0.3, 1.0, 4.0, 20.0, 300.0]
    owens = [[h, a] for h in hs for a in as_]
    grid = [{"a": a, "loc": 0.0, "scale": 1.0, "x": hs} for a in as_]
    grid += [{"a": 2.5, "loc": 10.0, "scale": 3.0, "x": [-5.0, 1.0, 8.0, 10.0, 12.5, 40.0]}]
    data = skew_datasets(rng)
    bad_fit = [[1.0], [2.0, 2.0, 2.0], []]  # (JSON carries no NaN)
    secrets = []
    for x in data:
        lo, hi, sd = min(x), max(x), float(np.std(x))
        for v in [lo - 60 * sd, lo - 8 * sd, lo - sd, lo, float(np.median(x)), hi, hi + 3 * sd]:
            secrets.append({"secret": v, "references": x})
    interp = [{"secret": 3.5, "references": [float(i) for i in range(1, 17)]}]
    for _ in range(300):
        R = rng.choice([1, 2, 5, 16, 100, 1000])
        refs = [float(rng.randrange(20)) if rng.random() < 0.5 else rng.gauss(10, 5) for _ in range(R)]
        s = rng.choice(refs) if rng.random() < 0.4 else rng.choice([-1e9, 1e9, rng.gauss(10, 6)])
        interp.append({"secret": s, "references": refs})
    bad_interp = [{"secret": 1.0, "references": []}]
    ans = run_json_tool([args.tool], {"owens_t": owens, "skewnorm": grid, "skewnorm_fit": data + bad_fit,
                                      "exposure_ext": secrets, "exposure_int": interp + bad_interp})

    worst_t = 0.0
    for (h, a), got in zip(owens, ans["owens_t"]):
        with mpmath.workdps(40):
            ref = float(mp_owens_t(h, a))
        # exp(-h^2/2) rounds its argument h^2/2 (relative eps), which moves the result by h^2/2
        # eps relative; the quadrature adds ~1e-15. scipy (Boost) is checked looser: measured
        # 1.1e-13 relative off the mpmath value at |h| = 30, so 1e-12.
        tol = (4 + h * h) * EPS + 2e-15
        err = abs(got - ref) / abs(ref) if ref != 0 else abs(got)
        worst_t = max(worst_t, err)
        rep.check("owens_t vs mpmath", err <= tol, f"T({h}, {a}): ours {got!r} mpmath {ref!r}")
        sc = float(scipy.special.owens_t(h, a))
        rep.check("owens_t vs scipy", abs(got - sc) <= 1e-12 * abs(sc) + 1e-300, f"T({h}, {a}): ours {got!r} scipy {sc!r}")
    worst_cdf, boost_points = 0.0, 0
    for c, got in zip(grid, ans["skewnorm"]):
        a, loc, scale = c["a"], c["loc"], c["scale"]
        sc_cdf = scipy.stats.skewnorm.cdf(c["x"], a, loc, scale)
        sc_logpdf = scipy.stats.skewnorm.logpdf(c["x"], a, loc, scale)
        for x, cdf, lp, scdf, slp in zip(c["x"], got["cdf"], got["logpdf"], sc_cdf, sc_logpdf):
            z = (x - loc) / scale
            tag = f"a={a} loc={loc} scale={scale} x={x}"
            if loc == 0 and scale == 1:
                ref = mp_skewnorm_cdf(z, a)
                # The result is about exp(-z^2 (1 + max(a, 0)^2)/2) in the left tail: that
                # exponent, formed in double, carries a relative error ~eps times itself, so
                # does the result; plus the quadrature's ~1e-15. Below 1e-290 only "tiny" is
                # checked (subnormal results lose precision by construction).
                tol = (8 + 2 * z * z * (1 + max(a, 0.0) ** 2)) * EPS + 2e-15
                if ref >= 1e-290:
                    err = abs(cdf - ref) / ref
                    worst_cdf = max(worst_cdf, err)
                    rep.check("skewnorm_cdf vs mpmath", err <= tol, f"{tag}: ours {cdf!r} mpmath {ref!r}")
                else:
                    rep.check("skewnorm_cdf underflow", cdf < 1e-280, f"{tag}: ours {cdf!r} mpmath {ref!r}")
            # scipy computes the CDF with Boost except for a > 0 with Boost's value below 1e-6,
            # where it integrates the pdf with quad (absolute tolerance 1.5e-8: measured 4% off
            # the mpmath value at a=20, z=-1.5), so only the Boost points are compared. Boost
            # subtracts 2T(z, a) from Phi(z): its error is a few ulp of max(Phi(z), result), and
            # the tail's conditioning adds z^2 eps relative as above.
            if a <= 0 or scdf >= 1e-6:
                boost_points += 1
                phi = scipy.stats.norm.cdf(z)
                tol = (8 + 2 * z * z * (1 + max(a, 0.0) ** 2)) * EPS * scdf + 8 * EPS * max(phi, scdf) + 1e-300
                rep.check("skewnorm_cdf vs scipy", abs(cdf - scdf) <= tol, f"{tag}: ours {cdf!r} scipy {scdf!r}")
            lp = -math.inf if lp == "-inf" else lp
            # logpdf: log 2 - z^2/2 - log(sqrt(2 pi) scale) + log Phi(a z), a sum of terms each
            # within a few ulp; relative to the largest term.
            mag = 1 + z * z + abs(float(scipy.special.log_ndtr(a * z)))
            rep.check("skewnorm_logpdf vs scipy", abs(lp - slp) <= 16 * EPS * mag, f"{tag}: ours {lp!r} scipy {slp!r}")

    fits = {}
    for x, got in zip(data, ans["skewnorm_fit"]):
        tag = f"n={len(x)} x={x[:4]}"
        if "error" in got:
            rep.check("fit_skewnorm", False, f"{tag}: error {got['error']}")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sp_fit = scipy.stats.skewnorm.fit(x)
        ll_scipy = float(np.sum(scipy.stats.skewnorm.logpdf(x, *sp_fit)))
        ll_ours = float(np.sum(scipy.stats.skewnorm.logpdf(x, got["a"], got["loc"], got["scale"])))
        # Both log-likelihoods evaluated by scipy: ours must be at least scipy's (our optimiser
        # stops tighter than fmin's xtol = ftol = 1e-4). The slack covers the sum's rounding,
        # n eps |ll| <= 2000 * 2.2e-16 |ll| < 1e-12 |ll|.
        rep.check("fit_skewnorm likelihood >= scipy's", ll_ours >= ll_scipy - 1e-12 * abs(ll_scipy),
                  f"{tag}: ours {ll_ours!r} at {got}, scipy {ll_scipy!r} at {sp_fit}")
        # The tool's own log-likelihood at its fit against scipy's at the same parameters: a sum
        # of n terms each within ~16 eps of its magnitude (as logpdf above).
        rep.check("skewnorm_log_likelihood vs scipy", abs(got["loglik"] - ll_ours) <= 1e-12 * (abs(ll_ours) + len(x)),
                  f"{tag}: ours {got['loglik']!r} scipy {ll_ours!r}")
        fits[id(x)] = (got, sp_fit, ll_ours - ll_scipy)
    for case, got in zip(bad_fit, ans["skewnorm_fit"][len(data):]):
        rep.check("fit_skewnorm errors", "error" in got, f"{case}: {got}")

    unbounded, e2e = 0, 0
    for case, got in zip(secrets, ans["exposure_ext"]):
        x, s = case["references"], case["secret"]
        tag = f"secret {s} n={len(x)} refs {x[:3]}"
        if "error" in got or id(x) not in fits:
            rep.check("exposure_extrapolation", False, f"{tag}: {got}")
            continue
        fit, sp_fit, dll = fits[id(x)]
        rep.check("exposure_extrapolation fit", [got["a"], got["loc"], got["scale"]] == [fit["a"], fit["loc"], fit["scale"]],
                  f"{tag}: {got} vs fit_skewnorm {fit}")
        params = (got["a"], got["loc"], got["scale"])
        z = (s - params[1]) / params[2]
        exposure = math.inf if got["exposure"] == "inf" else got["exposure"]
        ref_cdf = mp_skewnorm_cdf(z, params[0])
        if got["unbounded"]:
            unbounded += 1
            # Flagged only where the CDF is 0 in double; TF Privacy's formula is inf there too.
            rep.check("exposure unbounded", exposure == math.inf and got["cdf"] == 0 and ref_cdf < 1e-300 and
                      tf_exposure_extrapolation(s, params) == math.inf, f"{tag}: {got}, mpmath cdf {ref_cdf!r}")
            continue
        want = -math.log2(ref_cdf)
        # -log2 of the CDF: the CDF's relative tolerance above (z from the fit's parameters is
        # now rounded once more, same z^2 eps term) becomes an absolute one divided by ln 2.
        tol = ((8 + 2 * z * z * (1 + max(params[0], 0.0) ** 2)) * EPS + 2e-15) / math.log(2) + 4 * EPS * abs(want)
        rep.check("exposure_extrapolation at our fit", abs(exposure - want) <= tol and math.isfinite(exposure),
                  f"{tag}: ours {exposure!r} want {want!r}")
        # TF Privacy end to end (scipy's fit, scipy's CDF). The two fits stop at different points
        # near the same maximum: where the likelihood is locally quadratic with Hessian H
        # (numerical, at our fit) and scipy's point is dll below ours, |g . delta| <=
        # sqrt(2 dll g' H^-1 g) bounds the first-order exposure change, g the exposure's gradient;
        # twice that plus 1e-9 covers the finite differences. Checked where H is positive definite
        # and scipy's CDF comes from Boost (see above); counted.
        tf = tf_exposure_extrapolation(s, sp_fit)
        if params[0] != 0 and abs(params[0]) < 50:
            bound = exposure_bound(x, params, s, dll)
            sp_cdf = scipy.stats.skewnorm.cdf(s, *sp_fit)
            if bound is not None and (sp_fit[0] <= 0 or sp_cdf >= 1e-6):
                e2e += 1
                rep.check("exposure_extrapolation vs TF Privacy", abs(exposure - tf) <= 2 * bound + 1e-9,
                          f"{tag}: ours {exposure!r} TF {tf!r} bound {bound!r} (fits {params} / {sp_fit})")

    exact_int = 0
    for case, got in zip(interp, ans["exposure_int"]):
        exps, ranks = tf_exposure_interpolation({"s": [case["secret"]]}, case["references"])
        want, rank = float(exps["s"][0]), int(ranks["s"][0])
        tag = f"secret {case['secret']} refs {case['references'][:8]} (R={len(case['references'])})"
        rep.check("exposure_interpolation rank", got.get("rank") == rank, f"{tag}: ours {got} TF rank {rank}")
        # Both are log2(R) - log2(rank) of the same integers; NumPy's log2 may be a SIMD
        # implementation (<= 1 ulp from the correctly rounded value, as glibc's is): 4 ulp.
        exact_int += got.get("exposure") == want
        rep.check("exposure_interpolation", abs(got.get("exposure", math.nan) - want) <= 4 * EPS * max(1.0, math.log2(len(case["references"]) + 1)),
                  f"{tag}: ours {got} TF {want!r}")
    rep.check("exposure_interpolation example", ans["exposure_int"][0] == {"exposure": 2.0, "rank": 4}, f"{ans['exposure_int'][0]}")
    for case, got in zip(bad_interp, ans["exposure_int"][len(interp):]):
        rep.check("exposure_interpolation errors", "error" in got, f"{case}: {got}")
    return (f"exposure: {len(owens)} Owen's T, {boost_points} CDF points vs Boost (largest CDF error vs mpmath "
            f"{worst_cdf:.2g}), {len(data)} fits, {len(secrets)} extrapolations ({unbounded} unbounded, {e2e} "
            f"end to end vs TF Privacy), {len(interp)} interpolations ({exact_int} bit-identical)")


def exposure_bound(x, params, secret, dll):
    """sqrt(2 dll g' H^-1 g) (see check_exposure), in (a, loc, log scale); None when the
    numerical Hessian is not positive definite."""
    x = np.asarray(x)
    p0 = np.array([params[0], params[1], math.log(params[2])])

    def nll(p):
        return -float(np.sum(scipy.stats.skewnorm.logpdf(x, p[0], p[1], math.exp(p[2]))))

    def expo(p):
        return -math.log2(scipy.stats.skewnorm.cdf(secret, p[0], p[1], math.exp(p[2])))

    h = np.array([1e-3 * (1 + abs(p0[0])), 1e-3 * params[2], 1e-3])
    H = np.zeros((3, 3))
    f0 = nll(p0)
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h[i], np.eye(3)[j] * h[j]
            H[i, j] = (nll(p0 + ei + ej) - nll(p0 + ei - ej) - nll(p0 - ei + ej) + nll(p0 - ei - ej)) / (4 * h[i] * h[j])
    del f0
    try:
        np.linalg.cholesky(H)
        g = np.array([(expo(p0 + np.eye(3)[i] * h[i]) - expo(p0 - np.eye(3)[i] * h[i])) / (2 * h[i]) for i in range(3)])
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        return None
    if not np.all(np.isfinite(g)):
        return None
    return math.sqrt(2 * max(dll, 0.0) * float(g @ np.linalg.solve(H, g)))


def check_text(args, rng, rep):
    """sacrebleu BLEU, the trigram near-duplicate rule, str.lower() and the zlib scores."""
    bleu = []
    for _ in range(args.cases * 2):
        ref = random_bleu_text(rng)
        kind = rng.randrange(4)
        hyp = ref if kind == 0 else mutate_text(rng, ref) if kind < 3 else random_bleu_text(rng)
        bleu.append([hyp, ref])
    bleu += [["", ""], ["", "a b"], ["a b", ""], ["The cat sat on the mat.", "The cat sat on the mat."],
             ["the the the the", "the cat"], ["1,000.5 e-mail 3-4", "1,000.5 e-mail 3-4 ."], ["&amp;&lt;", "&<"]]
    dups = []
    for _ in range(args.cases * 2):
        s2 = random_dup_text(rng)
        s1 = s2 if rng.random() < 0.2 else mutate_text(rng, s2) if rng.random() < 0.6 else random_dup_text(rng)
        dups.append([s1, s2])
    dups += [["my name my name my name", "my name my"], ["my name my name my name", "my name my name"],
             ["a b", "a b"], ["a b", "a, b!"], ["a b", "a b c"], ["", ""], ["", "x"], ["a b c d", "c d e f"]]
    lower = [random_lower_text(rng) for _ in range(args.cases * 2)]
    lower += [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and chr(cp).lower() != chr(cp)]
    every = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    lower += ["".join(every[i:i + 20000]) for i in range(0, len(every), 20000)]
    lower += ["\u03a3", "A\u03a3", "A\u03a3A", "A'\u03a3", "\u0391\u0301\u03a3 \u03a3\u0391", "\u0130", "\u1e9e"]
    bad_utf8 = [[0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8],
                [0x41, 0xC3], [0xE2, 0x82], [0xC3, 0x41]]
    good_utf8 = [list("A\u0130\u03a3".encode()), list("\U0001F642\u03a3".encode())]
    nll = [[rng.choice([0.0, 1e-9, 0.5, 2.25, 3.7, 11.0]), random_text(rng)] for _ in range(200)] + [[-1.0, "a"], [-1e-300, ""]]
    ans = run_json_tool([args.tool], {"bleu_text": bleu, "words": [d[0] for d in dups], "duplicate": dups, "containment": dups,
                                      "lower_unicode": lower, "lower_unicode_bytes": bad_utf8 + good_utf8,
                                      "zlib_scores": nll})
    exact_bleu = 0
    for (h, r), got in zip(bleu, ans["bleu_text"]):
        want = sacrebleu.sentence_bleu(h, [r]).score
        exact_bleu += got == want
        # Ours follows sacrebleu's arithmetic step for step (same libm log and exp), so equality
        # is expected; 1e-9 relative leaves room for Python >= 3.12, whose sum() of the log
        # precisions is compensated (a few ulp of a sum of at most 4 logs of values <= 100).
        ok = not isinstance(got, dict) and abs(got - want) <= 1e-9 * abs(want)
        rep.check("sentence_bleu_text vs sacrebleu", ok, f"hyp {h!r} ref {r!r}: ours {got!r} sacrebleu {want!r}")
    outcomes = Counter()
    for (s1, s2), words, got in zip(dups, ans["words"], ans["duplicate"]):
        rep.check("duplicate_words", words == split_words(s1), f"{s1!r}: ours {words} python {split_words(s1)}")
        want = trigram_duplicate(s1, s2)
        outcomes[want] += 1
        rep.check("trigram_containment_duplicate", got == want, f"s1 {s1!r} s2 {s2!r}: ours {got} python {want}")
    for (s1, s2), got, dup in zip(dups, ans["containment"], ans["duplicate"]):
        want = trigram_containment(s1, s2)
        # exact: one IEEE division of the same two integers on both sides.
        rep.check("trigram_containment", got == want, f"s1 {s1!r} s2 {s2!r}: ours {got!r} python {want!r}")
        rep.check("trigram_containment >= 0.5 is the duplicate rule", (got >= 0.5) == dup, f"s1 {s1!r} s2 {s2!r}")
    rep.check("trigram cases cover both outcomes", outcomes[True] > 20 and outcomes[False] > 20, f"{outcomes}")
    rep.check("paper example", tri(split_words("my name my name my name")) ==
              Counter({("my", "name", "my"): 2, ("name", "my", "name"): 2}), "tri() of the paper's sentence")
    version = ans["unicode_version"]
    if version != unicodedata.unidata_version:
        print(f"NOTE: to_lower_unicode's tables are Unicode {version}, this Python's str.lower() is Unicode "
              f"{unicodedata.unidata_version}: the lowercasing comparison is skipped (regenerate with "
              f"metrics/gen_unicode_lower.py under a Python of the same Unicode version).")
    else:
        for t, got in zip(lower, ans["lower_unicode"]):
            rep.check("to_lower_unicode vs str.lower", got == t.lower(), f"{t[:40]!r}: ours {str(got)[:60]!r} python {t.lower()[:60]!r}")
    got_bytes = ans["lower_unicode_bytes"]
    for b, got in zip(bad_utf8, got_bytes):
        rep.check("to_lower_unicode invalid UTF-8", isinstance(got, dict) and "error" in got, f"{bytes(b)!r}: {got}")
    for b, got in zip(good_utf8, got_bytes[len(bad_utf8):]):
        rep.check("to_lower_unicode bytes", got == list(bytes(b).decode().lower().encode()), f"{bytes(b)!r}: {got}")
    for (m, t), got in zip(nll, ans["zlib_scores"]):
        if m < 0:
            rep.check("zlib score errors", isinstance(got, dict) and "error" in got, f"{m}: {got}")
            continue
        size = len(zlib.compress(t.encode("utf-8")))
        over = math.inf if m == 0 else size / m
        got_over = math.inf if got[1] == "inf" else got[1]
        # exact: one IEEE division of the same two numbers on both sides.
        rep.check("zlib_ratio_score (mimir)", got[0] == m / size, f"{m} {t[:30]!r}: ours {got[0]!r} want {m / size!r}")
        rep.check("zlib_over_nll (Carlini 2021)", got_over == over, f"{m} {t[:30]!r}: ours {got[1]!r} want {over!r}")
    return (f"text: {len(bleu)} BLEU pairs ({exact_bleu} bit-identical to sacrebleu), {len(dups)} duplicate pairs "
            f"({outcomes[True]} duplicates), {len(lower)} lowercased strings (Unicode {version}), "
            f"{len(nll)} zlib scores")


# ---- ReCaLL (mimir's attacks/recall.py) and the held-out choice of a parameter ------------


class ToyCausalLM:
    """A small causal LM in float64 standing for the Hugging Face model mimir calls: the logits
    at position t depend on the token, its position within the window and the mean of the
    window's tokens so far, so a window that restarts (mimir's chunking) changes the result.
    Called as model(input_ids, labels=...) it returns transformers' causal-LM loss: logits and
    labels shifted by one, cross-entropy with ignore_index -100, mean over the kept labels (NaN
    when none is kept)."""

    def __init__(self, vocab, positions, seed):
        g = torch.Generator().manual_seed(seed)
        self.vocab = vocab
        self.emb = torch.randn(vocab, vocab, generator=g, dtype=torch.float64)
        self.pos = 0.5 * torch.randn(positions, vocab, generator=g, dtype=torch.float64)
        self.ctx = 0.5 * torch.randn(vocab, vocab, generator=g, dtype=torch.float64)

    def logits(self, ids):  # ids (1, T)
        x = ids[0]
        t = torch.arange(1, len(x) + 1, dtype=torch.float64)[:, None]
        return (self.emb[x] + self.pos[:len(x)] + torch.cumsum(self.ctx[x], 0) / t).unsqueeze(0)

    def __call__(self, input_ids, labels=None):
        logits = self.logits(input_ids)
        shift_logits = logits[..., :-1, :].contiguous()
        shift_labels = labels[..., 1:].contiguous()
        loss = torch.nn.functional.cross_entropy(shift_logits.view(-1, self.vocab), shift_labels.view(-1), ignore_index=-100)
        return types.SimpleNamespace(loss=loss, logits=logits)

    def token_logprobs(self, ids):
        """log p(ids[j + 1] | ids[..j]) within one window: what Eidetic's engine returns."""
        if len(ids) < 2:
            return []
        lp = torch.log_softmax(self.logits(torch.tensor([ids]))[0, :-1], dim=-1)
        return [float(lp[j, ids[j + 1]]) for j in range(len(ids) - 1)]


class MimirStandIn:
    """What get_conditional_ll and process_prefix read of mimir's Model: .model, .tokenizer
    (one token per character, so "".join of shots is the concatenation of their tokens),
    .max_length, .device."""

    class Tokenizer:
        def encode(self, text):
            return [ord(c) - 0x100 for c in text]

        def __call__(self, text, return_tensors):
            return types.SimpleNamespace(input_ids=torch.tensor([self.encode(text)]))

    def __init__(self, model, max_length):
        self.model, self.max_length, self.device, self.tokenizer = model, max_length, "cpu", self.Tokenizer()


def mimir_process_prefix(target_model, prefix, avg_length, total_shots):
    """mimir's ReCaLLAttack.process_prefix, as in its source (less the cache and the print)."""
    model = target_model
    tokenizer = target_model.tokenizer
    max_length = model.max_length
    token_counts = [len(tokenizer.encode(shot)) for shot in prefix]
    target_token_count = avg_length
    total_tokens = sum(token_counts) + target_token_count
    if total_tokens <= max_length:
        return prefix
    max_shots = 0
    cumulative_tokens = target_token_count
    for count in token_counts:
        if cumulative_tokens + count <= max_length:
            max_shots += 1
            cumulative_tokens += count
        else:
            break
    truncated_prefix = prefix[-max_shots:]
    return truncated_prefix


def mimir_get_conditional_ll(target_model, processed_prefix, tokens):
    """mimir's ReCaLLAttack.get_conditional_ll, as in its source, with the prefix already
    processed and the text given as tokens; also returns the windows it ran."""
    model = target_model
    tokenizer = target_model.tokenizer
    target_encodings = tokens
    input_encodings = tokenizer(text="".join(processed_prefix), return_tensors="pt")
    prefix_ids = input_encodings.input_ids.to(model.device)
    text_ids = target_encodings.input_ids.to(model.device)
    max_length = model.max_length
    if prefix_ids.size(1) >= max_length:
        raise ValueError("Prefix length exceeds or equals the model's maximum context window.")
    labels = torch.cat((prefix_ids, text_ids), dim=1)
    total_length = labels.size(1)
    total_loss = 0
    total_tokens = 0
    windows = []
    with torch.no_grad():
        for i in range(0, total_length, max_length):
            begin_loc = i
            end_loc = min(i + max_length, total_length)
            windows.append([begin_loc, end_loc])
            input_ids = labels[:, begin_loc:end_loc].to(model.device)
            target_ids = input_ids.clone()
            if begin_loc < prefix_ids.size(1):
                prefix_overlap = min(prefix_ids.size(1) - begin_loc, max_length)
                target_ids[:, :prefix_overlap] = -100
            if end_loc > total_length - text_ids.size(1):
                target_overlap = min(end_loc - (total_length - text_ids.size(1)), max_length)
                target_ids[:, -target_overlap:] = input_ids[:, -target_overlap:]
            if torch.all(target_ids == -100):
                continue
            outputs = model.model(input_ids, labels=target_ids)
            loss = outputs.loss
            if torch.isnan(loss):
                continue
            non_masked_tokens = (target_ids != -100).sum().item()
            total_loss += loss.item() * non_masked_tokens
            total_tokens += non_masked_tokens
    average_loss = total_loss / total_tokens if total_tokens > 0 else 0
    return -average_loss, windows


def holdout_split_def(ids, labels, fraction, seed):
    """metrics/membership.h's holdout_split: per class, ordered by (random_bits(seed,
    0x6b5e1ec7, 0, id), id), the first clamp(floor(fraction n), 1, n - 1) held out."""
    out = [False] * len(ids)
    for cls in (1, 0):
        idx = sorted((i for i in range(len(ids)) if labels[i] == cls), key=lambda i: (random_bits(seed, 0x6B5E1EC7, 0, ids[i]), ids[i]))
        for i in idx[:min(max(math.floor(fraction * len(idx)), 1), len(idx) - 1)]:
            out[i] = True
    return out


def check_recall(args, rng, rep):
    """ReCaLL's prefix truncation, windows and conditional log-likelihood against mimir's code
    run on a toy model, its score against mimir's ratio; the held-out choice of a parameter
    against scikit-learn's AUC."""
    # process_prefix: shots of random lengths; mimir keeps a suffix of the list, named by its length.
    kept_cases = []
    for _ in range(400):
        counts = [rng.randrange(0, 60) for _ in range(rng.randrange(1, 9))]
        kept_cases.append({"tokens": counts, "avg": rng.randrange(0, 120), "max": rng.choice([16, 64, 128, 256, 300])})
    kept_cases.append({"tokens": [50, 10], "avg": 60, "max": 100})  # the first shot does not fit: mimir keeps all
    kept_cases.append({"tokens": [10, 50], "avg": 60, "max": 100})  # one fits, counted from the first; the last kept
    stand_in = MimirStandIn(None, 0)
    want_kept = []
    for c in kept_cases:
        stand_in.max_length = c["max"]
        shots = [chr(0x100 + k) * n for k, n in enumerate(c["tokens"])]  # n tokens each
        want_kept.append(len(mimir_process_prefix(stand_in, shots, c["avg"], len(shots))))
    # Windows and the conditional log-likelihood on a toy model: targets within the context,
    # prefixes that leave the text whole in the first window or cut it into several.
    V = 23
    layouts = [(rng.randrange(1, 40), rng.randrange(1, 60), rng.choice([8, 16, 32, 64, 128])) for _ in range(300)]
    layouts = [(p, n, m) for p, n, m in layouts if p < m] + [(7, 1, 8), (7, 2, 8), (3, 5, 8), (1, 1, 2), (4, 9, 5), (4, 10, 5)]
    toy = ToyCausalLM(V, 128, seed=rng.randrange(1 << 30))
    cases = []
    for p, n, m in layouts:
        cases.append({"prefix": [rng.randrange(V) for _ in range(p)], "text": [rng.randrange(V) for _ in range(n)], "max": m})
    bad_windows = [[8, 5, 8], [9, 5, 8], [-1, 5, 8], [3, 0, 8], [0, 1, 0]]
    ans = run_json_tool([args.tool], {"recall_kept": kept_cases, "recall_windows": [[len(c["prefix"]), len(c["text"]), c["max"]]
                                                                                   for c in cases] + bad_windows})
    for c, got, want in zip(kept_cases, ans["recall_kept"], want_kept):
        rep.check("recall_shots_kept vs mimir's process_prefix", got == want, f"{c}: ours {got} mimir {want}")
    want_ll, req = [], []
    for c, got in zip(cases, ans["recall_windows"]):
        stand_in = MimirStandIn(toy, c["max"])
        prefix_text = "".join(chr(0x100 + t) for t in c["prefix"])
        ll, windows = mimir_get_conditional_ll(stand_in, [prefix_text], types.SimpleNamespace(input_ids=torch.tensor([c["text"]])))
        want_ll.append(ll)
        rep.check("recall_windows vs get_conditional_ll's", got == windows, f"{c}: ours {got} mimir {windows}")
        seq = c["prefix"] + c["text"]
        req.append({"windows": [toy.token_logprobs(seq[b:e]) for b, e in windows], "prefix": len(c["prefix"]),
                    "text": len(c["text"]), "max": c["max"]})
    for case, got in zip(bad_windows, ans["recall_windows"][len(cases):]):
        rep.check("recall_windows errors", isinstance(got, dict) and "error" in got, f"{case}: {got}")
    bad_ll = [dict(req[0], windows=req[0]["windows"] + [[]]), dict(req[0], windows=[w + [0.0] for w in req[0]["windows"]])]
    # The score: mimir's recall = ll_nonmember / get_ll, get_ll = -mean(log-probabilities of the
    # text alone); Eidetic's is its negation (higher = member). Plus mimir's division by zero.
    mean_ll = [float(np.mean(toy.token_logprobs(c["text"]))) if len(c["text"]) > 1 else -0.5 for c in cases]
    ans = run_json_tool([args.tool], {"recall_ll": req + bad_ll, "recall_score": [[ll, m] for ll, m in zip(want_ll, mean_ll)] +
                                      [[-2.0, 0.0], [-2.0, -0.0]]})
    worst = 0.0
    for c, got, want in zip(cases, ans["recall_ll"], want_ll):
        diff = abs(got - want) if not isinstance(got, dict) else math.inf
        worst = max(worst, diff)
        # float64 on both sides, the same terms summed in other orders (torch's mean per window,
        # then loss x count): at most ~n u relative on values of a few nats, n <= 100.
        rep.check("recall_conditional_ll vs get_conditional_ll", diff <= 1e-12 * max(1.0, abs(want)),
                  f"prefix {len(c['prefix'])} text {len(c['text'])} max {c['max']}: ours {got!r} mimir {want!r}")
    for got in ans["recall_ll"][len(cases):]:
        rep.check("recall_conditional_ll errors", isinstance(got, dict) and "error" in got, f"{got}")
    for ll, m, got in zip(want_ll, mean_ll, ans["recall_score"]):
        mimir = ll / -m  # recall = ll_nonmember / lls, lls = get_ll = -mean(probs)
        # exact: one IEEE division of the same two doubles, negated.
        rep.check("recall_score is minus mimir's recall", got == -mimir, f"ll {ll} mean {m}: ours {got!r} mimir {mimir!r}")
    rep.check("recall_score at mean_ll = 0", ans["recall_score"][-2] == 2e12 and ans["recall_score"][-1] == 2e12,
              f"{ans['recall_score'][-2:]}")
    multi = sum(len(r["windows"]) > 1 for r in req)

    # Held-out choice of a parameter: random candidates, random splits.
    split_cases, choose_cases = [], []
    for _ in range(150):
        n = rng.choice([4, 5, 9, 20, 60, 200])
        labels = random_labels(rng, n)
        while min(labels.count(0), labels.count(1)) < 2:
            labels = random_labels(rng, n)
        ids = rng.sample(range(10 * n), n)
        split_cases.append({"ids": ids, "labels": labels, "fraction": rng.choice([0.5, 0.5, 0.3, 0.01, 0.99]),
                            "seed": rng.randrange(1 << 63)})
    bad_split = [{"ids": [1, 2, 3], "labels": [1, 0, 0], "fraction": 0.5, "seed": 0},
                 {"ids": [1, 2, 3, 4], "labels": [1, 0, 1, 0], "fraction": 1.0, "seed": 0},
                 {"ids": [1, 1, 3, 4], "labels": [1, 0, 1, 0], "fraction": 0.5, "seed": 0}]
    ans = run_json_tool([args.tool], {"holdout_split": split_cases + bad_split})
    for c, got in zip(split_cases, ans["holdout_split"]):
        want = holdout_split_def(c["ids"], c["labels"], c["fraction"], c["seed"])
        rep.check("holdout_split", got == want, f"{c}: ours {got} want {want}")
        choose_cases.append({"candidates": [random_scores(rng, len(c["ids"])) for _ in range(rng.randrange(1, 8))], "labels": c["labels"],
                             "holdout": want})
    for c, got in zip(bad_split, ans["holdout_split"][len(split_cases):]):
        rep.check("holdout_split errors", isinstance(got, dict) and "error" in got, f"{c}: {got}")
    # The split is a function of the ids, not of the order the items come in.
    c = split_cases[0]
    perm = list(range(len(c["ids"])))
    rng.shuffle(perm)
    shuffled = dict(c, ids=[c["ids"][i] for i in perm], labels=[c["labels"][i] for i in perm])
    ans = run_json_tool([args.tool], {"holdout_split": [shuffled], "choose_holdout": choose_cases})
    by_id = dict(zip(shuffled["ids"], ans["holdout_split"][0]))
    rep.check("holdout_split ignores the order", [by_id[i] for i in c["ids"]] == holdout_split_def(c["ids"], c["labels"], c["fraction"], c["seed"]),
              "a shuffled copy split differently")
    for c, got in zip(choose_cases, ans["choose_holdout"]):
        held = [i for i, h in enumerate(c["holdout"]) if h]
        rest = [i for i, h in enumerate(c["holdout"]) if not h]
        pick = lambda s, idx: [s[i] for i in idx]
        exact = [mann_whitney(pick(s, held), pick(c["labels"], held)) for s in c["candidates"]]
        chosen = exact.index(max(exact))  # the first of the best
        want_eval = roc_auc_score(pick(c["labels"], rest), pick(c["candidates"][chosen], rest))
        want_held = [roc_auc_score(pick(c["labels"], held), pick(s, held)) for s in c["candidates"]]
        # the choice is exact (the AUCs are pair counts, compared as fractions); the AUCs within
        # scikit-learn's trapezoid rounding, as for roc_auc above.
        ok = "error" not in got and got["chosen"] == chosen and abs(got["eval_auc"] - want_eval) <= 1e-12 and \
            all(abs(a - b) <= 1e-12 for a, b in zip(got["holdout_auc"], want_held))
        rep.check("choose_by_holdout_auc", ok, f"ours {got}, want chosen {chosen} eval {want_eval} held {want_held}")
    return (f"ReCaLL: {len(kept_cases)} prefix truncations, {len(cases)} conditional log-likelihoods ({multi} over several "
            f"windows; largest difference from mimir {worst:.2g}); {len(choose_cases)} held-out choices")


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
        # mimir's bounds, the curve's own FPRs (a point exactly at the bound is excluded), 1.0.
        case["below_fpr"] = [0.001, 0.01, 0.1, 0.5, 1.0] + [float(f) for f in fpr[1:4] if f > 0] + \
            [float(f) for f in rng.sample(list(fpr), 2) if f > 0]
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

    notes = [check_mimir(args, rng, rep, roc_cases, answer["roc"]), check_exposure(args, rng, rep),
             check_text(args, rng, rep), check_recall(args, rng, rep)]
    for n in notes:
        print(n)
    print(f"{rep.checks} checks: {len(roc_cases)} ROC cases (largest |AUC - roc_auc_score| {worst_auc:.3g}), "
          f"{len(boot_cases)} bootstrap cases, {len(texts)} texts, {len(pairs)} token pairs "
          f"({exact_bleu} BLEU values bit-identical to NLTK)")
    return verdict(rep.failures, f"FAILED: {rep.failures} differences", "OK")


if __name__ == "__main__":
    sys.exit(main())
