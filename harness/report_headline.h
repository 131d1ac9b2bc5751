// harness/report_headline.h: what a run's report opens with: the metric its attack is judged by
// (with its interval) and its main plot.
#pragma once

#include <cstddef>

#include "harness/report_input.h"

namespace eidetic::harness::report {

struct HeadlineChoice {
  const json* metric = nullptr;  // an element of metrics.json's "metrics"; null: none
  const json* plot = nullptr;    // an element of its "plots"; null: none
  size_t plot_index = 0;         // the plot's index in "plots"
};

// By the run's attack (metrics.json's run.attack):
//   discoverable          exact_extraction_rate; extraction against duplicates (or prefix length)
//   extraction-challenge  recall_at_100_errors; recall against wrong guesses
//   membership            the best auc_* (largest AUC over the scores); the ROC curves
//   exposure              mean_exposure; exposure against duplicates
//   pythia-memorization   memorized_fraction; the score distribution
//   sample-and-rank       memorized_sample_rate
//   lab                   discoverable/exact_extraction_rate; extraction against duplicates
//   sweep of KEY          the swept metric against KEY, with its fit
// A run of several attacks (metric names "ATTACK/metric") or of an attack not listed takes the
// first of these metrics it has, else its first metric; a run without the plot named takes its
// first plot.
HeadlineChoice choose_headline(const Run& run);

}  // namespace eidetic::harness::report
