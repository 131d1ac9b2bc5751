// harness/report_html.cpp: a report Document as one self-contained HTML page: inline CSS and
// SVG, no scripts, no external URLs, so it can be mailed, archived and cited as is.
//
// Sections become <section id=...>, subsection headings <h3 id=...>, facts a definition list,
// plots a <figure> holding the SVG of each view (side by side), the fit as its caption and the
// data in a table behind a disclosure.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "eidetic/build_info.h"
#include "harness/report_doc.h"
#include "harness/svg_plot.h"

namespace eidetic::harness::report {
namespace {

constexpr const char* kCss = R"CSS(
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f9fafb; --accent: #0072b2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 2.5rem 1.5rem 3rem; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .3rem; letter-spacing: -.01em; }
h2 { font-size: 1.3rem; margin: 2.6rem 0 .9rem; padding-bottom: .35rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
p { margin: .5rem 0; }
.subtitle { color: var(--muted); margin: 0 0 1.6rem; font-size: 1.05rem; }
.banner { border-left: 4px solid #e69f00; background: #fff8e6; padding: .7rem 1rem; margin: 1rem 0; border-radius: 4px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
code { font-size: .88em; background: var(--soft); padding: .1em .3em; border-radius: 4px; }
pre { font-size: 13px; line-height: 1.5; background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: .9rem 1rem; overflow: auto; max-height: 36rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .93rem; font-variant-numeric: tabular-nums; margin: .4rem 0 1rem; }
th, td { padding: .4rem .8rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; white-space: nowrap; }
.desc { color: var(--muted); font-weight: 400; }
tbody tr:hover { background: #fcfcfd; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.5rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: .9rem; margin: 1.2rem 0 .5rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card .value { font-size: 1.7rem; font-weight: 600; font-variant-numeric: tabular-nums; line-height: 1.2; }
.card .ci { color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
.card .name { font-size: .85rem; color: var(--muted); margin-top: .3rem; overflow-wrap: anywhere; }
figure { margin: 1.4rem 0; padding: 1rem 1rem .8rem; border: 1px solid var(--line); border-radius: 8px; break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
.views { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; align-items: start; }
.views svg { width: 100%; }
.headline { border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 8px; padding: .9rem 1.2rem; margin: .4rem 0 1rem; }
.headline .number { font-size: 2.4rem; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.15; }
.headline .interval { color: var(--muted); font-variant-numeric: tabular-nums; }
.headline .what { margin-top: .3rem; }
details { margin-top: .5rem; font-size: .9rem; }
summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem; }
@media print { main { max-width: none; padding: 0; } pre { max-height: none; } summary { color: inherit; } }
)CSS";

constexpr size_t kPointsPerPlot = 500;

std::string h(const std::string& s) { return xml_escape(s); }

std::string html_id(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
  return out;
}

std::string inline_html(const Text& text) {
  std::string o;
  for (const auto& span : text) {
    switch (span.style) {
      case Style::plain: o += h(span.text); break;
      case Style::code: o += "<code>" + h(span.text) + "</code>"; break;
      case Style::strong: o += "<strong>" + h(span.text) + "</strong>"; break;
      case Style::muted: o += "<span class=\"desc\">" + h(span.text) + "</span>"; break;
    }
  }
  return o;
}

std::string html_table(const Table& t) {
  std::string o = "<div class=\"table-wrap\"><table" + (t.css_class.empty() ? "" : " class=\"" + t.css_class + "\"") +
                  ">\n<thead><tr>";
  const auto right = [&](size_t i) { return i < t.right.size() && t.right[i]; };
  for (size_t i = 0; i < t.header.size(); ++i)
    o += std::string(right(i) ? "<th class=\"num\">" : "<th>") + inline_html(t.header[i]) + "</th>";
  o += "</tr></thead>\n<tbody>\n";
  for (const auto& r : t.rows) {
    if (r.group) {
      o += "<tr><th colspan=\"" + std::to_string(t.header.size()) + "\">" + (r.cells.empty() ? "" : inline_html(r.cells[0])) +
           "</th></tr>\n";
      continue;
    }
    o += "<tr>";
    for (size_t i = 0; i < std::max(t.header.size(), r.cells.size()); ++i)
      o += std::string(right(i) ? "<td class=\"num\">" : "<td>") + (i < r.cells.size() ? inline_html(r.cells[i]) : "") + "</td>";
    o += "</tr>\n";
  }
  return o + "</tbody></table></div>\n";
}

// A plot's points as a table: series, x (or category), y (or value), and the interval where
// any point has one; the first kPointsPerPlot of them.
Table data_table(const Plot& p) {
  bool any_ci = false;
  for (const auto& s : p.series)
    for (const auto& q : s.points) any_ci |= !q[2].empty();
  const bool bar = p.kind == "bar";
  Table t;
  t.header = {plain("Series"), plain(bar ? "Category" : "x"), plain(bar ? "Value" : "y")};
  if (any_ci) t.header.push_back(plain("95% CI"));
  t.right = {false, !bar, true, true};
  size_t shown = 0;
  for (const auto& s : p.series)
    for (const auto& q : s.points) {
      if (shown++ >= kPointsPerPlot) break;
      t.rows.push_back({{plain(s.name), plain(q[0]), plain(q[1])}});
      if (any_ci) t.rows.back().cells.push_back(plain(q[2]));
    }
  return t;
}

std::string figure(const Plot& p) {
  std::string o = "<figure class=\"plot\" id=\"plot-" + html_id(p.id) + "\">\n";
  const bool side_by_side = p.views.size() > 1;
  if (side_by_side) o += "<div class=\"views\">\n";
  for (size_t i = 0; i < p.views.size(); ++i) {
    SvgOptions opt;
    opt.width = side_by_side ? 440 : 880;  // the page's layout: one figure, or two in a row
    opt.xmlns = false;
    opt.id_prefix = p.svg_id + (i ? "-" + std::to_string(i) : "");
    o += render_svg_plot(p.views[i], opt) + "\n";
  }
  if (side_by_side) o += "</div>\n";
  if (!p.fit.empty()) o += "<figcaption>" + h(p.fit) + ".</figcaption>\n";
  if (p.total_points > 0 && !p.data_beside) {
    o += "<details><summary>Data (" + std::to_string(p.total_points) + (p.total_points == 1 ? " point" : " points") +
         ")</summary>\n" + html_table(data_table(p));
    if (p.total_points > kPointsPerPlot)
      o += "<p class=\"muted\">The first " + std::to_string(kPointsPerPlot) + " of " + std::to_string(p.total_points) +
           " points; metrics.json has them all.</p>\n";
    o += "</details>\n";
  }
  return o + "</figure>\n";
}

struct BlockWriter {
  std::string operator()(const Paragraph& p) const {
    return (p.banner ? "<p class=\"banner\">" : "<p>") + inline_html(p.text) + "</p>\n";
  }

  std::string operator()(const Heading& hd) const {
    return (hd.anchor.empty() ? "<h3>" : "<h3 id=\"" + html_id(hd.anchor) + "\">") + inline_html(hd.text) + "</h3>\n";
  }

  std::string operator()(const Facts& f) const {
    std::string o = "<dl class=\"facts\">\n";
    for (const auto& [label, value] : f.items) o += "<dt>" + h(label) + "</dt><dd>" + inline_html(value) + "</dd>\n";
    return o + "</dl>\n";
  }

  std::string operator()(const Table& t) const { return html_table(t); }

  std::string operator()(const Plot& p) const { return figure(p); }

  std::string operator()(const Code& c) const { return "<pre>" + h(c.body) + "</pre>\n"; }

  std::string operator()(const Cards& c) const {
    std::string o = "<div class=\"cards\">\n";
    for (const auto& m : c.metrics) {
      o += "<div class=\"card\"><div class=\"value\">" + h(m.value.empty() ? "\u2014" : m.value) + "</div>";
      if (!m.ci.empty()) o += "<div class=\"ci\">95% CI " + h(m.ci) + "</div>";
      o += "<div class=\"name\">" + h(m.name) + "</div></div>\n";
    }
    return o + "</div>\n";
  }

  std::string operator()(const Headline& hl) const {
    const MetricText& m = hl.metric;
    std::string interval;
    if (!m.ci.empty()) interval += "95% CI " + m.ci;
    if (!m.n.empty()) interval += (interval.empty() ? "n = " : " \u00b7 n = ") + m.n;
    std::string o = "<div class=\"headline\"><div class=\"number\">" + h(m.value.empty() ? "\u2014" : m.value) + "</div>";
    if (!interval.empty()) o += "<div class=\"interval\">" + h(interval) + "</div>";
    o += "<div class=\"what\"><code>" + h(m.name) + "</code>";
    if (!m.description.empty()) o += ": " + h(m.description);
    return o + "</div></div>\n";
  }
};

}  // namespace

std::string to_html(const Document& doc) {
  std::string o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"generator\" content=\"Eidetic " + h(EIDETIC_VERSION) + "\">\n<title>" + h(doc.title) +
                  "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
  o += "<header>\n<h1>" + h(doc.title) + "</h1>\n";
  if (!doc.subtitle.empty()) o += "<p class=\"subtitle\">" + inline_html(doc.subtitle) + "</p>\n";
  o += "</header>\n";
  const BlockWriter write;
  for (const auto& b : doc.preface) o += std::visit(write, b);
  for (const auto& s : doc.sections) {
    o += "<section id=\"" + html_id(s.id) + "\">\n<h2>" + h(s.title) + "</h2>\n";
    for (const auto& b : s.blocks) o += std::visit(write, b);
    o += "</section>\n";
  }
  if (!doc.footer.empty()) o += "<footer>" + inline_html(doc.footer) + "</footer>\n";
  return o + "</main>\n</body>\n</html>\n";
}

}  // namespace eidetic::harness::report
