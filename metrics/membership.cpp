// metrics/membership.cpp: ROC curves, AUC, TPR at low FPR and PR-AUC for membership
// inference (Carlini et al. 2022, "Membership inference attacks from first principles"; mimir's
// definitions), the pure steps of mimir's ReCaLL score, and choosing a parameter on held-out
// items; see membership.h.
#include "metrics/membership.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

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

// The ROC curve of roc_curve, optionally thinned as scikit-learn's drop_intermediate=True
// thins it: among the points after (0, 0), the first and last are kept, and an inner point i
// only when the integer counts turn there: fps[i+1] - fps[i] != fps[i] - fps[i-1], or the same
// for tps (np.diff(fps, 2) or np.diff(tps, 2) non-zero).
RocCurve curve_points(const std::vector<double>& scores, const std::vector<int>& labels, const char* what, bool drop) {
  std::vector<double> members, non_members;
  split_classes(scores, labels, what, members, non_members);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> fps, tps;
  std::vector<double> thresholds;
  int64_t tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    (labels[i] == 1 ? tp : fp) += 1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {  // the last item of a tie group
      fps.push_back(fp);
      tps.push_back(tp);
      thresholds.push_back(scores[i]);
    }
  }
  const double P = static_cast<double>(members.size()), N = static_cast<double>(non_members.size());
  RocCurve c;
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  c.thresholds.push_back(std::numeric_limits<double>::infinity());
  const size_t K = fps.size();
  for (size_t i = 0; i < K; ++i) {
    if (drop && K > 2 && i > 0 && i + 1 < K && fps[i + 1] - fps[i] == fps[i] - fps[i - 1] &&
        tps[i + 1] - tps[i] == tps[i] - tps[i - 1])
      continue;
    c.fpr.push_back(static_cast<double>(fps[i]) / N);
    c.tpr.push_back(static_cast<double>(tps[i]) / P);
    c.thresholds.push_back(thresholds[i]);
  }
  return c;
}

// NumPy's float64 add.reduce (np.sum) of a contiguous array: 0 + pairwise_sum(all), where
// pairwise_sum adds fewer than 8 values in order, up to 128 in eight interleaved accumulators,
// and splits longer runs at a multiple of 8 near the middle. Same order, same rounding.
double numpy_pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double r = 0.0;
    for (size_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

}  // namespace

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  return curve_points(scores, labels, "roc_curve", false);
}

RocCurve roc_curve_drop_intermediate(const std::vector<double>& scores, const std::vector<int>& labels) {
  return curve_points(scores, labels, "roc_curve_drop_intermediate", true);
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

double tpr_below_fpr(const RocCurve& curve, double bound) {
  if (curve.fpr.size() != curve.tpr.size())
    throw Error("tpr_below_fpr: the curve has " + std::to_string(curve.fpr.size()) + " FPR values but " +
                std::to_string(curve.tpr.size()) + " TPR values");
  if (!(bound > 0)) throw Error("tpr_below_fpr: the FPR bound must be positive, got " + std::to_string(bound));
  // mimir: tpr[np.where(fpr < bound)[0][-1]], the last qualifying point of the ascending curve.
  for (size_t i = curve.fpr.size(); i-- > 0;)
    if (curve.fpr[i] < bound) return curve.tpr[i];
  throw Error("tpr_below_fpr: no point of the curve has an FPR below " + std::to_string(bound));
}

double mimir_tpr_at_fpr(const std::vector<double>& scores, const std::vector<int>& labels, double bound) {
  return tpr_below_fpr(roc_curve_drop_intermediate(scores, labels), bound);
}

bool tpr_at_fpr_measurable(int64_t non_members, double bound) {
  if (!(bound > 0 && bound <= 1)) throw Error("tpr_at_fpr_measurable: the FPR bound must lie in (0, 1], got " + std::to_string(bound));
  if (non_members < 0) throw Error("tpr_at_fpr_measurable: negative non-member count " + std::to_string(non_members));
  return static_cast<double>(non_members) >= std::ceil(1.0 / bound);
}

double pr_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<double> members, non_members;
  split_classes(scores, labels, "pr_auc", members, non_members);
  // mimir's positives are the non-members and its scores are ours negated: descending mimir
  // score is ascending ours. One point per distinct score, as precision_recall_curve makes them.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::vector<double> precision, recall;
  const double positives = static_cast<double>(non_members.size());
  int64_t tp = 0, fp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    (labels[i] == 0 ? tp : fp) += 1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {
      precision.push_back(static_cast<double>(tp) / static_cast<double>(tp + fp));
      recall.push_back(static_cast<double>(tp) / positives);
    }
  }
  // precision_recall_curve reverses the points and appends (recall 0, precision 1);
  // auc(recall, precision) is then -trapezoid(precision, recall) (recall decreasing), whose
  // terms are (x[i+1] - x[i]) * (y[i+1] + y[i]) / 2.0 summed by np.sum.
  std::reverse(precision.begin(), precision.end());
  std::reverse(recall.begin(), recall.end());
  precision.push_back(1.0);
  recall.push_back(0.0);
  std::vector<double> terms(recall.size() - 1);
  for (size_t i = 0; i + 1 < recall.size(); ++i)
    terms[i] = (recall[i + 1] - recall[i]) * (precision[i + 1] + precision[i]) / 2.0;
  return -numpy_pairwise_sum(terms.data(), terms.size());
}

size_t recall_shots_kept(const std::vector<int64_t>& shot_tokens, int64_t avg_length, int64_t max_length) {
  if (max_length < 1) throw Error("recall_shots_kept: max_length must be at least 1, got " + std::to_string(max_length));
  if (avg_length < 0) throw Error("recall_shots_kept: negative average length " + std::to_string(avg_length));
  int64_t total = avg_length;
  for (int64_t c : shot_tokens) {
    if (c < 0) throw Error("recall_shots_kept: negative shot length " + std::to_string(c));
    total += c;
  }
  if (total <= max_length) return shot_tokens.size();
  // mimir counts the shots that fit from the first one, then keeps that many from the end.
  size_t max_shots = 0;
  int64_t cumulative = avg_length;
  for (int64_t c : shot_tokens) {
    if (cumulative + c > max_length) break;
    ++max_shots;
    cumulative += c;
  }
  return max_shots == 0 ? shot_tokens.size() : max_shots;  // prefix[-0:] is the whole list
}

std::vector<TokenSpan> recall_windows(int64_t prefix_tokens, int64_t text_tokens, int64_t max_length) {
  if (max_length < 1) throw Error("recall_windows: max_length must be at least 1, got " + std::to_string(max_length));
  if (prefix_tokens < 0) throw Error("recall_windows: negative prefix length " + std::to_string(prefix_tokens));
  if (text_tokens < 1) throw Error("recall_windows: the text has no tokens");
  if (prefix_tokens >= max_length)
    throw Error("recall_windows: the prefix's " + std::to_string(prefix_tokens) + " tokens fill the model's context of " +
                std::to_string(max_length));
  const int64_t total = prefix_tokens + text_tokens;
  std::vector<TokenSpan> out;
  for (int64_t i = 0; i < total; i += max_length) out.push_back({i, std::min(i + max_length, total)});
  return out;
}

double recall_conditional_ll(const std::vector<std::vector<double>>& window_logprobs, int64_t prefix_tokens,
                             int64_t text_tokens, int64_t max_length) {
  const auto windows = recall_windows(prefix_tokens, text_tokens, max_length);
  if (window_logprobs.size() != windows.size())
    throw Error("recall_conditional_ll: " + std::to_string(window_logprobs.size()) + " windows of log-probabilities, the layout has " +
                std::to_string(windows.size()));
  double total_loss = 0;
  int64_t total_tokens = 0;
  for (size_t w = 0; w < windows.size(); ++w) {
    const auto [b, e] = windows[w];
    const auto& lp = window_logprobs[w];
    if (static_cast<int64_t>(lp.size()) != std::max<int64_t>(e - b - 1, 0))
      throw Error("recall_conditional_ll: window " + std::to_string(w) + " has " + std::to_string(lp.size()) +
                  " log-probabilities, expected " + std::to_string(std::max<int64_t>(e - b - 1, 0)));
    const int64_t text_begin = std::max(b, prefix_tokens);
    const int64_t predicted_begin = std::max(b + 1, prefix_tokens);  // index 0 of a window is never predicted
    if (predicted_begin >= e) continue;  // all labels masked, or only index 0 (Hugging Face's NaN loss)
    double nll = 0;
    for (int64_t g = predicted_begin; g < e; ++g) nll -= lp[static_cast<size_t>(g - b - 1)];
    const double loss = nll / static_cast<double>(e - predicted_begin);
    const int64_t non_masked = e - text_begin;  // mimir's weight counts index 0 when it is text
    total_loss += loss * static_cast<double>(non_masked);
    total_tokens += non_masked;
  }
  return total_tokens > 0 ? -(total_loss / static_cast<double>(total_tokens)) : 0.0;
}

double recall_score(double conditional_ll, double mean_ll) {
  return conditional_ll / (mean_ll == 0 ? -1e-12 : mean_ll);
}

std::vector<bool> holdout_split(const std::vector<int64_t>& ids, const std::vector<int>& labels, double fraction,
                                uint64_t seed) {
  if (ids.size() != labels.size())
    throw Error("holdout_split: " + std::to_string(ids.size()) + " ids but " + std::to_string(labels.size()) + " labels");
  if (!(fraction > 0 && fraction < 1))
    throw Error("holdout_split: the held-out fraction must lie in (0, 1), got " + std::to_string(fraction));
  {
    std::vector<int64_t> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) throw Error("holdout_split: id " + std::to_string(*dup) + " appears twice");
  }
  std::vector<bool> out(ids.size(), false);
  for (int cls : {1, 0}) {
    std::vector<size_t> members;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (labels[i] != 0 && labels[i] != 1)
        throw Error("holdout_split: label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                    " (expected 1 for a member or 0 for a non-member)");
      if (labels[i] == cls) members.push_back(i);
    }
    const int64_t n = static_cast<int64_t>(members.size());
    if (n < 2)
      throw Error(std::string("holdout_split: ") + std::to_string(n) + (cls == 1 ? " members" : " non-members") +
                  ": at least 2 are needed, one to choose with and one to measure");
    auto key = [&](size_t i) {
      return std::pair{kernels::random_bits(seed, 0x6b5e1ec7, 0, static_cast<uint64_t>(ids[i])), ids[i]};
    };
    std::sort(members.begin(), members.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
    const auto held = std::clamp<int64_t>(static_cast<int64_t>(std::floor(fraction * static_cast<double>(n))), 1, n - 1);
    for (int64_t k = 0; k < held; ++k) out[members[static_cast<size_t>(k)]] = true;
  }
  return out;
}

HeldOutChoice choose_by_holdout_auc(const std::vector<std::vector<double>>& candidates, const std::vector<int>& labels,
                                    const std::vector<bool>& holdout) {
  if (candidates.empty()) throw Error("choose_by_holdout_auc: no candidates");
  if (holdout.size() != labels.size())
    throw Error("choose_by_holdout_auc: " + std::to_string(holdout.size()) + " held-out flags but " +
                std::to_string(labels.size()) + " labels");
  auto part = [&](const std::vector<double>& scores, bool held, std::vector<double>& s, std::vector<int>& l) {
    s.clear();
    l.clear();
    for (size_t i = 0; i < labels.size(); ++i)
      if (holdout[i] == held) s.push_back(scores[i]), l.push_back(labels[i]);
    const char* which = held ? "held-out" : "evaluation";
    if (std::count(l.begin(), l.end(), 1) == 0) throw Error(std::string("choose_by_holdout_auc: no members among the ") + which + " items");
    if (std::count(l.begin(), l.end(), 0) == 0)
      throw Error(std::string("choose_by_holdout_auc: no non-members among the ") + which + " items");
  };
  HeldOutChoice c;
  std::vector<double> s;
  std::vector<int> l;
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (candidates[k].size() != labels.size())
      throw Error("choose_by_holdout_auc: candidate " + std::to_string(k) + " has " + std::to_string(candidates[k].size()) +
                  " scores for " + std::to_string(labels.size()) + " labels");
    part(candidates[k], true, s, l);
    c.holdout_auc.push_back(roc_auc(s, l));
    if (c.holdout_auc[k] > c.holdout_auc[c.chosen]) c.chosen = k;
  }
  part(candidates[c.chosen], false, s, l);
  c.eval_auc = roc_auc(s, l);
  return c;
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
