// harness/report_doc.h: a report as a document model, built once and written by two renderers.
//
// A Document is a title, a subtitle, a preface (a status banner) and sections; a section holds
// blocks: paragraphs, subsection headings, facts (labelled values), tables, plots, code, metric
// cards and the headline metric. Text inside blocks is a list of spans (plain, code, strong,
// muted), so a builder never writes Markdown or HTML; each renderer escapes and marks up every
// span its own way. report.cpp builds a run's report, report_compare.cpp the comparison of runs,
// report_markdown.cpp and report_html.cpp walk the blocks.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "harness/report_input.h"

namespace eidetic::harness::report {

// ---- text -------------------------------------------------------------------------------

enum class Style {
  plain,
  code,    // identifiers, paths, hashes: monospace, never reflowed
  strong,  // a run's label, the headline value
  muted,   // secondary text (a metric's description)
};

struct Span {
  Style style = Style::plain;
  std::string text;
};

using Text = std::vector<Span>;

Text plain(std::string s);
Text code(std::string s);
Text strong(std::string s);
Text muted(std::string s);
Text operator+(Text a, const Text& b);

// ---- blocks -----------------------------------------------------------------------------

struct Paragraph {
  Text text;
  bool banner = false;  // a warning set apart: a quote in Markdown, a coloured box in HTML
};

// A subsection heading (### in Markdown, <h3> in HTML); the anchor becomes its HTML id.
struct Heading {
  Text text;
  std::string anchor;
};

// Labelled values: a two-column table in Markdown (headed label_header and "Value", the values
// right-aligned when they are numbers), a definition list in HTML.
struct Facts {
  std::vector<std::pair<std::string, Text>> items;
  std::string label_header = "Field";
  bool numbers = false;
};

struct Table {
  struct Row {
    std::vector<Text> cells;
    bool group = false;  // a heading row inside the table: its one cell spans the table
  };
  std::vector<Text> header;
  std::vector<bool> right;  // per column: right-aligned (numbers)
  std::vector<Row> rows;
  std::string css_class;    // HTML only ("metrics", "comparison")
};

// A plot of metrics.json's "plots", with its data as text for those who cannot see the drawing
// (report.md) and for those who want the numbers (report.html's data table).
struct Plot {
  std::vector<nlohmann::json> views;  // the specs drawn side by side: the plot, and for a ROC plot its log-log twin
  std::string svg_id;                 // unique in the document: the prefix of ids inside its SVGs
  bool data_beside = false;           // a table next to it holds its data: Markdown leaves the plot out, HTML draws it alone
  std::string id, title, kind;
  std::string axes;                   // "x: ...; y: ..." with " (log scale)" where an axis is logarithmic
  std::string fit;                    // fit_text of its fit, "" without one
  struct Series {
    std::string name;
    std::vector<std::array<std::string, 3>> points;  // x, y, "[low, high]" or ""
  };
  std::vector<Series> series;
  size_t total_points = 0;
};

struct Code {
  std::string language;  // the Markdown fence's info string
  std::string body;
};

// The first metrics at a glance: cards in HTML; Markdown leaves them out, since the metrics
// table it writes next holds the same numbers.
struct Cards {
  std::vector<MetricText> metrics;
};

// The metric a run is judged by, large, with its interval, n and description.
struct Headline {
  MetricText metric;
};

using Block = std::variant<Paragraph, Heading, Facts, Table, Plot, Code, Cards, Headline>;

struct Section {
  std::string id;  // the HTML section's id
  std::string title;
  std::vector<Block> blocks;
};

struct Document {
  std::string title;
  Text subtitle;
  std::vector<Block> preface;  // between the title and the first section
  std::vector<Section> sections;
  Text footer;
};

// ---- builders both reports use ----------------------------------------------------------

// The Plot block of a plot spec. Throws eidetic::Error prefixed with `where` when the spec has
// the wrong shape, so that a bad metrics.json fails before any report file is written.
Plot make_plot(const nlohmann::json& spec, const std::string& svg_id, const std::string& where);

// The one-line description of a plot's fit: "log-linear fit: y = a + b·ln(x); slope b per
// e-fold of x, R² = r" (numbers to 3 significant digits); "" without a finite slope and intercept.
std::string fit_text(const nlohmann::json& fit);

// "Written by Eidetic VERSION from `manifest.json` and `metrics.json`" (from each run's, for a
// comparison).
Text written_by(bool many_runs);

// ---- renderers --------------------------------------------------------------------------

std::string to_markdown(const Document& doc);
std::string to_html(const Document& doc);

}  // namespace eidetic::harness::report
