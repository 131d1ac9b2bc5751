// harness/svg_axes.cpp: see svg_axes.h.
#include "harness/svg_axes.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "harness/svg_plot.h"

namespace eidetic::harness::svg {
namespace {

double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
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

// Decades 10^e0 .. 10^e1, e0 < e1.
Axis decades(int e0, int e1) {
  Axis a;
  a.log = true;
  a.lo = std::pow(10.0, e0);
  a.hi = std::pow(10.0, e1);
  const int span = e1 - e0;
  const int stride = span <= 8 ? 1 : (span + 7) / 8;
  for (int e = e0; e <= e1; e += stride) a.ticks.push_back({std::pow(10.0, e), decade_label(e)});
  if (span <= 5) {
    for (int e = e0; e < e1; ++e)
      for (int m = 2; m <= 9; ++m) {
        const bool labelled = span == 1 && (m == 2 || m == 5);
        a.ticks.push_back({m * std::pow(10.0, e), labelled ? minor_label(m, e) : ""});
      }
  }
  return a;
}

// The tick labels under the x axis (inside the ticks group).
void x_tick_labels(Out& o, const Plane& p) {
  for (const auto& t : p.x.ticks)
    if (!t.label.empty())
      o.add("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px(p.X(t.value)), px(p.area.top + p.area.h + 18),
            xml_escape(t.label));
}

void x_title(Out& o, const Plane& p, const std::string& title, bool log) {
  if (title.empty()) return;
  o.add("<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"{}\">{}</text>",
        px(p.area.left + p.area.w / 2), px(p.area.top + p.area.h + 40), kInk, xml_escape(title + (log ? " (log scale)" : "")));
}

}  // namespace

double Axis::frac(double v) const {
  if (log) {
    if (!(v > 0)) return kNaN;
    return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  }
  return (v - lo) / (hi - lo);
}

Axis linear_axis(double mn, double mx, int target) {
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
    a.ticks.push_back({v, exponent ? (v == 0 ? "0" : exponent_form(v, 3)) : fmt::format("{:.{}f}", v, decimals)});
  }
  return a;
}

Axis log_axis(double mn, double mx) {
  if (!(mn > 0) || !std::isfinite(mn) || !std::isfinite(mx)) mn = 1, mx = 10;
  int e0 = static_cast<int>(std::floor(std::log10(mn) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(mx) - 1e-9));
  if (e1 <= e0) {
    e0 -= 1;
    e1 = e0 + 2;
  }
  return decades(e0, e1);
}

Axis unit_axis() {
  Axis a;
  for (int i = 0; i <= 5; ++i) a.ticks.push_back({i * 0.2, fmt::format("{:.1f}", i * 0.2)});
  return a;
}

Axis rate_log_axis(double smallest) {
  if (!(smallest > 0) || !std::isfinite(smallest)) smallest = 0.1;
  return decades(std::min(-1, static_cast<int>(std::floor(std::log10(smallest) + 1e-9))), 0);
}

void draw_xy_axes(Out& o, const Plane& p, const std::string& x_title_text, const std::string& y_title_text) {
  const Frame& f = p.area;
  std::string grid, ticks;
  for (const auto& t : p.x.ticks) {
    const double x = p.X(t.value);
    if (!t.label.empty()) grid += fmt::format("M{} {}V{}", px(x), px(f.top), px(f.top + f.h));
    ticks += fmt::format("M{} {}v{}", px(x), px(f.top + f.h), t.label.empty() ? 3 : 5);
  }
  for (const auto& t : p.y.ticks) {
    const double y = p.Y(t.value);
    if (!t.label.empty()) grid += fmt::format("M{} {}H{}", px(f.left), px(y), px(f.left + f.w));
    ticks += fmt::format("M{} {}h-{}", px(f.left), px(y), t.label.empty() ? 3 : 5);
  }
  o.add("<path class=\"grid\" d=\"{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", grid, kGrid);
  o.add("<path class=\"axis\" d=\"M{} {}V{}H{}{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", px(f.left), px(f.top),
        px(f.top + f.h), px(f.left + f.w), ticks, kAxis);
  o.add("<g class=\"ticks\" font-size=\"11\" fill=\"{}\">", kMuted);
  x_tick_labels(o, p);
  for (const auto& t : p.y.ticks)
    if (!t.label.empty())
      o.add("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", px(f.left - 8), px(p.Y(t.value) + 4), xml_escape(t.label));
  o.add("</g>");
  x_title(o, p, x_title_text, p.x.log);
  if (!y_title_text.empty())
    o.add("<text class=\"y-label\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12.5\" "
          "fill=\"{}\">{}</text>",
          px(14), px(f.top + f.h / 2), kInk, xml_escape(y_title_text + (p.y.log ? " (log scale)" : "")));
}

void draw_value_axis(Out& o, const Plane& p, const std::string& x_title_text) {
  const Frame& f = p.area;
  std::string grid, ticks;
  for (const auto& t : p.x.ticks) {
    grid += fmt::format("M{} {}V{}", px(p.X(t.value)), px(f.top), px(f.top + f.h));
    ticks += fmt::format("M{} {}v5", px(p.X(t.value)), px(f.top + f.h));
  }
  o.add("<path class=\"grid\" d=\"{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", grid, kGrid);
  o.add("<path class=\"axis\" d=\"M{} {}V{}M{} {}H{}{}\" stroke=\"{}\" stroke-width=\"1\" fill=\"none\"/>", px(p.X(0)),
        px(f.top), px(f.top + f.h), px(f.left), px(f.top + f.h), px(f.left + f.w), ticks, kAxis);
  o.add("<g class=\"ticks\" font-size=\"11\" fill=\"{}\">", kMuted);
  x_tick_labels(o, p);
  o.add("</g>");
  x_title(o, p, x_title_text, false);
}

}  // namespace eidetic::harness::svg
