// harness/svg_draw.cpp: see svg_draw.h.
#include "harness/svg_draw.h"

#include <algorithm>
#include <cmath>

namespace eidetic::harness::svg {
namespace {

constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                    "#56B4E9", "#882255", "#000000", "#44AA99", "#999933"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

const char* color_of(size_t i) { return kPalette[i % kPaletteSize]; }

double text_width(std::string_view s, double size) { return static_cast<double>(utf8_length(s)) * size * 0.58; }

std::string shorten(const std::string& s, size_t max_chars) {
  if (utf8_length(s) <= max_chars) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > max_chars - 1) break;
    out += s[i];
  }
  return out + "\u2026";
}

std::string px(double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::clamp(v, -1e6, 1e6);
  std::string s = fmt::format("{:.2f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string exponent_form(double v, int significant) {
  std::string s = fmt::format("{:.{}e}", v, significant - 1);
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  if (mant.find('.') != std::string::npos) {
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  return mant + "e" + std::to_string(std::stoi(s.substr(e + 1)));
}

}  // namespace eidetic::harness::svg
