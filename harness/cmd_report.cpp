// `eidetic report`: runs side by side, and rebuilding a run's report.md and report.html.
//
// `eidetic report DIR [DIR ...]` prints every metric of the runs in one table (one column per
// run) with their throughput, as aligned text, Markdown or a self-contained HTML page.
// --regenerate first rewrites DIR/report.md and DIR/report.html from DIR/metrics.json, for a
// run written by an older version or whose metrics.json was edited.
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "harness/commands.h"
#include "harness/report.h"

namespace eidetic::harness {

Action add_report_command(CLI::App& app) {
  struct Options {
    std::vector<std::string> dirs;
    std::string format = "text";
    std::string output;
    bool regenerate = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Show runs side by side (every metric, one column per run, and throughput); "
                "--regenerate rewrites each run's report.md and report.html");
  cmd->add_option("dirs", o->dirs, "run directories written by `eidetic run`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--format", o->format, "text (aligned columns), markdown or html (one self-contained page)")
      ->check(CLI::IsMember({"text", "markdown", "html"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "write to this file instead of standard output");
  cmd->add_flag("--regenerate", o->regenerate, "rewrite report.md and report.html inside each DIR from its metrics.json");
  return [o](Io& io) {
    std::vector<std::filesystem::path> dirs(o->dirs.begin(), o->dirs.end());
    if (o->regenerate)
      for (const auto& dir : dirs) {
        write_reports(dir);
        io.err << "wrote " << (dir / "report.md").string() << " and " << (dir / "report.html").string() << "\n";
      }
    const std::string text = compare_runs(dirs, o->format);
    if (o->output.empty()) {
      io.out << text;
      return 0;
    }
    const std::filesystem::path out = o->output;
    write_file_atomic(out, text);
    io.err << "wrote " << out.string() << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
