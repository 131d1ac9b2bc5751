// attacks/membership.cpp: membership inference by per-sequence scores, with the ROC analysis
// of Carlini et al. 2022 ("Membership Inference Attacks From First Principles").
//
// Every sequence of the member and non-member sets is scored teacher-forced; each score is
// oriented so that higher means "more likely a member":
//   loss        mean log-probability of the tokens (Yeom et al. 2018);
//   reference   target log-likelihood minus a reference model's (Carlini et al. 2021's ratio);
//   zlib        minus the mean negative log-likelihood over the zlib-compressed size of the
//               text in bytes: mimir's zlib score (NLL / zlib bytes, lower = member), negated;
//               when a tokenizer is available;
//   lowercase   the lowercased text's mean negative log-likelihood over the original's (the
//               ratio of Carlini et al. 2021; Python's str.lower, Unicode), when a tokenizer is
//               available;
//   min_k       mean of the lowest k% token log-probabilities, k = 20% (Shi et al. 2024);
//   min_k_pp    the same over (log p(x_t) - mu_t) / sigma_t, with mu_t and sigma_t the mean and
//               standard deviation of log p under the model's own next-token distribution
//               (Zhang et al. 2024, Min-K%++).
// For each score: ROC AUC with a stratified bootstrap interval, the TPR at 0.1% and 1% FPR as
// mimir computes it (the last point of scikit-learn's ROC curve with FPR strictly below the
// bound; "not measurable" when there are fewer non-members than 1/FPR), the PR AUC as mimir
// computes it (non-members as the positive class) and the ROC curve.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "attacks/attack.h"
#include "attacks/sequences.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"
#include "metrics/unicode_lower.h"
#include "models/model.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Mean of the lowest fraction k of values (at least one).
double lowest_mean(std::vector<double> v, double k) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = std::max<size_t>(1, static_cast<size_t>(std::floor(k * static_cast<double>(v.size()))));
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += v[i];
  return s / static_cast<double>(n);
}

struct MembershipParams {
  std::vector<std::string> members, nonmembers;
  double k = 0.2;
  int64_t max_tokens = 256, limit = 0, code_vocab = 0;
};

const ParamTable<MembershipParams>& membership_params() {
  using P = MembershipParams;
  static const ParamTable<P> table = {
      param<P>("members", &P::members, "", "member sequences: a (N, T) .npy, or .txt/.jsonl files", required),
      param<P>("nonmembers", &P::nonmembers, "", "non-member sequences, same forms", required),
      param<P>("k", &P::k, "0.2", "fraction of lowest tokens for min-k% and min-k%++").above(0),
      param<P>("max_tokens", &P::max_tokens, "256", "truncate text documents to this many tokens").at_least(2),
      param<P>("limit", &P::limit, "0", "at most N sequences from each set (0: all)").at_least(0),
      param<P>("code_vocab", &P::code_vocab, "0",
               "ids of the uniform code the members' memorized bits are measured against (0: the model's vocabulary)").at_least(0)};
  return table;
}

class Membership : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "membership inference: LOSS, reference ratio, zlib, lowercase, min-k% and min-k%++ scores; ROC AUC, "
      "TPR at low FPR (Carlini et al. 2022; Shi et al. 2024; Zhang et al. 2024)";

  Membership(Session& session, const MembershipParams& p) : session_(session) {
    const auto t0 = Clock::now();
    const int64_t vocab = session.vocab_size();
    const int64_t max_len = p.max_tokens;
    members_ = load_sequences(p.members, session.tokenizer(), vocab, max_len, "attack.members");
    nonmembers_ = load_sequences(p.nonmembers, session.tokenizer(), vocab, max_len, "attack.nonmembers");
    k_ = p.k;
    if (!(k_ > 0 && k_ <= 1)) throw Error("attack.k must be in (0, 1]");
    const int64_t limit = p.limit;
    if (limit > 0) {
      if (static_cast<int64_t>(members_.size()) > limit) members_.resize(static_cast<size_t>(limit));
      if (static_cast<int64_t>(nonmembers_.size()) > limit) nonmembers_.resize(static_cast<size_t>(limit));
    }
    code_vocab_ = p.code_vocab > 0 ? p.code_vocab : vocab;
    if (session.has_reference() && session.reference_vocab_size() != vocab)
      throw Error(session.reference_path() + ": the reference model's vocabulary (" +
                  std::to_string(session.reference_vocab_size()) + ") differs from the target's (" + std::to_string(vocab) +
                  ")");
    session.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    int64_t longest = 0;
    for (const auto* set : {&members_, &nonmembers_})
      for (const auto& s : *set) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
    batch_ = session.batch_items(longest);
  }

  int64_t item_count() const override { return static_cast<int64_t>(members_.size() + nonmembers_.size()); }
  int64_t batch_items() const override { return batch_; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<std::vector<int64_t>> seqs;
    for (int64_t id : ids) seqs.push_back(sequence(id));
    const auto scored = session_.score(seqs, /*entropy=*/false, /*rank=*/false);
    std::vector<models::Scored> ref;
    if (session_.has_reference()) ref = session_.score_reference(seqs);
    const auto t0 = Clock::now();
    const auto zpp = min_k_pp(seqs);
    std::vector<json> records;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& lp = scored[i].logprob;
      std::vector<double> v(lp.begin(), lp.end());
      double sum = 0;
      for (double x : v) sum += x;
      const double mean = sum / static_cast<double>(v.size());
      json scores = {{"loss", mean}, {"min_k", lowest_mean(v, k_)}, {"min_k_pp", zpp[i]}};
      if (!ref.empty()) {
        double rs = 0;
        for (float x : ref[i].logprob) rs += x;
        scores["reference"] = mean - rs / static_cast<double>(ref[i].logprob.size());
      }
      if (session_.tokenizer()) {
        const std::string text = session_.tokenizer()->decode(seqs[i]);
        scores["zlib"] = -metrics::zlib_ratio_score(-mean, text);
        const auto lower = session_.tokenizer()->encode(metrics::to_lower_unicode(text));
        if (lower == seqs[i]) {
          // Nothing to lowercase: the same tokens, the same likelihood. Scoring them again (alone,
          // where the original was scored in a padded batch) would give a ratio off 1 by float
          // rounding, and an AUC over noise.
          scores["lowercase"] = 1.0;
        } else if (lower.size() >= 2) {
          const auto ls = session_.score({lower})[0].logprob;
          double lsum = 0;
          for (float x : ls) lsum += x;
          scores["lowercase"] = (-lsum / static_cast<double>(ls.size())) / std::max(-mean, 1e-12);
        }
      }
      const bool member = ids[i] < static_cast<int64_t>(members_.size());
      records.push_back({{"id", ids[i]}, {"member", member}, {"tokens", seqs[i].size()}, {"scores", scores}});
    }
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    std::map<std::string, std::vector<double>> by_score;
    std::vector<int> labels;
    for (const auto& r : records) {
      labels.push_back(r.at("member").get<bool>() ? 1 : 0);
      for (const auto& [name, v] : r.at("scores").items()) by_score[name].push_back(v.get<double>());
    }
    json out = {{"run", {{"items", records.size()}, {"members", members_.size()}, {"nonmembers", nonmembers_.size()}}},
                {"metrics", json::array()},
                {"tables", json::array()}};
    json rows = json::array(), series = json::array();
    for (const auto& [name, scores] : by_score) {
      if (scores.size() != labels.size()) continue;  // a score not every record has
      const auto auc = metrics::bootstrap_auc(scores, labels, 1000, 0.95, session_.seed());
      const auto roc = metrics::roc_curve(scores, labels);
      out["metrics"].push_back(metric_json("auc_" + name, auc, "ROC AUC of the " + name + " score (members vs non-members)"));
      json row = {name, auc.value, auc.low, auc.high};
      for (const auto& [bound, label] : {std::pair{0.001, "0.1%"}, std::pair{0.01, "1%"}}) {
        json m = {{"name", std::string("tpr_at_") + label + "_fpr_" + name}, {"n", auc.n}};
        if (metrics::tpr_at_fpr_measurable(static_cast<int64_t>(nonmembers_.size()), bound)) {
          const double t = metrics::mimir_tpr_at_fpr(scores, labels, bound);
          m["value"] = t;
          m["description"] = std::string("true positive rate at FPR below ") + label;
          row.push_back(t);
        } else {
          m["description"] = std::string("true positive rate at FPR below ") + label + ": not measurable from " +
                             std::to_string(nonmembers_.size()) + " non-members (at least " +
                             std::to_string(static_cast<int64_t>(std::ceil(1.0 / bound - 1e-9))) + " needed)";
          row.push_back("not measurable");
        }
        out["metrics"].push_back(m);
      }
      const double pr = metrics::pr_auc(scores, labels);
      out["metrics"].push_back(metric_json("pr_auc_" + name, {pr, pr, pr, auc.n},
                                           "PR AUC of the " + name + " score, non-members as the positive class (mimir)"));
      out["metrics"].back().erase("ci_low"), out["metrics"].back().erase("ci_high");
      row.push_back(pr);
      rows.push_back(row);
      json points = json::array();
      for (size_t i = 0; i < roc.fpr.size(); ++i) points.push_back({roc.fpr[i], roc.tpr[i]});
      series.push_back({{"name", name + " (AUC " + std::to_string(auc.value).substr(0, 5) + ")"}, {"points", points}});
    }
    out["tables"].push_back({{"id", "membership"},
                             {"title", "Membership inference by score"},
                             {"columns", {"score", "AUC", "AUC low", "AUC high", "TPR@0.1%FPR", "TPR@1%FPR", "PR AUC"}},
                             {"rows", rows}});
    // Bits of the member texts the model memorized (Morris et al. 2025's measure): per member,
    // its uniform code length ((T - 1) x log2 code_vocab) minus its code length under the
    // model, counted when positive.
    double uniform = 0, memorized = 0;
    for (const auto& r : records) {
      if (!r.at("member").get<bool>()) continue;
      const double predicted = static_cast<double>(r.at("tokens").get<int64_t>() - 1);
      const double uniform_bits = predicted * std::log2(static_cast<double>(code_vocab_));
      const double model_bits = -r.at("scores").at("loss").get<double>() * predicted / std::log(2.0);
      uniform += uniform_bits;
      memorized += std::max(0.0, uniform_bits - model_bits);
    }
    out["member_bits"] = {{"uniform", uniform}, {"memorized", memorized}, {"code_vocab", code_vocab_}};
    out["plots"] = {{{"id", "roc"},
                     {"title", "ROC: membership inference"},
                     {"kind", "roc"},
                     {"x_label", "false positive rate"},
                     {"y_label", "true positive rate"},
                     {"series", series}}};
    return out;
  }

 private:
  const std::vector<int64_t>& sequence(int64_t id) const {
    const auto m = static_cast<int64_t>(members_.size());
    return id < m ? members_[static_cast<size_t>(id)] : nonmembers_[static_cast<size_t>(id - m)];
  }

  // Min-K%++ per sequence: the lowest k of (log p(x_t) - mu_t) / sigma_t, from the model's own
  // next-token distributions.
  std::vector<double> min_k_pp(const std::vector<std::vector<int64_t>>& seqs) const {
    std::vector<double> out;
    for (const auto& st : session_.token_stats(seqs)) {
      std::vector<double> z;
      for (size_t t = 0; t < st.logprob.size(); ++t) z.push_back((st.logprob[t] - st.mean[t]) / st.stddev[t]);
      out.push_back(lowest_mean(std::move(z), k_));
    }
    return out;
  }

  Session& session_;
  std::vector<std::vector<int64_t>> members_, nonmembers_;
  double k_ = 0.2;
  int64_t batch_ = 1, code_vocab_ = 0;
};


}  // namespace

AttackInfo membership_info() { return make_attack_info<Membership>("membership", membership_params()); }

}  // namespace eidetic::attacks
