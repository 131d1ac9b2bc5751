// harness/svg_plot.cpp: line, scatter, ROC and bar plots as static SVG (see svg_plot.h).
//
// This file lays a plot out (the frame, the plot area, what goes under it) and puts the parts
// together: axes and scales (svg_axes), data marks (svg_series), the fitted curve (svg_fit), the
// legend and notes (svg_legend). Layout is computed, not measured: text widths are estimated
// from character counts, which is close enough for the sans-serif fonts every browser has.
#include "harness/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/svg_axes.h"
#include "harness/svg_draw.h"
#include "harness/svg_fit.h"
#include "harness/svg_legend.h"
#include "harness/svg_series.h"
#include "harness/svg_spec.h"

namespace eidetic::harness {
namespace {

using json = nlohmann::json;
using namespace svg;

// The <svg> element's opening, its accessible title, the white background and the plot's title.
void open_svg(Out& o, const Spec& s, const SvgOptions& opt, double width, double height) {
  o.add("<svg{} class=\"eidetic-plot\" data-plot-id=\"{}\" data-kind=\"{}\" width=\"{}\" height=\"{}\" "
        "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" font-family=\"{}\">",
        opt.xmlns ? " xmlns=\"http://www.w3.org/2000/svg\"" : "", xml_escape(s.id), s.kind, px(width), px(height),
        px(width), px(height), xml_escape(s.title.empty() ? s.id : s.title), kFont);
  o.add("<title>{}</title>", xml_escape(s.title.empty() ? s.id : s.title));
  o.add("<rect class=\"bg\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>", px(width), px(height));
  if (!s.title.empty())
    o.add("<text class=\"title\" x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"600\" fill=\"{}\">{}</text>", kInk,
          xml_escape(s.title));
}

// The prefix of ids inside the SVG: letters, digits, - and _ only, starting with a letter.
std::string id_prefix(const Spec& s, const SvgOptions& opt) {
  std::string raw = opt.id_prefix.empty() ? "eidetic-" + s.id : opt.id_prefix;
  std::string out;
  for (char c : raw) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "p" + out;
  return out;
}

void draw_no_data(Out& o, const Frame& f, double dy) {
  o.add("<text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\">no data</text>",
        px(f.left + f.w / 2), px(f.top + f.h / 2 + dy), kMuted);
}

// The axes of a line, scatter or ROC plot over the drawable extent of its data.
void choose_axes(const Spec& s, const Extent& e, bool log_x, bool log_y, Plane& p) {
  if (s.kind == "roc_log") {
    p.x = p.y = rate_log_axis(std::min(e.x_min, e.y_min));  // square: the chance line is the diagonal
  } else if (s.kind == "roc") {
    p.x = p.y = unit_axis();
  } else {
    p.x = log_x ? log_axis(e.x_min, e.x_max) : e.empty() ? linear_axis(0, 1) : linear_axis(e.x_min, e.x_max);
    p.y = log_y ? log_axis(e.y_min, e.y_max) : e.empty() ? linear_axis(0, 1) : linear_axis(e.y_min, e.y_max);
  }
}

// Line, scatter and ROC plots.
std::string render_xy(Spec& s, const SvgOptions& opt) {
  const bool roc = s.kind == "roc" || s.kind == "roc_log";
  const bool log_x = s.kind == "roc_log" || (!roc && s.log_x), log_y = s.kind == "roc_log" || (!roc && s.log_y);
  Key key;
  const Extent extent = mark_drawable(s.series, log_x, log_y, key.notes);
  Plane p;
  choose_axes(s, extent, log_x, log_y, p);

  // Frame: room for the y tick labels and titles; ROC plots are square.
  double y_tick_w = 0;
  for (const auto& t : p.y.ticks) y_tick_w = std::max(y_tick_w, text_width(t.label, 11));
  Frame& f = p.area;
  f.left = std::max(48.0, (s.y_label.empty() ? 12.0 : 30.0) + y_tick_w + 10);
  f.top = s.title.empty() ? 16 : 42;
  const double bottom = 28 + (s.x_label.empty() ? 0 : 20);
  const double right = 24;
  double width;
  if (roc) {
    f.h = std::clamp(static_cast<double>(opt.height) - f.top - bottom, 120.0, 360.0);
    f.w = f.h;
    width = std::max(f.left + f.w + right, std::min(static_cast<double>(opt.width), 520.0));
  } else {
    width = std::max(200, opt.width);
    f.w = width - f.left - right;
    f.h = std::max(80.0, static_cast<double>(opt.height) - f.top - bottom);
  }

  const SeriesStyle style = s.kind == "scatter" ? SeriesStyle::scatter : roc ? SeriesStyle::roc : SeriesStyle::line;
  const Swatch swatch = style == SeriesStyle::scatter ? Swatch::marker : roc ? Swatch::line : Swatch::line_and_marker;
  for (size_t i = 0; i < s.series.size(); ++i) key.legend.push_back({s.series[i].name, color_of(i), swatch});
  const bool fit = add_fit_to_key(s.fit, key);
  if (roc) key.legend.push_back({"chance", kChanceColor, Swatch::dashed});
  const double height = key.place(f.left, f.top + f.h + bottom + 2, f.w + right - 8) + 6;

  Out o;
  open_svg(o, s, opt, width, height);
  const std::string pid = id_prefix(s, opt);
  // Markers and error bars may reach a little past the frame; curves stop at it.
  o.add("<defs><clipPath id=\"{}-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>"
        "<clipPath id=\"{}-frame\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
        pid, px(f.left - 6), px(f.top - 6), px(f.w + 12), px(f.h + 12), pid, px(f.left), px(f.top), px(f.w), px(f.h));
  draw_xy_axes(o, p, s.x_label, s.y_label);
  o.add("<g class=\"data\" clip-path=\"url(#{}-clip)\">", pid);
  if (roc) draw_chance(o, p);
  for (size_t i = 0; i < s.series.size(); ++i) draw_series(o, p, s.series[i], color_of(i), style);
  if (fit) draw_fit(o, p, s.fit, s.series, pid + "-frame");
  o.add("</g>");
  if (extent.empty()) draw_no_data(o, f, 0);
  key.draw(o);
  o.add("</svg>");
  return o.s;
}

// Horizontal bars: one group per category, one bar per series.
std::string render_bar(Spec& s, const SvgOptions& opt) {
  Key key;
  const BarChart chart = collect_bars(s, key.notes);
  Plane p;
  p.x = linear_axis(chart.min, chart.min == 0 && chart.max == 0 ? 1 : chart.max);

  double label_w = 0;
  for (const auto& c : chart.categories) label_w = std::max(label_w, text_width(shorten(c, 40), 12));
  const size_t nc = chart.categories.size(), ns = std::max<size_t>(1, s.series.size());
  const double bar_h = ns > 1 ? 14 : 18, gap = 10;
  const double group_h = static_cast<double>(ns) * bar_h + gap;
  Frame& f = p.area;
  f.left = std::max(48.0, 16 + label_w + 10);
  f.top = s.title.empty() ? 14 : 42;
  f.h = std::max(group_h, static_cast<double>(nc) * group_h);
  const double right = 72;  // room for the value labels
  const double bottom = 28 + (s.x_label.empty() ? 0 : 20);
  const double width = std::max(240, opt.width);
  f.w = width - f.left - right;

  if (s.series.size() > 1)
    for (size_t i = 0; i < s.series.size(); ++i) key.legend.push_back({s.series[i].name, color_of(i), Swatch::bar});
  const double height = key.place(f.left, f.top + f.h + bottom + 2, f.w + right - 8) + 6;

  Out o;
  open_svg(o, s, opt, width, height);
  draw_value_axis(o, p, s.x_label);
  draw_bars(o, p, chart, bar_h, gap);
  if (nc == 0) draw_no_data(o, f, 4);
  key.draw(o);
  o.add("</svg>");
  return o.s;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;  // not allowed in XML 1.0
        out += ch;
    }
  }
  return out;
}

std::string format_number(double v, int significant) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  significant = std::clamp(significant, 1, 17);
  const double a = std::abs(v);
  if (a < 1e15 && std::floor(v) == v && (a < 1e9 || significant >= 10)) return fmt::format("{:.0f}", v);
  if (a >= 1e-4 && a < 1e9) {
    const int decimals = std::max(0, significant - 1 - static_cast<int>(std::floor(std::log10(a))));
    std::string s = fmt::format("{:.{}f}", v, decimals);
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s == "-0" ? "0" : s;
  }
  return exponent_form(v, significant);
}

std::string render_svg_plot(const nlohmann::json& plot, const SvgOptions& options) {
  Spec s = parse_spec(plot);
  return s.kind == "bar" ? render_bar(s, options) : render_xy(s, options);
}

void check_plot_spec(const nlohmann::json& plot) { parse_spec(plot); }

nlohmann::json roc_log_view(const nlohmann::json& roc) {
  json view = roc;
  view["kind"] = "roc_log";
  view["id"] = (roc.contains("id") && roc["id"].is_string() ? roc["id"].get<std::string>() : std::string()) + "_log";
  if (roc.contains("title") && roc["title"].is_string()) view["title"] = roc["title"].get<std::string>() + " (log-log)";
  return view;
}

nlohmann::json profile_phase_plot(const nlohmann::json& profile) {
  json points = json::array();
  if (profile.is_object() && profile.contains("phases") && profile.at("phases").is_object()) {
    const json& phases = profile.at("phases");
    static const char* const kOrder[] = {"load", "tokenize", "prefill", "decode", "score", "match", "write"};
    for (const char* name : kOrder)
      if (phases.contains(name)) points.push_back(json::array({name, phases.at(name)}));
    for (const auto& [name, seconds] : phases.items())
      if (std::find_if(std::begin(kOrder), std::end(kOrder), [&](const char* k) { return name == k; }) == std::end(kOrder))
        points.push_back(json::array({name, seconds}));
  }
  return json{{"id", "profile_phases"},
              {"title", "Time by phase"},
              {"kind", "bar"},
              {"x_label", "seconds"},
              {"unit", " s"},
              {"series", json::array({json{{"name", "seconds"}, {"points", points}}})}};
}

}  // namespace eidetic::harness
