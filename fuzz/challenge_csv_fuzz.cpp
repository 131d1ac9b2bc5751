// fuzz/challenge_csv_fuzz.cpp: a guesses CSV of the extraction challenge, read and then scored
// against answers of 50 tokens for 4 examples.
#include <cstdlib>

#include "fuzz_util.h"
#include "metrics/challenge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = eidetic::fuzz::write_scratch("guesses.csv", {reinterpret_cast<const char*>(data), size});
  eidetic::fuzz::expect_clean([&] {
    const auto guesses = eidetic::metrics::read_guesses_csv(file);
    const std::vector<std::vector<int64_t>> answers(4, std::vector<int64_t>(50, 7));
    eidetic::fuzz::expect_clean([&] {
      const auto score = eidetic::metrics::score_challenge(guesses, answers);
      if (score.recall_at_100_errors < 0 || score.recall_at_100_errors > 1) std::abort();
    });
  });
  return 0;
}
