// `eidetic run CONFIG` and `eidetic config show CONFIG`.
#include <ostream>

#include "harness/commands.h"
#include "harness/config.h"
#include "harness/run.h"

namespace eidetic::harness {

Action add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("run", "Run an experiment from a YAML config into a run directory");
  cmd->add_option("config", o->config, "the experiment's YAML file")->required();
  cmd->add_option("--set", o->sets, "override a key: --set attack.prefix_len=50 (repeatable)");
  cmd->add_option("--out", *out, "run directory (default: the config's output)");
  cmd->add_flag("--resume", o->resume, "continue an interrupted run after its last complete batch");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress on stderr");
  return [o, out](Io& io) {
    if (!out->empty()) o->out = *out;
    const auto dir = execute_run(*o, io.err);
    io.out << "run directory: " << dir.string() << "\n"
           << "report: " << (dir / "report.html").string() << "\n";
    return 0;
  };
}

Action add_config_command(CLI::App& app) {
  struct Options {
    std::string file;
    std::vector<std::string> sets;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("config", "Inspect experiment configs");
  cmd->require_subcommand(1);
  CLI::App* show = cmd->add_subcommand("show", "Print the fully resolved config (bases merged, --set applied, defaults filled)");
  show->add_option("config", o->file, "the experiment's YAML file")->required();
  show->add_option("--set", o->sets, "override a key (repeatable)");
  return [o](Io& io) {
    const auto resolved = resolve_config(o->file, o->sets);
    io.out << to_yaml(resolved);
    io.out << "# config hash: " << config_hash(resolved) << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
