// attacks/membership.cpp: membership inference by per-sequence scores, with the ROC analysis
// of Carlini et al. 2022 ("Membership Inference Attacks From First Principles").
//
// Every sequence of the member and non-member sets is scored teacher-forced; each score is
// oriented so that higher means "more likely a member":
//   loss        mean log-probability of the tokens (Yeom et al. 2018);
//   reference   target log-likelihood minus a reference model's (Carlini et al. 2021's ratio);
//   zlib        mean log-probability x its length over the text's zlib entropy in bits
//               (Carlini et al. 2021), when a tokenizer is available;
//   lowercase   the lowercased text's mean negative log-probability minus the original's
//               (Carlini et al. 2021), when a tokenizer is available;
//   min_k       mean of the lowest k% token log-probabilities, k = 20% (Shi et al. 2024);
//   min_k_pp    the same over (log p(x_t) - mu_t) / sigma_t, with mu_t and sigma_t the mean and
//               standard deviation of log p under the model's own next-token distribution
//               (Zhang et al. 2024, Min-K%++).
// For each score: ROC AUC with a stratified bootstrap interval, TPR at 0.1% and 1% FPR, and
// the ROC curve.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "attacks/attack.h"
#include "attacks/engine_calls.h"
#include "attacks/sequences.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"
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

class Membership : public Attack {
 public:
  explicit Membership(Context& ctx) : ctx_(ctx) {
    const json& p = ctx.config.at("attack");
    const auto t0 = Clock::now();
    const int64_t vocab = ctx.config.at("_vocab_size").get<int64_t>();
    const int64_t max_len = p.at("max_tokens").get<int64_t>();
    members_ = load_sequences(p.at("members"), ctx.tokenizer, vocab, max_len, "attack.members");
    nonmembers_ = load_sequences(p.at("nonmembers"), ctx.tokenizer, vocab, max_len, "attack.nonmembers");
    k_ = p.at("k").get<double>();
    if (!(k_ > 0 && k_ <= 1)) throw Error("attack.k must be in (0, 1]");
    const int64_t limit = p.at("limit").get<int64_t>();
    if (limit > 0) {
      if (static_cast<int64_t>(members_.size()) > limit) members_.resize(static_cast<size_t>(limit));
      if (static_cast<int64_t>(nonmembers_.size()) > limit) nonmembers_.resize(static_cast<size_t>(limit));
    }
    const std::string ref = p.value("reference", "");
    if (!ref.empty()) {
      const auto& m = ctx.engine->model();
      reference_model_ = std::make_unique<models::Model>(models::load_model(ref, m.device(), m.dtype()));
      if (reference_model_->config().vocab_size != m.config().vocab_size)
        throw Error(ref + ": the reference model's vocabulary (" + std::to_string(reference_model_->config().vocab_size) +
                    ") differs from the target's (" + std::to_string(m.config().vocab_size) + ")");
      reference_engine_ = std::make_unique<models::Engine>(*reference_model_);
    }
    ctx.profile->add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
    int64_t longest = 0;
    for (const auto* set : {&members_, &nonmembers_})
      for (const auto& s : *set) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
    batch_ = attacks::batch_items(ctx, longest);
  }

  int64_t item_count() const override { return static_cast<int64_t>(members_.size() + nonmembers_.size()); }
  int64_t batch_items() const override { return batch_; }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<std::vector<int64_t>> seqs;
    for (int64_t id : ids) seqs.push_back(sequence(id));
    const auto scored = attacks::score(ctx_, seqs, /*entropy=*/false, /*rank=*/false);
    std::vector<models::Scored> ref;
    if (reference_engine_) ref = reference_engine_->score(seqs);
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
      if (ctx_.tokenizer) {
        const std::string text = ctx_.tokenizer->decode(seqs[i]);
        const double bits = metrics::zlib_entropy_bits(text);
        scores["zlib"] = bits > 0 ? sum / bits : 0.0;
        const auto lower = ctx_.tokenizer->encode(metrics::to_lower_ascii(text));
        if (lower.size() >= 2) {
          const auto ls = attacks::score(ctx_, {lower})[0].logprob;
          double lsum = 0;
          for (float x : ls) lsum += x;
          scores["lowercase"] = -lsum / static_cast<double>(ls.size()) - (-mean);
        }
      }
      const bool member = ids[i] < static_cast<int64_t>(members_.size());
      records.push_back({{"id", ids[i]}, {"member", member}, {"tokens", seqs[i].size()}, {"scores", scores}});
    }
    ctx_.profile->add("match", std::chrono::duration<double>(Clock::now() - t0).count());
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
      const auto auc = metrics::bootstrap_auc(scores, labels, 1000, 0.95, ctx_.seed);
      const auto roc = metrics::roc_curve(scores, labels);
      const double t01 = metrics::tpr_at_fpr(roc, 0.001), t1 = metrics::tpr_at_fpr(roc, 0.01);
      out["metrics"].push_back(metric_json("auc_" + name, auc, "ROC AUC of the " + name + " score (members vs non-members)"));
      metrics::Interval a{t01, t01, t01, auc.n}, b{t1, t1, t1, auc.n};
      json m1 = metric_json("tpr_at_0.1%_fpr_" + name, a, "true positive rate at 0.1% false positive rate");
      json m2 = metric_json("tpr_at_1%_fpr_" + name, b, "true positive rate at 1% false positive rate");
      for (json* m : {&m1, &m2}) m->erase("ci_low"), m->erase("ci_high");
      out["metrics"].push_back(m1);
      out["metrics"].push_back(m2);
      rows.push_back({name, auc.value, auc.low, auc.high, t01, t1});
      json points = json::array();
      for (size_t i = 0; i < roc.fpr.size(); ++i) points.push_back({roc.fpr[i], roc.tpr[i]});
      series.push_back({{"name", name + " (AUC " + std::to_string(auc.value).substr(0, 5) + ")"}, {"points", points}});
    }
    out["tables"].push_back({{"id", "membership"},
                             {"title", "Membership inference by score"},
                             {"columns", {"score", "AUC", "AUC low", "AUC high", "TPR@0.1%FPR", "TPR@1%FPR"}},
                             {"rows", rows}});
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

  // Min-K%++ per sequence, from the model's full next-token distributions.
  std::vector<double> min_k_pp(const std::vector<std::vector<int64_t>>& seqs) const {
    const models::Model& m = ctx_.engine->model();
    std::vector<double> out;
    for (const auto& s : seqs) {
      const at::Tensor ids = at::tensor(s, at::kLong).unsqueeze(0);
      const at::Tensor logp = at::log_softmax(m.logits(m.forward(ids, at::Tensor(), nullptr))[0], -1);  // (T, V)
      const at::Tensor p = logp.exp();
      const at::Tensor mu = (p * logp).sum(-1);
      // E[(log p - mu)^2], not E[(log p)^2] - mu^2: the difference of two nearly equal sums
      // (~30 each for a flat 256-token distribution) loses four digits of a float32 variance.
      const at::Tensor sigma = (p * (logp - mu.unsqueeze(-1)).square()).sum(-1).clamp_min(1e-12).sqrt();
      const int64_t T = ids.size(1);
      const at::Tensor target = logp.slice(0, 0, T - 1).gather(-1, ids[0].slice(0, 1).to(logp.device()).unsqueeze(-1)).squeeze(-1);
      const at::Tensor z = ((target - mu.slice(0, 0, T - 1)) / sigma.slice(0, 0, T - 1)).cpu().to(at::kDouble);
      out.push_back(lowest_mean(std::vector<double>(z.data_ptr<double>(), z.data_ptr<double>() + z.numel()), k_));
    }
    return out;
  }

  Context& ctx_;
  std::vector<std::vector<int64_t>> members_, nonmembers_;
  std::unique_ptr<models::Model> reference_model_;
  std::unique_ptr<models::Engine> reference_engine_;
  double k_ = 0.2;
  int64_t batch_ = 1;
};


}  // namespace

AttackInfo membership_info() {
  AttackInfo a;
  a.name = "membership";
  a.summary = "membership inference: LOSS, reference ratio, zlib, lowercase, min-k% and min-k%++ scores; ROC AUC, "
              "TPR at low FPR (Carlini et al. 2022; Shi et al. 2024; Zhang et al. 2024)";
  a.params = {make_field("members", Field::Type::string_list, "", "member sequences: a (N, T) .npy, or .txt/.jsonl files", true),
              make_field("nonmembers", Field::Type::string_list, "", "non-member sequences, same forms", true),
              make_field("reference", Field::Type::string, "", "optional reference model for the ratio score"),
              make_field("k", Field::Type::number, "0.2", "fraction of lowest tokens for min-k% and min-k%++"),
              make_field("max_tokens", Field::Type::integer, "256", "truncate text documents to this many tokens"),
              make_field("limit", Field::Type::integer, "0", "at most N sequences from each set (0: all)")};
  a.make = [](Context& ctx) { return std::make_unique<Membership>(ctx); };
  return a;
}

}  // namespace eidetic::attacks
