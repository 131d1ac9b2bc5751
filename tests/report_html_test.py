#!/usr/bin/env python3
"""report.html as a browser draws it: headless Chromium renders a run's report and every plot
(each ROC plot also on log-log axes) must draw data marks, the page must open with the run's
headline, and a screenshot of the page must not be blank.

The report itself holds no scripts. For the check, a copy of it gets one inline script that,
after load, counts per <svg> the data elements (class "mark": lines, markers, error bars, bars,
fit curves) whose bounding box is non-empty and inside the drawing, and writes the counts into
<pre id="result">; Chromium's --dump-dom prints the page after load, and the counts are read
back from it. Chromium runs without network (a dead proxy, no name resolution).

Usage: report_html_test.py --eidetic PATH [--run-dir DIR] [--keep DIR]
Exit 77 (skipped) when no chromium or chromium-browser is installed.
"""
import argparse
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from testlib import skip


SAMPLE_METRICS = {
    "run": {"name": "quickstart", "attack": "discoverable", "model": "/models/pythia-160m", "items": 1000},
    "metrics": [
        {"name": "exact_extraction_rate", "value": 0.12, "ci_low": 0.10, "ci_high": 0.14, "n": 1000,
         "description": "fraction of items whose 50-token suffix came back exactly"},
        {"name": "mean_matched_prefix", "value": 11.5, "n": 1000, "description": "tokens matched before the first error"},
        {"name": "mia_auc_loss", "value": 0.81, "ci_low": 0.78, "ci_high": 0.84, "n": 2000},
    ],
    "tables": [{"id": "extraction_by_duplicates", "title": "Extraction by duplicate count",
                "columns": ["duplicates", "items", "extracted", "rate"],
                "rows": [[1, 100, 0, 0.0], [2, 100, 3, 0.03], [4, 100, 9, 0.09], [8, 100, 21, 0.21],
                         [16, 100, 30, 0.3], [32, 100, 44, 0.44]]}],
    "plots": [
        {"id": "rate_vs_duplicates", "title": "Extraction rate against duplicate count", "kind": "line",
         "x_label": "copies in training data", "y_label": "exact extraction rate", "log_x": True, "log_y": False,
         "series": [{"name": "exact", "points": [[1, 0.0], [2, 0.03], [4, 0.09], [8, 0.21], [16, 0.3], [32, 0.44]],
                     "ci": [[0, 0.04], [0.01, 0.08], [0.05, 0.16], [0.14, 0.3], [0.22, 0.4], [0.34, 0.54]]}],
         "fit": {"kind": "loglinear", "slope": 0.128, "intercept": -0.03, "r2": 0.97}},
        {"id": "roc", "title": "ROC: membership inference", "kind": "roc", "x_label": "false positive rate",
         "y_label": "true positive rate", "log_x": False, "log_y": False,
         "series": [{"name": "loss (AUC 0.81)", "points": [[0, 0], [0.05, 0.35], [0.1, 0.5], [0.3, 0.78], [1, 1]]},
                    {"name": "zlib ratio (AUC 0.72)", "points": [[0, 0], [0.1, 0.3], [0.4, 0.7], [1, 1]]}]},
        {"id": "challenge_errors", "title": "Extraction challenge: recall against wrong guesses", "kind": "line",
         "x_label": "wrong guesses", "y_label": "recall",
         "series": [{"name": "greedy", "points": [[0, 0.0], [10, 0.12], [50, 0.2], [100, 0.24]]},
                    {"name": "top-k sampling", "points": [[0, 0.0], [10, 0.08], [50, 0.22], [100, 0.31]]}]},
        {"id": "loss_scatter", "title": "Loss against zlib entropy", "kind": "scatter",
         "x_label": "zlib bits", "y_label": "loss",
         "series": [{"name": "members", "points": [[100 + 7 * i, 1.5 + (i % 5) * 0.3] for i in range(30)]},
                    {"name": "non-members", "points": [[120 + 6 * i, 2.5 + (i % 7) * 0.25] for i in range(30)]}]},
        {"id": "per_source", "title": "Extracted items by source", "kind": "bar", "x_label": "items",
         "series": [{"name": "extracted", "points": [["web", 120], ["code", 80], ["books", 15]]}]},
    ],
    "profile": {"phases": {"load": 1.2, "tokenize": 0.1, "prefill": 0.5, "decode": 3.0, "score": 0.0,
                           "match": 0.01, "write": 0.02},
                "wall_seconds": 5.0, "generated_tokens": 50000, "tokens_per_s": 16000.0, "sequences_per_s": 300.0,
                "peak_gpu_memory_bytes": 0, "roofline_floor_seconds": 0.4, "roofline_percent": 13.3, "device": "cpu"},
}

SAMPLE_MANIFEST = {
    "eidetic_version": "0.1.0", "git_commit": "94dc148368af", "torch_version": "2.11.0", "cuda_version": "none",
    "device": "cpu",
    "config": {"name": "quickstart", "seed": 7, "model": {"path": "/models/pythia-160m", "device": "cpu"},
               "attack": {"name": "discoverable", "prefix_tokens": 50, "suffix_tokens": 50}},
    "config_hash": "3f2a9c0d", "seed": 7, "started_at": "2025-01-02T03:04:05Z",
    "finished_at": "2025-01-02T03:09:10Z", "status": "complete",
}

COUNT_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = {};
  document.querySelectorAll('svg').forEach(function (svg, i) {
    var id = svg.getAttribute('data-plot-id') || ('svg-' + i);
    var vb = svg.viewBox.baseVal, marks = 0, elements = 0;
    svg.querySelectorAll('path.mark, polyline.mark, circle.mark, rect.mark').forEach(function (el) {
      elements++;
      var b = el.getBBox();
      var inside = b.x + b.width >= 0 && b.y + b.height >= 0 && b.x <= vb.width && b.y <= vb.height;
      if ((b.width > 0 || b.height > 0) && inside) marks++;
    });
    var r = svg.getBoundingClientRect();
    out[id] = {marks: marks, elements: elements, width: r.width, height: r.height};
  });
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_cmd(binary, profile_dir):
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
            "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile_dir}"]


def png_pixels(path):
    """Decodes an 8-bit non-interlaced RGB/RGBA/gray PNG: returns (width, height, channels, rows)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or interlace != 0 or color not in (0, 2, 4, 6):
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, color type {color}, interlace {interlace})")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        bpp = channels
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        elif kind != 0:
            raise ValueError(f"{path}: bad filter type {kind} in row {y}")
        rows.append(line)
        prev = line
    return width, height, channels, rows


def ink_counts(path):
    """Pixels that are not white, and pixels with a clear colour (the plots' series colours)."""
    width, height, channels, rows = png_pixels(path)
    ink = coloured = 0
    for line in rows:
        for x in range(0, width * channels, channels):
            if channels >= 3:
                r, g, b = line[x], line[x + 1], line[x + 2]
            else:
                r = g = b = line[x]
            if r < 245 or g < 245 or b < 245:
                ink += 1
                if max(r, g, b) - min(r, g, b) > 60:
                    coloured += 1
    return width * height, ink, coloured


def first_section(page):
    """The id of the first <section> of a report page."""
    m = re.search(r'<section id="([^"]*)"', page)
    return m.group(1) if m else None


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eidetic", required=True, help="the eidetic binary")
    ap.add_argument("--run-dir", help="a run directory to render (copied first); default: a built-in sample")
    ap.add_argument("--keep", help="copy report.html and the screenshot here")
    args = ap.parse_args()

    chromium = find_chromium()
    if not chromium:
        skip("neither chromium nor chromium-browser is installed (scripts/setup.sh --test installs it)")

    with tempfile.TemporaryDirectory(prefix="eidetic-report-html-") as tmp:
        run_dir = os.path.join(tmp, "run")
        if args.run_dir:
            shutil.copytree(args.run_dir, run_dir)
        else:
            os.makedirs(run_dir)
            with open(os.path.join(run_dir, "metrics.json"), "w") as f:
                json.dump(SAMPLE_METRICS, f, indent=1)
            with open(os.path.join(run_dir, "manifest.json"), "w") as f:
                json.dump(SAMPLE_MANIFEST, f, indent=1)
            with open(os.path.join(run_dir, "results.jsonl"), "w") as f:
                for i in range(5):
                    f.write(json.dumps({"item": i, "exact": i % 3 == 0, "prefix_match": 10 + i}) + "\n")

        r = subprocess.run([args.eidetic, "report", run_dir, "--regenerate"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail(f"eidetic report --regenerate exited {r.returncode}: {r.stderr.strip()}")
        report = os.path.join(run_dir, "report.html")
        if not os.path.isfile(report):
            fail("report.html was not written")
        page = open(report, encoding="utf-8").read()
        for bad in ("http://", "https://", "<script", "<link", "@import"):
            if bad in page:
                fail(f"report.html contains {bad!r}: it must be self-contained")

        with open(os.path.join(run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        if (metrics.get("metrics") or metrics.get("plots")) and first_section(page) != "headline":
            fail(f"report.html opens with section {first_section(page)!r}, not the headline")
        expected = [p["id"] for p in metrics.get("plots", []) if p.get("id")]
        # A ROC plot is drawn twice: on linear axes and, beside it, on log-log axes.
        expected += [p["id"] + "_log" for p in metrics.get("plots", []) if p.get("id") and p.get("kind") == "roc"]
        if metrics.get("profile", {}).get("phases"):
            expected.append("profile_phases")

        # 1. Marks per plot, counted by the browser.
        probe = os.path.join(tmp, "probe.html")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(page.replace("</body>", COUNT_SCRIPT + "\n</body>", 1))
        profile = os.path.join(tmp, "chromium-profile")
        r = subprocess.run(chromium_cmd(chromium, profile) + ["--dump-dom", "file://" + probe],
                           capture_output=True, text=True, timeout=90)
        m = re.search(r'<pre id="result">(.*?)</pre>', r.stdout, re.S)
        if not m:
            fail(f"chromium printed no result (exit {r.returncode}); stderr tail:\n{r.stderr[-2000:]}")
        counts = json.loads(html.unescape(m.group(1)))
        print("marks per plot:", json.dumps(counts, sort_keys=True))
        for pid in expected:
            c = counts.get(pid)
            if c is None:
                fail(f"plot {pid!r} has no <svg> in report.html (found {sorted(counts)})")
            if c["marks"] <= 0:
                fail(f"plot {pid!r} draws no visible marks ({c})")
            if c["width"] <= 0 or c["height"] <= 0:
                fail(f"plot {pid!r} has no size on the page ({c})")

        # 2. A screenshot that is not blank, with the plots' colours in it.
        shot = os.path.join(tmp, "report.png")
        r = subprocess.run(chromium_cmd(chromium, profile) + ["--window-size=1100,4000", f"--screenshot={shot}",
                                                              "file://" + report],
                           capture_output=True, text=True, timeout=90)
        if not os.path.isfile(shot):
            fail(f"chromium wrote no screenshot (exit {r.returncode}); stderr tail:\n{r.stderr[-2000:]}")
        total, ink, coloured = ink_counts(shot)
        print(f"screenshot: {total} pixels, {ink} not white, {coloured} coloured")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            shutil.copy(report, os.path.join(args.keep, "report.html"))
            shutil.copy(shot, os.path.join(args.keep, "report.png"))
        if ink < total * 0.01:
            fail(f"the screenshot is (nearly) blank: {ink} of {total} pixels are not white")
        if coloured < 500:
            fail(f"the screenshot shows almost no coloured pixels ({coloured}): the plots did not draw")
    print(f"OK: {len(expected)} plots render with marks: {', '.join(expected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
