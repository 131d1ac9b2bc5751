// The command line: --version and --help say what they should; bad usage exits non-zero.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "test_util.h"

namespace eidetic {
namespace {

using testing::run_cli;

TEST(Cli, VersionNamesEverythingItShould) {
  for (const char* flag : {"--version", "-V", "version"}) {
    const auto r = run_cli({flag});
    EXPECT_EQ(r.code, 0) << flag;
    EXPECT_NE(r.out.find("eidetic 0."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("commit: "), std::string::npos);
    EXPECT_NE(r.out.find("torch: 2."), std::string::npos);
    EXPECT_NE(r.out.find("cuda usable: "), std::string::npos);
    EXPECT_NE(r.out.find("device: "), std::string::npos);
  }
}

TEST(Cli, HelpListsSubcommands) {
  const auto r = run_cli({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("version"), std::string::npos);
  EXPECT_NE(r.out.find("Subcommands"), std::string::npos) << r.out;
}

TEST(Cli, TokenizePrintsIdsOnOneLine) {
  EIDETIC_REQUIRE_ASSETS(assets);
  const auto gpt2 = (assets / "tokenizers" / "gpt2" / "encoder.json").string();
  auto r = run_cli({"tokenize", "--tokenizer", gpt2}, "Hello world");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "15496 995\n");  // GPT-2's well-known ids for "Hello" and " world"
  r = run_cli({"tokenize", "--tokenizer", gpt2}, "bad \xff byte");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
  r = run_cli({"tokenize", "--tokenizer", "/nonexistent/tokenizer.json"}, "x");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("/nonexistent/tokenizer.json"), std::string::npos) << r.err;
}

TEST(Cli, UnknownSubcommandIsAnError) {
  const auto r = run_cli({"no-such-command"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("eidetic: error:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eidetic
