// attacks/summary.cpp: see summary.h.
#include "attacks/summary.h"

#include <cmath>
#include <functional>

#include "common/error.h"
#include "metrics/stats.h"

namespace eidetic::attacks {

using nlohmann::json;

json metric_json(const std::string& name, const metrics::Interval& i, const std::string& what) {
  return {{"name", name}, {"value", i.value}, {"ci_low", i.low}, {"ci_high", i.high}, {"n", i.n}, {"description", what}};
}

namespace {

// One bucket's outcome: its interval, how many of its items were extracted, and where it
// sits on the plot's x axis.
struct BucketRate {
  int64_t key;
  double x;
  size_t items;
  int64_t extracted;
  metrics::Interval rate;
};

std::vector<BucketRate> bucket_rates(const std::map<int64_t, std::vector<double>>& buckets, uint64_t seed,
                                     const std::function<double(int64_t)>& x_of) {
  std::vector<BucketRate> out;
  for (const auto& [k, v] : buckets) {
    int64_t extracted = 0;
    for (double x : v) extracted += x > 0.5;
    out.push_back({k, x_of(k), v.size(), extracted, metrics::bootstrap_mean(v, 1000, 0.95, seed + static_cast<uint64_t>(k))});
  }
  return out;
}

// The rate plot of `rates` with its log-linear fit (two or more buckets).
json rate_plot(const std::vector<BucketRate>& rates, const std::string& id, const std::string& title,
               const std::string& x_label) {
  json points = json::array(), ci = json::array();
  std::vector<double> xs, ys;
  for (const auto& b : rates) {
    points.push_back({b.x, b.rate.value});
    ci.push_back({b.rate.low, b.rate.high});
    xs.push_back(b.x);
    ys.push_back(b.rate.value);
  }
  json plot = {{"id", id},
               {"title", title},
               {"kind", "line"},
               {"x_label", x_label},
               {"y_label", "exact extraction rate"},
               {"log_x", true},
               {"series", {{{"name", "exact"}, {"points", points}, {"ci", ci}}}}};
  if (rates.size() >= 2) {
    const auto fit = metrics::loglinear_fit(xs, ys);
    plot["fit"] = {{"kind", "loglinear"}, {"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}};
  }
  return plot;
}

}  // namespace

json bucket_summary(const std::map<int64_t, std::vector<double>>& buckets, const std::string& key, const std::string& title,
                    const std::string& x_label, uint64_t seed, json& out) {
  const auto rates = bucket_rates(buckets, seed, [](int64_t k) { return static_cast<double>(k); });
  json rows = json::array(), list = json::array();
  for (const auto& b : rates) {
    rows.push_back({b.key, static_cast<int64_t>(b.items), b.extracted, b.rate.value});
    list.push_back({{key, b.key}, {"items", b.items}, {"extracted", b.extracted}, {"rate", b.rate.value},
                    {"ci_low", b.rate.low}, {"ci_high", b.rate.high}});
  }
  out["tables"].push_back({{"id", "extraction_by_" + key}, {"title", title}, {"columns", {key, "items", "extracted", "rate"}}, {"rows", rows}});
  out["plots"].push_back(rate_plot(rates, "rate_by_" + key, title, x_label));
  return list;
}

int64_t log_grid_bin(int64_t count) {
  if (count < 1) throw Error("log_grid_bin: a count must be at least 1");
  // n = floor(log2(count^4)) = bit length of count^4, minus one; count^4 < 2^128 for any
  // int64 below 2^32, and counts past that do not occur.
  if (count >= (int64_t{1} << 32)) throw Error("log_grid_bin: count " + std::to_string(count) + " is too large");
  const auto c = static_cast<unsigned __int128>(count);
  unsigned __int128 x = c * c * c * c;
  int64_t n = -1;
  while (x) x >>= 1, ++n;
  return n;
}

json log_grid_summary(const std::map<int64_t, std::vector<double>>& bins, uint64_t seed, json& out) {
  const auto edge = [](double n) { return std::exp2(n / 4); };
  const auto rates = bucket_rates(bins, seed, [&](int64_t n) { return edge(static_cast<double>(n) + 0.5); });
  json rows = json::array(), list = json::array();
  for (const auto& b : rates) {
    const double from = edge(static_cast<double>(b.key)), to = edge(static_cast<double>(b.key + 1));
    rows.push_back({b.key, from, to, static_cast<int64_t>(b.items), b.extracted, b.rate.value});
    list.push_back({{"bin", b.key}, {"from", from}, {"to", to}, {"items", b.items}, {"extracted", b.extracted},
                    {"rate", b.rate.value}, {"ci_low", b.rate.low}, {"ci_high", b.rate.high}});
  }
  const std::string title = "Extraction rate against duplicate count, log grid [2^(n/4), 2^((n+1)/4))";
  out["tables"].push_back({{"id", "extraction_by_duplicates_log_grid"},
                           {"title", title},
                           {"columns", {"bin", "from", "to", "items", "extracted", "rate"}},
                           {"rows", rows}});
  out["plots"].push_back(rate_plot(rates, "rate_by_duplicates_log_grid", title, "copies in the training data (bin middle)"));
  return list;
}

}  // namespace eidetic::attacks
