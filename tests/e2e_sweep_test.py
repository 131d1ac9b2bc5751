"""A sweep end to end: `eidetic run` of a config with a `sweep:` section over attack.prefix_len
(1, 3 and 8 tokens of an 8-token prefix) for the discoverable attack on a tiny random GPT-NeoX
written here with transformers. The items' suffixes are built so that the extraction rate at
each prefix length is known in advance: they are the model's greedy continuation of the last
token only (6 of 60), 18 of the last 3 tokens, 36 of all 8; the expected rate at each point is
recomputed here with transformers' own greedy decoding (an item counts when the greedy
continuation of its last k prefix tokens equals its suffix). Then:

  1. one point-N folder per value, each a complete run with the value in its config and the
     expected exact_extraction_rate in its metrics.json;
  2. the sweep's metrics.json lists one metric per value, named "METRIC @ KEY=VALUE", equal
     (value, interval, n) to that point's own metric;
  3. its table and its plot's series (points and intervals) hold the same numbers, in value
     order, the table naming each point's folder;
  4. the log-linear fit (least squares of y on ln x, with R^2) recomputed here equals the one in
     metrics.json and in the plot;
  5. its report.md and report.html show every metric, every table row and the fit.

Usage: e2e_sweep_test.py --eidetic PATH   (skips when numpy/torch/transformers are missing)
"""
import math
import os
import tempfile
import time

from e2e_common import check, check_report, lab_config, load_json, run_eidetic, write_background
from testlib import discoverable_config, greedy, parse_args, random_items, skip, tiny_random_neox

try:
    import numpy as np
    import torch
    import transformers
except ImportError as e:
    skip(str(e))

transformers.logging.set_verbosity_error()
torch.set_num_threads(1)
N, P, S, V = 60, 8, 6, 97
VALUES = [1, 3, 8]
GROUP = {1: 6, 3: 18, 8: 36}  # items whose suffix continues the last k prefix tokens: rates ~0.1, ~0.3, ~0.6
KEY, METRIC = "attack.prefix_len", "exact_extraction_rate"
LAB_WIDTHS, LAB_METRIC = [16, 32], "memorized_bits_per_parameter"


def make_data(work):
    model = tiny_random_neox(os.path.join(work, "model"), V)
    prefix, suffix = random_items(N, P, S, V)
    start = 0
    for k in VALUES:
        rows = slice(start, start + GROUP[k])
        suffix[rows] = greedy(model, prefix[rows, P - k:], S)
        start += GROUP[k]
    np.save(os.path.join(work, "prefix.npy"), prefix.numpy().astype(np.int64))
    np.save(os.path.join(work, "suffix.npy"), suffix.numpy().astype(np.int64))
    # The rate each point must report, from transformers' decoding of the last k tokens.
    expected = {}
    for k in VALUES:
        hits = (greedy(model, prefix[:, P - k:], S) == suffix).all(1)
        expected[k] = hits.sum().item() / N
    cfg_path = os.path.join(work, "sweep.yaml")
    with open(cfg_path, "w") as f:
        f.write("name: e2e-sweep\n" + discoverable_config(work, 5, 16) + f"""sweep:
  key: {KEY}
  values: {VALUES}
  metric: {METRIC}
""")
    return cfg_path, expected


def loglinear(xs, ys):
    lx = [math.log(x) for x in xs]
    n = len(lx)
    mx, my = sum(lx) / n, sum(ys) / n
    sxx = sum((a - mx) ** 2 for a in lx)
    sxy = sum((a - mx) * (b - my) for a, b in zip(lx, ys))
    syy = sum((b - my) ** 2 for b in ys)
    slope = sxy / sxx
    return slope, my - slope * mx, 1.0 if syy == 0 else sxy * sxy / (sxx * syy)


def check_sweep(out, key, values, metric, x_of_point, x_label):
    """The sweep directory `out` against its points: folders, metrics, table, plot, fit, report.
    x_of_point(i, point_metrics_json) gives the x the sweep must have used for point i. Returns
    the points' metrics (one dict per value)."""
    folders = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)))
    check(folders == [f"point-{i}" for i in range(len(values))], f"folders {folders}")
    sweep = load_json(os.path.join(out, "metrics.json"))
    sweep_manifest = load_json(os.path.join(out, "manifest.json"))
    check(sweep_manifest["status"] == "complete", sweep_manifest["status"])
    check(sweep_manifest["config"]["sweep"]["values"] == [str(v) for v in values], sweep_manifest["config"]["sweep"])
    for f in ("report.md", "report.html"):
        check(os.path.isfile(os.path.join(out, f)), f"the sweep lacks {f}")

    point_metrics, xs = [], []
    for i, v in enumerate(values):
        d = os.path.join(out, f"point-{i}")
        for f in ("manifest.json", "results.jsonl", "metrics.json", "metrics.csv", "report.md", "report.html"):
            check(os.path.isfile(os.path.join(d, f)), f"point-{i} lacks {f}")
        man = load_json(os.path.join(d, "manifest.json"))
        check(man["status"] == "complete", f"point-{i}: status {man['status']}")
        node = man["config"]
        for part in key.split("."):
            node = node[part]
        check(node == v, f"point-{i}: {key} is {node} in its config, not {v}")
        pmj = load_json(os.path.join(d, "metrics.json"))
        found = [m for m in pmj["metrics"] if m["name"] == metric]
        check(len(found) == 1, f"point-{i}: {len(found)} metrics named {metric}")
        point_metrics.append(found[0])
        xs.append(float(x_of_point(i, pmj)))

    # One metric per value, equal to the point's own.
    check(len(sweep["metrics"]) == len(values), f"{len(sweep['metrics'])} sweep metrics")
    for m, pm, v in zip(sweep["metrics"], point_metrics, values):
        check(m["name"] == f"{metric} @ {key}={v}", m["name"])
        for k in ("value", "ci_low", "ci_high", "n", "description"):
            # exact: the sweep copies each point's metric.
            check(m.get(k) == pm.get(k), f"{m['name']}: {k} {m.get(k)} vs the point's {pm.get(k)}")

    ys = [pm["value"] for pm in point_metrics]
    # A metric without an interval is plotted and tabled with its value at both ends.
    lows = [pm.get("ci_low", pm["value"]) for pm in point_metrics]
    highs = [pm.get("ci_high", pm["value"]) for pm in point_metrics]
    table = sweep["tables"][0]
    check(table["columns"] == [key, "x", metric, "ci_low", "ci_high", "run"], table["columns"])
    want_rows = [[str(v), x, y, lo, hi, f"point-{i}"] for i, (v, x, y, lo, hi) in enumerate(zip(values, xs, ys, lows, highs))]
    check(table["rows"] == want_rows, f"table rows {table['rows']}\n  expected {want_rows}")
    plot = sweep["plots"][0]
    check(plot["log_x"] is True and plot["y_label"] == metric and plot["x_label"] == x_label, plot)
    series = plot["series"]
    check(len(series) == 1, f"{len(series)} series")
    # exact (the table above and the plot): the points' values, copied.
    check(series[0]["points"] == [[x, y] for x, y in zip(xs, ys)], f"plot points {series[0]['points']}")
    check(series[0]["ci"] == [[lo, hi] for lo, hi in zip(lows, highs)], f"plot intervals {series[0]['ci']}")

    slope, intercept, r2 = loglinear(xs, ys)
    print(f"{key} sweep: x {xs}, y {ys}; fit slope {slope} intercept {intercept} r2 {r2}")
    fit = sweep["fit"]
    check(fit["points"] == len(values), f"fit over {fit['points']} points")
    # The same formula in the same order on the same doubles, so equal to within an ulp or two
    # (Python's ** 2 is libm's pow where ours multiplies; ours clamps r2 at 1 where rounding can
    # put it a few ulp above; measured: 1 ulp, on r2). rel_tol 1e-14 (~45 ulp) leaves room for the
    # mild cancellation in the intercept; abs_tol 1e-15 serves a value near 0 (a flat sweep's
    # slope), ~20 ulp of the O(0.1-1) terms it is the difference of.
    for name, mine in (("slope", slope), ("intercept", intercept), ("r2", r2)):
        check(math.isclose(fit[name], mine, rel_tol=1e-14, abs_tol=1e-15), f"fit {name} {fit[name]}, recomputed {mine}")
        check(plot["fit"][name] == fit[name], f"plot fit {name} {plot['fit'][name]} vs {fit[name]}")  # exact: a copy
    check(plot["fit"]["kind"] == "loglinear", plot["fit"])

    n_metrics, n_rows = check_report(out)
    print(f"{key} sweep report: {n_metrics} metrics, {n_rows} table rows and the fit line present")
    return point_metrics


def main():
    args = parse_args("--eidetic")
    with tempfile.TemporaryDirectory(prefix="eidetic-e2e-sweep-") as work:
        cfg, expected = make_data(work)
        print("expected rates:", expected)
        # The data must make the sweep informative: rates that differ between points.
        check(len(set(expected.values())) > 1, f"the data give the same rate at every point: {expected}")
        out = os.path.join(work, "sweep")
        t0 = time.time()
        run_eidetic([args.eidetic, "run", cfg, "--out", out, "--quiet"], timeout=240)
        print(f"attack sweep run: {time.time() - t0:.1f} s")
        pms = check_sweep(out, KEY, VALUES, METRIC, lambda i, m: VALUES[i], KEY)
        for v, pm in zip(VALUES, pms):
            # exact: a mean of N 0/1 values sums exactly in double, then divides once, as count / N.
            check(pm["value"] == expected[v], f"{KEY}={v}: rate {pm['value']}, expected {expected[v]}")
            check(pm["n"] == N, f"{KEY}={v}: n {pm['n']}")

        # A lab sweep over the model's width, plotted against the trained models' parameter counts.
        bg = os.path.join(work, "background.txt")
        write_background(bg, seed=2)
        lab_cfg = os.path.join(work, "lab-sweep.yaml")
        lab_config(lab_cfg, bg, "e2e-lab-sweep", copies=(1, 8), steps=60, extra=f"""sweep:
  key: arch.hidden_size
  values: {LAB_WIDTHS}
  metric: {LAB_METRIC}
  x: parameters
""")
        lab_out = os.path.join(work, "lab-sweep")
        t0 = time.time()
        run_eidetic([args.eidetic, "run", lab_cfg, "--out", lab_out, "--quiet"], timeout=240)
        print(f"lab sweep run: {time.time() - t0:.1f} s")
        params = []
        for i, w in enumerate(LAB_WIDTHS):
            # The parameter count of a 2-layer GPT-NeoX of width w (untied embeddings, biases,
            # two layer norms per layer and a final one), from the vocabulary the point trained.
            v = load_json(os.path.join(lab_out, f"point-{i}", "lab", "model", "config.json"))["vocab_size"]
            inter = 4 * w
            per_layer = 2 * 2 * w + (3 * w * w + 3 * w) + (w * w + w) + (w * inter + inter) + (inter * w + w)
            params.append(2 * v * w + 2 * per_layer + 2 * w)
        check_sweep(lab_out, "arch.hidden_size", LAB_WIDTHS, LAB_METRIC, lambda i, m: m["lab"]["parameters"],
                    "parameters of the trained model")
        got = [load_json(os.path.join(lab_out, f"point-{i}", "metrics.json"))["lab"]["parameters"] for i in range(len(LAB_WIDTHS))]
        check(got == params, f"parameter counts {got}, expected {params}")
    print("e2e sweep test passed")


if __name__ == "__main__":
    main()
