// harness/cli.cpp: subcommand table and the single place where errors are caught.
#include "harness/cli.h"

#include <new>

#include <CLI/CLI.hpp>

#include <exception>
#include <ostream>
#include <string>
#include <string_view>

#include "common/error.h"
#include "harness/commands.h"
#include "harness/runtime_info.h"

namespace eidetic::harness {
namespace {

constexpr const char* kDescription =
    "Eidetic: a GPU-accelerated benchmark of training-data extraction attacks.\n"
    "It prompts language models at scale and measures how much of their training data\n"
    "comes back out (extraction rates, memorization scores, membership inference,\n"
    "canary exposure) and how fast (tokens/s, share of the GPU's roofline).";

// An error message on one line: messages may quote the input (a token, a CSV field), and a
// line break or other control character in it is printed escaped.
std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

int run_cli(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  CLI::App app{kDescription, "eidetic"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("-V,--version", show_version,
               "Print the version, git commit, torch version, CUDA availability and device");

  CLI::App* version = app.add_subcommand("version", "Same as --version");
  // The subcommands, in the order --help lists them.
  const std::vector<std::pair<CLI::App*, Action>> commands = [&] {
    std::vector<std::pair<CLI::App*, Action>> list;
    for (auto add : {add_quickstart_command, add_run_command, add_config_command, add_tokenize_command, add_generate_command, add_score_command, add_bench_command, add_report_command, add_challenge_command, add_corpus_command}) {
      Action action = add(app);
      list.emplace_back(app.get_subcommands([](CLI::App*) { return true; }).back(), std::move(action));
    }
    return list;
  }();

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      out << app.help();
      return 0;
    } catch (const CLI::CallForAllHelp&) {
      out << app.help("", CLI::AppFormatMode::All);
      return 0;
    } catch (const CLI::ParseError& e) {
      err << "eidetic: error: " << e.what() << "\n"
          << "Run `eidetic --help` for usage.\n";
      return 2;  // usage error
    }

    if (show_version || version->parsed()) {
      out << version_text(runtime_info());
      return 0;
    }
    Io io{in, out, err};
    for (const auto& [cmd, action] : commands)
      if (cmd->parsed()) return action(io);
    // No subcommand: say what there is.
    out << app.help();
    return 0;
  } catch (const Error& e) {
    err << "eidetic: error: " << one_line(e.what()) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    err << "eidetic: error: out of memory (an input asks for more than this machine has)\n";
    return 1;
  } catch (const std::exception& e) {
    // Anything else (libtorch's errors carry a backtrace after their first line): one line.
    const std::string what = e.what();
    err << "eidetic: error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  }
}

}  // namespace eidetic::harness
