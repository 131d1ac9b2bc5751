// harness/svg_draw.h: what every part of an SVG plot draws with: an output buffer, pixel
// coordinates as short text, the colours, and text widths estimated from character counts.
//
// The parts (svg_axes, svg_series, svg_legend, svg_fit) and the two layouts in svg_plot.cpp
// share this vocabulary; none of it is visible outside the plotter.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace eidetic::harness::svg {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline constexpr const char* kFont = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
inline constexpr const char* kInk = "#111827";     // titles, labels, legend text
inline constexpr const char* kMuted = "#4b5563";   // tick labels, notes, value labels
inline constexpr const char* kAxis = "#6b7280";    // axis lines and tick marks
inline constexpr const char* kGrid = "#e5e7eb";    // grid lines
inline constexpr const char* kFitColor = "#374151";
inline constexpr const char* kChanceColor = "#9ca3af";

// The colour of the i-th series: Okabe & Ito's colour-blind-safe palette, then a few more.
const char* color_of(size_t i);

// Estimated rendered width of text at a font size (the average sans-serif advance).
double text_width(std::string_view s, double size);

// Text cut to at most `max_chars` code points, ending with an ellipsis when cut.
std::string shorten(const std::string& s, size_t max_chars);

// A coordinate: two decimals, trailing zeros trimmed, clamped far outside any drawing so that
// the text stays short.
std::string px(double v);

// "1 point", "3 points".
std::string plural(size_t n, const char* one, const char* many);

// A number in exponent form with `significant` digits and a plain exponent: 1.5e-05 -> "1.5e-5".
std::string exponent_form(double v, int significant);

// The SVG text being written.
struct Out {
  std::string s;
  template <typename... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(s), f, std::forward<Args>(args)...);
  }
};

}  // namespace eidetic::harness::svg
