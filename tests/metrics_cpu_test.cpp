// tests/metrics_cpu_test.cpp: hand-computed cases for the metrics an extraction benchmark
// reports: membership-inference ROC, AUC and TPR at low FPR (Carlini et al. 2022, "Membership
// inference attacks from first principles"), zlib entropy, edit distance, BLEU-4 and trigram
// Jaccard (Carlini et al. 2021, "Extracting Training Data from Large Language Models"; Ippolito
// et al. 2022 for approximate memorization), and the Training Data Extraction Challenge's
// recall at 100 wrong guesses, both as a function and through `eidetic challenge score`.
// tests/metrics_oracle.py and tests/challenge_oracle.py compare the same code with the
// reference libraries on random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "common/error.h"
#include "corpus/npy.h"
#include "metrics/challenge.h"
#include "metrics/membership.h"
#include "metrics/text_metrics.h"
#include "test_util.h"

namespace m = eidetic::metrics;
using eidetic::Error;

namespace {

using eidetic::testing::error_of;
using eidetic::testing::read_file;

std::filesystem::path temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("eidetic_metrics_test_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<int64_t> chars(const std::string& s) { return std::vector<int64_t>(s.begin(), s.end()); }

}  // namespace

// ---- membership inference ------------------------------------------------------------------

TEST(Membership, PerfectReversedAndTiedAuc) {
  // exact (all four): the AUC is an integer pair count over 2 x members x non-members, here
  // 0, 1, 1/2 and 3/4, each a dyadic fraction that one division reproduces exactly.
  EXPECT_EQ(m::roc_auc({0.9, 0.8, 0.3, 0.1}, {1, 1, 0, 0}), 1.0);
  EXPECT_EQ(m::roc_auc({0.9, 0.8, 0.3, 0.1}, {0, 0, 1, 1}), 0.0);
  EXPECT_EQ(m::roc_auc({0.5, 0.5, 0.5, 0.5, 0.5}, {1, 0, 1, 0, 0}), 0.5);
  // A member tied with one non-member and above the other: (0.5 + 1) / 2.
  EXPECT_EQ(m::roc_auc({1, 1, 0}, {1, 0, 0}), 0.75);
}

TEST(Membership, CurveMatchesScikitLearnsExample) {
  // sklearn.metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], drop_intermediate=False)
  const m::RocCurve c = m::roc_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
  // exact: the rates are counts over 2, dyadic; the thresholds are the input scores, copied.
  EXPECT_EQ(c.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(c.tpr, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  ASSERT_EQ(c.thresholds.size(), 5u);
  EXPECT_EQ(c.thresholds[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::vector<double>(c.thresholds.begin() + 1, c.thresholds.end()), (std::vector<double>{0.8, 0.4, 0.35, 0.1}));
  EXPECT_EQ(m::roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);  // exact: 6 of 8 half-pairs

  // exact: tpr_at_fpr returns one of the curve's (dyadic) TPR values as is, or 0.
  EXPECT_EQ(m::tpr_at_fpr(c, 0.0), 0.5);
  EXPECT_EQ(m::tpr_at_fpr(c, 0.49), 0.5);
  EXPECT_EQ(m::tpr_at_fpr(c, 0.5), 1.0);
  EXPECT_EQ(m::tpr_at_fpr(c, 1.0), 1.0);
  EXPECT_EQ(m::tpr_at_fpr(m::RocCurve{}, 0.5), 0.0);
}

TEST(Membership, TiedScoresGiveOnePoint) {
  const m::RocCurve c = m::roc_curve({1, 1, 0}, {1, 0, 0});
  // exact: counts over 1 and 2 (dyadic); the last threshold is the input score 0, copied.
  EXPECT_EQ(c.fpr, (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(c.tpr, (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(c.thresholds.back(), 0.0);
}

TEST(Membership, TprAtOneInAThousand) {
  // 1000 non-members scored 0..999, 10 members: 5 above every non-member, 5 at the bottom.
  std::vector<double> s;
  std::vector<int> l;
  for (int i = 0; i < 1000; ++i) s.push_back(i), l.push_back(0);
  for (int i = 0; i < 5; ++i) s.push_back(2000 + i), l.push_back(1);
  for (int i = 0; i < 5; ++i) s.push_back(-1 - i), l.push_back(1);
  const m::RocCurve c = m::roc_curve(s, l);
  // exact: TPR values are counts over the 10 members, returned as computed: 5 / 10 rounds to 0.5
  // exactly, 10 / 10 is 1.
  EXPECT_EQ(m::tpr_at_fpr(c, 0.0), 0.5);
  EXPECT_EQ(m::tpr_at_fpr(c, 0.001), 0.5);  // one false positive allowed, no member gained by it
  EXPECT_EQ(m::tpr_at_fpr(c, 1.0), 1.0);
}

TEST(Membership, Errors) {
  EXPECT_NE(error_of([] { m::roc_curve({1, 2}, {1}); }).find("2 scores but 1 labels"), std::string::npos);
  EXPECT_NE(error_of([] { m::roc_auc({1, 2}, {1, 1}); }).find("no non-members"), std::string::npos);
  EXPECT_NE(error_of([] { m::roc_auc({1, 2}, {0, 0}); }).find("no members"), std::string::npos);
  EXPECT_NE(error_of([] { m::roc_auc({}, {}); }).find("no members"), std::string::npos);
  EXPECT_NE(error_of([] { m::roc_auc({1, 2}, {0, 2}); }).find("label 1 is 2"), std::string::npos);
  EXPECT_NE(error_of([] { m::roc_auc({1, std::nan("")}, {0, 1}); }).find("NaN"), std::string::npos);
  EXPECT_NE(error_of([] { m::bootstrap_auc({1, 2}, {1}); }).find("labels"), std::string::npos);
  EXPECT_NE(error_of([] { m::bootstrap_auc({1, 2}, {1, 1}); }).find("no non-members"), std::string::npos);
  EXPECT_NE(error_of([] { m::bootstrap_auc({1, 2}, {1, 0}, 0); }).find("samples"), std::string::npos);
}

TEST(Membership, BootstrapAuc) {
  const m::Interval perfect = m::bootstrap_auc({0.9, 0.8, 0.3, 0.1}, {1, 1, 0, 0}, 200);
  // exact: every resample of a perfect separation wins every pair: the count over itself, 1.
  EXPECT_EQ(perfect.value, 1.0);
  EXPECT_EQ(perfect.low, 1.0);
  EXPECT_EQ(perfect.high, 1.0);
  EXPECT_EQ(perfect.n, 4);

  std::vector<double> s;
  std::vector<int> l;
  for (int i = 0; i < 300; ++i) {
    l.push_back(i % 3 == 0);
    s.push_back(std::sin(i * 12.9898) * 0.5 + (i % 3 == 0 ? 0.4 : 0.0));
  }
  const m::Interval a = m::bootstrap_auc(s, l, 500, 0.9, 7);
  EXPECT_EQ(a.value, m::roc_auc(s, l));  // exact: the same function on the same inputs
  EXPECT_LT(a.low, a.value);
  EXPECT_GT(a.high, a.value);
  EXPECT_GT(a.low, 0.5);
  const m::Interval b = m::bootstrap_auc(s, l, 500, 0.9, 7);
  EXPECT_EQ(a.low, b.low);  // exact: a function of the seed, recomputed by the same operations
  EXPECT_EQ(a.high, b.high);  // exact: as above
  const m::Interval wide = m::bootstrap_auc(s, l, 500, 0.99, 7);
  EXPECT_LE(wide.low, a.low);
  EXPECT_GE(wide.high, a.high);
}

// ---- text metrics ---------------------------------------------------------------------------

TEST(TextMetrics, ZlibMatchesPythonsLengths) {
  // len(zlib.compress(s.encode("utf-8"))) in Python 3.11 with zlib 1.2.13.
  EXPECT_EQ(m::zlib_compressed_bytes(""), 8);
  EXPECT_EQ(m::zlib_compressed_bytes("hello world"), 19);
  EXPECT_EQ(m::zlib_compressed_bytes(std::string(1000, 'a')), 17);
  EXPECT_EQ(m::zlib_compressed_bytes("Z\xC3\xBCrich \xE2\x80\x93 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x99\x82"), 32);
  EXPECT_EQ(m::zlib_entropy_bits("hello world"), 152.0);  // exact: 8 x 19 bytes, an integer
}

TEST(TextMetrics, LowercaseAsciiOnly) {
  EXPECT_EQ(m::to_lower_ascii("HeLLo, World 42!"), "hello, world 42!");
  EXPECT_EQ(m::to_lower_ascii("\xC3\x84" "B"), "\xC3\x84" "b");  // "ÄB": the Ä stays
  EXPECT_EQ(m::to_lower_ascii(""), "");
}

TEST(TextMetrics, EditDistance) {
  EXPECT_EQ(m::token_edit_distance(chars("kitten"), chars("sitting")), 3);
  EXPECT_EQ(m::token_edit_distance(chars("sitting"), chars("kitten")), 3);
  EXPECT_EQ(m::token_edit_distance(chars("flaw"), chars("lawn")), 2);
  EXPECT_EQ(m::token_edit_distance({}, {1, 2, 3}), 3);
  EXPECT_EQ(m::token_edit_distance({1, 2, 3}, {}), 3);
  EXPECT_EQ(m::token_edit_distance({1, 2, 3}, {1, 2, 3}), 0);
  EXPECT_EQ(m::token_edit_distance({1, 2, 3}, {3, 2, 1}), 2);
  // exact: one IEEE division of the same two integers on both sides (3.0 / 7.0 rounds once).
  EXPECT_EQ(m::normalized_edit_distance(chars("kitten"), chars("sitting")), 3.0 / 7.0);
  EXPECT_EQ(m::normalized_edit_distance({1, 2}, {}), 2.0);
  EXPECT_EQ(m::normalized_edit_distance({}, {}), 0.0);
}

TEST(TextMetrics, Bleu4) {
  const std::vector<int64_t> ref{5, 8, 13, 21, 34, 55};
  EXPECT_EQ(m::bleu4(ref, ref), 1.0);  // exact: every precision 1, log 1 = 0, exp(0) x 1 = 1
  EXPECT_EQ(m::bleu4({}, ref), 0.0);   // exact: returned as a constant
  EXPECT_EQ(m::bleu4({1, 2, 3}, ref), 0.0);  // no unigram in common; exact: returned as a constant
  // p = 4/5, 3/4, 2/3, 1/2; no brevity penalty: (0.2)^(1/4). NLTK: 0.668740304976422.
  // NLTK's own formula (fsum of 0.25 log p, then exp), so equal to the last bit when log and exp
  // come from the same libm (0 ulp here); DOUBLE_EQ's 4 ulp admit another C library's log/exp.
  EXPECT_DOUBLE_EQ(m::bleu4({1, 2, 3, 4, 5}, {1, 2, 3, 4, 6}), 0.668740304976422);
  // p3 and p4 have no match: method1 makes them 0.1/2 and 0.1/1. NLTK: 0.1880301546543197.
  // As above: NLTK's formula, 4 ulp for another libm (0 here).
  EXPECT_DOUBLE_EQ(m::bleu4({1, 2, 9, 3}, {1, 2, 3, 4}), 0.1880301546543197);
  // A correct half: every precision 1, brevity penalty exp(1 - 8/4).
  // exp(1 - 8.0 / 4.0) x exp(0): exp(-1) on both sides, but the compiler may fold the test's
  // (correctly rounded) while libm's exp is only within an ulp: DOUBLE_EQ's 4 ulp (0 here).
  EXPECT_DOUBLE_EQ(m::bleu4({1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), std::exp(-1.0));
  // Clipping: the candidate's five 7s match the reference's one.
  EXPECT_LT(m::bleu4({7, 7, 7, 7, 7}, {7, 1, 2, 3, 4}), 0.2);
}

TEST(TextMetrics, TrigramJaccard) {
  // exact (all): one IEEE division of the same two set sizes on both sides, or a constant.
  EXPECT_EQ(m::trigram_jaccard({1, 2, 3, 4}, {2, 3, 4, 5}), 1.0 / 3.0);
  EXPECT_EQ(m::trigram_jaccard({1, 2, 3, 4}, {1, 2, 3, 4}), 1.0);
  EXPECT_EQ(m::trigram_jaccard({1, 2, 3, 1, 2, 3}, {1, 2, 3}), 1.0 / 3.0);  // sets: {123, 231, 312} vs {123}
  EXPECT_EQ(m::trigram_jaccard({1, 2, 3}, {4, 5, 6}), 0.0);
  EXPECT_EQ(m::trigram_jaccard({1, 2}, {1, 2}), 1.0);
  EXPECT_EQ(m::trigram_jaccard({1, 2}, {2, 1}), 0.0);
  EXPECT_EQ(m::trigram_jaccard({1, 2}, {1, 2, 3}), 0.0);
}

// ---- the extraction challenge ---------------------------------------------------------------

namespace {
const std::vector<std::vector<int64_t>> kAnswers{{1, 2}, {3, 4}, {5, 6}, {7, 8}};
m::ChallengeGuess right(int64_t e) { return {e, kAnswers[static_cast<size_t>(e)]}; }
m::ChallengeGuess wrong(int64_t e) { return {e, {0, 0}}; }
}  // namespace

TEST(Challenge, DuplicatesCountOnce) {
  const auto s = m::score_challenge({right(0), right(0), wrong(1), right(1), right(0)}, kAnswers);
  EXPECT_EQ(s.examples, 4);
  EXPECT_EQ(s.correct, 2);
  EXPECT_EQ(s.recall_at_100_errors, 0.5);  // exact: 2 of 4 examples, dyadic
  EXPECT_EQ(s.guesses, 5);
  EXPECT_EQ(s.wrong, 1);
  EXPECT_EQ(s.correct_guesses, 4);
  EXPECT_EQ(s.solved, 2);
  EXPECT_EQ(s.guesses_in_budget, 5);
  const std::vector<std::pair<int64_t, double>> curve{{0, 0.25}, {0, 0.25}, {1, 0.25}, {1, 0.5}, {1, 0.5}};
  EXPECT_EQ(s.curve, curve);  // exact: recalls are counts over 4, dyadic
}

TEST(Challenge, HundredthWrongGuessEndsTheBudget) {
  std::vector<m::ChallengeGuess> g;
  for (int i = 0; i < 99; ++i) g.push_back(wrong(i % 4));
  g.push_back(right(0));  // after 99 wrong guesses: counts
  g.push_back(wrong(1));  // the 100th wrong guess
  g.push_back(right(1));  // too late
  const auto s = m::score_challenge(g, kAnswers);
  EXPECT_EQ(s.recall_at_100_errors, 0.25);  // exact: 1 of 4, dyadic
  EXPECT_EQ(s.correct, 1);
  EXPECT_EQ(s.solved, 2);
  EXPECT_EQ(s.guesses_in_budget, 100);
  EXPECT_EQ(s.curve.back(), (std::pair<int64_t, double>{100, 0.5}));  // exact: 2 of 4

  // With a budget of 101 the last guess counts. exact, as every recall below: counts over 4.
  EXPECT_EQ(m::score_challenge(g, kAnswers, 101).recall_at_100_errors, 0.5);
  // A budget of one: the first wrong guess ends it.
  EXPECT_EQ(m::score_challenge({wrong(0), right(0)}, kAnswers, 1).recall_at_100_errors, 0.0);
  EXPECT_EQ(m::score_challenge({right(2), wrong(0), right(0)}, kAnswers, 1).recall_at_100_errors, 0.25);
  EXPECT_EQ(m::score_challenge({}, kAnswers).recall_at_100_errors, 0.0);
}

TEST(Challenge, Errors) {
  EXPECT_NE(error_of([] { m::score_challenge({{4, {1, 2}}}, kAnswers); }).find("example id 4 is outside the answers (4 examples"),
            std::string::npos);
  EXPECT_NE(error_of([] { m::score_challenge({{-1, {1, 2}}}, kAnswers); }).find("example id -1"), std::string::npos);
  EXPECT_NE(error_of([] { m::score_challenge({right(0), {1, {3, 4, 5}}}, kAnswers); }).find("guess 2: the suffix guess for example 1 has 3 tokens, its answer has 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { m::score_challenge({}, {}); }).find("no answers"), std::string::npos);
  EXPECT_NE(error_of([] { m::score_challenge({}, kAnswers, 0); }).find("max_wrong"), std::string::npos);
  m::ChallengeGuess g{9, {1, 2}};
  g.line = 12;
  EXPECT_NE(error_of([&] { m::check_guesses({g}, kAnswers, "sub.csv"); }).find("sub.csv:12: example id 9"), std::string::npos);
}

TEST(Challenge, ReadsUpstreamsCsvFormats) {
  const auto dir = temp_dir("csv");
  const auto f = dir / "g.csv";
  // As csv.writer writes it (CRLF), with the README's spaced lists, bare lists, a quoted line
  // break inside a field, a blank line and extra columns.
  write_text(f,
             "\xEF\xBB\xBF" "Example ID,Suffix Guess,score\r\n"
             "991,\"[6,0,1,2]\",0.5\r\n"
             "8, \"[3, 6, 9]\" ,x\r\n"
             "\r\n"
             "12,4 2 8,\"two\nlines\"\n"
             "7,\"1,2,3\",\n"
             "9,[],\n");
  const auto g = m::read_guesses_csv(f);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(g[0].example, 991);
  EXPECT_EQ(g[0].suffix, (std::vector<int64_t>{6, 0, 1, 2}));
  EXPECT_EQ(g[0].line, 2);
  EXPECT_EQ(g[1].example, 8);
  EXPECT_EQ(g[1].suffix, (std::vector<int64_t>{3, 6, 9}));
  EXPECT_EQ(g[2].suffix, (std::vector<int64_t>{4, 2, 8}));
  EXPECT_EQ(g[2].line, 5);
  EXPECT_EQ(g[3].suffix, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(g[3].line, 7);
  EXPECT_TRUE(g[4].suffix.empty());

  // Columns in another order.
  write_text(f, "Suffix Guess,Example ID\n\"[1,2]\",3\n");
  const auto h = m::read_guesses_csv(f);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].example, 3);
  EXPECT_EQ(h[0].suffix, (std::vector<int64_t>{1, 2}));
  std::filesystem::remove_all(dir);
}

TEST(Challenge, CsvErrorsNameFileAndLine) {
  const auto dir = temp_dir("csv_errors");
  const auto f = dir / "bad.csv";
  const std::string name = f.string();
  auto err = [&](const std::string& text) {
    write_text(f, text);
    return error_of([&] { m::read_guesses_csv(f); });
  };
  EXPECT_NE(err("Example ID,Suffix Guess\n1,\"[1,2]\"\n2,\"[1,x]\"\n").find(name + ":3: Suffix Guess is not a list of token ids: 'x'"), std::string::npos);
  EXPECT_NE(err("Example ID,Suffix Guess\n1,\"[1,,2]\"\n").find(name + ":2: Suffix Guess is not a list of token ids: an empty element"), std::string::npos);
  EXPECT_NE(err("Example ID,Suffix Guess\n1,\"[1,2\"\n").find(name + ":2:"), std::string::npos);
  EXPECT_NE(err("Example ID,Suffix Guess\nabc,\"[1,2]\"\n").find(name + ":2: Example ID 'abc' is not an integer"), std::string::npos);
  EXPECT_NE(err("Example ID,Suffix Guess\n\n\n4\n").find(name + ":4: the row has 1 fields"), std::string::npos);
  EXPECT_NE(err("Example ID,Suffix Guess\n1,\"[1,2]\n").find(name + ":2: a quoted field is never closed"), std::string::npos);
  EXPECT_NE(err("id,guess\n1,\"[1,2]\"\n").find(name + ":1: the header needs the columns"), std::string::npos);
  EXPECT_NE(err("").find("empty file"), std::string::npos);
  EXPECT_NE(error_of([&] { m::read_guesses_csv(dir / "missing.csv"); }).find("cannot open"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Challenge, WriteThenReadRoundTrips) {
  const auto dir = temp_dir("roundtrip");
  const auto f = dir / "out.csv";
  const std::vector<m::ChallengeGuess> g{{3, {50256, 0, 17}}, {0, {}}, {999, {1}}};
  m::write_guesses_csv(f, g);
  EXPECT_EQ(read_file(f), "Example ID,Suffix Guess\n3,\"[50256,0,17]\"\n0,\"[]\"\n999,\"[1]\"\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.csv.tmp"));
  const auto back = m::read_guesses_csv(f);
  ASSERT_EQ(back.size(), g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(back[i].example, g[i].example);
    EXPECT_EQ(back[i].suffix, g[i].suffix);
  }
  std::filesystem::remove_all(dir);
}

TEST(Challenge, ScoreCommand) {
  const auto dir = temp_dir("cli");
  std::vector<int64_t> flat;
  for (const auto& a : kAnswers) flat.insert(flat.end(), a.begin(), a.end());
  eidetic::corpus::write_npy_i64(dir / "suffix.npy", flat.data(), {4, 2});
  m::write_guesses_csv(dir / "guesses.csv", {right(2), wrong(0), right(2), right(3), wrong(1)});
  // By default as upstream: the last 1000 rows (here all 4), recall over 1000.
  auto r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "guesses.csv").string(), "--answers",
                                      (dir / "suffix.npy").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("recall_at_100_errors: 0.002\n"), std::string::npos) << r.out;
  // --rows 4: recall over the 4 answers.
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "guesses.csv").string(), "--answers",
                                 (dir / "suffix.npy").string(), "--rows", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  const std::string out = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(out.substr(out.rfind('\n') + 1), "recall_at_100_errors: 0.5");
  EXPECT_EQ(read_file(dir / "error_curve.csv"), "wrong_guesses,recall\n0,0.25\n1,0.25\n1,0.25\n1,0.5\n2,0.5\n");
  const std::string svg = read_file(dir / "error_curve.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);

  // --out-dir, a budget of one wrong guess.
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "guesses.csv").string(), "--answers",
                                 (dir / "suffix.npy").string(), "--out-dir", (dir / "sub" / "dir").string(),
                                 "--max-wrong", "1", "--rows", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("recall_at_1_errors: 0.25\n"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "sub" / "dir" / "error_curve.csv"));

  // --rows 2: the last two rows are examples 0 and 1 of the answers.
  m::write_guesses_csv(dir / "last.csv", {{0, {5, 6}}, {1, {1, 2}}});
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "last.csv").string(), "--answers",
                                 (dir / "suffix.npy").string(), "--rows", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("recall_at_100_errors: 0.5\n"), std::string::npos);

  // Errors name the file and line.
  write_text(dir / "bad.csv", "Example ID,Suffix Guess\n1,\"[3,4]\"\n4,\"[1,2]\"\n");
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "bad.csv").string(), "--answers",
                                 (dir / "suffix.npy").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find((dir / "bad.csv").string() + ":3: example id 4 is outside the answers"), std::string::npos) << r.err;
  write_text(dir / "bad.csv", "Example ID,Suffix Guess\n1,\"[3,4,5]\"\n");
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "bad.csv").string(), "--answers",
                                 (dir / "suffix.npy").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(":2: the suffix guess for example 1 has 3 tokens, its answer has 2"), std::string::npos) << r.err;
  r = eidetic::testing::run_cli({"challenge", "score", "--guesses", (dir / "guesses.csv").string()});
  EXPECT_EQ(r.code, 2);  // --answers is required
  r = eidetic::testing::run_cli({"challenge"});
  EXPECT_EQ(r.code, 2);  // a sub-subcommand is required
  std::filesystem::remove_all(dir);
}
