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

// The bin n of Carlini et al. 2022's log grid holding `count` (>= 1): 2^(n/4) <= count <
// 2^((n+1)/4), four bins per doubling, computed exactly in integers (count^4 against 2^n).
int64_t log_grid_bin(int64_t count);

// As bucket_summary, for buckets keyed by log-grid bin: a table "extraction_by_duplicates_log_grid"
// with each bin's edges, and a plot of the rate at each bin's geometric middle 2^((n + 1/2)/4).
nlohmann::json log_grid_summary(const std::map<int64_t, std::vector<double>>& bins, uint64_t seed, nlohmann::json& out);

}  // namespace eidetic::attacks
