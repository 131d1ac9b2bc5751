// harness/svg_fit.h: a fitted curve over the data (a log-linear fit of extraction rate against
// duplicate count, say): its legend entry, and the dashed curve sampled across the x axis.
#pragma once

#include <string>
#include <vector>

#include "harness/svg_axes.h"
#include "harness/svg_legend.h"
#include "harness/svg_spec.h"

namespace eidetic::harness::svg {

// Whether the fit can be drawn. When it can, adds its legend entry ("fit: y = a + b·ln x,
// R² = r"); when the spec has a fit that cannot, adds a note saying why.
bool add_fit_to_key(const Fit& fit, Key& key);

// The curve, clipped to the plot frame (the clip path `frame_clip_id`). A log-linear fit on a
// linear x axis that starts at or below zero starts at the smallest positive x of the data.
void draw_fit(Out& o, const Plane& p, const Fit& fit, const std::vector<Series>& series, const std::string& frame_clip_id);

}  // namespace eidetic::harness::svg
