// harness/svg_axes.h: the axes of a plot: scales (linear with "nice" ticks at 1, 2, 5 x 10^k;
// logarithmic with ticks at powers of ten), the map from data to pixels, and the drawing of
// grid lines, axis lines, tick marks, tick labels and axis titles.
#pragma once

#include <string>
#include <vector>

#include "harness/svg_draw.h"

namespace eidetic::harness::svg {

struct Tick {
  double value;
  std::string label;  // empty: an unlabelled minor tick (no grid line)
};

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<Tick> ticks;
  // Where v falls between lo (0) and hi (1); NaN for v <= 0 on a logarithmic axis.
  double frac(double v) const;
};

// A linear axis over [mn, mx] widened to whole steps of a nice size, about `target` of them;
// zero is kept in view when the data sit close to it.
Axis linear_axis(double mn, double mx, int target = 5);
// Decades from the one at or below mn to the one at or above mx; minor ticks (2..9) when the
// axis spans five decades or fewer, labelled at 2 and 5 when it spans one.
Axis log_axis(double mn, double mx);
// [0, 1] in steps of 0.2: the rates of a ROC curve.
Axis unit_axis();
// Decades from the one at or below `smallest` (a positive rate; at most 0.1) up to 1: the
// rates of a ROC curve on a logarithmic axis.
Axis rate_log_axis(double smallest);

// The plot area in pixels.
struct Frame {
  double left = 0, top = 0, w = 0, h = 0;
};

// Two axes over a frame: data coordinates to pixels (SVG's y grows downwards).
struct Plane {
  Axis x, y;
  Frame area;
  double X(double v) const { return area.left + x.frac(v) * area.w; }
  double Y(double v) const { return area.top + area.h - y.frac(v) * area.h; }
};

// Grid lines at labelled ticks, the left and bottom axis lines with tick marks, tick labels, and
// the axis titles (" (log scale)" added on a logarithmic axis). An empty title is not drawn.
void draw_xy_axes(Out& o, const Plane& p, const std::string& x_title, const std::string& y_title);

// The value axis of horizontal bars: vertical grid lines, the line at zero, the bottom axis with
// its labels and title. Only p.x is used.
void draw_value_axis(Out& o, const Plane& p, const std::string& x_title);

}  // namespace eidetic::harness::svg
