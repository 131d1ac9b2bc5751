// metrics/exposure.cpp: skew-normal distribution, its maximum-likelihood fit and the Secret
// Sharer exposure (TF Privacy's definitions); see exposure.h.
#include "metrics/exposure.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <string>

#include "common/error.h"

namespace eidetic::metrics {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Gauss-Kronrod 7/15 nodes and weights (QUADPACK's qk15).
constexpr std::array<double, 8> kXgk = {0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                                        0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                                        0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                                        0.207784955007898467600689403773245, 0.0};
constexpr std::array<double, 8> kWgk = {0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                                        0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                                        0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                                        0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
constexpr std::array<double, 4> kWg = {0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                                       0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

struct Piece {
  double lo, hi, value, error;
  bool operator<(const Piece& o) const { return error < o.error; }
};

template <class F>
Piece gk15(F&& f, double lo, double hi) {
  const double c = 0.5 * (lo + hi), h = 0.5 * (hi - lo);
  const double fc = f(c);
  double k = fc * kWgk[7], g = fc * kWg[3];
  for (int j = 0; j < 7; ++j) {
    const double f1 = f(c - h * kXgk[j]), f2 = f(c + h * kXgk[j]);
    k += kWgk[j] * (f1 + f2);
    if (j % 2 == 1) g += kWg[j / 2] * (f1 + f2);
  }
  return {lo, hi, k * h, std::fabs((k - g) * h)};
}

// Globally adaptive Gauss-Kronrod (QUADPACK's QAG strategy: bisect the piece with the largest
// error estimate) of a non-negative integrand over [breaks.front(), breaks.back()], starting
// from the pieces between consecutive `breaks` (ascending), which must resolve the integrand's
// narrow peaks: a peak inside one 15-point piece can go unseen. Relative error about 1e-15.
template <class F>
double integrate(F&& f, const std::vector<double>& breaks) {
  std::priority_queue<Piece> pieces;
  double total = 0, error = 0;
  for (size_t i = 0; i + 1 < breaks.size(); ++i) {
    if (!(breaks[i + 1] > breaks[i])) continue;
    const Piece p = gk15(f, breaks[i], breaks[i + 1]);
    total += p.value;
    error += p.error;
    pieces.push(p);
  }
  for (int iter = 0; iter < 4000 && !pieces.empty() && error > 1e-15 * std::fabs(total) && error > 1e-300; ++iter) {
    const Piece p = pieces.top();
    pieces.pop();
    const double mid = 0.5 * (p.lo + p.hi);
    if (!(mid > p.lo && mid < p.hi)) {  // cannot split further
      pieces.push(p);
      break;
    }
    const Piece l = gk15(f, p.lo, mid), r = gk15(f, mid, p.hi);
    total += l.value + r.value - p.value;
    error += l.error + r.error - p.error;
    pieces.push(l);
    pieces.push(r);
  }
  // Re-add the pieces for the final value: the running total has accumulated rounding.
  double sum = 0.0;
  while (!pieces.empty()) {
    sum += pieces.top().value;
    pieces.pop();
  }
  return sum;
}

// lo, lo + w, lo + 2w, lo + 4w, ... (below hi), hi: breaks that resolve a peak of width w at lo.
std::vector<double> geometric_breaks(double lo, double hi, double w) {
  std::vector<double> b{lo};
  for (double step = w; step > 0 && lo + step < hi; step *= 2) b.push_back(lo + step);
  b.push_back(hi);
  return b;
}

double norm_cdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }

// log Phi(x), accurate where Phi(x) underflows: below -20 the asymptotic series
// Phi(x) = phi(x)/(-x) * (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...), whose terms are below 1e-16
// relative well before they start growing.
double norm_logcdf(double x) {
  if (x > -20) return std::log(norm_cdf(x));
  const double x2 = x * x;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 12; ++k) {
    term *= -(2.0 * k - 1.0) / x2;
    sum += term;
  }
  return -0.5 * x2 - std::log(-x) - 0.5 * std::log(2 * kPi) + std::log(sum);
}

void check_params(const SkewNormal& d, const char* what) {
  if (!std::isfinite(d.a) || !std::isfinite(d.loc) || !std::isfinite(d.scale) || !(d.scale > 0))
    throw Error(std::string(what) + ": skew-normal parameters must be finite with scale > 0, got a=" +
                std::to_string(d.a) + " loc=" + std::to_string(d.loc) + " scale=" + std::to_string(d.scale));
}

double logpdf_unchecked(double x, const SkewNormal& d) {
  const double z = (x - d.loc) / d.scale;
  return std::log(2.0) - 0.5 * z * z - 0.5 * std::log(2 * kPi) + norm_logcdf(d.a * z) - std::log(d.scale);
}

double nll(const std::vector<double>& data, double a, double loc, double log_scale) {
  const SkewNormal d{a, loc, std::exp(log_scale)};
  if (!std::isfinite(a) || !std::isfinite(loc) || !(d.scale > 0) || !std::isfinite(d.scale)) return kInf;
  double s = 0.0;
  for (double x : data) s -= logpdf_unchecked(x, d);
  return std::isnan(s) ? kInf : s;
}

using Point = std::array<double, 3>;

// Nelder-Mead (reflection 1, expansion 2, contraction 1/2, shrink 1/2) from `x0` with the
// initial simplex steps `step`; stops when the simplex's values and coordinates agree to
// about 1e-12 relative, or after `max_iter` iterations.
Point nelder_mead(const std::vector<double>& data, Point x0, const Point& step, int max_iter, double& fbest) {
  auto f = [&](const Point& p) { return nll(data, p[0], p[1], p[2]); };
  std::array<Point, 4> x;
  std::array<double, 4> fx;
  x[0] = x0;
  for (int i = 0; i < 3; ++i) {
    x[i + 1] = x0;
    x[i + 1][i] += step[i];
  }
  for (int i = 0; i < 4; ++i) fx[i] = f(x[i]);
  for (int iter = 0; iter < max_iter; ++iter) {
    std::array<int, 4> order = {0, 1, 2, 3};
    std::sort(order.begin(), order.end(), [&](int a, int b) { return fx[a] < fx[b]; });
    std::array<Point, 4> xs;
    std::array<double, 4> fs;
    for (int i = 0; i < 4; ++i) xs[i] = x[order[i]], fs[i] = fx[order[i]];
    x = xs, fx = fs;
    double fspread = 0, xspread = 0;
    for (int i = 1; i < 4; ++i) {
      fspread = std::max(fspread, std::fabs(fx[i] - fx[0]));
      for (int k = 0; k < 3; ++k) xspread = std::max(xspread, std::fabs(x[i][k] - x[0][k]) / (1.0 + std::fabs(x[0][k])));
    }
    if (std::isfinite(fx[3]) && fspread <= 1e-13 * (1.0 + std::fabs(fx[0])) && xspread <= 1e-12) break;
    Point c{0, 0, 0};
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 3; ++k) c[k] += x[i][k] / 3.0;
    auto along = [&](double t) {
      Point p;
      for (int k = 0; k < 3; ++k) p[k] = c[k] + t * (x[3][k] - c[k]);
      return p;
    };
    const Point r = along(-1.0);
    const double fr = f(r);
    if (fr < fx[0]) {
      const Point e = along(-2.0);
      const double fe = f(e);
      if (fe < fr)
        x[3] = e, fx[3] = fe;
      else
        x[3] = r, fx[3] = fr;
    } else if (fr < fx[2]) {
      x[3] = r, fx[3] = fr;
    } else {
      const bool outside = fr < fx[3];
      const Point k = along(outside ? -0.5 : 0.5);
      const double fk = f(k);
      if (fk < (outside ? fr : fx[3])) {
        x[3] = k, fx[3] = fk;
      } else {
        for (int i = 1; i < 4; ++i) {
          for (int j = 0; j < 3; ++j) x[i][j] = x[0][j] + 0.5 * (x[i][j] - x[0][j]);
          fx[i] = f(x[i]);
        }
      }
    }
  }
  const int best = static_cast<int>(std::min_element(fx.begin(), fx.end()) - fx.begin());
  fbest = fx[best];
  return x[best];
}

// Runs Nelder-Mead from `start`, then again from each result with a fresh simplex while that
// lowers the negative log-likelihood (a collapsed simplex is Nelder-Mead's usual false stop).
Point minimise(const std::vector<double>& data, Point start, double spread, double& fbest) {
  Point x = start;
  fbest = nll(data, x[0], x[1], x[2]);
  for (int round = 0; round < 12; ++round) {
    const Point step = {0.5 + 0.1 * std::fabs(x[0]), 0.1 * spread, 0.1};
    double f;
    const Point y = nelder_mead(data, x, step, 4000, f);
    const bool better = f < fbest - 1e-12 * (1.0 + std::fabs(fbest));
    if (f < fbest) x = y, fbest = f;
    if (!better) break;
  }
  return x;
}

}  // namespace

double owens_t(double h, double a) {
  if (std::isnan(h) || std::isnan(a)) throw Error("owens_t: NaN argument");
  if (a < 0) return -owens_t(h, -a);
  if (a == 0) return 0.0;
  // T = exp(-h^2/2)/(2pi) integral_0^a exp(-h^2 x^2/2) / (1 + x^2) dx: the remaining
  // integrand is at most 1 (at x = 0), falls off over min(1, 1/|h|), and the limits are exact.
  const double scale = std::exp(-0.5 * h * h) / (2 * kPi);
  if (scale == 0) return 0.0;
  const double h2 = 0.5 * h * h;
  const double width = std::min(1.0, 1.0 / std::fabs(h)) / 8;
  const double integral = integrate([&](double x) { return std::exp(-h2 * x * x) / (1.0 + x * x); },
                                    geometric_breaks(0.0, a, width));
  return scale * integral;
}

double skewnorm_logpdf(double x, const SkewNormal& d) {
  check_params(d, "skewnorm_logpdf");
  return logpdf_unchecked(x, d);
}

double skewnorm_pdf(double x, const SkewNormal& d) { return std::exp(skewnorm_logpdf(x, d)); }

double skewnorm_cdf(double x, const SkewNormal& d) {
  check_params(d, "skewnorm_cdf");
  if (std::isnan(x)) throw Error("skewnorm_cdf: x is NaN");
  const double z = (x - d.loc) / d.scale;
  if (std::isinf(z)) return z > 0 ? 1.0 : 0.0;
  double F;
  if (d.a == 0) {
    F = norm_cdf(z);
  } else if (d.a < 0) {
    F = norm_cdf(z) + 2.0 * owens_t(z, -d.a);
  } else {
    // Phi(z) - 2 T(z, a) = Phi(z) - Phi(-|z|) + J/pi with J = 2pi (T(z, inf) - T(z, a)) =
    // integral_a^inf exp(-z^2 (1 + x^2)/2) / (1 + x^2) dx, T(z, inf) = Phi(-|z|)/2. With x = a/v,
    // J = (1/a) exp(-z^2 (1 + a^2)/2) integral_0^1 exp(-z^2 a^2 (1 - v)(1 + v) / (2 v^2)) /
    // (1 + (v/a)^2) dv: the maximum factored out exactly and the limits exact (a limit such as
    // atan(1/a), rounded, would cost ~1e-13 relative in the far left tail).
    double J;
    if (z == 0) {
      J = std::atan(1.0 / d.a);
    } else {
      const double peak = std::exp(-0.5 * z * z * (1.0 + d.a * d.a)) / d.a;
      const double c = 0.5 * (z * d.a) * (z * d.a);
      // Breaks that resolve the peak at v = 1 (width ~1/(2c)) and, for small a, the fall of
      // 1/(1 + (v/a)^2) over v ~ a near 0.
      std::vector<double> breaks = geometric_breaks(0.0, 1.0, std::min(1.0, d.a) / 8);
      for (double step = 1.0 / (16.0 * std::max(c, 1.0)); step < 0.5; step *= 2) breaks.push_back(1.0 - step);
      std::sort(breaks.begin(), breaks.end());
      J = peak == 0 ? 0.0
                    : peak * integrate(
                                 [&](double v) {
                                   const double va = v / d.a;
                                   return std::exp(-c * (1.0 - v) * (1.0 + v) / (v * v)) / (1.0 + va * va);
                                 },
                                 breaks);
    }
    F = (z > 0 ? std::erf(z / kSqrt2) : 0.0) + J / kPi;
  }
  return std::clamp(F, 0.0, 1.0);
}

double skewnorm_log_likelihood(const std::vector<double>& data, const SkewNormal& d) {
  check_params(d, "skewnorm_log_likelihood");
  double s = 0.0;
  for (double x : data) s += logpdf_unchecked(x, d);
  return s;
}

SkewNormal fit_skewnorm(const std::vector<double>& data) {
  if (data.size() < 2) throw Error("fit_skewnorm: need at least 2 values, got " + std::to_string(data.size()));
  for (size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i])) throw Error("fit_skewnorm: value " + std::to_string(i) + " is not finite");
  const double n = static_cast<double>(data.size());
  const double mean = std::accumulate(data.begin(), data.end(), 0.0) / n;
  double m2 = 0, m3 = 0;
  for (double x : data) {
    const double e = x - mean;
    m2 += e * e;
    m3 += e * e * e;
  }
  m2 /= n, m3 /= n;
  if (!(m2 > 0) || std::sqrt(m2) <= 1e-12 * std::max(1.0, std::fabs(mean)))
    throw Error("fit_skewnorm: the values have no spread (all equal)");
  // scipy's start: a from the sample skewness clipped to +-0.99, then scale and loc from the
  // variance and mean of the skew-normal with that a.
  auto moment_start = [&](double a) {
    const double delta = a / std::sqrt(1 + a * a);
    const double scale = std::sqrt(m2 / (1 - 2 * delta * delta / kPi));
    return Point{a, mean - scale * delta * std::sqrt(2 / kPi), std::log(scale)};
  };
  const double skew = std::clamp(m3 / std::pow(m2, 1.5), -0.99, 0.99);
  const double s23 = std::pow(std::fabs(skew), 2.0 / 3.0);
  const double delta = (skew > 0 ? 1.0 : skew < 0 ? -1.0 : 0.0) *
                       std::sqrt(kPi / 2 * s23 / (s23 + std::pow((4 - kPi) / 2, 2.0 / 3.0)));
  const double a0 = std::sqrt(delta * delta / (1 - delta * delta)) * (skew > 0 ? 1.0 : skew < 0 ? -1.0 : 0.0);
  Point best{};
  double fbest = kInf;
  for (double a : {a0, -4.0, 0.0, 4.0}) {
    double f;
    const Point x = minimise(data, moment_start(a), std::sqrt(m2), f);
    if (f < fbest) best = x, fbest = f;
  }
  if (!std::isfinite(fbest)) throw Error("fit_skewnorm: the likelihood is not finite at any start");
  return {best[0], best[1], std::exp(best[2])};
}

ExtrapolatedExposure exposure_extrapolation(double secret, const std::vector<double>& references) {
  if (std::isnan(secret)) throw Error("exposure_extrapolation: the secret's value is NaN");
  ExtrapolatedExposure r;
  r.fit = fit_skewnorm(references);
  r.cdf = skewnorm_cdf(secret, r.fit);
  r.unbounded = r.cdf == 0.0;
  r.exposure = r.unbounded ? kInf : -std::log2(r.cdf);
  return r;
}

InterpolatedExposure exposure_interpolation(double secret, const std::vector<double>& references) {
  if (references.empty()) throw Error("exposure_interpolation: no reference values");
  if (std::isnan(secret)) throw Error("exposure_interpolation: the secret's value is NaN");
  InterpolatedExposure r;
  r.rank = 1;
  for (size_t i = 0; i < references.size(); ++i) {
    if (std::isnan(references[i])) throw Error("exposure_interpolation: reference " + std::to_string(i) + " is NaN");
    if (references[i] <= secret) ++r.rank;
  }
  r.exposure = std::log2(static_cast<double>(references.size())) - std::log2(static_cast<double>(r.rank));
  return r;
}

}  // namespace eidetic::metrics
