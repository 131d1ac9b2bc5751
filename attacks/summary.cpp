// attacks/summary.cpp: see summary.h.
#include "attacks/summary.h"

#include "metrics/stats.h"

namespace eidetic::attacks {

using nlohmann::json;

json metric_json(const std::string& name, const metrics::Interval& i, const std::string& what) {
  return {{"name", name}, {"value", i.value}, {"ci_low", i.low}, {"ci_high", i.high}, {"n", i.n}, {"description", what}};
}

json bucket_summary(const std::map<int64_t, std::vector<double>>& buckets, const std::string& key, const std::string& title,
                    const std::string& x_label, uint64_t seed, json& out) {
  json rows = json::array(), list = json::array(), points = json::array(), ci = json::array();
  std::vector<double> xs, ys;
  for (const auto& [k, v] : buckets) {
    const auto r = metrics::bootstrap_mean(v, 1000, 0.95, seed + static_cast<uint64_t>(k));
    int64_t extracted = 0;
    for (double x : v) extracted += x > 0.5;
    rows.push_back({k, static_cast<int64_t>(v.size()), extracted, r.value});
    list.push_back({{key, k}, {"items", v.size()}, {"extracted", extracted}, {"rate", r.value}, {"ci_low", r.low}, {"ci_high", r.high}});
    points.push_back({k, r.value});
    ci.push_back({r.low, r.high});
    xs.push_back(static_cast<double>(k));
    ys.push_back(r.value);
  }
  json plot = {{"id", "rate_by_" + key},
               {"title", title},
               {"kind", "line"},
               {"x_label", x_label},
               {"y_label", "exact extraction rate"},
               {"log_x", true},
               {"series", {{{"name", "exact"}, {"points", points}, {"ci", ci}}}}};
  if (buckets.size() >= 2) {
    const auto fit = metrics::loglinear_fit(xs, ys);
    plot["fit"] = {{"kind", "loglinear"}, {"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}};
  }
  out["tables"].push_back({{"id", "extraction_by_" + key}, {"title", title}, {"columns", {key, "items", "extracted", "rate"}}, {"rows", rows}});
  out["plots"].push_back(plot);
  return list;
}

}  // namespace eidetic::attacks
