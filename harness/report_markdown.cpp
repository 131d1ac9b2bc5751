// harness/report_markdown.cpp: a report Document as Markdown (GitHub's dialect: pipe tables).
//
// Every block becomes a chunk of lines, and chunks are separated by one blank line. Plots
// cannot be drawn here, so a plot is written as its data: each series as a list of points
// (the first 20), with the axes and the fit above it.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "harness/report_doc.h"

namespace eidetic::harness::report {
namespace {

constexpr size_t kPointsPerSeries = 20;

// Free text inside Markdown: characters with a meaning escaped, one line.
std::string md(const std::string& s) {
  std::string out;
  const auto alnum = [&](size_t i) { return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i])); };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '_':  // emphasis only at word boundaries: snake_case stays as it is
        if (!(i > 0 && alnum(i - 1) && alnum(i + 1))) out += '\\';
        out += c;
        break;
      case '\\': case '|': case '*': case '`':
        out += '\\';
        out += c;
        break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

size_t longest_backtick_run(const std::string& s) {
  size_t longest = 0, run = 0;
  for (char c : s) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
  return longest;
}

// An identifier in a code span (usable inside a table cell).
std::string md_code(const std::string& s) {
  if (s.empty()) return "";
  const std::string fence(longest_backtick_run(s) + 1, '`');
  std::string body;
  for (char c : s) body += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  const bool pad = body.front() == '`' || body.back() == '`';
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

std::string inline_md(const Text& text) {
  std::string o;
  for (const auto& span : text) {
    if (span.text.empty()) continue;
    switch (span.style) {
      case Style::code: o += md_code(span.text); break;
      case Style::strong: o += "**" + md(span.text) + "**"; break;
      case Style::plain:
      case Style::muted: o += md(span.text); break;
    }
  }
  return o;
}

std::string md_table(const std::vector<std::string>& header, const std::vector<bool>& right,
                     const std::vector<std::vector<std::string>>& rows) {
  std::string o = "|";
  for (const auto& h : header) o += " " + h + " |";
  o += "\n|";
  for (size_t i = 0; i < header.size(); ++i) o += i < right.size() && right[i] ? " ---: |" : " --- |";
  o += "\n";
  for (const auto& r : rows) {
    o += "|";
    for (size_t i = 0; i < header.size(); ++i) o += " " + (i < r.size() ? r[i] : std::string()) + " |";
    o += "\n";
  }
  return o;
}

struct BlockWriter {
  std::string operator()(const Paragraph& p) const { return (p.banner ? "> " : "") + inline_md(p.text) + "\n"; }

  std::string operator()(const Heading& h) const { return "### " + inline_md(h.text) + "\n"; }

  std::string operator()(const Facts& f) const {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [label, value] : f.items) rows.push_back({md(label), inline_md(value)});
    return md_table({md(f.label_header), "Value"}, {false, f.numbers}, rows);
  }

  std::string operator()(const Table& t) const {
    std::vector<std::string> header;
    for (const auto& c : t.header) header.push_back(inline_md(c));
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : t.rows) {
      std::vector<std::string> cells;
      for (const auto& c : row.cells) cells.push_back(row.group ? "**" + inline_md(c) + "**" : inline_md(c));
      rows.push_back(std::move(cells));
    }
    return md_table(header, t.right, rows);
  }

  std::string operator()(const Plot& p) const {
    if (p.data_beside) return "";
    std::string o = "### " + md(p.title) + "\n\n*" + md(p.kind) + " plot, drawn in report.html" +
                    (p.views.size() > 1 ? " on linear and log-log axes" : "") + (p.axes.empty() ? "" : "; " + md(p.axes)) + "*";
    if (!p.fit.empty()) o += "  \n" + md(p.fit);
    o += "\n\n";
    if (p.series.empty()) o += "No series.\n";
    for (const auto& s : p.series) {
      o += "- **" + md(s.name) + "** (" + std::to_string(s.points.size()) + (s.points.size() == 1 ? " point)" : " points)");
      if (!s.points.empty()) o += ": ";
      const size_t shown = std::min(s.points.size(), kPointsPerSeries);
      for (size_t k = 0; k < shown; ++k) {
        const auto& q = s.points[k];
        if (k) o += "; ";
        o.append("(").append(md(q[0])).append(", ").append(md(q[1])).append(")");
        if (!q[2].empty()) o.append(" ").append(md(q[2]));
      }
      if (shown < s.points.size()) o += "; \u2026 " + std::to_string(s.points.size() - shown) + " more";
      o += "\n";
    }
    return o;
  }

  std::string operator()(const Code& c) const {
    const std::string fence(std::max<size_t>(3, longest_backtick_run(c.body) + 1), '`');
    return fence + c.language + "\n" + c.body + "\n" + fence + "\n";
  }

  std::string operator()(const Cards&) const { return ""; }

  std::string operator()(const Headline& h) const {
    const MetricText& m = h.metric;
    std::string details;
    if (!m.ci.empty()) details += "95% CI " + m.ci;
    if (!m.n.empty()) details += (details.empty() ? "n = " : ", n = ") + m.n;
    return md_code(m.name) + " = **" + md(m.value.empty() ? "\u2014" : m.value) + "**" +
           (details.empty() ? "" : " (" + details + ")") + (m.description.empty() ? "" : ": " + md(m.description)) + "\n";
  }
};

}  // namespace

std::string to_markdown(const Document& doc) {
  std::vector<std::string> chunks{"# " + md(doc.title) + "\n"};
  if (!doc.subtitle.empty()) chunks.push_back("*" + inline_md(doc.subtitle) + "*\n");
  const BlockWriter write;
  for (const auto& b : doc.preface) chunks.push_back(std::visit(write, b));
  for (const auto& s : doc.sections) {
    chunks.push_back("## " + md(s.title) + "\n");
    for (const auto& b : s.blocks) chunks.push_back(std::visit(write, b));
  }
  if (!doc.footer.empty()) chunks.push_back("---\n*" + inline_md(doc.footer) + "*\n");
  std::string o;
  for (const auto& c : chunks) {
    if (c.empty()) continue;
    if (!o.empty()) o += "\n";
    o += c;
  }
  return o;
}

}  // namespace eidetic::harness::report
