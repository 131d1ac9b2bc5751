// tests/cli_util.h: running the `eidetic` command line in-process from a test.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "harness/cli.h"

namespace eidetic::testing {

// Runs the command line in-process: `eidetic ARGS...` with `input` on stdin.
struct CliRun {
  int code;
  std::string out, err;
};
inline CliRun run_cli(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), "eidetic");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::istringstream in(input);
  std::ostringstream out, err;
  const int code = harness::run_cli(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace eidetic::testing
