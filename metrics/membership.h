// metrics/membership.h: how well an attack's scores separate training members from
// non-members: ROC curves, AUC and the TPR at a low FPR that Carlini et al. 2022 ("Membership
// inference attacks from first principles") argue is the number that matters, plus a
// stratified bootstrap interval for the AUC, and the TPR at low FPR and PR-AUC exactly as mimir
// (iamgroot42/mimir, attacks/attack_utils.py) reports them; the pure steps of mimir's ReCaLL
// score (attacks/recall.py), and choosing a parameter on held-out items. The curve and AUC are defined to
// equal scikit-learn's roc_curve(drop_intermediate=False) and roc_auc_score, mimir's figures
// its scikit-learn expressions (tests/metrics_oracle.py holds them to it). Plain C++ over
// vectors; no libtorch.
#pragma once

#include <cstddef>
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

// ---- ReCaLL (Xie et al. 2024), as mimir's attacks/recall.py computes it -------------------
//
// ReCaLL compares a sequence's mean log-likelihood after a prefix P of non-member "shots" with
// its unconditioned one. mimir joins the shots into one prefix, keeps as many as fit the context
// (process_prefix), scores prefix + text in windows of the context length (get_conditional_ll)
// and divides. The three steps are pure functions of token counts and log-probabilities:

// How many shots mimir's process_prefix keeps, counted from the END of the list: all of them
// when sum(shot_tokens) + avg_length <= max_length; otherwise max_shots, counted greedily from
// the FIRST shot (avg_length plus each shot's tokens while the total stays <= max_length), of
// which mimir keeps the last (prefix[-max_shots:]); with max_shots = 0 that slice is Python's
// whole list, so all are kept. avg_length is mimir's int(mean token count) of the scored texts.
// Throws eidetic::Error on a negative count or max_length < 1.
size_t recall_shots_kept(const std::vector<int64_t>& shot_tokens, int64_t avg_length, int64_t max_length);

// A half-open range [begin, end) of token positions.
struct TokenSpan {
  int64_t begin = 0, end = 0;
};

// The windows get_conditional_ll runs the model on: prefix + text (L = prefix_tokens +
// text_tokens tokens) cut into [i, min(i + max_length, L)) for i = 0, max_length, 2 max_length...,
// each scored from its own start (no context carried over). Throws eidetic::Error when
// prefix_tokens >= max_length (mimir's ValueError: the prefix fills the context), prefix_tokens
// < 0, text_tokens < 1 or max_length < 1.
std::vector<TokenSpan> recall_windows(int64_t prefix_tokens, int64_t text_tokens, int64_t max_length);

// get_conditional_ll's value, -(average loss), from the windows' token log-probabilities:
// window_logprobs[w][j] = log p(token j + 1 of window w | tokens 0..j of window w) (natural log;
// window w as recall_windows gives it; a window of one token has none). Per window, Hugging
// Face's loss is the mean of -log p over the text positions at window index >= 1 (labels are
// shifted, so index 0 is never predicted), and mimir weighs it by the window's text positions
// counting index 0 (its non_masked_tokens); a window with no text position at index >= 1 is
// skipped (all labels masked, or Hugging Face's NaN loss). The first text token is predicted from
// the last prefix token. Returns 0 when no window counts. Throws eidetic::Error when the number
// of windows or a window's length does not match the layout.
double recall_conditional_ll(const std::vector<std::vector<double>>& window_logprobs, int64_t prefix_tokens,
                             int64_t text_tokens, int64_t max_length);

// Eidetic's ReCaLL score: conditional_ll / mean_ll, with mean_ll the sequence's mean token
// log-probability (minus mimir's get_ll): the paper's LL(x | P) / LL(x), larger for members.
// mimir's score, conditional_ll / -mean_ll ("lower means member"), is its negation, so the ROC
// curves are the same. mimir divides by zero (and asserts) when mean_ll is 0, a sequence the
// model predicts with certainty; here mean_ll is then taken as -1e-12, as the lowercase ratio
// guards its denominator, so such a sequence ranks as a member.
double recall_score(double conditional_ll, double mean_ll);

// ---- choosing a parameter on held-out items -------------------------------------------------

// Which items are held out to choose a parameter (e.g. min-k%'s k), the others being left to
// measure it: within each class (label 1, label 0) separately, the items ordered by
// (kernels::random_bits(seed, 0x6b5e1ec7, 0, id), id), and the first clamp(floor(fraction x n),
// 1, n - 1) of the class's n held out. A pure function of the ids, labels and seed (not of the
// items' order). Throws eidetic::Error when the sizes differ, an id repeats, a label is not 0 or
// 1, a class has fewer than 2 items, or fraction is not in (0, 1).
std::vector<bool> holdout_split(const std::vector<int64_t>& ids, const std::vector<int>& labels, double fraction,
                                uint64_t seed);

struct HeldOutChoice {
  std::vector<double> holdout_auc;  // each candidate's ROC AUC on the held-out items
  size_t chosen = 0;                // the first candidate with the largest held-out AUC
  double eval_auc = 0;              // the chosen candidate's ROC AUC on the other items
};

// Chooses among candidate scorings of the same items (candidates[c][i]: candidate c's score of
// item i, higher = member) by ROC AUC on the items with holdout[i] true, and measures the chosen
// one on the rest, so the reported AUC is not taken on the items that chose it. Throws
// eidetic::Error when there is no candidate, sizes differ, or either part lacks a class.
HeldOutChoice choose_by_holdout_auc(const std::vector<std::vector<double>>& candidates, const std::vector<int>& labels,
                                    const std::vector<bool>& holdout);

// The AUC with a percentile bootstrap interval: each of `samples` resamples draws the members
// with replacement from the members and the non-members from the non-members (so both
// classes keep their sizes), from `seed`. value is the AUC of the data itself; n the items.
Interval bootstrap_auc(const std::vector<double>& scores, const std::vector<int>& labels, int samples = 1000,
                       double confidence = 0.95, uint64_t seed = 0);

}  // namespace eidetic::metrics
