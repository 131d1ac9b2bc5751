// metrics/membership.h: how well an attack's scores separate training members from
// non-members: ROC curves, AUC and the TPR at a low FPR that Carlini et al. 2022 ("Membership
// inference attacks from first principles") argue is the number that matters, plus a
// stratified bootstrap interval for the AUC, and the TPR at low FPR and PR-AUC exactly as mimir
// (iamgroot42/mimir, attacks/attack_utils.py) reports them. The curve and AUC are defined to
// equal scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score, mimir's figures
// its scikit-learn expressions (tests/metrics_oracle.py holds them to it). Plain C++ over
// vectors; no libtorch.
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

// The curve scikit-learn's roc_curve returns by default (drop_intermediate=True): roc_curve's
// points less the inner ones where neither count changes its step: point i (not the first
// after (0, 0), not the last) goes when fps[i+1] - fps[i] == fps[i] - fps[i-1] and the same
// holds for tps, fps and tps the integer counts. mimir reads its TPR at low FPR off this curve.
RocCurve roc_curve_drop_intermediate(const std::vector<double>& scores, const std::vector<int>& labels);

// The largest TPR among the curve's points with FPR <= max_fpr; 0 when no point qualifies
// (never for a curve from roc_curve, which starts at (0, 0)). Not the reference rule: mimir's
// "TPR at FPR" is tpr_below_fpr on roc_curve_drop_intermediate (mimir_tpr_at_fpr), which
// excludes a point with FPR equal to the bound.
double tpr_at_fpr(const RocCurve& curve, double max_fpr);

// mimir's rule: the TPR of the last point of `curve` (FPR ascending) whose FPR is strictly
// below `bound`, tpr[np.where(fpr < bound)[0][-1]]; on a curve from roc_curve* that is the
// largest TPR with FPR < bound. Throws eidetic::Error when bound <= 0 (or NaN), the sizes
// differ, or no point qualifies (mimir's IndexError).
double tpr_below_fpr(const RocCurve& curve, double bound);

// mimir's reported "TPR at `bound` FPR": tpr_below_fpr(roc_curve_drop_intermediate(scores,
// labels), bound). On tied scores the thinned curve can lose the corner a full curve has below
// the bound (a diagonal run of tie groups keeps only its ends), so this can be lower than
// tpr_below_fpr(roc_curve(...), bound); without ties the two agree.
double mimir_tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& labels, double bound);

// Whether a TPR at FPR < `bound` means anything with `non_members` non-members:
// non_members >= ceil(1 / bound). With fewer, the smallest non-zero FPR 1/non_members exceeds
// the bound, so only points with no false positive at all qualify. (At exactly
// non_members == 1/bound, one false positive gives FPR == bound, which the strict rule also
// excludes: the figure is then the TPR at zero false positives, the convention's edge.)
// Throws eidetic::Error unless 0 < bound <= 1 and non_members >= 0.
bool tpr_at_fpr_measurable(int64_t non_members, double bound);

// mimir's PR-AUC: the area under the precision-recall curve for detecting NON-members, with
// mimir's raw scores (lower = member, i.e. minus Eidetic's scores) as the predictions:
// sklearn.metrics.auc(recall, precision) of precision_recall_curve(labels with non-members = 1,
// -scores): the trapezoid rule over one point per distinct score plus (recall 0, precision 1),
// not average precision. The terms are summed in NumPy's pairwise order. Same errors as
// roc_curve.
double pr_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// The AUC with a percentile bootstrap interval: each of `samples` resamples draws the members
// with replacement from the members and the non-members from the non-members (so both
// classes keep their sizes), from `seed`. value is the AUC of the data itself; n the items.
Interval bootstrap_auc(const std::vector<double>& scores, const std::vector<int>& labels, int samples = 1000,
                       double confidence = 0.95, uint64_t seed = 0);

}  // namespace eidetic::metrics
