// harness/svg_spec.cpp: see svg_spec.h.
#include "harness/svg_spec.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "harness/svg_plot.h"

namespace eidetic::harness::svg {
namespace {

using json = nlohmann::json;

std::string str_field(const json& obj, const char* key, const std::string& def = "") {
  if (!obj.is_object() || !obj.contains(key)) return def;
  const json& v = obj.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return def;
  return v.dump();
}

bool bool_field(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return false;
  const json& v = obj.at(key);
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  return false;
}

// A number, null (NaN), or one of the names JSON writers use for the non-finite.
double as_number(const json& v, const std::string& where) {
  if (v.is_null()) return kNaN;
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN" || s == "nan") return kNaN;
    if (s == "inf" || s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-inf" || s == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  throw Error(where + ": expected a number, got " + v.dump());
}

Fit parse_fit(const json& fit, const std::string& where) {
  Fit f;
  f.present = true;
  f.kind = str_field(fit, "kind");
  if (fit.contains("slope")) f.slope = as_number(fit.at("slope"), where + ".slope");
  if (fit.contains("intercept")) f.intercept = as_number(fit.at("intercept"), where + ".intercept");
  if (fit.contains("r2")) f.r2 = as_number(fit.at("r2"), where + ".r2");
  return f;
}

Point parse_point(const json& p, const json* ci, const std::string& kind, const std::string& pw, const std::string& cw) {
  if (!p.is_array() || p.size() < 2) throw Error(pw + ": expected [x, y], got " + p.dump());
  Point pt;
  if (kind == "bar" && p[0].is_string()) {
    pt.category = p[0].get<std::string>();
    pt.x = 0;
  } else {
    pt.x = as_number(p[0], pw);
    if (kind == "bar") pt.category = format_number(pt.x);
  }
  pt.y = as_number(p[1], pw);
  if (ci && !ci->is_null()) {
    if (!ci->is_array() || ci->size() != 2) throw Error(cw + ": expected [low, high], got " + ci->dump());
    pt.lo = as_number((*ci)[0], cw);
    pt.hi = as_number((*ci)[1], cw);
  }
  return pt;
}

Series parse_series(const json& js, size_t i, const std::string& kind, const std::string& where) {
  const std::string sw = where + ": series[" + std::to_string(i) + "]";
  if (!js.is_object()) throw Error(sw + ": expected an object");
  Series out;
  out.name = str_field(js, "name", "series " + std::to_string(i + 1));
  const json empty = json::array();
  const json& pts = js.contains("points") && !js.at("points").is_null() ? js.at("points") : empty;
  if (!pts.is_array()) throw Error(sw + ": \"points\" must be an array of [x, y]");
  const json* ci = js.contains("ci") && !js.at("ci").is_null() ? &js.at("ci") : nullptr;
  if (ci && (!ci->is_array() || ci->size() != pts.size()))
    throw Error(sw + ": \"ci\" must be an array of [low, high] with one entry per point (" + std::to_string(pts.size()) + ")");
  for (size_t k = 0; k < pts.size(); ++k)
    out.points.push_back(parse_point(pts[k], ci ? &(*ci)[k] : nullptr, kind, sw + ".points[" + std::to_string(k) + "]",
                                     sw + ".ci[" + std::to_string(k) + "]"));
  return out;
}

}  // namespace

Spec parse_spec(const json& plot) {
  if (!plot.is_object()) throw Error("plot: expected an object, got " + std::string(plot.type_name()));
  Spec s;
  s.id = str_field(plot, "id");
  const std::string where = "plot '" + s.id + "'";
  s.title = str_field(plot, "title");
  s.kind = str_field(plot, "kind", "line");
  if (s.kind != "line" && s.kind != "scatter" && s.kind != "roc" && s.kind != "roc_log" && s.kind != "bar")
    throw Error(where + ": unknown kind '" + s.kind + "' (expected line, scatter, roc, roc_log or bar)");
  s.x_label = str_field(plot, "x_label");
  s.y_label = str_field(plot, "y_label");
  s.unit = str_field(plot, "unit");
  s.log_x = bool_field(plot, "log_x");
  s.log_y = bool_field(plot, "log_y");
  if (s.kind != "bar" && plot.contains("fit") && plot.at("fit").is_object()) s.fit = parse_fit(plot.at("fit"), where + ": fit");
  if (!plot.contains("series") || plot.at("series").is_null()) return s;
  const json& series = plot.at("series");
  if (!series.is_array()) throw Error(where + ": \"series\" must be an array");
  for (size_t i = 0; i < series.size(); ++i) s.series.push_back(parse_series(series[i], i, s.kind, where));
  return s;
}

}  // namespace eidetic::harness::svg
