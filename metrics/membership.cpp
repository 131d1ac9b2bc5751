// metrics/membership.cpp: ROC curves, AUC and TPR at low FPR for membership inference
// (Carlini et al. 2022, "Membership inference attacks from first principles"); see
// membership.h.
#include "metrics/membership.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "common/error.h"
#include "kernels/rng.h"

namespace eidetic::metrics {
namespace {

// Splits the scores into members and non-members, checking what roc_curve and roc_auc require.
void split_classes(const std::vector<double>& scores, const std::vector<int>& labels, const char* what,
                   std::vector<double>& members, std::vector<double>& non_members) {
  if (scores.size() != labels.size())
    throw Error(std::string(what) + ": " + std::to_string(scores.size()) + " scores but " +
                std::to_string(labels.size()) + " labels");
  members.clear();
  non_members.clear();
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) throw Error(std::string(what) + ": score " + std::to_string(i) + " is NaN");
    if (labels[i] == 1)
      members.push_back(scores[i]);
    else if (labels[i] == 0)
      non_members.push_back(scores[i]);
    else
      throw Error(std::string(what) + ": label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                  " (expected 1 for a member or 0 for a non-member)");
  }
  if (members.empty()) throw Error(std::string(what) + ": no members (label 1) among " + std::to_string(scores.size()) + " items");
  if (non_members.empty())
    throw Error(std::string(what) + ": no non-members (label 0) among " + std::to_string(scores.size()) + " items");
}

// The Mann-Whitney AUC of two non-empty classes; `non_members` must be sorted ascending.
double auc_sorted(const std::vector<double>& members, const std::vector<double>& non_members) {
  // Twice the count of (member, non-member) pairs won by the member, ties counting one:
  // exact in integers.
  unsigned __int128 twice = 0;
  for (double s : members) {
    const auto lo = std::lower_bound(non_members.begin(), non_members.end(), s);
    const auto hi = std::upper_bound(lo, non_members.end(), s);
    twice += 2 * static_cast<uint64_t>(lo - non_members.begin()) + static_cast<uint64_t>(hi - lo);
  }
  const long double pairs = 2.0L * static_cast<long double>(members.size()) * static_cast<long double>(non_members.size());
  return static_cast<double>(static_cast<long double>(twice) / pairs);
}

}  // namespace

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<double> members, non_members;
  split_classes(scores, labels, "roc_curve", members, non_members);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  const double P = static_cast<double>(members.size()), N = static_cast<double>(non_members.size());
  RocCurve c;
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  c.thresholds.push_back(std::numeric_limits<double>::infinity());
  int64_t tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    (labels[i] == 1 ? tp : fp) += 1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {  // the last item of a tie group
      c.fpr.push_back(static_cast<double>(fp) / N);
      c.tpr.push_back(static_cast<double>(tp) / P);
      c.thresholds.push_back(scores[i]);
    }
  }
  return c;
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<double> members, non_members;
  split_classes(scores, labels, "roc_auc", members, non_members);
  std::sort(non_members.begin(), non_members.end());
  return auc_sorted(members, non_members);
}

double tpr_at_fpr(const RocCurve& curve, double max_fpr) {
  if (curve.fpr.size() != curve.tpr.size())
    throw Error("tpr_at_fpr: the curve has " + std::to_string(curve.fpr.size()) + " FPR values but " +
                std::to_string(curve.tpr.size()) + " TPR values");
  double best = 0;
  for (size_t i = 0; i < curve.fpr.size(); ++i)
    if (curve.fpr[i] <= max_fpr) best = std::max(best, curve.tpr[i]);
  return best;
}

Interval bootstrap_auc(const std::vector<double>& scores, const std::vector<int>& labels, int samples,
                       double confidence, uint64_t seed) {
  std::vector<double> members, non_members;
  split_classes(scores, labels, "bootstrap_auc", members, non_members);
  if (samples < 1) throw Error("bootstrap_auc: samples must be at least 1, got " + std::to_string(samples));
  if (!(confidence > 0 && confidence < 1))
    throw Error("bootstrap_auc: confidence must lie in (0, 1), got " + std::to_string(confidence));
  Interval r;
  r.n = static_cast<int64_t>(scores.size());
  {
    std::vector<double> sorted = non_members;
    std::sort(sorted.begin(), sorted.end());
    r.value = auc_sorted(members, sorted);
  }
  const uint64_t P = members.size(), N = non_members.size();
  std::vector<double> aucs(static_cast<size_t>(samples));
  std::vector<double> m(P), n(N);
  for (int s = 0; s < samples; ++s) {
    const auto step = static_cast<uint64_t>(s);
    for (uint64_t i = 0; i < P; ++i) m[i] = members[kernels::random_bits(seed, 0xa0c1, step, i) % P];
    for (uint64_t i = 0; i < N; ++i) n[i] = non_members[kernels::random_bits(seed, 0xa0c0, step, i) % N];
    std::sort(n.begin(), n.end());
    aucs[static_cast<size_t>(s)] = auc_sorted(m, n);
  }
  std::sort(aucs.begin(), aucs.end());
  const double alpha = (1.0 - confidence) / 2.0;
  auto at = [&](double q) {  // the same percentile rule as bootstrap_mean
    const auto i = static_cast<size_t>(std::clamp(q * (samples - 1), 0.0, static_cast<double>(samples - 1)));
    return aucs[i];
  };
  r.low = at(alpha);
  r.high = at(1.0 - alpha);
  return r;
}

}  // namespace eidetic::metrics
