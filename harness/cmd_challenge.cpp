// `eidetic challenge score`: scores a guess CSV of the Training Data Extraction Challenge
// (google-research/lm-extraction-benchmark; Carlini et al. 2021 and 2022 on extracting
// memorized training data) by its rule, recall at 100 wrong guesses (metrics/challenge.h), and
// writes the whole error curve (recall against wrong guesses, as upstream's
// score_submission.py plots it) as CSV and SVG.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "corpus/npy.h"
#include "harness/commands.h"
#include "harness/svg_plot.h"
#include "metrics/challenge.h"

namespace eidetic::harness {
namespace {

namespace fs = std::filesystem;

// The shortest text that reads back as the same double (what Python's repr prints).
std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}


// The curve without the inner points of horizontal or vertical runs (it is a staircase: each
// guess moves it right or up), which draws the same line with far fewer vertices.
std::vector<std::pair<double, double>> staircase_vertices(const std::vector<std::pair<int64_t, double>>& curve) {
  std::vector<std::pair<double, double>> pts;
  pts.emplace_back(0.0, 0.0);
  for (const auto& [w, r] : curve) pts.emplace_back(static_cast<double>(w), r);
  std::vector<std::pair<double, double>> out;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0 && pts[i] == pts[i - 1]) continue;
    if (out.size() >= 2) {
      const auto& a = out[out.size() - 2];
      auto& b = out.back();
      const bool same_x = a.first == b.first && b.first == pts[i].first;
      const bool same_y = a.second == b.second && b.second == pts[i].second;
      if (same_x || same_y) {
        b = pts[i];
        continue;
      }
    }
    out.push_back(pts[i]);
  }
  return out;
}

// The plot of recall (y) against wrong guesses (x), the budget marked by a vertical line.
std::string error_curve_svg(const metrics::ChallengeScore& s, int64_t max_wrong) {
  nlohmann::json curve = nlohmann::json::array();
  double top = 0;
  for (const auto& [x, y] : staircase_vertices(s.curve)) {
    curve.push_back({x, y});
    top = std::max(top, y);
  }
  if (top == 0) top = 1;
  const double budget = static_cast<double>(max_wrong);
  nlohmann::json plot = {
      {"id", "error_curve"},
      {"title", "Recall against wrong guesses (" + std::to_string(s.examples) + " examples)"},
      {"kind", "line"},
      {"x_label", "wrong guesses"},
      {"y_label", "recall"},
      {"series",
       {{{"name", "recall"}, {"points", curve}},
        {{"name", std::to_string(max_wrong) + " wrong guesses: recall " + format_number(s.recall_at_100_errors)},
         {"points", {{budget, 0.0}, {budget, top}}}}}}};
  return render_svg_plot(plot) + "\n";
}

}  // namespace

Action add_challenge_command(CLI::App& app) {
  struct Options {
    std::string guesses, answers, out_dir;
    int64_t max_wrong = 100;
    int64_t rows = 1000;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("challenge", "The Training Data Extraction Challenge (lm-extraction-benchmark)");
  cmd->require_subcommand(1);
  CLI::App* score = cmd->add_subcommand(
      "score", "Score a guess CSV (`Example ID`,`Suffix Guess`, most confident first) by recall at 100 wrong guesses");
  score->add_option("--guesses", o->guesses, "guess CSV: columns `Example ID` and `Suffix Guess` (\"[id,id,...]\")")
      ->required();
  score->add_option("--answers", o->answers, "(examples, suffix length) integer .npy of the true suffixes")->required();
  score->add_option("--out-dir", o->out_dir,
                    "where error_curve.csv and error_curve.svg go (default: the guesses' folder)");
  score->add_option("--max-wrong", o->max_wrong, "the budget of wrong guesses")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  score->add_option("--rows", o->rows,
                    "score against the last N rows of the answers (fewer if it has fewer) and divide recall by N, "
                    "as upstream's score_submission.py does with N = 1000 (its num_samples)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  return [o](Io& io) {
    const corpus::TokenArray a = corpus::read_npy_tokens(o->answers);
    if (a.shape.size() != 2)
      throw Error(o->answers + ": expected a 2-D (examples, suffix length) array of token ids, got " +
                  std::to_string(a.shape.size()) + " dimensions");
    const int64_t rows = a.shape[0], len = a.shape[1];
    // Upstream: answers = np.load(answer)[-1000:]; recall = np.mean(did_solve) over 1000.
    const int64_t first = std::max<int64_t>(0, rows - o->rows);
    std::vector<std::vector<int64_t>> answers;
    answers.reserve(static_cast<size_t>(rows - first));
    for (int64_t r = first; r < rows; ++r)
      answers.emplace_back(a.values.begin() + r * len, a.values.begin() + (r + 1) * len);
    if (answers.empty()) throw Error(o->answers + ": no answers (0 rows)");

    const std::vector<metrics::ChallengeGuess> guesses = metrics::read_guesses_csv(o->guesses);
    metrics::check_guesses(guesses, answers, o->guesses);
    const metrics::ChallengeScore s = metrics::score_challenge(guesses, answers, o->max_wrong, o->rows);

    const fs::path dir = o->out_dir.empty() ? fs::absolute(fs::path(o->guesses)).parent_path() : fs::path(o->out_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create the folder: " + ec.message());
    std::string csv = "wrong_guesses,recall\n";
    for (const auto& [w, r] : s.curve) csv += std::to_string(w) + "," + shortest(r) + "\n";
    const fs::path csv_path = dir / "error_curve.csv", svg_path = dir / "error_curve.svg";
    write_file_atomic(csv_path, csv);
    write_file_atomic(svg_path, error_curve_svg(s, o->max_wrong));

    const std::string budget = std::to_string(o->max_wrong);
    io.out << "guesses: " << s.guesses << " (" << s.correct_guesses << " correct, " << s.wrong << " wrong)\n"
           << "examples: " << answers.size() << " (the last " << answers.size() << " of " << rows << " answer rows; suffixes of "
           << len << " tokens); recall divides by " << s.examples << "\n"
           << "solved over all guesses: " << s.solved << " (recall " << shortest(static_cast<double>(s.solved) / static_cast<double>(s.examples)) << ")\n"
           << "guesses before wrong guess " << budget << ": " << s.guesses_in_budget << ", solving " << s.correct << "\n"
           << "error curve: " << csv_path.string() << ", " << svg_path.string() << "\n"
           << "recall_at_" << budget << "_errors: " << shortest(s.recall_at_100_errors) << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
