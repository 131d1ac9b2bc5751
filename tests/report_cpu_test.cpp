// Reports: SVG plots put points and ticks where they belong (ROC curves also on log-log axes)
// and stay well-formed on awkward data; report.md and report.html come out of a run directory,
// self-contained, opening with the headline its attack is judged by, each section once; errors
// name the file; runs compare side by side.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "common/error.h"
#include "harness/report.h"
#include "harness/svg_plot.h"
#include "test_util.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using harness::render_svg_plot;
using testing::error_of;
using testing::read_file;
using testing::TempDir;

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A small XML well-formedness check: balanced tags, quoted attributes, valid entities, one
// root element. Returns "" when well-formed, else the first problem and where.
std::string xml_problem(const std::string& s) {
  static const std::regex entity("^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
  auto bad_entity = [&](size_t i) {
    return !std::regex_search(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(), entity);
  };
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; };
  std::vector<std::string> stack;
  int roots = 0;
  size_t i = 0;
  while (i < s.size()) {
    const std::string at = " at offset " + std::to_string(i);
    if (s[i] == '&') {
      if (bad_entity(i)) return "bad entity" + at;
      ++i;
      continue;
    }
    if (s[i] != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return "text outside the root" + at;
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t e = s.find("-->", i);
      if (e == std::string::npos) return "unterminated comment" + at;
      i = e + 3;
      continue;
    }
    size_t j = i + 1;
    const bool closing = j < s.size() && s[j] == '/';
    if (closing) ++j;
    const size_t name_start = j;
    while (j < s.size() && name_char(s[j])) ++j;
    const std::string name = s.substr(name_start, j - name_start);
    if (name.empty()) return "tag without a name" + at;
    if (closing) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size() || s[j] != '>') return "bad closing tag" + at;
      if (stack.empty() || stack.back() != name)
        return "closing </" + name + "> does not match <" + (stack.empty() ? "" : stack.back()) + ">" + at;
      stack.pop_back();
      i = j + 1;
      continue;
    }
    // Attributes.
    bool self_closing = false;
    for (;;) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return "unterminated tag <" + name + ">" + at;
      if (s[j] == '>') break;
      if (s[j] == '/') {
        if (j + 1 >= s.size() || s[j + 1] != '>') return "stray / in <" + name + ">" + at;
        self_closing = true;
        ++j;
        break;
      }
      const size_t a = j;
      while (j < s.size() && name_char(s[j])) ++j;
      if (j == a) return "bad attribute in <" + name + ">" + at;
      if (j >= s.size() || s[j] != '=') return "attribute without a value in <" + name + ">" + at;
      ++j;
      if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return "unquoted attribute in <" + name + ">" + at;
      const char q = s[j];
      const size_t e = s.find(q, j + 1);
      if (e == std::string::npos) return "unterminated attribute in <" + name + ">" + at;
      for (size_t k = j + 1; k < e; ++k) {
        if (s[k] == '<') return "< inside an attribute of <" + name + ">" + at;
        if (s[k] == '&' && bad_entity(k)) return "bad entity in an attribute of <" + name + ">" + at;
      }
      j = e + 1;
    }
    if (stack.empty()) ++roots;
    if (roots > 1) return "more than one root element" + at;
    if (!self_closing) stack.push_back(name);
    i = j + 1;
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  if (roots != 1) return "no root element";
  return "";
}

TEST(XmlChecker, CatchesWhatItShould) {
  EXPECT_EQ(xml_problem("<svg><g a=\"1\"><path d=\"M0 0\"/></g></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=1></svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>a</text>"), "");
}

// The coordinates of every <polyline> whose class contains `cls`, in document order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg, const std::string& cls = "mark line") {
  std::vector<std::vector<std::pair<double, double>>> out;
  // Plain string search: std::regex recurses once per character of a long points="..." list,
  // which overflows the stack on curves of thousands of points.
  const std::string open = "<polyline class=\"" + cls + "\" points=\"";
  for (size_t at = svg.find(open); at != std::string::npos; at = svg.find(open, at + 1)) {
    const size_t begin = at + open.size(), end = svg.find('"', begin);
    if (end == std::string::npos) break;
    std::vector<std::pair<double, double>> pts;
    std::istringstream in(svg.substr(begin, end - begin));
    for (std::string pair; in >> pair;) {
      const size_t comma = pair.find(',');
      pts.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    out.push_back(pts);
  }
  return out;
}

// Tick labels inside <g class="ticks">: label text -> x (or y) attribute.
std::vector<std::pair<std::string, double>> tick_labels(const std::string& svg, const char* coord) {
  std::vector<std::pair<std::string, double>> out;
  const size_t g = svg.find("<g class=\"ticks\"");
  const size_t end = svg.find("</g>", g);
  const std::string part = svg.substr(g, end - g);
  const std::regex re(std::string("<text x=\"([-0-9.]+)\" y=\"([-0-9.]+)\"[^>]*>([^<]*)</text>"));
  for (auto it = std::sregex_iterator(part.begin(), part.end(), re); it != std::sregex_iterator(); ++it)
    out.emplace_back((*it)[3].str(), std::stod((*it)[coord[0] == 'x' ? 1 : 2].str()));
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(SvgPlot, LogXLinePutsPointsInOrderAtDecades) {
  const json plot = json::parse(R"J({
    "id": "rate_vs_duplicates", "title": "Extraction rate against duplicate count", "kind": "line",
    "x_label": "copies in training data", "y_label": "exact extraction rate", "log_x": true, "log_y": false,
    "series": [ {"name": "exact", "points": [[1, 0.1], [10, 0.5], [100, 0.9]],
                 "ci": [[0.05, 0.15], [0.4, 0.6], [0.8, 1.0]]} ],
    "fit": {"kind": "loglinear", "slope": 0.17, "intercept": 0.1, "r2": 0.99} })J");
  const std::string svg = render_svg_plot(plot);
  ASSERT_EQ(xml_problem(svg), "") << svg;
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u) << svg;
  const auto& p = lines[0];
  ASSERT_EQ(p.size(), 3u);
  // Decades are equally spaced on a log axis; larger y is higher up (smaller SVG y).
  EXPECT_LT(p[0].first, p[1].first);
  EXPECT_LT(p[1].first, p[2].first);
  EXPECT_NEAR(p[1].first - p[0].first, p[2].first - p[1].first, 0.02);
  EXPECT_GT(p[0].second, p[1].second);
  EXPECT_GT(p[1].second, p[2].second);
  // y is linear: 0.1, 0.5, 0.9 are equally spaced too.
  EXPECT_NEAR(p[0].second - p[1].second, p[1].second - p[2].second, 0.02);

  // Decade ticks 1, 10, 100 sit exactly under the points.
  const auto xt = tick_labels(svg, "x");
  std::map<std::string, double> at;
  for (const auto& [label, x] : xt) at[label] = x;
  ASSERT_TRUE(at.count("1") && at.count("10") && at.count("100")) << svg;
  EXPECT_NEAR(at["1"], p[0].first, 0.02);
  EXPECT_NEAR(at["10"], p[1].first, 0.02);
  EXPECT_NEAR(at["100"], p[2].first, 0.02);
  EXPECT_EQ(at.count("50"), 0u);  // no linear ticks on a log axis

  // Error bars, markers, the dashed fit, and the fit's slope and R² in the legend.
  EXPECT_NE(svg.find("class=\"mark ci\""), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"mark point\""), 3u);
  EXPECT_NE(svg.find("class=\"mark fit\""), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(svg.find("0.17\u00b7ln x"), std::string::npos) << svg;
  EXPECT_NE(svg.find("R\u00b2 = 0.99"), std::string::npos);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  harness::SvgOptions inline_opt;
  inline_opt.xmlns = false;
  EXPECT_EQ(render_svg_plot(plot, inline_opt).find("http"), std::string::npos);
}

TEST(SvgPlot, LinearTicksAreNiceNumbers) {
  const json plot = {{"id", "t"}, {"series", {{{"name", "a"}, {"points", {{0, 0}, {7, 0.33}}}}}}};
  const std::string svg = render_svg_plot(plot);
  ASSERT_EQ(xml_problem(svg), "");
  std::vector<std::string> xs, ys;
  for (const auto& [l, v] : tick_labels(svg, "x")) xs.push_back(l);
  EXPECT_EQ(xs, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7",  // x, then y
                                          "0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.35"}))
      << svg;
}

TEST(SvgPlot, RocHasTheChanceDiagonalOnAUnitSquare) {
  const json plot = json::parse(R"J({"id": "roc", "title": "ROC: membership inference", "kind": "roc",
    "x_label": "false positive rate", "y_label": "true positive rate", "log_x": true,
    "series": [ {"name": "loss (AUC 0.81)", "points": [[0,0],[0.1,0.5],[1,1]]},
                {"name": "zlib (AUC 0.70)", "points": [[0,0],[0.3,0.6],[1,1]]} ]})J");
  const std::string svg = render_svg_plot(plot);
  ASSERT_EQ(xml_problem(svg), "") << svg;
  const std::regex chance("class=\"chance\" d=\"M([-0-9.]+) ([-0-9.]+)L([-0-9.]+) ([-0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, chance)) << svg;
  const double x0 = std::stod(m[1]), y0 = std::stod(m[2]), x1 = std::stod(m[3]), y1 = std::stod(m[4]);
  EXPECT_GT(x1, x0);
  EXPECT_LT(y1, y0);
  EXPECT_NEAR(x1 - x0, y0 - y1, 0.02);  // square: (0,0) to (1,1)
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 2u);
  // The curves start at (0,0) and end at (1,1): the diagonal's ends.
  EXPECT_NEAR(lines[0].front().first, x0, 0.02);
  EXPECT_NEAR(lines[0].front().second, y0, 0.02);
  EXPECT_NEAR(lines[0].back().first, x1, 0.02);
  EXPECT_NEAR(lines[0].back().second, y1, 0.02);
  // log_x is ignored: axes are fixed to [0, 1].
  std::vector<std::string> xs;
  for (const auto& [l, v] : tick_labels(svg, "x")) xs.push_back(l);
  EXPECT_EQ(std::count(xs.begin(), xs.end(), "0.0"), 2);
  EXPECT_EQ(std::count(xs.begin(), xs.end(), "1.0"), 2);
  EXPECT_NE(svg.find("chance"), std::string::npos);
  EXPECT_NE(svg.find("loss (AUC 0.81)"), std::string::npos);
}

TEST(SvgPlot, LongCurvesAreThinnedToThePixel) {
  json points = json::array();
  for (int i = 0; i <= 20000; ++i) {
    const double fpr = i / 20000.0;
    points.push_back({fpr, std::sqrt(fpr)});
  }
  const json plot = {{"id", "roc"}, {"kind", "roc"}, {"series", {{{"name", "big"}, {"points", points}}}}};
  const std::string svg = render_svg_plot(plot);
  EXPECT_EQ(xml_problem(svg), "");
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), 2000u);  // about one point per half pixel of travel
  EXPECT_GT(lines[0].size(), 100u);
  EXPECT_EQ(count(svg, "class=\"mark point\""), 0u);  // no markers on a long curve
  const auto xt = tick_labels(svg, "x");
  ASSERT_EQ(xt.front().first, "0.0");
  ASSERT_EQ(xt[5].first, "1.0");
  EXPECT_NEAR(lines[0].front().first, xt.front().second, 0.02);  // starts at (0, 0)
  EXPECT_NEAR(lines[0].back().first, xt[5].second, 0.02);         // ends at (1, 1)
}

TEST(SvgPlot, LogLogRocPutsRatesOnDecades) {
  const json roc = json::parse(R"J({"id": "roc", "title": "ROC: membership inference", "kind": "roc",
    "x_label": "false positive rate", "y_label": "true positive rate",
    "series": [ {"name": "loss", "points": [[0, 0], [0.001, 0.01], [0.01, 0.1], [0.1, 0.5], [1, 1]]} ]})J");
  const json view = harness::roc_log_view(roc);
  EXPECT_EQ(view["kind"], "roc_log");
  EXPECT_EQ(view["id"], "roc_log");
  EXPECT_EQ(view["title"], "ROC: membership inference (log-log)");
  const std::string svg = render_svg_plot(view);
  ASSERT_EQ(xml_problem(svg), "") << svg;
  // (0, 0) cannot be drawn on log axes; the other four points can.
  EXPECT_NE(svg.find("1 point with x \u2264 0 not shown on the logarithmic x axis"), std::string::npos) << svg;
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 1u) << svg;
  const auto& p = lines[0];
  ASSERT_EQ(p.size(), 4u);
  // Both axes run over the decades 0.001 .. 1; each point sits on its decade's tick.
  std::map<std::string, double> xt, yt;
  for (const auto& [label, x] : tick_labels(svg, "x")) xt.emplace(label, x);  // x ticks come first
  for (const auto& [label, y] : tick_labels(svg, "y")) yt[label] = y;          // y ticks overwrite
  for (const char* decade : {"0.001", "0.01", "0.1", "1"}) {
    ASSERT_TRUE(xt.count(decade) && yt.count(decade)) << decade << "\n" << svg;
  }
  EXPECT_NEAR(p[0].first, xt["0.001"], 0.02);
  EXPECT_NEAR(p[1].first, xt["0.01"], 0.02);
  EXPECT_NEAR(p[2].first, xt["0.1"], 0.02);
  EXPECT_NEAR(p[3].first, xt["1"], 0.02);
  EXPECT_NEAR(p[0].second, yt["0.01"] - 4, 0.02);  // y tick labels sit 4 pixels below their tick
  EXPECT_NEAR(p[1].second, yt["0.1"] - 4, 0.02);
  EXPECT_NEAR(p[3].second, yt["1"] - 4, 0.02);
  // The chance line y = x runs corner to corner of a square frame.
  const std::regex chance("class=\"chance\" d=\"M([-0-9.]+) ([-0-9.]+)L([-0-9.]+) ([-0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, chance)) << svg;
  EXPECT_NEAR(std::stod(m[1]), xt["0.001"], 0.02);
  EXPECT_NEAR(std::stod(m[3]), xt["1"], 0.02);
  EXPECT_NEAR(std::stod(m[3]) - std::stod(m[1]), std::stod(m[2]) - std::stod(m[4]), 0.02);
  EXPECT_NE(svg.find("false positive rate (log scale)"), std::string::npos);
  EXPECT_NE(svg.find("true positive rate (log scale)"), std::string::npos);
}

TEST(SvgPlot, EscapesText) {
  const json plot = {{"id", "x\"<y>"},
                     {"title", "a < b & c > d \"q\" 'r'"},
                     {"x_label", "<script>alert(1)</script>"},
                     {"series", {{{"name", "</svg><b>&amp;"}, {"points", {{1, 2}, {2, 3}}}}}}};
  const std::string svg = render_svg_plot(plot);
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find("a &lt; b &amp; c &gt; d &quot;q&quot; &#39;r&#39;"), std::string::npos) << svg;
  EXPECT_NE(svg.find("&lt;/svg&gt;&lt;b&gt;&amp;amp;"), std::string::npos);
  EXPECT_EQ(harness::xml_escape(std::string("a\x01" "b\tc")), "ab\tc");
}

TEST(SvgPlot, AwkwardDataStaysWellFormed) {
  const std::vector<json> plots = {
      json::parse(R"J({"id": "none"})J"),
      json::parse(R"J({"id": "empty", "series": []})J"),
      json::parse(R"J({"id": "empty2", "title": "t", "series": [{"name": "a", "points": []}]})J"),
      json::parse(R"J({"id": "one", "series": [{"name": "a", "points": [[5, 0.5]]}]})J"),
      json::parse(R"J({"id": "one-log", "log_x": true, "log_y": true, "series": [{"name": "a", "points": [[10, 10]]}]})J"),
      json::parse(R"J({"id": "equal", "series": [{"name": "a", "points": [[1, 3], [2, 3], [3, 3]]}]})J"),
      json::parse(R"J({"id": "zeros", "series": [{"name": "a", "points": [[0, 0], [0, 0]]}]})J"),
      json::parse(R"J({"id": "nonpos", "log_x": true, "log_y": true,
                      "series": [{"name": "a", "points": [[0, 1], [-1, 2], [1, 0], [2, 3], [4, 5]]}]})J"),
      json::parse(R"J({"id": "missing", "series": [{"name": "a", "points": [[1, null], [2, 3], [null, 1], [3, 4], [4, 5]]}]})J"),
      json::parse(R"J({"id": "all-missing", "series": [{"name": "a", "points": [[null, null]]}]})J"),
      json::parse(R"J({"id": "scatter", "kind": "scatter", "series": [{"name": "a", "points": [[1, 1], [2, 4], [3, 9]]}]})J"),
      json::parse(R"J({"id": "huge", "series": [{"name": "a", "points": [[1e-300, 1e300], [1e300, -1e300]]}]})J"),
      json::parse(R"J({"id": "extreme", "log_y": true, "series": [{"name": "a", "points": [[-1.7e308, 1e-310], [1.7e308, 1.7e308]]}]})J"),
      json::parse(R"J({"id": "bar", "kind": "bar", "series": [{"name": "s", "points": [["load", 1.2], ["decode", 3], ["x", null], [7, -1]]}]})J"),
      json::parse(R"J({"id": "bar-empty", "kind": "bar", "series": []})J"),
      json::parse(R"J({"id": "badfit", "fit": {"kind": "cubic", "slope": 1, "intercept": 0},
                      "series": [{"name": "a", "points": [[1, 1], [2, 2]]}]})J"),
      json::parse(R"J({"id": "fit-only", "fit": {"kind": "loglinear", "slope": 1, "intercept": 0}, "series": []})J"),
  };
  for (const auto& p : plots) {
    std::string svg;
    ASSERT_NO_THROW(svg = render_svg_plot(p)) << p.dump();
    EXPECT_EQ(xml_problem(svg), "") << p.dump() << "\n" << svg;
    EXPECT_EQ(svg.find("nan"), std::string::npos) << p.dump() << "\n" << svg;  // no NaN coordinates
    EXPECT_EQ(svg.find("inf\""), std::string::npos) << p.dump();
    EXPECT_LT(svg.size(), 20000u) << p.dump();  // no runaway coordinates
  }
  EXPECT_NE(render_svg_plot(plots[1]).find("no data"), std::string::npos);
  EXPECT_EQ(count(render_svg_plot(plots[3]), "class=\"mark point\""), 1u);  // a lone point is a marker
  const std::string nonpos = render_svg_plot(plots[7]);
  EXPECT_NE(nonpos.find("2 points with x \u2264 0 not shown on the logarithmic x axis"), std::string::npos) << nonpos;
  EXPECT_NE(nonpos.find("1 point with y \u2264 0 not shown"), std::string::npos) << nonpos;
  const std::string nan = render_svg_plot(plots[8]);
  EXPECT_NE(nan.find("2 points with a missing or non-finite value not shown"), std::string::npos);
  // The line breaks at the missing points: (2,3) stands alone (a marker), then (3,4)-(4,5).
  ASSERT_EQ(polylines(nan).size(), 1u);
  EXPECT_EQ(polylines(nan)[0].size(), 2u);
  EXPECT_EQ(count(nan, "class=\"mark point\""), 3u);
  const std::string bar = render_svg_plot(plots[13]);
  EXPECT_EQ(count(bar, "class=\"mark bar\""), 3u);
  EXPECT_NE(bar.find(">3</text>"), std::string::npos);
  EXPECT_NE(render_svg_plot(plots[15]).find("fit of kind &#39;cubic&#39; not drawn"), std::string::npos);
}

TEST(SvgPlot, BadSpecsAreErrorsThatSayWhere) {
  try {
    render_svg_plot(json::parse(R"J({"id": "p", "series": [{"name": "a", "points": [[1, 2], [3]]}]})J"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("series[0].points[1]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render_svg_plot(json::parse(R"J({"id": "p", "kind": "pie", "series": []})J")), Error);
  EXPECT_THROW(render_svg_plot(json::parse(R"J({"id": "p", "series": [{"points": [[1, 2]], "ci": []}]})J")), Error);
  EXPECT_THROW(render_svg_plot(json::parse(R"J({"id": "p", "series": [{"points": [["a", 2]]}]})J")), Error);
}

TEST(SvgPlot, ProfilePhasesInPipelineOrder) {
  const json profile = json::parse(R"J({"phases": {"write": 0.02, "decode": 3.0, "load": 1.2, "custom": 0.5}})J");
  const json spec = harness::profile_phase_plot(profile);
  const json& pts = spec["series"][0]["points"];
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(pts[0][0], "load");
  EXPECT_EQ(pts[1][0], "decode");
  EXPECT_EQ(pts[2][0], "write");
  EXPECT_EQ(pts[3][0], "custom");
  const std::string svg = render_svg_plot(spec);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("1.2 s"), std::string::npos);
}

TEST(FormatNumber, ForPeople) {
  using harness::format_number;
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(1000), "1000");
  EXPECT_EQ(format_number(0.12), "0.12");
  EXPECT_EQ(format_number(0.123456), "0.1235");
  EXPECT_EQ(format_number(16000.7), "16001");
  EXPECT_EQ(format_number(-2.5), "-2.5");
  EXPECT_EQ(format_number(1.5e-5), "1.5e-5");
  EXPECT_EQ(format_number(std::nan("")), "NaN");
}

// ---- reports ------------------------------------------------------------------------------

constexpr const char* kSampleMetrics = R"J({
  "run": {"name": "quickstart", "attack": "discoverable", "model": "/models/pythia-160m", "items": 1000},
  "metrics": [
    {"name": "exact_extraction_rate", "value": 0.12, "ci_low": 0.10, "ci_high": 0.14, "n": 1000,
     "description": "fraction of items whose 50-token suffix came back exactly"},
    {"name": "mean_prefix_match", "value": 11.5, "n": 1000, "description": "tokens <matched> & more"}
  ],
  "tables": [ {"id": "extraction_by_duplicates", "title": "Extraction by duplicate count",
               "columns": ["duplicates", "items", "extracted", "rate"],
               "rows": [[1, 10, 0, 0.0], [2, 10, 1, 0.1], [4, 10, 3, 0.3]]} ],
  "plots": [
    {"id": "rate_vs_duplicates", "title": "Extraction rate against duplicate count", "kind": "line",
     "x_label": "copies in training data", "y_label": "exact extraction rate", "log_x": true, "log_y": false,
     "series": [ {"name": "exact", "points": [[1, 0.0], [2, 0.1], [4, 0.3]], "ci": [[0, 0.05], [0.02, 0.2], [0.2, 0.4]]} ],
     "fit": {"kind": "loglinear", "slope": 0.12, "intercept": 0.01, "r2": 0.93}},
    {"id": "roc", "title": "ROC: membership inference", "kind": "roc", "x_label": "false positive rate",
     "y_label": "true positive rate", "log_x": false, "log_y": false,
     "series": [ {"name": "loss (AUC 0.81)", "points": [[0, 0], [0.1, 0.5], [1, 1]]} ]},
    {"id": "challenge_errors", "title": "Extraction challenge: recall against wrong guesses", "kind": "line",
     "x_label": "wrong guesses", "y_label": "recall",
     "series": [ {"name": "greedy", "points": [[0, 0.0], [10, 0.2], [100, 0.35]]},
                 {"name": "beam", "points": [[0, 0.0], [10, 0.25], [100, 0.4]]} ]}
  ],
  "profile": {"phases": {"load": 1.2, "tokenize": 0.1, "prefill": 0.5, "decode": 3.0, "score": 0.0, "match": 0.01, "write": 0.02},
              "wall_seconds": 5.0, "generated_tokens": 50000, "tokens_per_s": 16000.0, "sequences_per_s": 300.0,
              "peak_gpu_memory_bytes": 0, "roofline_floor_seconds": 0.4, "roofline_percent": 13.3, "device": "cpu"}
})J";

constexpr const char* kSampleManifest = R"J({
  "eidetic_version": "0.1.0", "git_commit": "94dc148368af", "torch_version": "2.11.0", "cuda_version": "none",
  "device": "cpu", "config": {"name": "quickstart", "seed": 7, "model": {"path": "/models/pythia-160m"},
                              "attack": {"name": "discoverable", "prefix_tokens": 50}},
  "config_hash": "3f2a9c", "seed": 7, "started_at": "2025-01-02T03:04:05Z", "finished_at": "2025-01-02T03:09:10Z",
  "status": "complete"
})J";

fs::path make_run(const fs::path& root, const std::string& name, const std::string& metrics = kSampleMetrics,
                  const std::string& manifest = kSampleManifest) {
  const fs::path dir = root / name;
  fs::create_directories(dir);
  write_file(dir / "metrics.json", metrics);
  write_file(dir / "manifest.json", manifest);
  write_file(dir / "results.jsonl", "{\"item\": 0, \"exact\": true}\n{\"item\": 1, \"exact\": false}\n");
  return dir;
}

TEST(Report, WritesMarkdownAndSelfContainedHtml) {
  TempDir tmp;
  const fs::path dir = make_run(tmp.path(), "run");
  harness::write_reports(dir);
  ASSERT_TRUE(fs::exists(dir / "report.md"));
  ASSERT_TRUE(fs::exists(dir / "report.html"));
  EXPECT_FALSE(fs::exists(dir / "report.md.tmp"));
  EXPECT_FALSE(fs::exists(dir / "report.html.tmp"));

  const std::string md = read_file(dir / "report.md");
  for (const char* want : {"# Eidetic report: quickstart", "`exact_extraction_rate`", "| 0.12 |", "[0.1, 0.14]",
                           "### Extraction by duplicate count", "| duplicates | items | extracted | rate |", "| 2 | 10 | 1 | 0.1 |",
                           "### ROC: membership inference", "(0.1, 0.5)", "R\u00b2 = 0.93", "## Performance", "| decode | 3 | 60 % |",
                           "16000", "13.3 %", "`3f2a9c`", "5 min 5 s", "2 records in `results.jsonl`", "\"prefix_tokens\": 50",
                           "tokens &lt;matched&gt; &amp; more"})
    EXPECT_NE(md.find(want), std::string::npos) << want << "\n" << md;

  const std::string html = read_file(dir / "report.html");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url(http"), std::string::npos);
  for (const char* want : {"<!DOCTYPE html>", "<style>", "id=\"plot-rate_vs_duplicates\"", "id=\"plot-roc\"",
                           "id=\"plot-challenge_errors\"", "id=\"plot-profile_phases\"", "<section id=\"config\">",
                           "&quot;prefix_tokens&quot;: 50", "tokens &lt;matched&gt; &amp; more", "class=\"chance\""})
    EXPECT_NE(html.find(want), std::string::npos) << want;
  // Each inline SVG is well-formed, and the clip-path ids are unique in the page.
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) {
    const size_t e = html.find("</svg>", p);
    ASSERT_NE(e, std::string::npos);
    EXPECT_EQ(xml_problem(html.substr(p, e + 6 - p)), "");
    ++svgs;
  }
  EXPECT_EQ(svgs, 5u);  // three plots, the profile's phases, and the ROC curves again on log-log axes
  std::set<std::string> ids;
  const std::regex id_re("clipPath id=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id_re); it != std::sregex_iterator(); ++it)
    EXPECT_TRUE(ids.insert((*it)[1].str()).second) << (*it)[1].str();

  // The report opens with the headline (a discoverable run: the exact extraction rate with its
  // interval, and its plot against duplicates), before the run's facts; every plot, table and
  // section appears once in each report.
  const size_t headline_md = md.find("## Headline"), run_md = md.find("## Run");
  ASSERT_NE(headline_md, std::string::npos) << md;
  EXPECT_LT(headline_md, run_md);
  EXPECT_EQ(md.find("`exact_extraction_rate` = **0.12** (95% CI [0.1, 0.14], n = 1000): fraction of items"), md.find("\n", headline_md) + 2)
      << md;
  EXPECT_LT(md.find("### Extraction rate against duplicate count"), run_md);
  const size_t headline_html = html.find("<section id=\"headline\">"), run_html = html.find("<section id=\"run\">");
  ASSERT_NE(headline_html, std::string::npos);
  EXPECT_LT(headline_html, run_html);
  EXPECT_LT(html.find("<div class=\"number\">0.12</div><div class=\"interval\">95% CI [0.1, 0.14] \u00b7 n = 1000</div>"), run_html);
  EXPECT_LT(html.find("id=\"plot-rate_vs_duplicates\""), run_html);
  for (const char* once : {"### Extraction rate against duplicate count", "### Extraction by duplicate count",
                           "### ROC: membership inference", "## Metrics", "## Tables", "## Performance", "## Config"})
    EXPECT_EQ(count(md, once), 1u) << once;
  for (const char* once : {"data-plot-id=\"rate_vs_duplicates\"", "data-plot-id=\"roc\"", "data-plot-id=\"roc_log\"",
                           "data-plot-id=\"challenge_errors\"", "data-plot-id=\"profile_phases\"",
                           "id=\"table-extraction_by_duplicates\"", "<table class=\"metrics\">", "<section id=\"tables\">"})
    EXPECT_EQ(count(html, once), 1u) << once;
  // The log-log ROC sits beside the linear one, in the same figure.
  const size_t roc_figure = html.find("id=\"plot-roc\"");
  EXPECT_LT(roc_figure, html.find("data-plot-id=\"roc_log\""));
  EXPECT_GT(html.find("</figure>", roc_figure), html.find("data-plot-id=\"roc_log\""));
  EXPECT_NE(md.find("*roc plot, drawn in report.html on linear and log-log axes;"), std::string::npos);

  // Rewriting gives the same bytes: reports depend only on the run directory.
  harness::write_reports(dir);
  EXPECT_EQ(read_file(dir / "report.html"), html);
}

// The text of report.md's headline section: between "## Headline" and the next section.
std::string headline_of(const fs::path& dir) {
  const std::string md = read_file(dir / "report.md");
  const size_t start = md.find("## Headline\n");
  if (start == std::string::npos) return "";
  return md.substr(start, md.find("\n## ", start + 1) - start);
}

TEST(Report, HeadlineFollowsTheAttack) {
  TempDir tmp;
  // (Lists of one element are written json::array({...}): a braced list of one would be its element.)
  auto run_with = [&](const std::string& name, const std::string& attack, const json& metrics, const json& plots) {
    const json m = {{"run", {{"name", name}, {"attack", attack}}}, {"metrics", metrics}, {"plots", plots}};
    const fs::path dir = make_run(tmp.path(), name, m.dump(), "{}");
    harness::write_reports(dir);
    return headline_of(dir);
  };
  const json line = {{"kind", "line"}, {"series", {{{"name", "s"}, {"points", {{1, 0.1}, {2, 0.2}}}}}}};
  auto plot = [&](const std::string& id) { json p = line; p["id"] = id; p["title"] = "plot " + id; return p; };
  auto metric = [](const std::string& name, double v) { return json{{"name", name}, {"value", v}, {"ci_low", v - 0.01}, {"ci_high", v + 0.01}, {"n", 100}}; };

  // Membership: the best AUC over the scores, and the ROC curves.
  json roc = plot("roc");
  roc["kind"] = "roc";
  std::string h = run_with("mia", "membership", {metric("auc_loss", 0.61), metric("tpr_at_1%_fpr_loss", 0.9), metric("auc_zlib", 0.7)},
                           {plot("other"), roc});
  EXPECT_NE(h.find("`auc_zlib` = **0.7** (95% CI [0.69, 0.71], n = 100)"), std::string::npos) << h;
  EXPECT_NE(h.find("### plot roc"), std::string::npos) << h;
  EXPECT_NE(h.find("linear and log-log axes"), std::string::npos) << h;
  EXPECT_EQ(h.find("plot other"), std::string::npos) << h;

  // The challenge's official score and its error curve.
  h = run_with("challenge", "extraction-challenge", {metric("exact_extraction_rate", 0.2), metric("recall_at_100_errors", 0.3)},
               json::array({plot("challenge_errors")}));
  EXPECT_NE(h.find("`recall_at_100_errors` = **0.3**"), std::string::npos) << h;
  EXPECT_NE(h.find("### plot challenge_errors"), std::string::npos) << h;

  // A lab's parts are named "PART/metric"; its headline is extraction against duplicates.
  h = run_with("lab", "lab",
               {metric("exposure/mean_exposure", 3), metric("discoverable/exact_extraction_rate", 0.25)},
               {plot("exposure_by_duplicates"), plot("rate_by_duplicates")});
  EXPECT_NE(h.find("`discoverable/exact_extraction_rate` = **0.25**"), std::string::npos) << h;
  EXPECT_NE(h.find("### plot rate_by_duplicates"), std::string::npos) << h;
  EXPECT_EQ(h.find("exposure"), std::string::npos) << h;

  for (const auto& [attack, name] : std::vector<std::pair<std::string, std::string>>{
           {"exposure", "mean_exposure"}, {"pythia-memorization", "memorized_fraction"}, {"sample-and-rank", "memorized_sample_rate"}}) {
    h = run_with(attack, attack, {metric("something_else", 1), metric(name, 0.5)}, json::array());
    EXPECT_NE(h.find("`" + name + "` = **0.5**"), std::string::npos) << attack << "\n" << h;
  }

  // A sweep: the swept metric against the value, with its fit; no single metric.
  json sweep = plot("sweep");
  sweep["fit"] = {{"kind", "loglinear"}, {"slope", 0.1}, {"intercept", 0.2}, {"r2", 0.9}};
  h = run_with("sweep", "sweep of attack.prefix_len", json::array({metric("exact_extraction_rate @ attack.prefix_len=1", 0.1)}),
               json::array({sweep}));
  EXPECT_NE(h.find("### plot sweep"), std::string::npos) << h;
  EXPECT_NE(h.find("log-linear fit: y = 0.2 + 0.1\u00b7ln(x)"), std::string::npos) << h;
  EXPECT_EQ(h.find("**0.1**"), std::string::npos) << h;

  // An attack without a rule: its first metric and first plot.
  h = run_with("new", "some-new-attack", {metric("first", 0.4), metric("second", 0.6)}, {plot("a"), plot("b")});
  EXPECT_NE(h.find("`first` = **0.4**"), std::string::npos) << h;
  EXPECT_NE(h.find("### plot a"), std::string::npos) << h;

  // Nothing to show: no headline section.
  EXPECT_EQ(run_with("empty", "discoverable", json::array(), json::array()), "");
}

TEST(Report, RunningRunsAreMarked) {
  TempDir tmp;
  json manifest = json::parse(kSampleManifest);
  manifest["status"] = "running";
  manifest["finished_at"] = nullptr;
  const fs::path dir = make_run(tmp.path(), "run", kSampleMetrics, manifest.dump());
  harness::write_reports(dir);
  EXPECT_NE(read_file(dir / "report.md").find("Status: running"), std::string::npos);
  EXPECT_NE(read_file(dir / "report.html").find("Status: running"), std::string::npos);
}

TEST(Report, MinimalMetricsAreEnough) {
  TempDir tmp;
  const fs::path dir = make_run(tmp.path(), "run", R"J({"metrics": []})J", "{}");
  harness::write_reports(dir);
  EXPECT_NE(read_file(dir / "report.md").find("No metrics."), std::string::npos);
  EXPECT_NE(read_file(dir / "report.md").find("# Eidetic report: run"), std::string::npos);  // named after the folder
}

TEST(Report, ErrorsNameTheFile) {
  TempDir tmp;
  const fs::path dir = make_run(tmp.path(), "run");
  fs::remove(dir / "metrics.json");
  std::string e = error_of([&] { harness::write_reports(dir); });
  EXPECT_NE(e.find((dir / "metrics.json").string()), std::string::npos) << e;
  EXPECT_NE(e.find("not found"), std::string::npos) << e;

  write_file(dir / "metrics.json", "{\"metrics\": [");
  e = error_of([&] { harness::write_reports(dir); });
  EXPECT_NE(e.find("metrics.json: not valid JSON"), std::string::npos) << e;

  write_file(dir / "metrics.json", "{\"run\": {}}");
  e = error_of([&] { harness::write_reports(dir); });
  EXPECT_NE(e.find("metrics.json: expected a \"metrics\" array"), std::string::npos) << e;

  write_file(dir / "metrics.json", R"J({"metrics": [], "plots": [{"id": "p", "series": [{"points": [[1]]}]}]})J");
  e = error_of([&] { harness::write_reports(dir); });
  EXPECT_NE(e.find("metrics.json: plots[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("points[0]"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(dir / "report.md"));

  write_file(dir / "metrics.json", kSampleMetrics);
  fs::remove(dir / "manifest.json");
  e = error_of([&] { harness::write_reports(dir); });
  EXPECT_NE(e.find("manifest.json"), std::string::npos) << e;

  e = error_of([&] { harness::write_reports(tmp.path() / "nope"); });
  EXPECT_NE(e.find("nope"), std::string::npos) << e;
}

TEST(Report, CompareRunsListsEveryMetricOfEveryRun) {
  TempDir tmp;
  const fs::path a = make_run(tmp.path(), "a");
  json metrics = json::parse(kSampleMetrics);
  metrics["run"]["name"] = "bigger";
  metrics["run"]["model"] = "/models/pythia-410m";
  metrics["metrics"][0]["value"] = 0.2;
  metrics["metrics"].push_back({{"name", "only_in_b"}, {"value", 42}});
  metrics["profile"]["tokens_per_s"] = 9000.0;
  json manifest = json::parse(kSampleManifest);
  manifest["git_commit"] = "abcdef0123456-dirty";
  const fs::path b = make_run(tmp.path(), "b", metrics.dump(), manifest.dump());

  const std::string text = harness::compare_runs({a, b}, "text");
  for (const char* want : {"quickstart", "bigger", "94dc148", "abcdef0-dirty", "pythia-160m", "pythia-410m",
                           "exact_extraction_rate", "mean_prefix_match", "only_in_b", "0.12 [0.1, 0.14]", "0.2 [0.1, 0.14]",
                           "42", "tokens/s", "16000", "9000", "wall time (s)", "% of roofline", "13.3"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  // Columns line up: every row of the table is as long as the longest or shorter, values right-aligned.
  std::istringstream lines(text);
  std::string line, only;
  while (std::getline(lines, line))
    if (line.find("only_in_b") != std::string::npos) only = line;
  EXPECT_EQ(only.substr(only.size() - 2), "42") << text;  // blank for a, 42 for b

  const std::string md = harness::compare_runs({a, b}, "markdown");
  EXPECT_NE(md.find("| `only_in_b` |  | 42 |"), std::string::npos) << md;
  EXPECT_NE(md.find("**quickstart** (`94dc148`, pythia-160m)"), std::string::npos) << md;

  const std::string html = harness::compare_runs({a, b}, "html");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("only_in_b"), std::string::npos);
  EXPECT_NE(html.find("data-plot-id=\"roc\""), std::string::npos);  // overlaid: one series per run
  EXPECT_NE(html.find("data-series=\"bigger\""), std::string::npos);
  EXPECT_NE(html.find("data-plot-id=\"profile_phases\""), std::string::npos);

  // The same run twice gets distinct labels.
  const std::string twice = harness::compare_runs({a, a}, "text");
  EXPECT_NE(twice.find("#2"), std::string::npos) << twice;

  EXPECT_NE(error_of([&] { harness::compare_runs({a}, "pdf"); }).find("unknown format 'pdf'"), std::string::npos);
  EXPECT_NE(error_of([&] { harness::compare_runs({a, tmp.path() / "missing"}, "text"); }).find("missing"), std::string::npos);
}

TEST(ReportCli, RegeneratesAndCompares) {
  TempDir tmp;
  const fs::path a = make_run(tmp.path(), "a");
  auto r = testing::run_cli({"report", a.string(), "--regenerate"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(a / "report.html"));
  EXPECT_TRUE(fs::exists(a / "report.md"));
  EXPECT_NE(r.out.find("exact_extraction_rate"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("report.html"), std::string::npos);

  const fs::path out = tmp.path() / "cmp.html";
  r = testing::run_cli({"report", a.string(), a.string(), "--format", "html", "--output", out.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(read_file(out).find("<!DOCTYPE html>"), std::string::npos);

  r = testing::run_cli({"report", a.string(), "--format", "pdf"});
  EXPECT_EQ(r.code, 2);
  r = testing::run_cli({"report", (tmp.path() / "missing").string()});
  EXPECT_NE(r.code, 0);
  fs::remove(a / "metrics.json");
  r = testing::run_cli({"report", a.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("metrics.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eidetic
