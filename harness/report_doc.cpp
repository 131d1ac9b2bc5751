// harness/report_doc.cpp: the text spans, and the builders of report_doc.h that both the run
// report and the comparison use.
#include "harness/report_doc.h"

#include <cmath>

#include "common/error.h"
#include "eidetic/build_info.h"
#include "harness/svg_plot.h"

namespace eidetic::harness::report {
namespace {

bool is_true(const json& obj, const char* key) {
  const json* b = member(obj, key);
  return b && b->is_boolean() && b->get<bool>();
}

std::vector<Plot::Series> series_text(const json& plot) {
  std::vector<Plot::Series> out;
  const json* series = member(plot, "series");
  if (!series || !series->is_array()) return out;
  for (const auto& s : *series) {
    Plot::Series sv;
    sv.name = str(s, "name");
    const json* pts = member(s, "points");
    const json* ci = member(s, "ci");
    if (pts && pts->is_array()) {
      for (size_t k = 0; k < pts->size(); ++k) {
        const json& p = (*pts)[k];
        std::array<std::string, 3> row;
        row[0] = p.is_array() && p.size() > 0 ? text_of(p[0]) : "";
        row[1] = p.is_array() && p.size() > 1 ? text_of(p[1]) : "";
        if (row[1].empty()) row[1] = "NaN";
        if (ci && ci->is_array() && k < ci->size() && (*ci)[k].is_array() && (*ci)[k].size() == 2)
          row[2] = "[" + text_of((*ci)[k][0]) + ", " + text_of((*ci)[k][1]) + "]";
        sv.points.push_back(row);
      }
    }
    out.push_back(std::move(sv));
  }
  return out;
}

}  // namespace

Text plain(std::string s) { return {{Style::plain, std::move(s)}}; }
Text code(std::string s) { return {{Style::code, std::move(s)}}; }
Text strong(std::string s) { return {{Style::strong, std::move(s)}}; }
Text muted(std::string s) { return {{Style::muted, std::move(s)}}; }

Text operator+(Text a, const Text& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string fit_text(const json& fit) {
  if (!fit.is_object()) return "";
  const std::string kind = str(fit, "kind");
  const double slope = num(fit, "slope"), intercept = num(fit, "intercept"), r2 = num(fit, "r2");
  if (!std::isfinite(slope) || !std::isfinite(intercept)) return "";
  std::string s;
  const std::string sign = slope < 0 ? " \u2212 " : " + ";
  if (kind == "loglinear")
    s = "log-linear fit: y = " + format_number(intercept, 3) + sign + format_number(std::abs(slope), 3) +
        "\u00b7ln(x); slope " + format_number(slope, 3) + " per e-fold of x";
  else if (kind == "linear")
    s = "linear fit: y = " + format_number(intercept, 3) + sign + format_number(std::abs(slope), 3) + "\u00b7x; slope " +
        format_number(slope, 3);
  else
    s = kind + " fit: slope " + format_number(slope, 3) + ", intercept " + format_number(intercept, 3);
  if (std::isfinite(r2)) s += ", R\u00b2 = " + format_number(r2, 3);
  return s;
}

Plot make_plot(const json& spec, const std::string& svg_id, const std::string& where) {
  try {
    check_plot_spec(spec);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  } catch (const json::exception& e) {
    throw Error(where + ": " + json_message(e));
  }
  Plot v;
  v.svg_id = svg_id;
  v.id = str(spec, "id");
  v.title = str(spec, "title");
  if (v.title.empty()) v.title = v.id;
  v.kind = str(spec, "kind");
  if (v.kind.empty()) v.kind = "line";
  v.views = {spec};
  if (v.kind == "roc") v.views.push_back(roc_log_view(spec));
  std::string x = str(spec, "x_label"), y = str(spec, "y_label");
  if (v.kind != "roc" && is_true(spec, "log_x")) x += x.empty() ? "log scale" : " (log scale)";
  if (v.kind != "roc" && is_true(spec, "log_y")) y += y.empty() ? "log scale" : " (log scale)";
  if (!x.empty() || !y.empty())
    v.axes = (x.empty() ? "" : "x: " + x) + (x.empty() || y.empty() ? "" : "; ") + (y.empty() ? "" : "y: " + y);
  if (const json* fit = member(spec, "fit")) v.fit = fit_text(*fit);
  v.series = series_text(spec);
  for (const auto& s : v.series) v.total_points += s.points.size();
  return v;
}

Text written_by(bool many_runs) {
  return plain(std::string("Written by Eidetic ") + EIDETIC_VERSION + " from " + (many_runs ? "each run's " : "")) +
         code("manifest.json") + plain(" and ") + code("metrics.json") + plain(".");
}

}  // namespace eidetic::harness::report
