// metrics/stats.h: the statistics every attack reports with: rates with bootstrap confidence
// intervals and log-linear fits with R² (ROC curves and AUC are in membership.h).
// Plain C++ over vectors; no libtorch.
#pragma once

#include <cstdint>
#include <vector>

namespace eidetic::metrics {

struct Interval {
  double value = 0, low = 0, high = 0;
  int64_t n = 0;
};

// Mean of `values` with a percentile bootstrap interval (`samples` resamples with replacement,
// drawn from `seed`), e.g. a rate when the values are 0/1.
Interval bootstrap_mean(const std::vector<double>& values, int samples = 1000, double confidence = 0.95,
                        uint64_t seed = 0);

// y = intercept + slope * ln(x) by least squares over points with x > 0.
struct LogLinearFit {
  double slope = 0, intercept = 0, r2 = 0;
  int64_t points = 0;
};
LogLinearFit loglinear_fit(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace eidetic::metrics
