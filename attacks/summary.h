// attacks/summary.h: pieces of metrics.json that several attacks share.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metrics/stats.h"

namespace eidetic::attacks {

// {"name", "value", "ci_low", "ci_high", "n", "description"}
nlohmann::json metric_json(const std::string& name, const metrics::Interval& i, const std::string& description);

// Rates of 0/1 outcomes per bucket key (duplicates, prefix length, model size...): appends a
// table and a plot with a log-linear fit (two or more buckets) to `out`, and returns the list
// [{key, items, extracted, rate, ci_low, ci_high}, ...].
nlohmann::json bucket_summary(const std::map<int64_t, std::vector<double>>& buckets, const std::string& key,
                              const std::string& title, const std::string& x_label, uint64_t seed, nlohmann::json& out);

}  // namespace eidetic::attacks
