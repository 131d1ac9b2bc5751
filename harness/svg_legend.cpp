// harness/svg_legend.cpp: see svg_legend.h.
#include "harness/svg_legend.h"

#include "harness/svg_plot.h"

namespace eidetic::harness::svg {
namespace {

constexpr double kLegendFont = 12;
constexpr double kLegendRow = 19;
constexpr double kNoteFont = 11;
constexpr double kNoteRow = 15;
constexpr double kSwatch = 22;  // width of a swatch; its label starts 8 pixels after it

void draw_swatch(Out& o, const LegendEntry& e, double x, double mid) {
  switch (e.swatch) {
    case Swatch::bar:
      o.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"10\" fill=\"{}\"/>", px(x), px(mid - 5), kSwatch, e.color);
      return;
    case Swatch::dashed:
      o.add("<path d=\"M{} {}h{}\" stroke=\"{}\" stroke-width=\"1.75\" stroke-dasharray=\"5 3\"/>", px(x), px(mid), kSwatch,
            e.color);
      return;
    case Swatch::line:
    case Swatch::line_and_marker:
      o.add("<path d=\"M{} {}h{}\" stroke=\"{}\" stroke-width=\"2\"/>", px(x), px(mid), kSwatch, e.color);
      if (e.swatch == Swatch::line) return;
      [[fallthrough]];
    case Swatch::marker:
      o.add("<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>", px(x + kSwatch / 2), px(mid), e.color);
  }
}

}  // namespace

double Key::place(double x, double top, double max_width) {
  x_ = x;
  top_ = top;
  at_.clear();
  double cx = x, row = 0;
  for (const auto& e : legend) {
    const double w = kSwatch + 8 + text_width(e.label, kLegendFont) + 18;
    if (cx > x && cx + w > x + max_width) {
      cx = x;
      row += 1;
    }
    at_.emplace_back(cx, row * kLegendRow + 13);
    cx += w;
  }
  notes_top_ = top + (legend.empty() ? 0 : (row + 1) * kLegendRow + 4);
  return notes_top_ + kNoteRow * static_cast<double>(notes.size());
}

void Key::draw(Out& o) const {
  if (!legend.empty()) {
    o.add("<g class=\"legend\" font-size=\"{}\" fill=\"{}\">", kLegendFont, kInk);
    for (size_t i = 0; i < legend.size(); ++i) {
      const double x = at_[i].first, y = top_ + at_[i].second;
      draw_swatch(o, legend[i], x, y - 4);
      o.add("<text x=\"{}\" y=\"{}\">{}</text>", px(x + kSwatch + 8), px(y), xml_escape(legend[i].label));
    }
    o.add("</g>");
  }
  if (notes.empty()) return;
  o.add("<g class=\"notes\" font-size=\"{}\" font-style=\"italic\" fill=\"{}\">", kNoteFont, kMuted);
  for (size_t i = 0; i < notes.size(); ++i)
    o.add("<text x=\"{}\" y=\"{}\">{}</text>", px(x_), px(notes_top_ + 11 + kNoteRow * static_cast<double>(i)),
          xml_escape(notes[i]));
  o.add("</g>");
}

}  // namespace eidetic::harness::svg
