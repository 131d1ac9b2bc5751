"""Helpers shared by the end-to-end tests (tests/e2e_*_test.py), which drive the real binary.

- run_eidetic(): runs the binary, returns (stdout, stderr); any non-zero exit is a failure that
  prints both streams;
- write_background(): a small English-like text file for the lab (documents separated by blank
  lines, enough of them 30-120 words long to be planted as passages), so that a lab run does
  not depend on Debian's fortunes and stays small;
- lab_config(): a lab config at tiny settings (a run takes seconds on a 2-core CPU);
- Python ports of the report's number formatting (harness/svg_plot.cpp format_number) and of
  its Markdown escaping (harness/report_markdown.cpp md, md_code), to write down what the report must
  print for a given metrics.json value;
- check(): an assertion that survives `python -O`.
"""
import json
import math
import os
import random
import subprocess

WORDS = (
    "the a of and to in is was that for on with as by at from his her their an be this which or had "
    "one all were when we there can been has more if will would who so no out up said what its about "
    "into than them only other new some could time these two may then do first any my now such like our "
    "over man me even most made after also did many before must through back years where much your way "
    "well down should because each just those people how too little state good very make world still own "
    "see men work long get here between both life being under never day same another know while last "
    "might us great old year off come since against go came right used take three harbor lantern orchard "
    "river meadow window garden quiet morning evening winter summer letter story kettle candle ribbon "
    "mountain valley bridge market shadow thunder whisper silver copper marble velvet feather pebble").split()


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def quiet_env():
    """The environment for the binary: one intra-op thread. On a 2-core machine shared with
    other tests, libtorch's default of one thread per core oversubscribes the CPU and training
    runs 10-20 times slower; one thread keeps a lab run at a few seconds."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_eidetic(args, timeout, env=None):
    """Runs `args` (the binary first); returns (stdout, stderr). A non-zero exit fails the test."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env or quiet_env())
    if proc.returncode != 0:
        print("command:", " ".join(args))
        print("stdout:\n" + proc.stdout)
        print("stderr:\n" + proc.stderr)
        raise AssertionError(f"exit status {proc.returncode}")
    return proc.stdout, proc.stderr


def write_background(path, seed=0, long_docs=10, short_docs=10):
    """Documents of random words from WORDS, one sentence-like line per ~12 words, blank lines
    between documents: `long_docs` of 35-90 words (passage candidates) and `short_docs` of 5-25.
    Returns the documents."""
    rng = random.Random(seed)

    def doc(n):
        words = [rng.choice(WORDS) for _ in range(n)]
        words[0] = words[0].capitalize()
        lines = [" ".join(words[i:i + 12]) for i in range(0, n, 12)]
        return "\n".join(lines) + "."

    docs = [doc(rng.randint(35, 90)) for _ in range(long_docs)] + [doc(rng.randint(5, 25)) for _ in range(short_docs)]
    rng.shuffle(docs)
    with open(path, "w") as f:
        f.write("\n\n".join(docs) + "\n")
    return docs


def lab_config(path, background, name, copies=(1, 4, 32), items_per_count=1, steps=150, extra="", lab_extra=""):
    """A lab config at tiny settings: a 2-layer GPT-NeoX of width 48, `steps` optimizer steps.
    `lab_extra`: more lines of the lab section (indented); `extra`: more top-level sections."""
    with open(path, "w") as f:
        f.write(f"""name: {name}
seed: 3
model:
  path: lab
  device: cpu
lab:
  copies: {list(copies)}
  items_per_count: {items_per_count}
  kinds: [canary, record, passage]
  background: [{background}]
  tokenizer_vocab: 384
  exposure_samples: 200
{lab_extra}arch:
  family: gpt_neox
  hidden_size: 48
  layers: 2
  heads: 2
  max_positions: 256
train:
  steps: {steps}
  batch_size: 8
  seq_len: 64
  lr: 0.01
  warmup_steps: 10
  checkpoint_every: 100000
engine:
  batch_size: 16
profile:
  measure_ceilings: false
{extra}""")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def load_jsonl(path):
    with open(path) as f:
        text = f.read()
    check(text == "" or text.endswith("\n"), f"{path}: the last line is not terminated")
    return [json.loads(line) for line in text.splitlines()]


# ---- the report's formatting, ported -------------------------------------------------------

def format_number(v, significant=4):
    """harness/svg_plot.cpp format_number: `significant` digits, trailing zeros cut, integers
    whole, scientific notation outside [1e-4, 1e9)."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    significant = min(max(significant, 1), 17)
    a = abs(v)
    if a < 1e15 and math.floor(v) == v and (a < 1e9 or significant >= 10):
        return f"{v:.0f}"
    if 1e-4 <= a < 1e9:
        decimals = max(0, significant - 1 - math.floor(math.log10(a)))
        s = f"{v:.{decimals}f}"
        if "." in s:
            s = s.rstrip("0")
            if s.endswith("."):
                s = s[:-1]
        return "0" if s == "-0" else s
    s = f"{v:.{significant - 1}e}"
    mant, exp = s.split("e")
    if "." in mant:
        mant = mant.rstrip("0")
        if mant.endswith("."):
            mant = mant[:-1]
    return mant + "e" + str(int(exp))


def text_of(v):
    """harness/report_input.cpp text_of: a JSON scalar as the report prints it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_number(v)
    return json.dumps(v, separators=(",", ":"))


def md(s):
    """harness/report_markdown.cpp md: free text escaped for Markdown, on one line."""
    out = []
    for i, c in enumerate(s):
        if c == "_":
            if not (i > 0 and s[i - 1].isascii() and s[i - 1].isalnum() and i + 1 < len(s) and s[i + 1].isascii()
                    and s[i + 1].isalnum()):
                out.append("\\")
            out.append(c)
        elif c in "\\|*`":
            out.append("\\" + c)
        elif c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif c == "&":
            out.append("&amp;")
        elif c in "\n\r":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def md_code(s):
    """harness/report_markdown.cpp md_code: an identifier in a code span."""
    if not s:
        return ""
    longest = run = 0
    for c in s:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    body = s.replace("|", "\\|").replace("\n", " ")
    pad = " " if body[0] == "`" or body[-1] == "`" else ""
    return fence + pad + body + pad + fence


def metric_cells(m):
    """The report's cells for one metrics.json metric: name, value, "[low, high]", n, description."""
    value = format_number(m["value"]) if m.get("value") is not None else ""
    lo, hi = m.get("ci_low"), m.get("ci_high")
    lo = float(lo) if isinstance(lo, (int, float)) and not isinstance(lo, bool) else math.nan
    hi = float(hi) if isinstance(hi, (int, float)) and not isinstance(hi, bool) else math.nan
    ci = f"[{format_number(lo)}, {format_number(hi)}]" if math.isfinite(lo) or math.isfinite(hi) else ""
    return [m["name"], value, ci, text_of(m.get("n")), text_of(m.get("description"))]


def md_row(cells):
    return "|" + "".join(" " + c + " |" for c in cells)


def fit_text(fit):
    """harness/report_doc.cpp fit_text: the one-line description of a plot's fit."""
    slope, intercept, r2 = fit.get("slope"), fit.get("intercept"), fit.get("r2")
    if not isinstance(slope, (int, float)) or not isinstance(intercept, (int, float)):
        return ""
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        return ""
    sign = " \u2212 " if slope < 0 else " + "
    kind = fit.get("kind", "")
    if kind == "loglinear":
        s = (f"log-linear fit: y = {format_number(intercept, 3)}{sign}{format_number(abs(slope), 3)}\u00b7ln(x); "
             f"slope {format_number(slope, 3)} per e-fold of x")
    elif kind == "linear":
        s = (f"linear fit: y = {format_number(intercept, 3)}{sign}{format_number(abs(slope), 3)}\u00b7x; "
             f"slope {format_number(slope, 3)}")
    else:
        s = f"{kind} fit: slope {format_number(slope, 3)}, intercept {format_number(intercept, 3)}"
    if isinstance(r2, (int, float)) and math.isfinite(r2):
        s += f", R\u00b2 = {format_number(r2, 3)}"
    return s


def expected_md_table(columns, rows):
    """The lines report.md writes for a metrics.json table (harness/report_markdown.cpp md_table): the
    header, the alignment line (right-aligned where every non-null cell is a number), the rows."""
    header = [md(text_of(c)) for c in columns]
    right = [True] * len(header)
    body = []
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            cells.append(md(text_of(v)))
            if i < len(right) and v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                right[i] = False
        if len(cells) > len(header):
            header += [""] * (len(cells) - len(header))
            right += [False] * (len(cells) - len(right))
        body.append(cells)
    if not body:
        right = [False] * len(header)
    lines = [md_row(header), "|" + "".join(" ---: |" if r else " --- |" for r in right)]
    for cells in body:
        lines.append(md_row([cells[i] if i < len(cells) else "" for i in range(len(header))]))
    return lines


def check_block(lines, start, expected, what):
    got = lines[start:start + len(expected)]
    for k, (a, b) in enumerate(zip(got, expected)):
        check(a == b, f"report.md, {what}, line {start + k + 1}:\n  report:   {a!r}\n  expected: {b!r}")
    check(len(got) == len(expected), f"report.md, {what}: ends after {len(got)} of {len(expected)} lines")


class HtmlTables:
    """The tables of report.html as text: for each, the id of the <h3> or <section> before it,
    its class, header cells and body rows; and the text of each figcaption and metric card."""

    def __init__(self, text):
        from html.parser import HTMLParser
        outer = self
        self.tables, self.captions, self.cards = [], [], []

        class P(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.anchor = self.section = None
                self.table = self.row = self.cell = None
                self.in_head = False
                self.caption = None
                self.card_depth = 0
                self.card_value = None
                self.depth = 0

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "section":
                    self.section = a.get("id")
                if tag == "h3":
                    self.anchor = a.get("id")
                if tag == "table":
                    self.table = {"anchor": self.anchor, "section": self.section, "class": a.get("class", ""),
                                  "header": [], "rows": []}
                elif tag == "thead":
                    self.in_head = True
                elif tag == "tr" and self.table is not None:
                    self.row = []
                elif tag in ("td", "th") and self.row is not None:
                    self.cell = []
                elif tag == "figcaption":
                    self.caption = []
                elif tag == "div" and a.get("class") == "value":
                    self.card_value = []

            def handle_endtag(self, tag):
                if tag in ("td", "th") and self.cell is not None:
                    self.row.append("".join(self.cell))
                    self.cell = None
                elif tag == "tr" and self.row is not None:
                    if self.in_head:
                        self.table["header"] = self.row
                    else:
                        self.table["rows"].append(self.row)
                    self.row = None
                elif tag == "thead":
                    self.in_head = False
                elif tag == "table" and self.table is not None:
                    outer.tables.append(self.table)
                    self.table = None
                elif tag == "figcaption" and self.caption is not None:
                    outer.captions.append("".join(self.caption))
                    self.caption = None
                elif tag == "div" and self.card_value is not None:
                    outer.cards.append("".join(self.card_value))
                    self.card_value = None
                elif tag == "section":
                    self.section = None

            def handle_data(self, data):
                for buf in (self.cell, self.caption, self.card_value):
                    if buf is not None:
                        buf.append(data)

        p = P()
        p.feed(text)
        p.close()


def check_report(run_dir):
    """report.md and report.html of `run_dir` against its metrics.json: every metric (name,
    value, interval, n, description, formatted as the report formats them), every row of every
    table, every plot's fit. Returns the number of metrics and table rows checked."""
    metrics = load_json(os.path.join(run_dir, "metrics.json"))
    with open(os.path.join(run_dir, "report.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    with open(os.path.join(run_dir, "report.html"), encoding="utf-8") as f:
        page = HtmlTables(f.read())

    # Markdown: the metrics table, in metrics.json's order, exactly.
    check("## Metrics" in lines, "report.md has no Metrics section")
    at = lines.index("## Metrics")
    rows = []
    for m in metrics["metrics"]:
        c = metric_cells(m)
        rows.append(md_row([md_code(c[0]), c[1], c[2], c[3], md(c[4])]))
    expected = ["", "| Metric | Value | 95% CI | n | Description |", "| --- | ---: | ---: | ---: | --- |"] + rows
    check_block(lines, at + 1, expected, "metrics table")

    # Markdown: each table under its title.
    n_rows = 0
    for t in metrics.get("tables", []):
        title = t.get("title") or t["id"]
        heading = "### " + md(title)
        starts = [i for i, line in enumerate(lines) if line == heading]
        check(starts, f"report.md has no heading {heading!r}")
        want = [""] + expected_md_table(t["columns"], t.get("rows", []))
        ok = any(lines[s + 1:s + 1 + len(want)] == want for s in starts)
        if not ok:
            check_block(lines, starts[0] + 1, want, f"table {t['id']}")
        n_rows += len(t.get("rows", []))

    # Markdown: each plot's fit, under the plot's title.
    for p in metrics.get("plots", []):
        if isinstance(p.get("fit"), dict) and fit_text(p["fit"]):
            check(md(fit_text(p["fit"])) in lines, f"report.md lacks the fit line of plot {p['id']}: {md(fit_text(p['fit']))!r}")

    # HTML: the metrics table, the cards, every table, every fit caption.
    mt = [t for t in page.tables if "metrics" in t["class"].split()]
    check(len(mt) == 1, f"report.html has {len(mt)} metrics tables")
    check(mt[0]["header"] == ["Metric", "Value", "95% CI", "n", "Description"], mt[0]["header"])
    want = [metric_cells(m) for m in metrics["metrics"]]
    for k, (a, b) in enumerate(zip(mt[0]["rows"], want)):
        check(a == b, f"report.html metrics row {k}: {a} != {b}")
    check(len(mt[0]["rows"]) == len(want), f"report.html: {len(mt[0]['rows'])} metric rows, metrics.json {len(want)}")
    cards = [c[1] or "\u2014" for c in want[:4]]
    check(page.cards == cards, f"report.html cards {page.cards}, expected {cards}")
    for t in metrics.get("tables", []):
        anchor = "table-" + "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in t["id"])
        found = [x for x in page.tables if x["anchor"] == anchor and x["section"] == "tables"]
        check(len(found) >= 1, f"report.html has no table after <h3 id={anchor!r}>")
        x = found[0]
        header = [text_of(c) for c in t["columns"]]
        width = max([len(header)] + [len(r) for r in t.get("rows", [])])
        check(x["header"] == header + [""] * (width - len(header)), f"report.html table {t['id']} header {x['header']}")
        rows = [[text_of(v) for v in r] + [""] * (width - len(r)) for r in t.get("rows", [])]
        check(x["rows"] == rows, f"report.html table {t['id']}:\n  report:   {x['rows']}\n  expected: {rows}")
    for p in metrics.get("plots", []):
        if isinstance(p.get("fit"), dict) and fit_text(p["fit"]):
            check(fit_text(p["fit"]) + "." in page.captions, f"report.html lacks the fit caption of plot {p['id']}")
    return len(metrics["metrics"]), n_rows
