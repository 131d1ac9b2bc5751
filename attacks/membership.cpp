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
//               (Zhang et al. 2024, Min-K%++);
//   recall      ReCaLL (Xie et al. 2024) as mimir computes it (attacks/recall.py): LL(x | P) /
//               LL(x), LL the mean log-likelihood, P a prefix of `recall_shots` non-members
//               (mimir's default: 1), the larger for members (mimir's score negated). The shots
//               are the first non-members; as many are kept as fit the context beside the
//               members' mean length (mimir's process_prefix), their texts joined and encoded
//               again (token rows concatenated when the non-members are .npy); prefix + x is
//               scored in windows of the context length (get_conditional_ll). The shots
//               themselves get no ReCaLL score: their own text in the prefix would make them look
//               like members (mimir scores them anyway; the ReCaLL authors' code leaves them
//               out, as here). One extra scoring pass per item; recall_shots: 0 turns it off.
// For each score: ROC AUC with a stratified bootstrap interval, the TPR at 0.1% and 1% FPR as
// mimir computes it (the last point of scikit-learn's ROC curve with FPR strictly below the
// bound; "not measurable" when there are fewer non-members than 1/FPR), the PR AUC as mimir
// computes it (non-members as the positive class) and the ROC curve.
//
// min-k% with k chosen on held-out items: every item's min-k% for each k of `k_sweep_percent`
// (the Min-K% Prob code's 5, 10, 20, 30, 40, 50, 60%); the members and the non-members are each
// split by the run's seed (`k_holdout` of each class held out, metrics::holdout_split), k is the
// one with the best ROC AUC on the held-out items, and its AUC is measured on the others only
// (min_k_sweep_auc, min_k_sweep_k and the table of held-out AUCs). The reported min_k stays at
// `k`.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

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
  bool chunk = false;
  int64_t recall_shots = 1;
  std::vector<int64_t> k_sweep_percent = {5, 10, 20, 30, 40, 50, 60};
  double k_holdout = 0.5;
};

const ParamTable<MembershipParams>& membership_params() {
  using P = MembershipParams;
  static const ParamTable<P> table = {
      param<P>("members", &P::members, "", "member sequences: a (N, T) .npy, or .txt/.jsonl files", required),
      param<P>("nonmembers", &P::nonmembers, "", "non-member sequences, same forms", required),
      param<P>("k", &P::k, "0.2", "fraction of lowest tokens for min-k% and min-k%++").above(0),
      param<P>("max_tokens", &P::max_tokens, "256", "truncate text documents to this many tokens").at_least(2),
      param<P>("chunk", &P::chunk, "false",
               "cut text documents into consecutive sequences of max_tokens instead of truncating them"),
      param<P>("limit", &P::limit, "0", "at most N sequences from each set (0: all)").at_least(0),
      param<P>("code_vocab", &P::code_vocab, "0",
               "ids of the uniform code the members' memorized bits are measured against (0: the model's vocabulary)").at_least(0),
      param<P>("recall_shots", &P::recall_shots, "1",
               "ReCaLL: the first N non-members make the prefix (those that fit the context) and get no ReCaLL score (mimir's num_shots; 0: no ReCaLL)")
          .at_least(0),
      param<P>("k_sweep_percent", &P::k_sweep_percent, "[5, 10, 20, 30, 40, 50, 60]",
               "min-k% values of k (in %) to choose from on held-out items (Shi et al. 2024's code; []: no sweep)")
          .at_least(1),
      param<P>("k_holdout", &P::k_holdout, "0.5", "fraction of members and of non-members held out to choose k of the sweep")
          .above(0)};
  return table;
}

class Membership : public Attack {
 public:
  // What `eidetic config attacks` and the reports say of the attack.
  static constexpr const char* kSummary =
      "membership inference: LOSS, reference ratio, zlib, lowercase, min-k% (and its k chosen on held-out items), "
      "min-k%++ and ReCaLL scores; ROC AUC, TPR at low FPR, PR AUC (Carlini et al. 2022; Shi et al. 2024; "
      "Zhang et al. 2024; Xie et al. 2024)";

  Membership(Session& session, const MembershipParams& p) : session_(session) {
    const auto t0 = Clock::now();
    const int64_t vocab = session.vocab_size();
    const int64_t max_len = p.max_tokens;
    members_ = load_sequences(p.members, session.tokenizer(), vocab, max_len, "attack.members", p.chunk);
    nonmembers_ = load_sequences(p.nonmembers, session.tokenizer(), vocab, max_len, "attack.nonmembers", p.chunk);
    k_ = p.k;
    if (!(k_ > 0 && k_ <= 1)) throw Error("attack.k must be in (0, 1]");
    const int64_t limit = p.limit;
    if (limit > 0) {
      if (static_cast<int64_t>(members_.size()) > limit) members_.resize(static_cast<size_t>(limit));
      if (static_cast<int64_t>(nonmembers_.size()) > limit) nonmembers_.resize(static_cast<size_t>(limit));
    }
    code_vocab_ = p.code_vocab > 0 ? p.code_vocab : vocab;
    for (int64_t pct : p.k_sweep_percent) {
      if (pct < 1 || pct > 100) throw Error("attack.k_sweep_percent: " + std::to_string(pct) + " is not a percentage in [1, 100]");
      k_sweep_.push_back(static_cast<double>(pct) / 100.0);
    }
    if (!(p.k_holdout > 0 && p.k_holdout < 1)) throw Error("attack.k_holdout must be in (0, 1), got " + std::to_string(p.k_holdout));
    k_holdout_ = p.k_holdout;
    if (p.recall_shots > 0) prepare_recall(p);
    if (session.has_reference() && session.reference_vocab_size() != vocab)
      throw Error(session.reference_path() + ": the reference model's vocabulary (" +
                  std::to_string(session.reference_vocab_size()) + ") differs from the target's (" + std::to_string(vocab) +
                  ")");
    session.profile().add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    int64_t longest = 0;
    for (const auto* set : {&members_, &nonmembers_})
      for (const auto& s : *set) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
    if (recall_shots_ > 0)  // ReCaLL scores the prefix with each item, up to a context's worth
      longest = std::min<int64_t>(longest + static_cast<int64_t>(recall_prefix_.size()), max_length_);
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
    const auto recall_cond = recall_conditional(ids, seqs);
    const auto zpp = min_k_pp(seqs);
    // The lowercase signal's texts: each sequence decoded, lowercased and encoded again; those
    // that change are scored in one batch.
    std::vector<std::string> texts(ids.size());
    std::vector<int64_t> lowered_at(ids.size(), -1);  // index into `lowered`; -1: none
    std::vector<bool> unchanged(ids.size(), false);
    std::vector<std::vector<int64_t>> lowered;
    if (const tok::Tokenizer* t = session_.tokenizer()) {
      for (size_t i = 0; i < ids.size(); ++i) {
        texts[i] = t->decode(seqs[i]);
        auto lower = t->encode(metrics::to_lower_unicode(texts[i]));
        unchanged[i] = lower == seqs[i];
        if (!unchanged[i] && lower.size() >= 2) {
          lowered_at[i] = static_cast<int64_t>(lowered.size());
          lowered.push_back(std::move(lower));
        }
      }
    }
    const auto lowered_scored = lowered.empty() ? std::vector<models::Scored>{} : session_.score(lowered);
    const auto t0 = Clock::now();
    std::vector<json> records;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& lp = scored[i].logprob;
      std::vector<double> v(lp.begin(), lp.end());
      double sum = 0;
      for (double x : v) sum += x;
      const double mean = sum / static_cast<double>(v.size());
      json scores = {{"loss", mean}, {"min_k", lowest_mean(v, k_)}, {"min_k_pp", zpp[i]}};
      if (recall_cond[i]) scores["recall"] = metrics::recall_score(*recall_cond[i], mean);
      if (!ref.empty()) {
        double rs = 0;
        for (float x : ref[i].logprob) rs += x;
        scores["reference"] = mean - rs / static_cast<double>(ref[i].logprob.size());
      }
      if (session_.tokenizer()) {
        scores["zlib"] = -metrics::zlib_ratio_score(-mean, texts[i]);
        if (lowered_at[i] >= 0) {
          const auto& ls = lowered_scored[static_cast<size_t>(lowered_at[i])].logprob;
          double lsum = 0;
          for (float x : ls) lsum += x;
          scores["lowercase"] = (-lsum / static_cast<double>(ls.size())) / std::max(-mean, 1e-12);
        } else if (unchanged[i]) {
          // Nothing to lowercase: the same tokens, the same likelihood. Scoring them again (in
          // another batch than the original's) would give a ratio off 1 by float rounding, and
          // an AUC over noise.
          scores["lowercase"] = 1.0;
        }
      }
      const bool member = ids[i] < static_cast<int64_t>(members_.size());
      json record = {{"id", ids[i]}, {"member", member}, {"tokens", seqs[i].size()}, {"scores", scores}};
      if (is_recall_shot(ids[i])) record["recall_shot"] = true;
      if (!k_sweep_.empty()) {
        json sweep = json::array();
        for (double k : k_sweep_) sweep.push_back(lowest_mean(v, k));
        record["min_k_sweep"] = sweep;
      }
      records.push_back(std::move(record));
    }
    session_.profile().add("match", std::chrono::duration<double>(Clock::now() - t0).count());
    return records;
  }

  json summarize(const std::vector<json>& records) const override {
    // Each score with the labels of the records that have it: every record, but for ReCaLL's
    // shots, which have no recall score.
    std::map<std::string, std::vector<double>> by_score;
    std::map<std::string, std::vector<int>> labels_of;
    size_t shot_records = 0;
    for (const auto& r : records) {
      const int label = r.at("member").get<bool>() ? 1 : 0;
      shot_records += r.value("recall_shot", false) ? 1 : 0;
      for (const auto& [name, v] : r.at("scores").items()) {
        by_score[name].push_back(v.get<double>());
        labels_of[name].push_back(label);
      }
    }
    json out = {{"run", {{"items", records.size()}, {"members", members_.size()}, {"nonmembers", nonmembers_.size()},
                         {"protocol", "scores and figures as mimir computes them"}}},
                {"metrics", json::array()},
                {"tables", json::array()}};
    json rows = json::array(), series = json::array();
    for (const auto& [name, scores] : by_score) {
      if (scores.size() != records.size() - (name == "recall" ? shot_records : 0)) continue;  // a score not every record has
      const std::vector<int>& labels = labels_of.at(name);
      const auto non_members = static_cast<int64_t>(std::count(labels.begin(), labels.end(), 0));
      const auto auc = metrics::bootstrap_auc(scores, labels, 1000, 0.95, session_.seed());
      const auto roc = metrics::roc_curve(scores, labels);
      out["metrics"].push_back(metric_json("auc_" + name, auc, "ROC AUC of the " + name + " score (members vs non-members)"));
      json row = {name, auc.value, auc.low, auc.high};
      for (const auto& [bound, label] : {std::pair{0.001, "0.1%"}, std::pair{0.01, "1%"}}) {
        json m = {{"name", std::string("tpr_at_") + label + "_fpr_" + name}, {"n", auc.n}};
        if (metrics::tpr_at_fpr_measurable(non_members, bound)) {
          const double t = metrics::mimir_tpr_at_fpr(scores, labels, bound);
          m["value"] = t;
          m["description"] = std::string("true positive rate at FPR below ") + label;
          row.push_back(t);
        } else {
          m["description"] = std::string("true positive rate at FPR below ") + label + ": not measurable from " +
                             std::to_string(non_members) + " non-members (at least " +
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
    if (recall_shots_ > 0) {
      json excluded = json::array();
      for (size_t i = recall_first_; i < recall_shots_; ++i) excluded.push_back(members_.size() + i);
      out["metrics"].push_back({{"name", "recall_shots"},
                                {"value", recall_shots_ - recall_first_},
                                {"description", "non-members in ReCaLL's prefix (of the first " + std::to_string(recall_shots_) +
                                                    ", as many as fit the context), left out of the recall score's evaluation"}});
      out["run"]["recall"] = {{"shots", recall_shots_},
                              {"shots_in_prefix", recall_shots_ - recall_first_},
                              {"excluded_ids", excluded},
                              {"prefix_tokens", recall_prefix_.size()},
                              {"prefix_join", recall_join_},
                              {"context", max_length_},
                              {"avg_length", recall_avg_length_}};
    }
    if (!k_sweep_.empty()) k_sweep_summary(records, out);
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

  // ReCaLL's prefix (mimir's process_prefix, then the shots' texts joined and encoded again, as
  // mimir encodes "".join(shots)); the kept shots are recall_first_..recall_shots_ - 1.
  void prepare_recall(const MembershipParams& p) {
    const auto shots = static_cast<size_t>(p.recall_shots);
    if (shots >= nonmembers_.size())
      throw Error("attack.recall_shots: " + std::to_string(shots) + " shots leave none of the " +
                  std::to_string(nonmembers_.size()) + " non-members to evaluate ReCaLL on (recall_shots: 0 turns it off)");
    max_length_ = session_.model().config().max_positions;
    // mimir's avg_length: int(mean token count) of the texts it scores first (the members),
    // when it builds and caches the prefix.
    int64_t total = 0;
    for (const auto& s : members_) total += static_cast<int64_t>(s.size());
    recall_avg_length_ = members_.empty() ? 0 : total / static_cast<int64_t>(members_.size());
    std::vector<int64_t> counts;
    for (size_t i = 0; i < shots; ++i) counts.push_back(static_cast<int64_t>(nonmembers_[i].size()));
    recall_shots_ = shots;
    recall_first_ = shots - metrics::recall_shots_kept(counts, recall_avg_length_, max_length_);
    bool npy = false;
    for (const auto& f : p.nonmembers) npy = npy || std::filesystem::path(f).extension() == ".npy";
    const tok::Tokenizer* tokenizer = session_.tokenizer();
    recall_prefix_.clear();
    if (tokenizer && !npy) {
      std::string text;
      for (size_t i = recall_first_; i < shots; ++i) text += tokenizer->decode(nonmembers_[i]);
      recall_prefix_ = tokenizer->encode(text);
      recall_join_ = "text";
    } else {  // token rows: no text to join
      for (size_t i = recall_first_; i < shots; ++i)
        recall_prefix_.insert(recall_prefix_.end(), nonmembers_[i].begin(), nonmembers_[i].end());
      recall_join_ = "tokens";
    }
    for (int64_t t : recall_prefix_)
      if (t < 0 || t >= session_.vocab_size())
        throw Error("attack.recall_shots: the ReCaLL prefix holds token " + std::to_string(t) + ", outside the model's vocabulary of " +
                    std::to_string(session_.vocab_size()));
    if (recall_prefix_.empty()) throw Error("attack.recall_shots: the ReCaLL shots have no tokens");
    if (static_cast<int64_t>(recall_prefix_.size()) >= max_length_)
      throw Error("attack.recall_shots: the ReCaLL prefix of " + std::to_string(recall_prefix_.size()) + " tokens (" +
                  std::to_string(shots - recall_first_) + " shots) fills the model's context of " + std::to_string(max_length_) +
                  " positions (mimir refuses it too): use fewer or shorter non-members as shots");
  }

  bool is_recall_shot(int64_t id) const {
    const auto m = static_cast<int64_t>(members_.size());
    return recall_shots_ > 0 && id >= m + static_cast<int64_t>(recall_first_) && id < m + static_cast<int64_t>(recall_shots_);
  }

  // Per item, ReCaLL's LL(x | P) (mimir's get_conditional_ll: prefix + x scored in windows of the
  // context), or nothing for a shot or when ReCaLL is off. All windows go to the model in one call.
  std::vector<std::optional<double>> recall_conditional(const std::vector<int64_t>& ids,
                                                        const std::vector<std::vector<int64_t>>& seqs) {
    std::vector<std::optional<double>> out(ids.size());
    if (recall_shots_ == 0) return out;
    constexpr size_t none = static_cast<size_t>(-1);
    std::vector<std::vector<int64_t>> windows;
    std::vector<std::vector<size_t>> where(ids.size());  // per item, per window: its row in `windows`, or none
    const auto P = static_cast<int64_t>(recall_prefix_.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (is_recall_shot(ids[i])) continue;
      std::vector<int64_t> full = recall_prefix_;
      full.insert(full.end(), seqs[i].begin(), seqs[i].end());
      for (const auto& w : metrics::recall_windows(P, static_cast<int64_t>(seqs[i].size()), max_length_)) {
        if (w.end - w.begin < 2) {  // one token: nothing predicted
          where[i].push_back(none);
          continue;
        }
        where[i].push_back(windows.size());
        windows.emplace_back(full.begin() + w.begin, full.begin() + w.end);
      }
    }
    const auto scored = windows.empty() ? std::vector<models::Scored>{} : session_.score(windows);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (is_recall_shot(ids[i])) continue;
      std::vector<std::vector<double>> lps;
      for (size_t row : where[i])
        lps.push_back(row == none ? std::vector<double>{}
                                  : std::vector<double>(scored[row].logprob.begin(), scored[row].logprob.end()));
      out[i] = metrics::recall_conditional_ll(lps, P, static_cast<int64_t>(seqs[i].size()), max_length_);
    }
    return out;
  }

  // min-k% with k chosen on held-out items and measured on the rest.
  void k_sweep_summary(const std::vector<json>& records, json& out) const {
    std::vector<int64_t> ids;
    std::vector<int> labels;
    std::vector<std::vector<double>> candidates(k_sweep_.size());
    for (const auto& r : records) {
      ids.push_back(r.at("id").get<int64_t>());
      labels.push_back(r.at("member").get<bool>() ? 1 : 0);
      const auto& sweep = r.at("min_k_sweep");
      for (size_t k = 0; k < k_sweep_.size(); ++k) candidates[k].push_back(sweep.at(k).get<double>());
    }
    const auto members = std::count(labels.begin(), labels.end(), 1), non_members = std::count(labels.begin(), labels.end(), 0);
    if (members < 2 || non_members < 2) {
      out["metrics"].push_back({{"name", "min_k_sweep_auc"},
                                {"description", "ROC AUC of min-k% at the k chosen on held-out items: not measurable from " +
                                                    std::to_string(members) + " members and " + std::to_string(non_members) +
                                                    " non-members (at least 2 of each needed)"}});
      return;
    }
    const auto holdout = metrics::holdout_split(ids, labels, k_holdout_, session_.seed());
    const auto choice = metrics::choose_by_holdout_auc(candidates, labels, holdout);
    std::vector<double> eval_scores;
    std::vector<int> eval_labels;
    for (size_t i = 0; i < labels.size(); ++i)
      if (!holdout[i]) eval_scores.push_back(candidates[choice.chosen][i]), eval_labels.push_back(labels[i]);
    const double k = k_sweep_[choice.chosen];
    const std::string pct = std::to_string(static_cast<int64_t>(std::lround(k * 100))) + "%";
    const auto held = static_cast<int64_t>(labels.size() - eval_labels.size());
    const auto auc = metrics::bootstrap_auc(eval_scores, eval_labels, 1000, 0.95, session_.seed());
    out["metrics"].push_back(metric_json("min_k_sweep_auc", auc,
                                         "ROC AUC of min-k% at k = " + pct + ", the best of the sweep on " + std::to_string(held) +
                                             " held-out items, measured on the other " + std::to_string(eval_labels.size())));
    out["metrics"].push_back({{"name", "min_k_sweep_k"},
                              {"value", k},
                              {"description", "the k of min-k% with the best ROC AUC on the held-out items"}});
    json rows = json::array();
    for (size_t c = 0; c < k_sweep_.size(); ++c)
      rows.push_back({k_sweep_[c], choice.holdout_auc[c], c == choice.chosen ? json(choice.eval_auc) : json("")});
    out["tables"].push_back({{"id", "min_k_sweep"},
                             {"title", "min-k%: k chosen on " + std::to_string(held) + " held-out items, measured on the other " +
                                           std::to_string(eval_labels.size())},
                             {"columns", {"k", "held-out AUC", "evaluation AUC (chosen k)"}},
                             {"rows", rows}});
    out["run"]["min_k_sweep"] = {{"k", k_sweep_},           {"holdout_fraction", k_holdout_},
                                 {"holdout_items", held},   {"eval_items", eval_labels.size()},
                                 {"chosen_k", k},           {"eval_auc", choice.eval_auc}};
  }

  Session& session_;
  std::vector<std::vector<int64_t>> members_, nonmembers_;
  double k_ = 0.2;
  int64_t batch_ = 1, code_vocab_ = 0;
  // ReCaLL (recall_shots_ = 0: off): the prefix, the shots it holds and what it was built from.
  size_t recall_shots_ = 0, recall_first_ = 0;
  std::vector<int64_t> recall_prefix_;
  std::string recall_join_;
  int64_t max_length_ = 0, recall_avg_length_ = 0;
  // The min-k% sweep.
  std::vector<double> k_sweep_;
  double k_holdout_ = 0.5;
};


}  // namespace

AttackInfo membership_info() { return make_attack_info<Membership>("membership", membership_params()); }

}  // namespace eidetic::attacks
