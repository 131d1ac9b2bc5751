// metrics/stats.cpp: see stats.h.
#include "metrics/stats.h"

#include <algorithm>
#include <cmath>

#include "kernels/rng.h"

namespace eidetic::metrics {

Interval bootstrap_mean(const std::vector<double>& values, int samples, double confidence, uint64_t seed) {
  Interval r;
  r.n = static_cast<int64_t>(values.size());
  if (values.empty()) return r;
  double sum = 0;
  for (double v : values) sum += v;
  r.value = sum / static_cast<double>(values.size());
  std::vector<double> means(static_cast<size_t>(samples));
  const uint64_t n = values.size();
  for (int s = 0; s < samples; ++s) {
    double acc = 0;
    for (uint64_t i = 0; i < n; ++i)
      acc += values[kernels::random_bits(seed, 0xb007, static_cast<uint64_t>(s), i) % n];
    means[static_cast<size_t>(s)] = acc / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double alpha = (1.0 - confidence) / 2.0;
  auto at = [&](double q) {
    const auto i = static_cast<size_t>(std::clamp(q * (samples - 1), 0.0, static_cast<double>(samples - 1)));
    return means[i];
  };
  r.low = at(alpha);
  r.high = at(1.0 - alpha);
  return r;
}

LogLinearFit loglinear_fit(const std::vector<double>& x, const std::vector<double>& y) {
  LogLinearFit f;
  std::vector<double> lx, ly;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (x[i] > 0 && std::isfinite(y[i])) lx.push_back(std::log(x[i])), ly.push_back(y[i]);
  f.points = static_cast<int64_t>(lx.size());
  if (lx.size() < 2) return f;
  const double n = static_cast<double>(lx.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < lx.size(); ++i) mx += lx[i], my += ly[i];
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < lx.size(); ++i) {
    sxx += (lx[i] - mx) * (lx[i] - mx);
    sxy += (lx[i] - mx) * (ly[i] - my);
    syy += (ly[i] - my) * (ly[i] - my);
  }
  if (sxx == 0) return f;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  // r^2 = sxy^2 / (sxx syy) <= 1 by Cauchy-Schwarz; rounding can push it a few ulp past 1.
  f.r2 = syy == 0 ? 1.0 : std::min(1.0, (sxy * sxy) / (sxx * syy));
  return f;
}

}  // namespace eidetic::metrics
