// The command line: --version and --help say what they should; bad usage exits non-zero.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"

namespace eidetic {
namespace {

struct CliResult {
  int code;
  std::string out;
  std::string err;
};

CliResult run(std::vector<std::string> args) {
  args.insert(args.begin(), "eidetic");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  const int code = harness::run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(Cli, VersionNamesEverythingItShould) {
  for (const char* flag : {"--version", "-V", "version"}) {
    const auto r = run({flag});
    EXPECT_EQ(r.code, 0) << flag;
    EXPECT_NE(r.out.find("eidetic 0."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("commit: "), std::string::npos);
    EXPECT_NE(r.out.find("torch: 2."), std::string::npos);
    EXPECT_NE(r.out.find("cuda usable: "), std::string::npos);
    EXPECT_NE(r.out.find("device: "), std::string::npos);
  }
}

TEST(Cli, HelpListsSubcommands) {
  const auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("version"), std::string::npos);
  EXPECT_NE(r.out.find("Subcommands"), std::string::npos) << r.out;
}

TEST(Cli, UnknownSubcommandIsAnError) {
  const auto r = run({"no-such-command"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("eidetic: error:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eidetic
