// harness/svg_plot.cpp: line, scatter, ROC and bar plots as static SVG (see svg_plot.h).
//
// Layout is computed, not measured: text widths are estimated from the character count, which
// is close enough for the sans-serif fonts every browser has. Ticks are "nice" numbers (1, 2,
// 5 x 10^k) on linear axes and powers of ten on logarithmic ones.
#include "harness/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace eidetic::harness {
namespace {

using json = nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Okabe & Ito's colour-blind-safe palette, then a few more distinct ones.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                    "#56B4E9", "#882255", "#000000", "#44AA99", "#999933"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kFont = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
constexpr const char* kInk = "#111827";
constexpr const char* kMuted = "#4b5563";
constexpr const char* kAxis = "#6b7280";
constexpr const char* kGrid = "#e5e7eb";
constexpr const char* kFitColor = "#374151";

const char* color_of(size_t i) { return kPalette[i % kPaletteSize]; }

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Estimated rendered width of text at a font size (average sans-serif advance).
double text_width(std::string_view s, double size) { return static_cast<double>(utf8_length(s)) * size * 0.58; }

// Cuts text to at most `max_chars` code points, ending with an ellipsis when cut.
std::string shorten(const std::string& s, size_t max_chars) {
  if (utf8_length(s) <= max_chars) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > max_chars - 1) break;
    out += s[i];
  }
  return out + "\u2026";
}

// A coordinate: two decimals, trailing zeros trimmed.
std::string px(double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::clamp(v, -1e6, 1e6);  // far outside any drawing; keeps the text short
  std::string s = fmt::format("{:.2f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

// ---- reading the spec -------------------------------------------------------------------

std::string str_field(const json& obj, const char* key, const std::string& def = "") {
  if (!obj.is_object() || !obj.contains(key)) return def;
  const json& v = obj.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return def;
  return v.dump();
}

bool bool_field(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return false;
  const json& v = obj.at(key);
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  return false;
}

double as_number(const json& v, const std::string& where) {
  if (v.is_null()) return kNaN;
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN" || s == "nan") return kNaN;
    if (s == "inf" || s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-inf" || s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  throw Error(where + ": expected a number, got " + v.dump());
}

struct Point {
  double x = kNaN, y = kNaN, lo = kNaN, hi = kNaN;
  std::string category;  // bar plots: the label of the bar
  bool ok = false;       // drawable on the chosen axes
};

struct Series {
  std::string name;
  std::vector<Point> points;
};

struct Spec {
  std::string id, title, kind, x_label, y_label, unit;
  bool log_x = false, log_y = false;
  std::vector<Series> series;
  json fit;
};

Spec parse_spec(const json& plot) {
  if (!plot.is_object()) throw Error("plot: expected an object, got " + std::string(plot.type_name()));
  Spec s;
  s.id = str_field(plot, "id");
  const std::string where = "plot '" + s.id + "'";
  s.title = str_field(plot, "title");
  s.kind = str_field(plot, "kind", "line");
  if (s.kind != "line" && s.kind != "scatter" && s.kind != "roc" && s.kind != "bar")
    throw Error(where + ": unknown kind '" + s.kind + "' (expected line, scatter, roc or bar)");
  s.x_label = str_field(plot, "x_label");
  s.y_label = str_field(plot, "y_label");
  s.unit = str_field(plot, "unit");
  s.log_x = bool_field(plot, "log_x");
  s.log_y = bool_field(plot, "log_y");
  if (plot.contains("fit") && plot.at("fit").is_object()) s.fit = plot.at("fit");
  if (!plot.contains("series") || plot.at("series").is_null()) return s;
  const json& series = plot.at("series");
  if (!series.is_array()) throw Error(where + ": \"series\" must be an array");
  for (size_t i = 0; i < series.size(); ++i) {
    const json& js = series[i];
    const std::string sw = where + ": series[" + std::to_string(i) + "]";
    if (!js.is_object()) throw Error(sw + ": expected an object");
    Series out;
    out.name = str_field(js, "name", "series " + std::to_string(i + 1));
    const json empty = json::array();
    const json& pts = js.contains("points") && !js.at("points").is_null() ? js.at("points") : empty;
    if (!pts.is_array()) throw Error(sw + ": \"points\" must be an array of [x, y]");
    const json* ci = js.contains("ci") && !js.at("ci").is_null() ? &js.at("ci") : nullptr;
    if (ci && (!ci->is_array() || ci->size() != pts.size()))
      throw Error(sw + ": \"ci\" must be an array of [low, high] with one entry per point (" +
                  std::to_string(pts.size()) + ")");
    for (size_t k = 0; k < pts.size(); ++k) {
      const std::string pw = sw + ".points[" + std::to_string(k) + "]";
      const json& p = pts[k];
      if (!p.is_array() || p.size() < 2) throw Error(pw + ": expected [x, y], got " + p.dump());
      Point pt;
      if (s.kind == "bar" && p[0].is_string()) {
        pt.category = p[0].get<std::string>();
        pt.x = 0;
      } else {
        pt.x = as_number(p[0], pw);
        if (s.kind == "bar") pt.category = format_number(pt.x);
      }
      pt.y = as_number(p[1], pw);
      if (ci) {
        const json& c = (*ci)[k];
        const std::string cw = sw + ".ci[" + std::to_string(k) + "]";
        if (c.is_null()) {
        } else if (!c.is_array() || c.size() != 2) {
          throw Error(cw + ": expected [low, high], got " + c.dump());
        } else {
          pt.lo = as_number(c[0], cw);
          pt.hi = as_number(c[1], cw);
        }
      }
      out.points.push_back(pt);
    }
    s.series.push_back(std::move(out));
  }
  return s;
}

// ---- axes -------------------------------------------------------------------------------

struct Tick {
  double value;
  std::string label;  // empty: an unlabelled minor tick
};

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<Tick> ticks;  // labelled ticks get grid lines
  double frac(double v) const {
    if (log) {
      if (!(v > 0)) return kNaN;
      return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    }
    return (v - lo) / (hi - lo);
  }
};

// "2e6", "1.5e-7": mantissa to three significant digits and a plain exponent.
std::string compact_exponent(double v) {
  std::string s = fmt::format("{:.2e}", v);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') != std::string::npos) {
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  return mant + "e" + std::to_string(std::stoi(s.substr(e + 1)));
}

double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

Axis linear_axis(double mn, double mx, int target = 5) {
  if (!std::isfinite(mn) || !std::isfinite(mx)) mn = 0, mx = 1;
  if (mn > mx) std::swap(mn, mx);
  if (mx == mn) {
    const double pad = mn == 0 ? 1 : std::abs(mn) * 0.1;
    mn -= pad;
    mx += pad;
  } else {
    // Keep zero in view when the data sit close to it (rates, counts).
    if (mn > 0 && mn < 0.3 * mx) mn = 0;
    if (mx < 0 && mx > 0.3 * mn) mx = 0;
  }
  double step = nice_step((mx - mn) / target);
  if (!std::isfinite(step) || !(step > 0)) return linear_axis(0, 1, target);
  Axis a;
  a.lo = std::floor(mn / step + 1e-9) * step;
  a.hi = std::ceil(mx / step - 1e-9) * step;
  if (!(a.hi > a.lo)) a.hi = a.lo + step;
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 12);
  const double big = std::max(std::abs(a.lo), std::abs(a.hi));
  const bool exponent = big >= 1e7 || decimals > 6;
  const auto n = static_cast<int64_t>(std::llround((a.hi - a.lo) / step));
  for (int64_t i = 0; i <= n; ++i) {
    double v = a.lo + static_cast<double>(i) * step;
    if (std::abs(v) < step * 1e-9) v = 0;
    a.ticks.push_back({v, exponent ? (v == 0 ? "0" : compact_exponent(v)) : fmt::format("{:.{}f}", v, decimals)});
  }
  return a;
}

std::string decade_label(int e) {
  if (e >= 0 && e <= 6) return "1" + std::string(static_cast<size_t>(e), '0');
  if (e < 0 && e >= -4) return "0." + std::string(static_cast<size_t>(-e - 1), '0') + "1";
  return "1e" + std::to_string(e);
}

std::string minor_label(int m, int e) {
  if (e >= -4 && e <= 6) return format_number(m * std::pow(10.0, e));
  return std::to_string(m) + "e" + std::to_string(e);
}

// Decades from the one below the smallest value to the one above the largest.
Axis log_axis(double mn, double mx) {
  if (!(mn > 0) || !std::isfinite(mn) || !std::isfinite(mx)) mn = 1, mx = 10;
  int e0 = static_cast<int>(std::floor(std::log10(mn) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(mx) - 1e-9));
  if (e1 <= e0) {
    e0 -= 1;
    e1 = e0 + 2;
  }
  Axis a;
  a.log = true;
  a.lo = std::pow(10.0, e0);
  a.hi = std::pow(10.0, e1);
  const int decades = e1 - e0;
  const int stride = decades <= 8 ? 1 : (decades + 7) / 8;
  for (int e = e0; e <= e1; e += stride) a.ticks.push_back({std::pow(10.0, e), decade_label(e)});
  if (decades <= 5) {
    for (int e = e0; e < e1; ++e)
      for (int m = 2; m <= 9; ++m) {
        const bool labelled = decades == 1 && (m == 2 || m == 5);
        a.ticks.push_back({m * std::pow(10.0, e), labelled ? minor_label(m, e) : ""});
      }
  }
  return a;
}

Axis unit_axis() {
  Axis a;
  for (int i = 0; i <= 5; ++i) a.ticks.push_back({i * 0.2, fmt::format("{:.1f}", i * 0.2)});
  return a;
}

// ---- drawing ----------------------------------------------------------------------------

struct Out {
  std::string s;
  template <typename... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(s), f, std::forward<Args>(args)...);
  }
};

struct LegendEntry {
  std::string label;
  std::string color;
  std::string style;  // "line", "marker", "line+marker", "dashed", "bar"
};

struct LegendLayout {
  std::vector<std::pair<double, double>> at;  // per entry, x and baseline y offset from legend top
  double height = 0;
};

constexpr double kLegendFont = 12;
constexpr double kLegendRow = 19;
constexpr double kNoteFont = 11;
constexpr double kNoteRow = 15;

LegendLayout layout_legend(const std::vector<LegendEntry>& entries, double x0, double max_width) {
  LegendLayout l;
  if (entries.empty()) return l;
  double x = x0, row = 0;
  for (const auto& e : entries) {
    const double w = 30 + text_width(e.label, kLegendFont) + 18;
    if (x > x0 && x + w > x0 + max_width) {
      x = x0;
      row += 1;
    }
    l.at.emplace_back(x, row * kLegendRow + 13);
    x += w;
  }
  l.height = (row + 1) * kLegendRow + 4;
  return l;
}

void draw_legend(Out& o, const std::vector<LegendEntry>& entries, const LegendLayout& l, double top) {
  if (entries.empty()) return;
  o.add("<g class=\"legend\" font-size=\"{}\" fill=\"{}\">", kLegendFont, kInk);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const double x = l.at[i].first, y = top + l.at[i].second, mid = y - 4;
    if (e.style == "bar") {
      o.add("<rect x=\"{}\" y=\"{}\" width=\"22\" height=\"10\" fill=\"{}\"/>", px(x), px(mid - 5), e.color);
    } else {
      if (e.style == "line" || e.style == "line+marker")
        o.add("<path d=\"M{} {}h22\" stroke=\"{}\" stroke-width=\"2\"/>", px(x), px(mid), e.color);
      if (e.style == "dashed")
        o.add("<path d=\"M{} {}h22\" stroke=\"{}\" stroke-width=\"1.75\" stroke-dasharray=\"5 3\"/>", px(x), px(mid), e.color);
      if (e.style == "marker" || e.style == "line+marker")
        o.add("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>", px(x + 11), px(mid), e.color);
    }
    o.add("<text x=\"{}\" y=\"{}\">{}</text>", px(x + 30), px(y), xml_escape(e.label));
  }
  o.add("</g>");
}

void draw_notes(Out& o, const std::vector<std::string>& notes, double x, double top) {
  if (notes.empty()) return;
  o.add("<g class=\"notes\" font-size=\"{}\" font-style=\"italic\" fill=\"{}\">", kNoteFont, kMuted);
  for (size_t i = 0; i < notes.size(); ++i)
    o.add("<text x=\"{}\" y=\"{}\">{}</text>", px(x), px(top + 11 + kNoteRow * static_cast<double>(i)), xml_escape(notes[i]));
  o.add("</g>");
}

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

std::string id_prefix(const Spec& s, const SvgOptions& opt) {
  std::string raw = opt.id_prefix.empty() ? "eidetic-" + s.id : opt.id_prefix;
  std::string out;
  for (char c : raw) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "p" + out;
  return out;
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Line, scatter and ROC plots.
std::string render_xy(Spec& s, const SvgOptions& opt) {
  const bool roc = s.kind == "roc";
  const bool log_x = !roc && s.log_x, log_y = !roc && s.log_y;
  std::vector<std::string> notes;

  // Which points can be drawn, and the extent of the data.
  size_t nonfinite = 0, dropped_x = 0, dropped_y = 0, total = 0;
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (auto& series : s.series)
    for (auto& p : series.points) {
      ++total;
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        ++nonfinite;
      } else if (log_x && p.x <= 0) {
        ++dropped_x;
      } else if (log_y && p.y <= 0) {
        ++dropped_y;
      } else {
        p.ok = true;
        x_min = std::min(x_min, p.x), x_max = std::max(x_max, p.x);
        y_min = std::min(y_min, p.y), y_max = std::max(y_max, p.y);
        for (double b : {p.lo, p.hi})
          if (std::isfinite(b) && (!log_y || b > 0)) y_min = std::min(y_min, b), y_max = std::max(y_max, b);
      }
    }
  const bool any = std::isfinite(x_min);
  if (nonfinite) notes.push_back(plural(nonfinite, "point", "points") + " with a missing or non-finite value not shown");
  if (dropped_x) notes.push_back(plural(dropped_x, "point", "points") + " with x \u2264 0 not shown on the logarithmic x axis");
  if (dropped_y) notes.push_back(plural(dropped_y, "point", "points") + " with y \u2264 0 not shown on the logarithmic y axis");

  const Axis ax = roc ? unit_axis() : log_x ? log_axis(x_min, x_max) : any ? linear_axis(x_min, x_max) : linear_axis(0, 1);
  const Axis ay = roc ? unit_axis() : log_y ? log_axis(y_min, y_max) : any ? linear_axis(y_min, y_max) : linear_axis(0, 1);

  // Frame.
  double y_tick_w = 0;
  for (const auto& t : ay.ticks) y_tick_w = std::max(y_tick_w, text_width(t.label, 11));
  const double left = std::max(48.0, (s.y_label.empty() ? 12.0 : 30.0) + y_tick_w + 10);
  const double top = s.title.empty() ? 16 : 42;
  const double bottom = 28 + (s.x_label.empty() ? 0 : 20);
  const double right = 24;
  double plot_w, plot_h, width;
  if (roc) {
    plot_h = std::clamp(static_cast<double>(opt.height) - top - bottom, 120.0, 360.0);
    plot_w = plot_h;
    width = std::max(left + plot_w + right, std::min(static_cast<double>(opt.width), 520.0));
  } else {
    width = std::max(200, opt.width);
    plot_w = width - left - right;
    plot_h = std::max(80.0, static_cast<double>(opt.height) - top - bottom);
  }
  auto X = [&](double v) { return left + ax.frac(v) * plot_w; };
  auto Y = [&](double v) { return top + plot_h - ay.frac(v) * plot_h; };

  // Legend.
  std::vector<LegendEntry> legend;
  const bool scatter = s.kind == "scatter";
  for (size_t i = 0; i < s.series.size(); ++i)
    legend.push_back({s.series[i].name, color_of(i), scatter ? "marker" : roc ? "line" : "line+marker"});
  std::string fit_kind;
  double slope = kNaN, intercept = kNaN, r2 = kNaN;
  if (s.fit.is_object()) {
    fit_kind = str_field(s.fit, "kind");
    const std::string fw = "plot '" + s.id + "': fit";
    if (s.fit.contains("slope")) slope = as_number(s.fit.at("slope"), fw + ".slope");
    if (s.fit.contains("intercept")) intercept = as_number(s.fit.at("intercept"), fw + ".intercept");
    if (s.fit.contains("r2")) r2 = as_number(s.fit.at("r2"), fw + ".r2");
    if (fit_kind != "loglinear" && fit_kind != "linear") {
      notes.push_back("fit of kind '" + fit_kind + "' not drawn");
      fit_kind.clear();
    } else if (!std::isfinite(slope) || !std::isfinite(intercept)) {
      notes.push_back("fit without a finite slope and intercept not drawn");
      fit_kind.clear();
    } else {
      std::string label = "fit: y = " + format_number(intercept, 3) + (slope < 0 ? " \u2212 " : " + ") +
                          format_number(std::abs(slope), 3) + (fit_kind == "loglinear" ? "\u00b7ln x" : "\u00b7x");
      if (std::isfinite(r2)) label += ", R\u00b2 = " + format_number(r2, 3);
      legend.push_back({label, kFitColor, "dashed"});
    }
  }
  if (roc) legend.push_back({"chance", "#9ca3af", "dashed"});

  const double legend_top = top + plot_h + bottom + 2;
  const LegendLayout ll = layout_legend(legend, left, plot_w + right - 8);
  const double notes_top = legend_top + ll.height;
  const double height = notes_top + kNoteRow * static_cast<double>(notes.size()) + 6;

  Out o;
  open_svg(o, s, opt, width, height);
  const std::string pid = id_prefix(s, opt);
  // Markers and error bars may reach a little past the frame; curves stop at it.
  o.add("<defs><clipPath id=\"{}-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>"
        "<clipPath id=\"{}-frame\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
        pid, px(left - 6), px(top - 6), px(plot_w + 12), px(plot_h + 12), pid, px(left), px(top), px(plot_w), px(plot_h));

  // Grid, axes, ticks, labels.
  std::string grid, ticks;
  for (const auto& t : ax.ticks) {
    const double x = X(t.value);
    if (!t.label.empty()) grid += fmt::format("M{} {}V{}", px(x), px(top), px(top + plot_h));
    ticks += fmt::format("M{} {}v{}", px(x), px(top + plot_h), t.label.empty() ? 3 : 5);
  }
  for (const auto& t : ay.ticks) {
    const double y = Y(t.value);
    if (!t.label.empty()) grid += fmt::format("M{} {}H{}", px(left), px(y), px(left + plot_w));
    ticks += fmt::format("M{} {}h-{}", px(left), px(y), t.label.empty() ? 3 : 5);
  }
  o.add("<path class=\"grid\" d=\"{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", grid, kGrid);
  o.add("<path class=\"axis\" d=\"M{} {}V{}H{}{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", px(left), px(top),
        px(top + plot_h), px(left + plot_w), ticks, kAxis);
  o.add("<g class=\"ticks\" font-size=\"11\" fill=\"{}\">", kMuted);
  for (const auto& t : ax.ticks)
    if (!t.label.empty())
      o.add("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(X(t.value)), px(top + plot_h + 18),
            xml_escape(t.label));
  for (const auto& t : ay.ticks)
    if (!t.label.empty())
      o.add("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", px(left - 8), px(Y(t.value) + 4), xml_escape(t.label));
  o.add("</g>");
  if (!s.x_label.empty())
    o.add("<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"{}\">{}</text>",
          px(left + plot_w / 2), px(top + plot_h + 40), kInk, xml_escape(s.x_label + (log_x ? " (log scale)" : "")));
  if (!s.y_label.empty())
    o.add("<text class=\"y-label\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12.5\" "
          "fill=\"{}\">{}</text>",
          px(14), px(top + plot_h / 2), kInk, xml_escape(s.y_label + (log_y ? " (log scale)" : "")));

  // Data.
  o.add("<g class=\"data\" clip-path=\"url(#{}-clip)\">", pid);
  if (roc)
    o.add("<path class=\"chance\" d=\"M{} {}L{} {}\" stroke=\"#9ca3af\" stroke-width=\"1.25\" stroke-dasharray=\"5 4\" "
          "fill=\"none\"/>",
          px(X(0)), px(Y(0)), px(X(1)), px(Y(1)));
  size_t drawable_total = 0;
  for (const auto& series : s.series)
    for (const auto& p : series.points) drawable_total += p.ok;
  for (size_t si = 0; si < s.series.size(); ++si) {
    const Series& series = s.series[si];
    const char* color = color_of(si);
    o.add("<g class=\"series\" data-series=\"{}\">", xml_escape(series.name));
    size_t drawable = 0;
    for (const auto& p : series.points) drawable += p.ok;
    // Error bars.
    std::string bars;
    for (const auto& p : series.points) {
      if (!p.ok || !std::isfinite(p.lo) || !std::isfinite(p.hi)) continue;
      const double x = X(p.x);
      const bool lo_ok = !log_y || p.lo > 0;
      const double y_lo = lo_ok ? Y(p.lo) : top + plot_h, y_hi = (!log_y || p.hi > 0) ? Y(p.hi) : top + plot_h;
      bars += fmt::format("M{} {}V{}", px(x), px(y_lo), px(y_hi));
      if (lo_ok) bars += fmt::format("M{} {}h8", px(x - 4), px(y_lo));
      bars += fmt::format("M{} {}h8", px(x - 4), px(y_hi));
    }
    if (!bars.empty())
      o.add("<path class=\"mark ci\" d=\"{}\" stroke=\"{}\" stroke-width=\"1.25\" fill=\"none\" opacity=\"0.8\"/>", bars,
            color);
    // Lines, broken where a point cannot be drawn; long ones thinned to one point per half pixel.
    std::vector<std::vector<std::pair<double, double>>> segments(1);
    for (const auto& p : series.points) {
      if (!p.ok) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      segments.back().emplace_back(X(p.x), Y(p.y));
    }
    std::vector<std::pair<double, double>> lone;
    if (!scatter) {
      for (auto& seg : segments) {
        if (seg.size() == 1) lone.push_back(seg[0]);
        if (seg.size() < 2) continue;
        std::string pts;
        std::pair<double, double> last{kNaN, kNaN};
        for (size_t k = 0; k < seg.size(); ++k) {
          const auto& q = seg[k];
          const bool keep = seg.size() <= 1000 || k == 0 || k + 1 == seg.size() ||
                            std::abs(q.first - last.first) >= 0.5 || std::abs(q.second - last.second) >= 0.5;
          if (!keep) continue;
          if (!pts.empty()) pts += ' ';
          pts += px(q.first) + "," + px(q.second);
          last = q;
        }
        o.add("<polyline class=\"mark line\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
              "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
              pts, color);
      }
    }
    // Markers: always for scatter plots and lone points, for lines when there are few points.
    const bool markers = scatter || (roc ? drawable <= 30 : drawable <= 100);
    const double r = scatter && drawable > 500 ? 2 : 3.5;
    if (markers) {
      for (const auto& seg : segments)
        for (const auto& q : seg)
          o.add("<circle class=\"mark point\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{}/>", px(q.first), px(q.second),
                px(r), color, scatter ? " fill-opacity=\"0.75\"" : "");
    } else {
      for (const auto& q : lone)
        o.add("<circle class=\"mark point\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>", px(q.first), px(q.second), color);
    }
    o.add("</g>");
  }
  // Fit curve, sampled across the x axis.
  if (!fit_kind.empty()) {
    double x0 = ax.lo, x1 = ax.hi;
    if (fit_kind == "loglinear" && !log_x && x0 <= 0) {
      double smallest = INFINITY;
      for (const auto& series : s.series)
        for (const auto& p : series.points)
          if (p.ok && p.x > 0) smallest = std::min(smallest, p.x);
      x0 = std::isfinite(smallest) ? std::min(smallest, x1) : x1 * 1e-3;
    }
    std::string d;
    bool pen_down = false;
    constexpr int kSamples = 128;
    for (int i = 0; i <= kSamples; ++i) {
      const double t = static_cast<double>(i) / kSamples;
      const double x = log_x ? x0 * std::pow(x1 / x0, t) : x0 + (x1 - x0) * t;
      const double y = fit_kind == "loglinear" ? (x > 0 ? intercept + slope * std::log(x) : kNaN) : intercept + slope * x;
      if (!std::isfinite(y) || (log_y && y <= 0)) {
        pen_down = false;
        continue;
      }
      // Keep far-off values finite in pixels; the clip path hides them.
      const double py = std::clamp(Y(y), top - 2 * plot_h, top + 3 * plot_h);
      d += fmt::format("{}{} {}", pen_down ? "L" : "M", px(X(x)), px(py));
      pen_down = true;
    }
    if (!d.empty())
      o.add("<path class=\"mark fit\" d=\"{}\" stroke=\"{}\" stroke-width=\"1.75\" stroke-dasharray=\"6 4\" fill=\"none\" "
            "clip-path=\"url(#{}-frame)\"/>",
            d, kFitColor, pid);
  }
  o.add("</g>");
  if (drawable_total == 0)
    o.add("<text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\">no data</text>",
          px(left + plot_w / 2), px(top + plot_h / 2), kMuted);
  draw_legend(o, legend, ll, legend_top);
  draw_notes(o, notes, left, notes_top);
  o.add("</svg>");
  return o.s;
}

// Horizontal bars: one group per category, one bar per series.
std::string render_bar(Spec& s, const SvgOptions& opt) {
  std::vector<std::string> categories;
  std::map<std::string, size_t> index;
  for (const auto& series : s.series)
    for (const auto& p : series.points)
      if (index.emplace(p.category, categories.size()).second) categories.push_back(p.category);
  const size_t nc = categories.size(), ns = std::max<size_t>(1, s.series.size());
  std::vector<std::vector<double>> value(s.series.size(), std::vector<double>(nc, kNaN));
  size_t nonfinite = 0;
  double mn = 0, mx = 0;
  for (size_t si = 0; si < s.series.size(); ++si)
    for (const auto& p : s.series[si].points) {
      if (!std::isfinite(p.y)) {
        ++nonfinite;
        continue;
      }
      value[si][index.at(p.category)] = p.y;
      mn = std::min(mn, p.y), mx = std::max(mx, p.y);
    }
  std::vector<std::string> notes;
  if (nonfinite) notes.push_back(plural(nonfinite, "bar", "bars") + " with a missing or non-finite value not shown");
  if (mn == 0 && mx == 0) mx = 1;
  const Axis ax = linear_axis(mn, mx);

  double label_w = 0;
  for (const auto& c : categories) label_w = std::max(label_w, text_width(shorten(c, 40), 12));
  const double left = std::max(48.0, 16 + label_w + 10);
  const double right = 72;  // room for the value labels
  const double top = s.title.empty() ? 14 : 42;
  const double bar_h = ns > 1 ? 14 : 18, gap = 10;
  const double group_h = static_cast<double>(ns) * bar_h + gap;
  const double plot_h = std::max(group_h, static_cast<double>(nc) * group_h);
  const double bottom = 28 + (s.x_label.empty() ? 0 : 20);
  const double width = std::max(240, opt.width);
  const double plot_w = width - left - right;
  auto X = [&](double v) { return left + ax.frac(v) * plot_w; };

  std::vector<LegendEntry> legend;
  if (s.series.size() > 1)
    for (size_t i = 0; i < s.series.size(); ++i) legend.push_back({s.series[i].name, color_of(i), "bar"});
  const double legend_top = top + plot_h + bottom + 2;
  const LegendLayout ll = layout_legend(legend, left, plot_w + right - 8);
  const double notes_top = legend_top + ll.height;
  const double height = notes_top + kNoteRow * static_cast<double>(notes.size()) + 6;

  Out o;
  open_svg(o, s, opt, width, height);
  std::string grid, ticks;
  for (const auto& t : ax.ticks) {
    grid += fmt::format("M{} {}V{}", px(X(t.value)), px(top), px(top + plot_h));
    ticks += fmt::format("M{} {}v5", px(X(t.value)), px(top + plot_h));
  }
  o.add("<path class=\"grid\" d=\"{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", grid, kGrid);
  o.add("<path class=\"axis\" d=\"M{} {}V{}M{} {}H{}{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", px(X(0)),
        px(top), px(top + plot_h), px(left), px(top + plot_h), px(left + plot_w), ticks, kAxis);
  o.add("<g class=\"ticks\" font-size=\"11\" fill=\"{}\">", kMuted);
  for (const auto& t : ax.ticks)
    o.add("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(X(t.value)), px(top + plot_h + 18),
          xml_escape(t.label));
  o.add("</g>");
  if (!s.x_label.empty())
    o.add("<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"{}\">{}</text>",
          px(left + plot_w / 2), px(top + plot_h + 40), kInk, xml_escape(s.x_label));

  o.add("<g class=\"data\">");
  for (size_t c = 0; c < nc; ++c) {
    const double group_top = top + static_cast<double>(c) * group_h + gap / 2;
    o.add("<text class=\"category\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"{}\">{}</text>",
          px(left - 10), px(group_top + static_cast<double>(ns) * bar_h / 2 + 4), kInk, xml_escape(shorten(categories[c], 40)));
    for (size_t si = 0; si < s.series.size(); ++si) {
      const double v = value[si][c];
      if (!std::isfinite(v)) continue;
      const double y = group_top + static_cast<double>(si) * bar_h;
      const double x0 = X(0), x1 = X(v);
      o.add("<rect class=\"mark bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
            px(std::min(x0, x1)), px(y + 1), px(std::abs(x1 - x0)), px(bar_h - 2), color_of(si),
            xml_escape(s.series[si].name + ", " + categories[c] + ": " + format_number(v) + s.unit));
      const bool inside_left = v < 0;
      o.add("<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
            px(inside_left ? x1 - 4 : x1 + 4), px(y + bar_h / 2 + 3.5), inside_left ? "end" : "start", kMuted,
            xml_escape(format_number(v, 3) + s.unit));
    }
  }
  o.add("</g>");
  if (nc == 0)
    o.add("<text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"{}\">no data</text>",
          px(left + plot_w / 2), px(top + plot_h / 2 + 4), kMuted);
  draw_legend(o, legend, ll, legend_top);
  draw_notes(o, notes, left, notes_top);
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
  std::string s = fmt::format("{:.{}e}", v, significant - 1);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') != std::string::npos) {
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  return mant + "e" + std::to_string(std::stoi(s.substr(e + 1)));
}

std::string render_svg_plot(const nlohmann::json& plot, const SvgOptions& options) {
  Spec s = parse_spec(plot);
  return s.kind == "bar" ? render_bar(s, options) : render_xy(s, options);
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
