// `eidetic quickstart [--out DIR]`: the memorization lab of configs/quickstart.yaml, which is
// compiled into the binary so that it runs from anywhere. With a CUDA device it trains a larger
// model (the GPU finishes it in about the time the CPU takes for the small one).
#include <ATen/Context.h>
#include <unistd.h>

#include <fstream>
#include <ostream>

#include "eidetic/quickstart_config.h"
#include "harness/commands.h"
#include "harness/run.h"

namespace eidetic::harness {

Action add_quickstart_command(CLI::App& app) {
  auto out = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  auto resume = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "quickstart", "Run the memorization lab: plant items in a corpus, train a model on it, extract them, report");
  cmd->add_option("--out", *out, "run directory (default: runs/quickstart)");
  cmd->add_option("--set", *sets, "override a key of the quickstart config (repeatable)");
  cmd->add_flag("--resume", *resume, "continue an interrupted quickstart");
  cmd->add_flag("-q,--quiet", *quiet, "no progress on stderr");
  return [out, sets, quiet, resume](Io& io) {
    const auto file = std::filesystem::temp_directory_path() / ("eidetic-quickstart-" + std::to_string(::getpid()) + ".yaml");
    {
      std::ofstream f(file);
      f << kQuickstartConfig;
    }
    RunOptions o;
    o.config = file;
    if (at::hasCUDA()) o.sets = {"arch.hidden_size=256", "arch.layers=6", "arch.heads=8", "train.batch_size=32"};
    o.sets.insert(o.sets.end(), sets->begin(), sets->end());
    o.out = out->empty() ? std::filesystem::path("runs/quickstart") : std::filesystem::path(*out);
    o.quiet = *quiet;
    o.resume = *resume;
    std::filesystem::path dir;
    try {
      dir = execute_run(o, io.err);
    } catch (...) {
      std::filesystem::remove(file);
      throw;
    }
    std::filesystem::remove(file);
    io.out << "run directory: " << dir.string() << "\n"
           << "report: " << (dir / "report.html").string() << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
