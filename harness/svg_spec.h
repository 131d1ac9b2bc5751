// harness/svg_spec.h: a plot spec (an element of metrics.json's "plots") read into typed form,
// with every shape error reported as the key where it is (see svg_plot.h for the keys).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "harness/svg_draw.h"

namespace eidetic::harness::svg {

struct Point {
  double x = kNaN, y = kNaN, lo = kNaN, hi = kNaN;  // lo, hi: the error bar; NaN when none
  std::string category;                             // bar plots: the label of the bar
  bool ok = false;                                  // drawable on the chosen axes
};

struct Series {
  std::string name;
  std::vector<Point> points;
};

// A fitted curve: "loglinear" (y = intercept + slope * ln x) or "linear" (y = intercept +
// slope * x); any other kind, or a missing slope or intercept, is not drawn.
struct Fit {
  bool present = false;
  std::string kind;
  double slope = kNaN, intercept = kNaN, r2 = kNaN;
};

struct Spec {
  std::string id, title, kind, x_label, y_label, unit;
  bool log_x = false, log_y = false;
  std::vector<Series> series;
  Fit fit;  // line, scatter and ROC plots only
};

// Throws eidetic::Error naming the plot and the key (series[0].points[1], fit.slope, ...).
Spec parse_spec(const nlohmann::json& plot);

}  // namespace eidetic::harness::svg
