// The command line: --version and --help say what they should; bad usage exits non-zero.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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


// The README's list of attack parameters is `eidetic config attacks`, which prints each attack's
// ParamTable: a parameter added, renamed or given another default must reach the README.
TEST(Cli, ReadmeListsEveryAttackParameterAsDeclared) {
  const auto r = run_cli({"config", "attacks"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"discoverable", "membership", "exposure", "sample-and-rank"})
    EXPECT_NE(r.out.find(std::string("`") + name + "`"), std::string::npos) << name;
  const char* src = std::getenv("EIDETIC_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::filesystem::path(src) / "README.md");
  const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- eidetic config attacks -->\n", end = "<!-- end of eidetic config attacks -->";
  const auto a = readme.find(begin), b = readme.find(end);
  ASSERT_NE(a, std::string::npos) << "README.md has no attack parameter section";
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(readme.substr(a + begin.size(), b - a - begin.size()), r.out)
      << "README.md's attack parameters differ from `eidetic config attacks`: paste its output between the markers";
}

}  // namespace
}  // namespace eidetic
