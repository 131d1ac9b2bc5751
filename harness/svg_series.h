// harness/svg_series.h: the data marks of a plot. Every drawn data element carries the class
// "mark": lines, markers, error bars, bars (and, in svg_fit, the fit curve).
//
// - Points that cannot be drawn (a missing or non-finite coordinate; on a logarithmic axis, a
//   value <= 0) are left out and counted in a note; a line breaks where they were.
// - Lines longer than 1000 points are thinned to about one point per half pixel of travel.
// - Markers: always on scatter plots and on points that stand alone; on lines with at most 100
//   drawable points (30 for ROC curves).
#pragma once

#include <string>
#include <vector>

#include "harness/svg_axes.h"
#include "harness/svg_spec.h"

namespace eidetic::harness::svg {

// The extent of the drawable points (error bars included), all infinite when there are none.
struct Extent {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  bool empty() const { return !(x_min <= x_max); }
};

// Sets Point::ok for every point that can be drawn on the chosen axes; adds a note per kind of
// point left out.
Extent mark_drawable(std::vector<Series>& series, bool log_x, bool log_y, std::vector<std::string>& notes);

enum class SeriesStyle { line, scatter, roc };

// One series as a <g class="series">: error bars, then lines (not for scatter), then markers.
void draw_series(Out& o, const Plane& p, const Series& s, const char* color, SeriesStyle style);

// The chance diagonal of a ROC plot, y = x from the axes' low corner to their high one.
void draw_chance(Out& o, const Plane& p);

// Horizontal bars: values by series and category, in the order categories first appear.
struct BarChart {
  std::vector<std::string> categories;
  std::vector<std::string> series;
  std::vector<std::vector<double>> value;  // [series][category]; NaN: no bar
  std::string unit;                        // appended to value labels
  double min = 0, max = 0;                 // of the drawn values and zero
};
BarChart collect_bars(const Spec& s, std::vector<std::string>& notes);

// One group per category (its label left of the axis), one bar of height bar_h per series in
// it, groups `gap` apart from p.area.top down, each bar labelled with its value.
void draw_bars(Out& o, const Plane& p, const BarChart& chart, double bar_h, double gap);

}  // namespace eidetic::harness::svg
