"""The memorization lab end to end: `eidetic run` of a lab config at tiny settings (a background
text written here, copies 1, 4 and 32, one item of each kind per count, a 2-layer model trained
for a few steps), then the run directory is checked against what it claims:

  1. the run directory is complete: manifest (status complete, the config and its hash, seed,
     times), results.jsonl (one record per item, ids 0..N-1), metrics.json, metrics.csv (the same
     metrics), report.md, report.html, and the lab folder; no .tmp file is left over;
  2. lab/manifest.json records every planted item with its count (each kind, each count, the
     configured number of items) and as many never-planted ones; every recorded copy offset
     holds the item's text in lab/corpus.txt, the text occurs exactly `copies` times there, and
     never-planted items do not occur at all; documents and characters match the corpus;
  3. lab/model is a Hugging Face folder that transformers loads (a GPT-NeoX with the parameter
     count metrics.json reports), and its tokenizer.json loads in the tokenizers library and
     encodes every planted record and passage into the tokens lab/discoverable.jsonl holds;
  4. the discoverable part, recomputed independently: every generated token is the greedy
     choice of the model as transformers runs it (teacher-forced over the generated text),
     `exact` and `lcp` follow from the generated tokens and the true suffix, and
     exact_extraction_rate and the extraction-by-duplicates table (exactly the configured
     counts, item counts as the manifest implies) are recomputed from the records;
  5. the membership part: each planted record's and passage's loss score equals its mean token
     log-probability under transformers, the LOSS AUC equals the Mann-Whitney statistic of the
     records' scores, and the memorized-bits figures follow from the member records;
  6. the exposure part: one record per planted canary with its secret and count, the exposure
     extrapolated as TensorFlow Privacy does (-log2 of the fitted skew-normal's CDF, by scipy;
     capped at log2|R|), the sampled-rank estimate log2|R| - log2(rank), and the canary's
     log-perplexity equal to the membership record's summed negative log-probability;
  7. a second lab run with lab.prefix_lens [2, 8]: one discoverable record per item and prefix
     length, each greedy from the last k prefix tokens under transformers; the
     extraction-by-prefix-length table recomputed; and the extraction-by-duplicates table still
     counts planted items (as the manifest has them), not item x prefix-length records.

Usage: e2e_lab_test.py --eidetic PATH [--keep DIR]   (skips when torch/transformers/tokenizers
are missing)
"""
import argparse
import csv
import glob
import math
import os
import shutil
import tempfile
import time

from e2e_common import check, lab_config, load_json, load_jsonl, run_eidetic, write_background
from testlib import skip

try:
    import torch
    import transformers
    import tokenizers
    from scipy.stats import skewnorm
except ImportError as e:
    skip(str(e))

transformers.logging.set_verbosity_error()
torch.set_num_threads(1)
COPIES = (1, 4, 32)
ITEMS_PER_COUNT = 1
KINDS = ("canary", "record", "passage")
PREFIX_LENS = (2, 8)
# Two implementations of the same fp32 forward pass (libtorch here, transformers there) sum in
# different orders: mean log-probabilities agree to ~1e-7 at these magnitudes (measured: 1.7e-7),
# not to the bit. 1e-5 leaves ~50x for another BLAS or vector width.
LOGPROB_TOL = 1e-5
# A generated token counts as greedy when its logit is within this of the maximum: a near-tie
# can fall either way between two fp32 implementations, whose logits differ by rounding only
# (~1e-6, as their log-probabilities above). 1e-4 is ~100x that, and a token within it of the
# maximum is tied in all but rounding; measured here: every token is transformers' exact argmax.
TIE_TOL = 1e-4


def check_run_dir(run, cfg_path, eidetic):
    for f in ("manifest.json", "results.jsonl", "metrics.json", "metrics.csv", "report.md", "report.html"):
        check(os.path.isfile(os.path.join(run, f)), f"run directory lacks {f}")
    for f in ("corpus.txt", "manifest.json", "tokenizer.json", "discoverable.jsonl", "members.jsonl", "nonmembers.jsonl",
              "model/config.json", "model/model.safetensors", "model/tokenizer.json", "model/lab.json"):
        check(os.path.isfile(os.path.join(run, "lab", f)), f"lab folder lacks {f}")
    leftovers = [p for p in glob.glob(os.path.join(run, "**", "*.tmp*"), recursive=True)]
    check(not leftovers, f"temporary files left behind: {leftovers}")
    manifest = load_json(os.path.join(run, "manifest.json"))
    check(manifest["status"] == "complete", f"status {manifest['status']}")
    check(manifest["seed"] == 3 and manifest["config"]["seed"] == 3, "seed not recorded")
    check(manifest["started_at"] and manifest["finished_at"], "start or finish time missing")
    check(manifest["device"] == "cpu" and manifest["dtype"] == "fp32", (manifest["device"], manifest["dtype"]))
    # The hash in the manifest is the one `config show` gives the same file.
    shown, _ = run_eidetic([eidetic, "config", "show", cfg_path], timeout=60)
    check(manifest["config_hash"] in shown, f"config hash {manifest['config_hash']} not in `config show`:\n{shown}")
    check(manifest["config"]["lab"]["copies"] == list(COPIES), manifest["config"]["lab"])
    return manifest


def check_corpus(run, background):
    lab = os.path.join(run, "lab")
    with open(os.path.join(lab, "corpus.txt"), "rb") as f:
        corpus = f.read()
    man = load_json(os.path.join(lab, "manifest.json"))
    items = man["items"]
    check(man["characters"] == len(corpus), f"manifest characters {man['characters']}, corpus.txt has {len(corpus)} bytes")
    sep = man["separator"].encode()
    # No document holds a blank line (the background is split at them), so separators count documents.
    check(man["documents"] == corpus.count(sep) + 1, f"{man['documents']} documents, {corpus.count(sep) + 1} in corpus.txt")
    check([it["id"] for it in items] == list(range(len(items))), "item ids are not 0..N-1")
    planted = [it for it in items if it["copies"] > 0]
    never = [it for it in items if it["copies"] == 0]
    check(items[:len(planted)] == planted, "planted items do not come first")
    for kind in KINDS:
        for c in COPIES:
            n = sum(1 for it in planted if it["kind"] == kind and it["copies"] == c)
            check(n == ITEMS_PER_COUNT, f"{n} {kind} items planted {c} times, expected {ITEMS_PER_COUNT}")
        n = sum(1 for it in never if it["kind"] == kind)
        check(n == len(COPIES) * ITEMS_PER_COUNT, f"{n} never-planted {kind} items, expected {len(COPIES) * ITEMS_PER_COUNT}")
    check(len(planted) == len(KINDS) * len(COPIES) * ITEMS_PER_COUNT, "wrong number of planted items")
    copies_total = 0
    for it in items:
        text = (it["prefix"] + it["secret"]).encode()
        check(len(it["offsets"]) == it["copies"], f"item {it['id']}: {len(it['offsets'])} offsets for {it['copies']} copies")
        check(it["offsets"] == sorted(it["offsets"]), f"item {it['id']}: offsets not in corpus order")
        for off in it["offsets"]:
            check(corpus[off:off + len(text)] == text,
                  f"item {it['id']} ({it['kind']}): offset {off} holds {corpus[off:off + len(text)][:60]!r}, not {text[:60]!r}")
            # A copy is a document of its own: a separator (or the corpus' edge) on both sides.
            check(off == 0 or corpus[off - len(sep):off] == sep, f"item {it['id']}: copy at {off} not at a document start")
            end = off + len(text)
            check(end == len(corpus) or corpus[end:end + len(sep)] == sep, f"item {it['id']}: copy at {off} not a whole document")
        occurrences = corpus.count(text)
        check(occurrences == it["copies"], f"item {it['id']} ({it['kind']}): its text occurs {occurrences} times, planted {it['copies']}")
        copies_total += it["copies"]
        if it["kind"] == "canary":
            check(it["prefix"] == "my secret number is", it["prefix"])
            check(len(it["secret"].split()) == 6 and all(len(d) == 1 and d.isdigit() for d in it["secret"].split()), it["secret"])
    check(copies_total == sum(COPIES) * ITEMS_PER_COUNT * len(KINDS), f"{copies_total} copies in all")
    # Documents: the background's, less the passages taken out of it (planted and held out), plus every copy.
    passages = [it for it in items if it["kind"] == "passage"]
    check(man["documents"] == len(background) - len(passages) + copies_total,
          f"{man['documents']} documents; expected {len(background)} - {len(passages)} + {copies_total}")
    for it in passages:
        check(it["prefix"] + it["secret"] in background, f"passage {it['id']} is not a document of the background")
        check(len(it["prefix"].split()) == 12, f"passage {it['id']}: prefix of {len(it['prefix'].split())} words, not 12")
    return man, corpus


def check_model(run, metrics):
    model_dir = os.path.join(run, "lab", "model")
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir).eval()
    check(model.config.model_type == "gpt_neox", model.config.model_type)
    check(model.config.hidden_size == 48 and model.config.num_hidden_layers == 2, model.config)
    n_params = sum(p.numel() for p in model.parameters())
    check(metrics["lab"]["parameters"] == n_params,
          f"metrics.json lab.parameters {metrics['lab']['parameters']}, the saved model has {n_params}")
    tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    check(tok.get_vocab_size() == model.config.vocab_size,
          f"tokenizer has {tok.get_vocab_size()} pieces, model vocabulary {model.config.vocab_size}")
    return model, tok


def greedy_violations(model, prompt, generated):
    """Positions where `generated` is not the greedy choice of `model` after `prompt`."""
    ids = torch.tensor([prompt + generated])
    with torch.no_grad():
        logits = model(ids).logits[0].double()
    bad = []
    for j, t in enumerate(generated):
        row = logits[len(prompt) - 1 + j]
        if row.max().item() - row[t].item() > TIE_TOL:
            bad.append((j, t, int(row.argmax())))
    return bad


def mean_logprob(model, ids):
    x = torch.tensor([ids])
    with torch.no_grad():
        lp = torch.log_softmax(model(x).logits[0].double(), -1)
    return sum(lp[i - 1, ids[i]].item() for i in range(1, len(ids))) / (len(ids) - 1)


def auc(members, nonmembers):
    wins = sum((m > n) + 0.5 * (m == n) for m in members for n in nonmembers)
    return wins / (len(members) * len(nonmembers))


def check_prefix_lens(eidetic, work, bg):
    """A lab run attacking every item at several prefix lengths (lab.prefix_lens)."""
    cfg = os.path.join(work, "lab-prefix.yaml")
    lab_config(cfg, bg, "e2e-lab-prefix", copies=COPIES, items_per_count=ITEMS_PER_COUNT,
               lab_extra=f"  prefix_lens: {list(PREFIX_LENS)}\n")
    run = os.path.join(work, "run-prefix")
    t0 = time.time()
    run_eidetic([eidetic, "run", cfg, "--out", run, "--quiet"], timeout=240)
    print(f"lab run with prefix_lens {list(PREFIX_LENS)}: {time.time() - t0:.1f} s")
    model = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(run, "lab", "model")).eval()
    items = load_json(os.path.join(run, "lab", "manifest.json"))["items"]
    disc_items = load_jsonl(os.path.join(run, "lab", "discoverable.jsonl"))
    metrics = load_json(os.path.join(run, "metrics.json"))
    recs = [r for r in load_jsonl(os.path.join(run, "results.jsonl")) if r["part"] == "discoverable"]
    check(len(recs) == len(disc_items) * len(PREFIX_LENS), f"{len(recs)} discoverable records for {len(disc_items)} items "
          f"x {len(PREFIX_LENS)} prefix lengths")
    seen = set()
    for r in recs:
        d = disc_items[r["item"]]
        k = r["prefix_len_requested"]
        check(k in PREFIX_LENS, f"prefix_len_requested {k}")
        check(r["prefix_len"] == min(k, len(d["prefix"])), f"{r['source']}: prefix_len {r['prefix_len']} for k = {k}")
        seen.add((r["item"], k))
        prompt = d["prefix"][len(d["prefix"]) - r["prefix_len"]:]
        bad = greedy_violations(model, prompt, r["generated"])
        check(not bad, f"{r['source']}, k = {k}: not greedy under transformers at {bad[:5]}")
        check(r["exact"] == (r["generated"] == d["suffix"]), f"{r['source']}, k = {k}: exact {r['exact']}")
    check(len(seen) == len(recs), "an (item, prefix length) pair was attacked twice")
    by_len = next(t for t in metrics["tables"] if t["id"] == "extraction_by_prefix_len")
    want = [[k, len(disc_items), sum(r["exact"] for r in recs if r["prefix_len_requested"] == k)] for k in PREFIX_LENS]
    check([row[:3] for row in by_len["rows"]] == want, f"extraction by prefix length {by_len['rows']}, recomputed {want}")
    # Per duplicate count the table speaks of planted items: as many as the manifest planted
    # there, each extracted or not.
    by_dup = next(t for t in metrics["tables"] if t["id"] == "extraction_by_duplicates")
    check([row[0] for row in by_dup["rows"]] == list(COPIES), f"table counts {[row[0] for row in by_dup['rows']]}")
    for row in by_dup["rows"]:
        planted_here = sum(1 for it in items if it["kind"] != "canary" and it["copies"] == row[0])
        check(row[1] == planted_here and 0 <= row[2] <= row[1],
              f"with prefix_lens {list(PREFIX_LENS)}, extraction_by_duplicates row {row}: {row[1]} items, {row[2]} "
              f"extracted, but {planted_here} items were planted {row[0]} times (item x prefix-length records counted as items)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--keep", help="copy the run directory here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eidetic-e2e-lab-") as work:
        bg = os.path.join(work, "background.txt")
        background = write_background(bg, seed=11)
        cfg = os.path.join(work, "lab.yaml")
        lab_config(cfg, bg, "e2e-lab", copies=COPIES, items_per_count=ITEMS_PER_COUNT)
        run = os.path.join(work, "run")
        t0 = time.time()
        run_eidetic([args.eidetic, "run", cfg, "--out", run, "--quiet"], timeout=240)
        print(f"lab run: {time.time() - t0:.1f} s")
        if args.keep:
            shutil.copytree(run, args.keep, dirs_exist_ok=True)

        manifest = check_run_dir(run, cfg, args.eidetic)
        man, corpus = check_corpus(run, background)
        metrics = load_json(os.path.join(run, "metrics.json"))
        model, tok = check_model(run, metrics)
        items = man["items"]
        lab = os.path.join(run, "lab")
        disc_items = load_jsonl(os.path.join(lab, "discoverable.jsonl"))
        members = load_jsonl(os.path.join(lab, "members.jsonl"))
        nonmembers = load_jsonl(os.path.join(lab, "nonmembers.jsonl"))
        planted = [it for it in items if it["copies"] > 0]
        check([m["text"] for m in members] == [it["prefix"] + it["secret"] for it in planted], "members.jsonl != planted items")
        check([m["text"] for m in nonmembers] == [it["prefix"] + it["secret"] for it in items if it["copies"] == 0],
              "nonmembers.jsonl != never-planted items")

        # Every planted record and passage is a discoverable item; its tokens are the text's.
        want_disc = [it for it in planted if it["kind"] != "canary"]
        check([d["source"] for d in disc_items] == [f"{it['kind']} {it['id']}" for it in want_disc],
              f"discoverable.jsonl sources {[d['source'] for d in disc_items]}")
        for d, it in zip(disc_items, want_disc):
            check(d["duplicates"] == it["copies"], f"{d['source']}: duplicates {d['duplicates']}, planted {it['copies']}")
            full = tok.encode(it["prefix"] + it["secret"], add_special_tokens=False).ids
            check(d["prefix"] + d["suffix"] == full, f"{d['source']}: tokens differ from the tokenizers library's encoding")
            check(d["prefix"] == tok.encode(it["prefix"], add_special_tokens=False).ids, f"{d['source']}: prefix tokens")
            check(tok.decode(d["suffix"]) == it["secret"], f"{d['source']}: suffix decodes to {tok.decode(d['suffix'])!r}")

        # results.jsonl: one record per item of each part.
        recs = load_jsonl(os.path.join(run, "results.jsonl"))
        check(sorted(r["id"] for r in recs) == list(range(len(recs))), "result ids are not 0..N-1 without repeats")
        by_part = {p: sorted((r for r in recs if r["part"] == p), key=lambda r: r["part_id"])
                   for p in ("discoverable", "exposure", "membership")}
        n_canaries = sum(1 for it in planted if it["kind"] == "canary")
        check(len(by_part["discoverable"]) == len(disc_items), "discoverable records")
        check(len(by_part["exposure"]) == n_canaries, "exposure records")
        check(len(by_part["membership"]) == len(members) + len(nonmembers), "membership records")
        check(len(recs) == sum(len(v) for v in by_part.values()), "records of unknown parts")

        # ---- discoverable, recomputed ----
        n_exact = 0
        for r in by_part["discoverable"]:
            d = disc_items[r["item"]]
            check(r["source"] == d["source"] and r["duplicates"] == d["duplicates"], r["source"])
            check(r["prefix_len"] == len(d["prefix"]), f"{r['source']}: prefix_len {r['prefix_len']}")
            g = r["generated"]
            check(len(g) == len(d["suffix"]), f"{r['source']}: {len(g)} tokens generated for a {len(d['suffix'])}-token suffix")
            bad = greedy_violations(model, d["prefix"], g)
            check(not bad, f"{r['source']}: not greedy under transformers at (position, token, argmax) {bad[:5]}")
            exact = g == d["suffix"]
            lcp = next((j for j, (a, b) in enumerate(zip(g, d["suffix"])) if a != b), len(g))
            check(r["exact"] == exact, f"{r['source']}: exact {r['exact']}, recomputed {exact}")
            check(r["lcp"] == lcp, f"{r['source']}: lcp {r['lcp']}, recomputed {lcp}")
            n_exact += exact
        m = {x["name"]: x for x in metrics["metrics"]}
        n_disc = len(by_part["discoverable"])
        # exact: a mean of 0/1 values sums exactly in double, then divides once, as n_exact / n does.
        check(m["discoverable/exact_extraction_rate"]["value"] == n_exact / n_disc,
              f"exact_extraction_rate {m['discoverable/exact_extraction_rate']['value']}, recomputed {n_exact}/{n_disc}")
        check(m["discoverable/exact_extraction_rate"]["n"] == n_disc, "n of exact_extraction_rate")
        print(f"discoverable: {n_exact} of {n_disc} items extracted")
        # What the lab exists to show: items seen 32 times in 150 steps over ~7k tokens (~20
        # epochs) come back; with nothing extracted the checks above would test only misses.
        top = [r for r in by_part["discoverable"] if r["duplicates"] == max(COPIES)]
        check(any(r["exact"] for r in top), f"no item planted {max(COPIES)} times was extracted")

        table = next(t for t in metrics["tables"] if t["id"] == "extraction_by_duplicates")
        check(table["columns"] == ["duplicates", "items", "extracted", "rate"], table["columns"])
        check([row[0] for row in table["rows"]] == list(COPIES), f"table counts {[row[0] for row in table['rows']]}")
        check([row["duplicates"] for row in metrics["extraction_by_duplicates"]] == list(COPIES), "extraction_by_duplicates")
        for row, top in zip(table["rows"], metrics["extraction_by_duplicates"]):
            c = row[0]
            planted_here = sum(1 for it in planted if it["kind"] != "canary" and it["copies"] == c)
            recs_here = [r for r in by_part["discoverable"] if r["duplicates"] == c]
            extracted = sum(r["exact"] for r in recs_here)
            check(row[1] == planted_here == len(recs_here), f"{c} copies: table says {row[1]} items, manifest {planted_here}")
            check(row[2] == extracted, f"{c} copies: table says {row[2]} extracted, records {extracted}")
            # exact: a mean of 0/1 values (an exact sum, one division), as extracted / planted_here.
            check(row[3] == extracted / planted_here, f"{c} copies: rate {row[3]}")
            # exact: the same value copied into two places of metrics.json.
            check(top["items"] == row[1] and top["extracted"] == row[2] and top["rate"] == row[3], f"top-level row {top}")
            check(top["ci_low"] <= top["rate"] <= top["ci_high"], f"interval {top}")
        plot = next(p for p in metrics["plots"] if p["id"] == "rate_by_duplicates")
        check(plot["series"][0]["points"] == [[row[0], row[3]] for row in table["rows"]], "plot points != table")  # exact: copies

        # ---- membership, recomputed ----
        mem = by_part["membership"]
        check([r["member"] for r in mem] == [True] * len(members) + [False] * len(nonmembers), "member labels")
        for r in mem[:len(members)]:
            it = planted[r["part_id"]]
            d = next((d for d in disc_items if d["source"] == f"{it['kind']} {it['id']}"), None)
            ids = d["prefix"] + d["suffix"] if d else tok.encode(it["prefix"] + it["secret"], add_special_tokens=False).ids
            check(r["tokens"] == len(ids), f"membership record {r['part_id']}: {r['tokens']} tokens, text has {len(ids)}")
            ref = mean_logprob(model, ids)
            check(abs(r["scores"]["loss"] - ref) < LOGPROB_TOL,  # LOGPROB_TOL: see its derivation at the top
                  f"membership record {r['part_id']} ({it['kind']}): loss score {r['scores']['loss']}, transformers {ref}")
        loss_m = [r["scores"]["loss"] for r in mem if r["member"]]
        loss_n = [r["scores"]["loss"] for r in mem if not r["member"]]
        # The same pair count in integers on both sides; the division rounds once here, twice in
        # ours (long double, then double): at most 1 ulp apart, <= 1.1e-16 below 1 (measured: 0).
        check(abs(m["membership/auc_loss"]["value"] - auc(loss_m, loss_n)) <= 2e-16,
              f"auc_loss {m['membership/auc_loss']['value']}, recomputed {auc(loss_m, loss_n)}")
        vocab = model.config.vocab_size
        uniform = memorized = 0.0
        for r in mem[:len(members)]:
            k = r["tokens"] - 1
            ub = k * math.log2(vocab)
            uniform += ub
            memorized += max(0.0, ub + r["scores"]["loss"] * k / math.log(2))
        lm = metrics["lab_memorized"]
        # The same per-member formula on the same doubles, summed over a dozen members: equal to
        # the last bit in the same order (measured: 0). In another order, a sum of n non-negative
        # terms moves by at most ~n u = 1.3e-15 relative; rel_tol 1e-13 is ~75x that. abs_tol only
        # matters for a run that memorized (almost) nothing, where 1e-9 bits is nothing.
        check(math.isclose(lm["planted_text_bits_uniform"], uniform, rel_tol=1e-13), (lm, uniform))
        check(math.isclose(lm["planted_text_bits_memorized"], memorized, rel_tol=1e-13, abs_tol=1e-9), (lm, memorized))
        bpp = m["memorized_bits_per_parameter"]["value"]
        # One more division, the same on both sides: as above.
        check(math.isclose(bpp, memorized / metrics["lab"]["parameters"], rel_tol=1e-13, abs_tol=1e-12), (bpp, memorized))

        # ---- exposure ----
        canaries = [it for it in planted if it["kind"] == "canary"]
        exp = by_part["exposure"]
        # Both sides compute 6 x log2(10) (19.9): equal to the last bit with the same libm (measured:
        # 0); 1e-13 (~30 ulp) admits another C library's log2, an ulp off.
        check(abs(metrics["run"]["exposure"]["space_bits"] - 6 * math.log2(10)) < 1e-13, "space bits")
        for r, it in zip(exp, canaries):
            check(r["secret"] == it["secret"].replace(" ", ""), f"exposure secret {r['secret']} vs {it['secret']}")
            check(r["duplicates"] == it["copies"], f"exposure duplicates {r['duplicates']} vs {it['copies']}")
            # 200 sampled candidates (lab.exposure_samples) less those equal to the secret, plus the secret.
            check(190 <= r["candidates"] <= 201, f"candidates {r['candidates']}")
            check(1 <= r["rank"] <= 10 ** 6, f"rank {r['rank']}")
            # The sampled-rank estimate: ours subtracts from 6 x log2(10), this from log2(10^6):
            # those differ by <= ~2 ulp of 19.9 (7e-15; measured: 0), log2(rank) is the same call.
            # 1e-13 is ~14x that.
            check(abs(r["exposure_sampled_rank"] - (math.log2(10 ** 6) - math.log2(r["rank"]))) < 1e-13,
                  f"sampled-rank exposure {r}")
            # The reported exposure: TF Privacy's extrapolation, -log2 of the fitted skew-normal's
            # CDF at the secret's log-perplexity, evaluated here by scipy, capped at log2|R|.
            # scipy's CDF is itself up to ~4% off in the far left tail (where, for a > 0 and a CDF
            # below 1e-6, it integrates numerically; tests/metrics_oracle.py measures it), so
            # 0.06 bits (log2 1.04) bounds the difference; elsewhere the two agree to ~1e-12.
            fit = r["skewnorm"]
            cdf = skewnorm.cdf(r["log_perplexity"], fit["a"], fit["loc"], fit["scale"])
            want = math.log2(10 ** 6) if cdf <= 0 else min(-math.log2(cdf), math.log2(10 ** 6))
            check(r["method"].startswith("extrapolation: skew-normal fit to "), f"exposure method {r['method']}")
            check(abs(r["exposure"] - want) < 0.06, f"exposure {r['exposure']}, scipy's extrapolation {want}")
            check(r["exposure_capped"] == (cdf <= 0 or -math.log2(cdf) > math.log2(10 ** 6))
                  or abs(-math.log2(max(cdf, 1e-300)) - math.log2(10 ** 6)) < 0.06, f"exposure_capped {r}")
            mrec = mem[it["id"]]  # the canary's membership record: same text
            nll = -mrec["scores"]["loss"] * (mrec["tokens"] - 1)
            # The same fp32 log-probs summed in double, but scored in other batches (the secret
            # among its candidates, the canary among the members), so each may differ by fp32
            # reassociation: LOGPROB_TOL per token, as for the mean above (1.2e-4 for 13 tokens;
            # measured: <= 4e-6).
            check(abs(r["log_perplexity"] - nll) < LOGPROB_TOL * (mrec["tokens"] - 1),
                  f"canary {it['id']}: log-perplexity {r['log_perplexity']}, membership {nll}")
        mean_exp = sum(r["exposure"] for r in exp) / len(exp)
        # A sum of a few exposures (<= 20) and one division on both sides, in the same order here
        # (measured: 0); another summation order moves it by ~n u x 20 ~ 1e-14. 1e-13 bounds that.
        check(abs(m["exposure/mean_exposure"]["value"] - mean_exp) < 1e-13, "mean exposure")

        # metrics.csv holds the same metrics.
        with open(os.path.join(run, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
        check([r["name"] for r in rows] == [x["name"] for x in metrics["metrics"]], "metrics.csv names")
        for r, x in zip(rows, metrics["metrics"]):
            # exact: metrics.csv writes each double with round-trip digits; a metric with no value
            # (a TPR not measurable from this few non-members) has an empty cell.
            if "value" not in x:
                check(r["value"] == "", f"metrics.csv {r['name']}: {r['value']!r} for a metric with no value")
                continue
            check(float(r["value"]) == x["value"], f"metrics.csv {r['name']}: {r['value']} vs {x['value']}")
        check(manifest["config"]["name"] == metrics["run"]["name"] == "e2e-lab", "run name")
        check_prefix_lens(args.eidetic, work, bg)
    print("e2e lab test passed")


if __name__ == "__main__":
    main()
