"""A real run's report against its own metrics.json. A lab run at tiny settings (discoverable,
exposure and membership parts: some twenty metrics, tables of integers, rates, bits and
strings, plots with fits) is written by `eidetic run`; then, with the report's number
formatting and Markdown escaping ported from harness/report_*.cpp and harness/svg_*.cpp:

  1. report.md's metrics table holds, in order, one row per metric of metrics.json: the name,
     the value, the 95% interval, n and the description, exactly as the report formats them;
     every table of metrics.json appears under its title with every row; every plot's fit line
     is there;
  2. report.html's metrics table, metric cards, tables (under their ids) and fit captions hold
     the same text;
  3. `eidetic report DIR --regenerate` rewrites both files byte for byte the same;
  4. `eidetic report DIR --format markdown` (the side-by-side view) shows every metric with its
     value and interval;
  5. after metrics.json is edited (a metric's value, its interval, a table cell) and the report
     regenerated, the report shows the edited numbers: it follows metrics.json, not the run.

Usage: e2e_report_test.py --eidetic PATH [--run-dir DIR]   (--run-dir: check an existing run
instead of making one; the edit of step 5 is then made on a copy)
"""
import argparse
import json
import math
import os
import shutil
import tempfile
import time

from e2e_common import (check, check_report, format_number, lab_config, load_json, md, md_code, md_row, run_eidetic,
                        write_background)


def metric_cell(m):
    """harness/report_compare.cpp metric_cell: "value [low, high]" for the side-by-side view."""
    s = format_number(m["value"]) if m.get("value") is not None else ""
    lo, hi = m.get("ci_low"), m.get("ci_high")
    lo = float(lo) if lo is not None else math.nan
    hi = float(hi) if hi is not None else math.nan
    if math.isfinite(lo) or math.isfinite(hi):
        s += (" " if s else "") + f"[{format_number(lo)}, {format_number(hi)}]"
    return s


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--run-dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eidetic-e2e-report-") as work:
        if args.run_dir:
            run = args.run_dir
        else:
            bg = os.path.join(work, "background.txt")
            write_background(bg, seed=7)
            cfg = os.path.join(work, "lab.yaml")
            lab_config(cfg, bg, "e2e-report", copies=(1, 8, 32))
            run = os.path.join(work, "run")
            t0 = time.time()
            run_eidetic([args.eidetic, "run", cfg, "--out", run, "--quiet"], timeout=240)
            print(f"lab run: {time.time() - t0:.1f} s")
        metrics = load_json(os.path.join(run, "metrics.json"))
        check(len(metrics["metrics"]) >= 10 and len(metrics["tables"]) >= 3, "the run has too few metrics or tables to check")

        n_metrics, n_rows = check_report(run)
        print(f"report.md and report.html: {n_metrics} metrics and {n_rows} table rows as metrics.json has them")

        # Regenerated from the same files: the same bytes.
        copy = os.path.join(work, "copy")
        shutil.copytree(run, copy)
        run_eidetic([args.eidetic, "report", copy, "--regenerate", "--format", "text"], timeout=60)
        for f in ("report.md", "report.html"):
            check(read(os.path.join(copy, f)) == read(os.path.join(run, f)), f"--regenerate changed {f}")

        # The side-by-side view: every metric, value and interval.
        side, _ = run_eidetic([args.eidetic, "report", run, "--format", "markdown"], timeout=60)
        side_lines = side.split("\n")
        for m in metrics["metrics"]:
            row = md_row([md_code(m["name"]), md(metric_cell(m))])
            check(row in side_lines, f"`eidetic report --format markdown` lacks {row!r}")

        # Edit metrics.json; the regenerated report must show the edit.
        edited = json.loads(json.dumps(metrics))
        first = edited["metrics"][0]
        first["value"], first["ci_low"], first["ci_high"] = 0.123456, 0.0000123, 12345678901.0
        table = edited["tables"][0]
        table["rows"][0][-1] = 7.654321
        with open(os.path.join(copy, "metrics.json"), "w") as f:
            json.dump(edited, f)
        run_eidetic([args.eidetic, "report", copy, "--regenerate", "--format", "text"], timeout=60)
        check_report(copy)
        text = read(os.path.join(copy, "report.md")).decode()
        for s in ("0.1235", "[1.23e-5, 1.235e10]", "7.654"):
            check(s in text, f"the regenerated report.md lacks the edited {s!r}")
        check(read(os.path.join(copy, "report.md")) != read(os.path.join(run, "report.md")), "the edit left report.md as it was")
    print("e2e report test passed")


if __name__ == "__main__":
    main()
