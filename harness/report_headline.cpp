// harness/report_headline.cpp: see report_headline.h. Adding an attack's headline is one row of
// kRules.
#include "harness/report_headline.h"

#include <string>
#include <vector>

namespace eidetic::harness::report {
namespace {

struct Rule {
  const char* attack;               // metrics.json's run.attack
  const char* metric;               // the metric's name, or with best_of the start of the names to compare
  bool best_of;                     // the largest value among the metrics whose name starts with `metric`
  std::vector<const char*> plots;   // plot ids, in order of preference
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = {
      {"discoverable", "exact_extraction_rate", false, {"rate_by_duplicates", "rate_by_prefix_len"}},
      {"extraction-challenge", "recall_at_100_errors", false, {"challenge_errors"}},
      {"membership", "auc_", true, {"roc"}},
      {"exposure", "mean_exposure", false, {"exposure_by_duplicates"}},
      {"pythia-memorization", "memorized_fraction", false, {"score_distribution"}},
      {"sample-and-rank", "memorized_sample_rate", false, {}},
      {"lab", "exact_extraction_rate", false, {"rate_by_duplicates"}},
  };
  return kRules;
}

// A metric's own name: in a run of several attacks (or a lab) names are "ATTACK/name".
std::string base_name(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

const json* find_metric(const json& metrics, const Rule& rule) {
  const json* best = nullptr;
  for (const auto& m : metrics) {
    const std::string base = base_name(m["name"].get<std::string>());
    if (!rule.best_of) {
      if (base == rule.metric) return &m;
      continue;
    }
    if (base.rfind(rule.metric, 0) != 0 || !member(m, "value")) continue;
    if (!best || m["value"].get<double>() > (*best)["value"].get<double>()) best = &m;
  }
  return best;
}

void find_plot(const json& plots, const std::vector<const char*>& ids, HeadlineChoice& c) {
  for (const char* id : ids)
    for (size_t i = 0; i < plots.size(); ++i)
      if (str(plots[i], "id") == id) {
        c.plot = &plots[i];
        c.plot_index = i;
        return;
      }
}

}  // namespace

HeadlineChoice choose_headline(const Run& run) {
  HeadlineChoice c;
  const json& metrics = run.metrics["metrics"];
  const json empty = json::array();
  const json& plots = member(run.metrics, "plots") ? run.metrics["plots"] : empty;
  if (run.attack.rfind("sweep of ", 0) == 0) {
    find_plot(plots, {"sweep"}, c);
    return c;
  }
  const Rule* rule = nullptr;
  for (const auto& r : rules())
    if (run.attack == r.attack) rule = &r;
  if (rule) {
    c.metric = find_metric(metrics, *rule);
  } else {
    for (const auto& r : rules())
      if ((c.metric = find_metric(metrics, r))) {
        rule = &r;
        break;
      }
  }
  if (rule) find_plot(plots, rule->plots, c);
  if (!rule && !metrics.empty()) c.metric = &metrics[0];
  if (!c.plot && !plots.empty()) c.plot = &plots[0];  // the attack's own plots come first
  return c;
}

}  // namespace eidetic::harness::report
