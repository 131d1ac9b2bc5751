// metrics/exposure.h: the exposure of an inserted secret (Carlini et al. 2019, "The Secret
// Sharer"), as TensorFlow Privacy computes it (privacy_tests/secret_sharer/exposures.py):
//
// - interpolation: the secret's rank among R reference candidates by perplexity,
//   exposure = log2(R) - log2(rank) with rank = 1 + #{references <= secret} (a tie ranks the
//   reference first);
// - extrapolation: a skew-normal fitted by maximum likelihood to the reference perplexities
//   (scipy.stats.skewnorm.fit), exposure = -log2(SkewNormCDF(secret)).
//
// Also the skew-normal distribution itself (pdf, cdf through Owen's T, the MLE fit), which
// tests/metrics_oracle.py holds to scipy. Plain C++; no libtorch.
#pragma once

#include <cstdint>
#include <vector>

namespace eidetic::metrics {

// scipy.stats.skewnorm(a, loc, scale): density 2/scale * phi(z) * Phi(a z), z = (x - loc)/scale.
struct SkewNormal {
  double a = 0, loc = 0, scale = 1;
};

// Owen's T function T(h, a) = (1/2pi) * integral_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx,
// evaluated as (exp(-h^2/2)/2pi) integral_0^a exp(-h^2 x^2/2) / (1 + x^2) dx by globally
// adaptive Gauss-Kronrod quadrature from breaks that resolve the integrand's fall near 0
// (positive integrand: relative accuracy ~1e-15, plus the h^2/2 eps that rounding exp's
// argument costs). Odd in a.
double owens_t(double h, double a);

// log(density) and density at x. Throw eidetic::Error unless scale > 0 and the parameters are
// finite.
double skewnorm_logpdf(double x, const SkewNormal& d);
double skewnorm_pdf(double x, const SkewNormal& d);

// P(X <= x) = Phi(z) - 2 T(z, a), computed without cancellation: for a > 0 as
// erf(max(z, 0)/sqrt2) + (1/pi) integral_a^inf exp(-z^2 (1 + x^2)/2) / (1 + x^2) dx, for a < 0
// as Phi(z) + 2 T(z, -a), both sums of non-negative terms, so the tails keep their relative
// accuracy until they underflow. Clipped to [0, 1] as scipy clips it.
double skewnorm_cdf(double x, const SkewNormal& d);

// Sum of skewnorm_logpdf over `data`.
double skewnorm_log_likelihood(const std::vector<double>& data, const SkewNormal& d);

// The maximum-likelihood skew-normal for `data`: Nelder-Mead on the negative log-likelihood
// over (a, loc, log scale) (so the scale stays positive), from scipy's method-of-moments start
// (sample skewness clipped to +-0.99) and from moment-matched starts at a = -4, 0 and 4,
// restarted at its best point until that stops improving; the best of these. When the data are
// close to half-normal the likelihood keeps rising as |a| grows: a then ends large, as scipy's
// does. Throws eidetic::Error with fewer than 2 values, a non-finite value or no spread.
SkewNormal fit_skewnorm(const std::vector<double>& data);

struct ExtrapolatedExposure {
  double exposure = 0;     // -log2(cdf); +inf when unbounded
  bool unbounded = false;  // the CDF underflowed to 0 in double: no finite exposure exists
  double cdf = 0;          // skewnorm_cdf(secret, fit)
  SkewNormal fit;          // fit_skewnorm(references)
};

// TF Privacy's compute_exposure_extrapolation for one secret: -log2(skewnorm_cdf(secret,
// fit_skewnorm(references))). Throws eidetic::Error when the fit does or the secret is NaN.
ExtrapolatedExposure exposure_extrapolation(double secret, const std::vector<double>& references);

struct InterpolatedExposure {
  double exposure = 0;  // log2(R) - log2(rank)
  int64_t rank = 0;     // 1 + #{references <= secret}
};

// TF Privacy's compute_exposure_interpolation for one secret (other secrets never count toward
// its rank): from log2(R) for a secret below every reference down to log2(R / (R + 1)) < 0
// above all of them. Throws eidetic::Error with no references or a NaN value.
InterpolatedExposure exposure_interpolation(double secret, const std::vector<double>& references);

}  // namespace eidetic::metrics
