// The real pretrained stories260K (a Llama-architecture model in llama2.c's format) must
// reproduce, token for token, the text llama2.c's reference `run` prints for it with
// temperature 0 and 200 steps from BOS (../shared/assets/models/stories260K).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

using testing::read_file;

std::string strip_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(Golden, Stories260KGreedyMatchesLlama2c) {
  EIDETIC_REQUIRE_ASSETS(assets);
  const auto dir = assets / "models" / "stories260K";
  const auto r = testing::run_cli({"generate", "--model", (dir / "stories260K.bin").string(), "--tokenizer",
                                   (dir / "tok512.bin").string(), "--prompt", "", "--max-new-tokens", "200",
                                   "--greedy", "--device", "cpu", "--dtype", "fp32"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string golden = read_file(dir / "golden_greedy_200.txt");
  ASSERT_FALSE(golden.empty());
  EXPECT_EQ(strip_trailing_newlines(r.out), strip_trailing_newlines(golden));
}

}  // namespace
}  // namespace eidetic
