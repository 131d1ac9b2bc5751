// attacks/lab_attack.cpp: the memorization lab's attacks as one run.
//
// The lab asks three questions of one trained model, over the items it planted: can the
// secret part of each planted record and passage be extracted from its prefix (discoverable),
// how exposed is each canary (exposure), and can planted items be told from never-planted ones
// (membership)? This attack runs the three as parts of one run, so their records share one
// results.jsonl (each tagged with its part) and their summaries one metrics.json, with the
// extraction rate by duplicate count at its top level. It also reports the bits of the planted
// texts the model memorized (Morris et al. 2025's measure: a text's length in bits under a
// uniform code, log2 V per token, minus its code length under the model, when positive) next
// to the model's and the training set's sizes in bits.
#include <cmath>
#include <deque>

#include "attacks/attack.h"
#include "attacks/summary.h"
#include "common/error.h"
#include "metrics/stats.h"

namespace eidetic::attacks {
namespace {

using nlohmann::json;

class LabAttack : public Attack {
 public:
  explicit LabAttack(Context& ctx) : ctx_(ctx) {
    const json& p = ctx.config.at("attack");
    int64_t offset = 0;
    for (const char* part : {"discoverable", "exposure", "membership"}) {
      if (!p.contains(part) || p.at(part).is_null()) continue;
      Part x;
      x.name = part;
      x.context = std::make_unique<Context>(ctx);
      x.context->config["attack"] = p.at(part);
      x.context->config["attack"]["name"] = part;
      x.attack = find_attack(part).make(*x.context);
      x.offset = offset;
      x.count = x.attack->item_count();
      offset += x.count;
      parts_.push_back(std::move(x));
    }
    if (parts_.empty()) throw Error("attack lab: no parts configured");
    facts_ = p.value("facts", json::object());
  }

  int64_t item_count() const override {
    int64_t n = 0;
    for (const auto& x : parts_) n += x.count;
    return n;
  }
  int64_t batch_items() const override {
    int64_t b = INT64_MAX;
    for (const auto& x : parts_) b = std::min(b, x.attack->batch_items());
    return b;
  }

  std::vector<json> run_batch(const std::vector<int64_t>& ids) override {
    std::vector<json> out;
    for (const auto& x : parts_) {
      std::vector<int64_t> local;
      for (int64_t id : ids)
        if (id >= x.offset && id < x.offset + x.count) local.push_back(id - x.offset);
      if (local.empty()) continue;
      for (auto& r : x.attack->run_batch(local)) {
        r["part"] = x.name;
        r["part_id"] = r.at("id");
        r["id"] = r.at("id").get<int64_t>() + x.offset;
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  json summarize(const std::vector<json>& records) const override {
    json out = {{"run", {{"items", records.size()}}}, {"metrics", json::array()}, {"tables", json::array()}, {"plots", json::array()}};
    for (const auto& x : parts_) {
      std::vector<json> mine;
      for (const auto& r : records)
        if (r.value("part", "") == x.name) {
          json c = r;
          c["id"] = r.at("part_id");
          mine.push_back(std::move(c));
        }
      json s = x.attack->summarize(mine);
      for (auto& m : s.value("metrics", json::array())) {
        m["name"] = x.name + "/" + m["name"].get<std::string>();
        out["metrics"].push_back(m);
      }
      for (auto& t : s.value("tables", json::array())) out["tables"].push_back(t);
      for (auto& pl : s.value("plots", json::array())) out["plots"].push_back(pl);
      for (const auto& [k, v] : s.items())
        if (k != "metrics" && k != "tables" && k != "plots" && k != "run") out[k] = v;
      if (s.contains("run")) out["run"][x.name] = s["run"];
      if (x.name == "membership") add_memorized_bits(mine, out);
    }
    out["lab"] = facts_;
    // Sizes in bits, side by side: what the model could store, what it saw, what it kept.
    if (out.contains("lab_memorized") && facts_.contains("parameters")) {
      const double params = facts_.at("parameters").get<double>();
      const double memorized = out["lab_memorized"]["planted_text_bits_memorized"].get<double>();
      out["tables"].push_back(
          {{"id", "bits"},
           {"title", "Model, training set and memorized text, in bits"},
           {"columns", {"quantity", "bits", "per parameter"}},
           {"rows",
            {{"model size (parameters x 32-bit floats)", facts_.value("model_bits_fp32", 0.0), 32.0},
             {"training set (tokens x log2 vocabulary)", facts_.value("training_set_bits", 0.0),
              facts_.value("training_set_bits", 0.0) / params},
             {"planted texts (tokens x log2 vocabulary)", out["lab_memorized"]["planted_text_bits_uniform"],
              out["lab_memorized"]["planted_text_bits_uniform"].get<double>() / params},
             {"planted texts memorized (uniform bits - model bits, > 0)", memorized, memorized / params}}}});
      metrics::Interval bpp{memorized / params, memorized / params, memorized / params, static_cast<int64_t>(params)};
      json m = metric_json("memorized_bits_per_parameter", bpp,
                           "bits of the planted texts the model memorized, per parameter (Morris et al. 2025 measure ~3.6 "
                           "bits per parameter at capacity)");
      m.erase("ci_low");
      m.erase("ci_high");
      out["metrics"].push_back(m);
    }
    return out;
  }

 private:
  // Bits of the planted (member) texts the model memorized: per text, its uniform code length
  // (tokens x log2 V) minus its code length under the model, counted when positive.
  void add_memorized_bits(const std::vector<json>& records, json& out) const {
    // The uniform code of the data: random sequences draw from random_vocab ids, text from the vocabulary.
    const double vocab = facts_.contains("random_vocab") ? facts_.at("random_vocab").get<double>()
                                                         : static_cast<double>(ctx_.config.at("_vocab_size").get<int64_t>());
    double memorized = 0, total = 0;
    for (const auto& r : records) {
      if (!r.at("member").get<bool>()) continue;
      const double predicted = static_cast<double>(r.at("tokens").get<int64_t>() - 1);
      const double uniform_bits = predicted * std::log2(vocab);
      const double model_bits = -r.at("scores").at("loss").get<double>() * predicted / std::log(2.0);
      total += uniform_bits;
      memorized += std::max(0.0, uniform_bits - model_bits);
    }
    facts_with(out, "planted_text_bits_uniform", total);
    facts_with(out, "planted_text_bits_memorized", memorized);
  }
  static void facts_with(json& out, const std::string& key, double v) { out["lab_memorized"][key] = v; }

  struct Part {
    std::string name;
    std::unique_ptr<Context> context;
    std::unique_ptr<Attack> attack;
    int64_t offset = 0, count = 0;
  };
  Context& ctx_;
  std::deque<Part> parts_;
  json facts_;
};

}  // namespace

AttackInfo lab_info() {
  AttackInfo a;
  a.name = "lab";
  a.summary = "the memorization lab's attacks on its trained model: discoverable on planted records and passages, "
              "exposure of canaries, membership of planted against never-planted items";
  for (const char* part : {"discoverable", "exposure", "membership", "facts"}) {
    Field f;
    f.name = part;
    f.type = Field::Type::any_map;
    f.help = std::string("parameters of the ") + part + " part (written by the lab)";
    a.params.push_back(f);
  }
  a.make = [](Context& ctx) { return std::make_unique<LabAttack>(ctx); };
  return a;
}

}  // namespace eidetic::attacks
