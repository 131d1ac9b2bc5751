// harness/svg_fit.cpp: see svg_fit.h.
#include "harness/svg_fit.h"

#include <algorithm>
#include <cmath>

#include "harness/svg_plot.h"

namespace eidetic::harness::svg {
namespace {

double fit_at(const Fit& fit, double x) {
  if (fit.kind == "loglinear") return x > 0 ? fit.intercept + fit.slope * std::log(x) : kNaN;
  return fit.intercept + fit.slope * x;
}

double smallest_positive_x(const std::vector<Series>& series) {
  double smallest = INFINITY;
  for (const auto& s : series)
    for (const auto& p : s.points)
      if (p.ok && p.x > 0) smallest = std::min(smallest, p.x);
  return smallest;
}

}  // namespace

bool add_fit_to_key(const Fit& fit, Key& key) {
  if (!fit.present) return false;
  if (fit.kind != "loglinear" && fit.kind != "linear") {
    key.notes.push_back("fit of kind '" + fit.kind + "' not drawn");
    return false;
  }
  if (!std::isfinite(fit.slope) || !std::isfinite(fit.intercept)) {
    key.notes.push_back("fit without a finite slope and intercept not drawn");
    return false;
  }
  std::string label = "fit: y = " + format_number(fit.intercept, 3) + (fit.slope < 0 ? " \u2212 " : " + ") +
                      format_number(std::abs(fit.slope), 3) + (fit.kind == "loglinear" ? "\u00b7ln x" : "\u00b7x");
  if (std::isfinite(fit.r2)) label += ", R\u00b2 = " + format_number(fit.r2, 3);
  key.legend.push_back({label, kFitColor, Swatch::dashed});
  return true;
}

void draw_fit(Out& o, const Plane& p, const Fit& fit, const std::vector<Series>& series, const std::string& frame_clip_id) {
  double x0 = p.x.lo, x1 = p.x.hi;
  if (fit.kind == "loglinear" && !p.x.log && x0 <= 0) {
    const double smallest = smallest_positive_x(series);
    x0 = std::isfinite(smallest) ? std::min(smallest, x1) : x1 * 1e-3;
  }
  std::string d;
  bool pen_down = false;
  constexpr int kSamples = 128;
  for (int i = 0; i <= kSamples; ++i) {
    const double t = static_cast<double>(i) / kSamples;
    const double x = p.x.log ? x0 * std::pow(x1 / x0, t) : x0 + (x1 - x0) * t;
    const double y = fit_at(fit, x);
    if (!std::isfinite(y) || (p.y.log && y <= 0)) {
      pen_down = false;
      continue;
    }
    // Keep far-off values finite in pixels; the clip path hides them.
    const double py = std::clamp(p.Y(y), p.area.top - 2 * p.area.h, p.area.top + 3 * p.area.h);
    d += fmt::format("{}{} {}", pen_down ? "L" : "M", px(p.X(x)), px(py));
    pen_down = true;
  }
  if (!d.empty())
    o.add("<path class=\"mark fit\" d=\"{}\" stroke=\"{}\" stroke-width=\"1.75\" stroke-dasharray=\"6 4\" fill=\"none\" "
          "clip-path=\"url(#{})\"/>",
          d, kFitColor, frame_clip_id);
}

}  // namespace eidetic::harness::svg
