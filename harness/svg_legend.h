// harness/svg_legend.h: what sits under a plot: the legend (one swatch and label per series, the
// fit, the chance line; wrapped into rows) and notes saying what could not be drawn.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "harness/svg_draw.h"

namespace eidetic::harness::svg {

enum class Swatch { line, marker, line_and_marker, dashed, bar };

struct LegendEntry {
  std::string label;
  std::string color;
  Swatch swatch;
};

class Key {
 public:
  std::vector<LegendEntry> legend;
  std::vector<std::string> notes;

  // Lays the legend out in rows from (x, top), none wider than max_width, with the notes below;
  // returns the y where the key ends.
  double place(double x, double top, double max_width);
  // Draws what place() laid out.
  void draw(Out& o) const;

 private:
  std::vector<std::pair<double, double>> at_;  // per legend entry: x, and baseline y below top_
  double x_ = 0, top_ = 0, notes_top_ = 0;
};

}  // namespace eidetic::harness::svg
