// harness/svg_series.cpp: see svg_series.h.
#include "harness/svg_series.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "harness/svg_plot.h"

namespace eidetic::harness::svg {
namespace {

using Pixels = std::vector<std::pair<double, double>>;

void draw_error_bars(Out& o, const Plane& p, const Series& s, const char* color) {
  const double floor_y = p.area.top + p.area.h;  // a bound <= 0 on a log axis runs to the bottom
  std::string d;
  for (const auto& q : s.points) {
    if (!q.ok || !std::isfinite(q.lo) || !std::isfinite(q.hi)) continue;
    const double x = p.X(q.x);
    const bool lo_ok = !p.y.log || q.lo > 0;
    const double y_lo = lo_ok ? p.Y(q.lo) : floor_y, y_hi = (!p.y.log || q.hi > 0) ? p.Y(q.hi) : floor_y;
    d += fmt::format("M{} {}V{}", px(x), px(y_lo), px(y_hi));
    if (lo_ok) d += fmt::format("M{} {}h8", px(x - 4), px(y_lo));
    d += fmt::format("M{} {}h8", px(x - 4), px(y_hi));
  }
  if (!d.empty())
    o.add("<path class=\"mark ci\" d=\"{}\" stroke=\"{}\" stroke-width=\"1.25\" fill=\"none\" opacity=\"0.8\"/>", d, color);
}

// The drawable points in pixels, split into runs where a point could not be drawn.
std::vector<Pixels> segments_of(const Plane& p, const Series& s) {
  std::vector<Pixels> segments(1);
  for (const auto& q : s.points) {
    if (!q.ok) {
      if (!segments.back().empty()) segments.emplace_back();
      continue;
    }
    segments.back().emplace_back(p.X(q.x), p.Y(q.y));
  }
  return segments;
}

void draw_polyline(Out& o, const Pixels& seg, const char* color) {
  std::string pts;
  std::pair<double, double> last{kNaN, kNaN};
  for (size_t k = 0; k < seg.size(); ++k) {
    const auto& q = seg[k];
    const bool keep = seg.size() <= 1000 || k == 0 || k + 1 == seg.size() || std::abs(q.first - last.first) >= 0.5 ||
                      std::abs(q.second - last.second) >= 0.5;
    if (!keep) continue;
    if (!pts.empty()) pts += ' ';
    pts += px(q.first) + "," + px(q.second);
    last = q;
  }
  o.add("<polyline class=\"mark line\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
        "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
        pts, color);
}

void draw_marker(Out& o, std::pair<double, double> q, double r, const char* color, bool translucent) {
  o.add("<circle class=\"mark point\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{}/>", px(q.first), px(q.second), px(r), color,
        translucent ? " fill-opacity=\"0.75\"" : "");
}

}  // namespace

Extent mark_drawable(std::vector<Series>& series, bool log_x, bool log_y, std::vector<std::string>& notes) {
  size_t nonfinite = 0, dropped_x = 0, dropped_y = 0;
  Extent e;
  for (auto& s : series)
    for (auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        ++nonfinite;
      } else if (log_x && p.x <= 0) {
        ++dropped_x;
      } else if (log_y && p.y <= 0) {
        ++dropped_y;
      } else {
        p.ok = true;
        e.x_min = std::min(e.x_min, p.x), e.x_max = std::max(e.x_max, p.x);
        e.y_min = std::min(e.y_min, p.y), e.y_max = std::max(e.y_max, p.y);
        for (double b : {p.lo, p.hi})
          if (std::isfinite(b) && (!log_y || b > 0)) e.y_min = std::min(e.y_min, b), e.y_max = std::max(e.y_max, b);
      }
    }
  if (nonfinite) notes.push_back(plural(nonfinite, "point", "points") + " with a missing or non-finite value not shown");
  if (dropped_x) notes.push_back(plural(dropped_x, "point", "points") + " with x \u2264 0 not shown on the logarithmic x axis");
  if (dropped_y) notes.push_back(plural(dropped_y, "point", "points") + " with y \u2264 0 not shown on the logarithmic y axis");
  return e;
}

void draw_series(Out& o, const Plane& p, const Series& s, const char* color, SeriesStyle style) {
  o.add("<g class=\"series\" data-series=\"{}\">", xml_escape(s.name));
  draw_error_bars(o, p, s, color);
  const auto segments = segments_of(p, s);
  const bool scatter = style == SeriesStyle::scatter;
  if (!scatter)
    for (const auto& seg : segments)
      if (seg.size() >= 2) draw_polyline(o, seg, color);
  size_t drawable = 0;
  for (const auto& q : s.points) drawable += q.ok;
  const bool markers = scatter || drawable <= (style == SeriesStyle::roc ? 30u : 100u);
  const double r = scatter && drawable > 500 ? 2 : 3.5;
  for (const auto& seg : segments)
    for (const auto& q : seg)
      if (markers || seg.size() == 1) draw_marker(o, q, markers ? r : 3.5, color, scatter);
  o.add("</g>");
}

void draw_chance(Out& o, const Plane& p) {
  o.add("<path class=\"chance\" d=\"M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"1.25\" stroke-dasharray=\"5 4\" "
        "fill=\"none\"/>",
        px(p.X(p.x.lo)), px(p.Y(p.x.lo)), px(p.X(p.x.hi)), px(p.Y(p.x.hi)), kChanceColor);
}

BarChart collect_bars(const Spec& s, std::vector<std::string>& notes) {
  BarChart c;
  c.unit = s.unit;
  std::map<std::string, size_t> index;
  for (const auto& series : s.series)
    for (const auto& p : series.points)
      if (index.emplace(p.category, c.categories.size()).second) c.categories.push_back(p.category);
  size_t nonfinite = 0;
  for (const auto& series : s.series) {
    c.series.push_back(series.name);
    c.value.emplace_back(c.categories.size(), kNaN);
    for (const auto& p : series.points) {
      if (!std::isfinite(p.y)) {
        ++nonfinite;
        continue;
      }
      c.value.back()[index.at(p.category)] = p.y;
      c.min = std::min(c.min, p.y), c.max = std::max(c.max, p.y);
    }
  }
  if (nonfinite) notes.push_back(plural(nonfinite, "bar", "bars") + " with a missing or non-finite value not shown");
  return c;
}

void draw_bars(Out& o, const Plane& p, const BarChart& chart, double bar_h, double gap) {
  const size_t ns = std::max<size_t>(1, chart.series.size());
  const double group_h = static_cast<double>(ns) * bar_h + gap;
  o.add("<g class=\"data\">");
  for (size_t c = 0; c < chart.categories.size(); ++c) {
    const double group_top = p.area.top + static_cast<double>(c) * group_h + gap / 2;
    o.add("<text class=\"category\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"{}\">{}</text>",
          px(p.area.left - 10), px(group_top + static_cast<double>(ns) * bar_h / 2 + 4), kInk,
          xml_escape(shorten(chart.categories[c], 40)));
    for (size_t si = 0; si < chart.series.size(); ++si) {
      const double v = chart.value[si][c];
      if (!std::isfinite(v)) continue;
      const double y = group_top + static_cast<double>(si) * bar_h;
      const double x0 = p.X(0), x1 = p.X(v);
      o.add("<rect class=\"mark bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
            px(std::min(x0, x1)), px(y + 1), px(std::abs(x1 - x0)), px(bar_h - 2), color_of(si),
            xml_escape(chart.series[si] + ", " + chart.categories[c] + ": " + format_number(v) + chart.unit));
      const bool inside_left = v < 0;
      o.add("<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
            px(inside_left ? x1 - 4 : x1 + 4), px(y + bar_h / 2 + 3.5), inside_left ? "end" : "start", kMuted,
            xml_escape(format_number(v, 3) + chart.unit));
    }
  }
  o.add("</g>");
}

}  // namespace eidetic::harness::svg
