// metrics/membership.h: how well an attack's scores separate training members from
// non-members: ROC curves, AUC and the TPR at a low FPR that Carlini et al. 2022 ("Membership
// inference attacks from first principles") argue is the number that matters, plus a
// stratified bootstrap interval for the AUC. The curve and AUC are defined to equal
// scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score (tests/metrics_oracle.py
// holds them to it). Plain C++ over vectors; no libtorch.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/stats.h"

namespace eidetic::metrics {

// One point per distinct score (descending), preceded by (0, 0) at threshold +inf: point i
// counts every item whose score is >= thresholds[i] as a predicted member.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};

// Higher score = more likely a member (label 1; label 0 = non-member, any other label is an
// error). Throws eidetic::Error when the sizes differ, a class is empty or a score is NaN.
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

// Area under the ROC curve: the probability that a random member scores above a random
// non-member, ties counting one half (the Mann-Whitney statistic; equals roc_auc_score).
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// The largest TPR among the curve's points with FPR <= max_fpr (the "TPR at 0.1% FPR"); 0
// when no point qualifies (never for a curve from roc_curve, which starts at (0, 0)).
double tpr_at_fpr(const RocCurve& curve, double max_fpr);

// The AUC with a percentile bootstrap interval: each of `samples` resamples draws the members
// with replacement from the members and the non-members from the non-members (so both
// classes keep their sizes), from `seed`. value is the AUC of the data itself; n the items.
Interval bootstrap_auc(const std::vector<double>& scores, const std::vector<int>& labels, int samples = 1000,
                       double confidence = 0.95, uint64_t seed = 0);

}  // namespace eidetic::metrics
