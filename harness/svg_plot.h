// harness/svg_plot.h: plots of a run's metrics.json drawn as plain SVG text.
//
// Reports must open anywhere, offline, years later, so plots are static SVG written by hand:
// no scripts, no fonts to fetch, no plotting library. One plot spec (an element of
// metrics.json's "plots") goes in, one <svg> element comes out. Spec keys:
//   id, title, kind ("line", "scatter", "roc", "roc_log" or "bar"), x_label, y_label, log_x, log_y,
//   series: [{name, points: [[x, y], ...], ci: [[low, high], ...]}],
//   fit: {kind: "loglinear" (y = intercept + slope * ln x) or "linear", slope, intercept, r2},
//   unit (bar plots: appended to the value labels, e.g. " s").
// Everything but "series" is optional. Null coordinates (JSON's NaN) and, on a logarithmic
// axis, values <= 0 are left out, and the plot says so in a note under the legend. A "roc"
// plot has both axes fixed to [0, 1] and the chance diagonal. A "roc_log" plot draws the same
// curves with both rates on logarithmic axes, from the decade of the smallest positive rate up
// to 1, where the low false-positive rates membership inference is judged at can be read (the
// point (0, 0) every ROC curve starts at cannot be drawn there). A "bar" plot draws horizontal
// bars: a point's x is its category (a string or a number) and its y the bar's length.
// Drawn data elements carry the class "mark" (lines, markers, error bars, bars, fit curve).
//
// The plotter's parts: svg_spec (reading the spec), svg_axes (scales, ticks, axis drawing),
// svg_series (lines, markers, error bars, bars, the chance line), svg_fit (the fitted curve),
// svg_legend (legend and notes), svg_draw (what they share); this file's .cpp lays them out.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace eidetic::harness {

struct SvgOptions {
  int width = 720;          // pixels; "roc" plots are square and narrower
  int height = 400;         // pixels of title, plot area and axes; legend and notes add to it
  bool xmlns = true;        // false for SVG placed inside HTML, which needs no namespace URL
  std::string id_prefix;    // prefix of ids inside the SVG (clip paths): unique per document;
                            // empty: "eidetic-" + the plot's id
};

// The SVG element for one plot spec. Throws eidetic::Error naming the offending key when the
// spec has the wrong shape (a point that is not [x, y], a "ci" of another length, ...).
std::string render_svg_plot(const nlohmann::json& plot, const SvgOptions& options = {});

// Throws eidetic::Error as render_svg_plot would for a spec of the wrong shape; draws nothing.
void check_plot_spec(const nlohmann::json& plot);

// The "roc_log" twin of a "roc" spec: the same series on log-log axes, its id suffixed "_log" and
// its title " (log-log)".
nlohmann::json roc_log_view(const nlohmann::json& roc);

// A "bar" plot spec of the seconds spent per phase of metrics.json's "profile" (pipeline
// order: load, tokenize, prefill, decode, score, match, write, then any others). Its series is
// empty when the profile has no phases.
nlohmann::json profile_phase_plot(const nlohmann::json& profile);

// Text made safe for XML and HTML content and attribute values (& < > " ' escaped; control
// characters XML does not allow are dropped).
std::string xml_escape(std::string_view text);

// A number for people: integers in full, others to `significant` digits with trailing zeros
// trimmed, very large or small magnitudes in exponent form (1.5e-05 -> "1.5e-5"); "NaN" and
// "inf" for the non-finite.
std::string format_number(double value, int significant = 4);

}  // namespace eidetic::harness
