// harness/commands.h: each subcommand lives in its own cmd_*.cpp and registers itself here.
// A command adds its options to the CLI11 app and returns the action to run when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>

namespace eidetic::harness {

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

using Action = std::function<int(Io&)>;

Action add_tokenize_command(CLI::App& app);
Action add_generate_command(CLI::App& app);
Action add_score_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_run_command(CLI::App& app);
Action add_quickstart_command(CLI::App& app);
Action add_config_command(CLI::App& app);
// Every attack's parameters as Markdown tables, from their ParamTables (`eidetic config
// attacks`; README.md's "Attack parameters" section is this text, and a test keeps it so).
std::string attack_parameters_markdown();
Action add_report_command(CLI::App& app);
Action add_challenge_command(CLI::App& app);
Action add_corpus_command(CLI::App& app);

}  // namespace eidetic::harness
