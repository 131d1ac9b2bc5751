// `eidetic run CONFIG` and `eidetic config show CONFIG`.
#include <ostream>

#include "attacks/attack.h"
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
  CLI::App* list = cmd->add_subcommand("attacks", "Print every attack's parameters (Markdown: the README's list)");
  return [o, show, list](Io& io) {
    if (list->parsed()) {
      io.out << attack_parameters_markdown();
      return 0;
    }
    const auto resolved = resolve_config(o->file, o->sets);
    io.out << to_yaml(resolved);
    io.out << "# config hash: " << config_hash(resolved) << "\n";
    return 0;
  };
}

std::string attack_parameters_markdown() {
  std::string out;
  for (const auto& a : attacks::attack_registry()) {
    out += "`" + a.name + "`: " + a.summary + ".\n\n| parameter | default | meaning |\n| --- | --- | --- |\n";
    for (const Field& f : a.params) {
      std::string def = f.required ? "required" : f.default_yaml.empty() ? "(none)" : "`" + f.default_yaml + "`";
      std::string help = f.help;
      if (!f.choices.empty()) {
        help += " (";
        for (size_t i = 0; i < f.choices.size(); ++i) help += (i ? ", " : "") + std::string("`") + f.choices[i] + "`";
        help += ")";
      }
      for (char& c : help)
        if (c == '|') c = '/';
      out += "| `" + f.name + "` | " + def + " | " + help + " |\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace eidetic::harness
