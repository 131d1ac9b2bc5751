// The memorization lab's corpus builder and tokenizer trainer: every planted copy is where the
// manifest says, counts follow the schedule, never-planted items are absent, and the trained
// tokenizer round-trips the corpus.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "corpus/lab.h"
#include "tokenizers/bpe_trainer.h"
#include "tokenizers/tokenizer.h"

namespace eidetic {
namespace {

namespace fs = std::filesystem;

fs::path write_background(const fs::path& dir) {
  // Forty paragraphs of varied English, enough for the passages a small schedule needs.
  const char* words[] = {"the", "river", "ran", "past", "an", "old", "mill", "where", "children", "played", "every",
                         "summer", "while", "their", "parents", "talked", "about", "harvests", "storms", "and", "the",
                         "price", "of", "bread", "in", "distant", "towns"};
  std::ofstream out(dir / "background.txt");
  for (int p = 0; p < 40; ++p) {
    out << "In year " << 1700 + p * 13 << " ";  // no two paragraphs alike
    for (int w = 0; w < 35 + p % 20; ++w) out << words[(p * 7 + w * 3) % 27] << (w % 9 == 8 ? ".\n" : " ");
    out << "\n\n";
  }
  return dir / "background.txt";
}

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("eidetic-lab-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LabTest, EveryPlantedCopyIsWhereTheManifestSays) {
  corpus::LabOptions o;
  o.copies = {1, 2, 4, 8};
  o.items_per_count = 2;
  o.background = {write_background(dir_)};
  o.seed = 5;
  const auto lab = corpus::build_lab_corpus(o);
  const std::string text = lab.text();
  int64_t planted = 0, heldout = 0;
  for (const auto& it : lab.items) {
    ASSERT_EQ(static_cast<int64_t>(it.offsets.size()), it.copies) << it.text();
    for (int64_t off : it.offsets) EXPECT_EQ(text.substr(static_cast<size_t>(off), it.text().size()), it.text());
    if (it.copies > 0) {
      ++planted;
    } else {
      ++heldout;
      EXPECT_EQ(text.find(it.text()), std::string::npos) << "a never-planted item is in the corpus: " << it.text();
    }
    EXPECT_FALSE(it.prefix.empty());
    EXPECT_FALSE(it.secret.empty());
  }
  EXPECT_EQ(planted, 3 * 4 * 2);  // kinds x counts x items per count
  EXPECT_EQ(heldout, planted);
  // The schedule: for each kind, items_per_count items per count.
  std::map<std::pair<std::string, int64_t>, int> per;
  for (const auto& it : lab.items) ++per[{it.kind, it.copies}];
  for (const char* k : {"canary", "record", "passage"})
    for (int64_t c : {1, 2, 4, 8}) EXPECT_EQ((per[{k, c}]), 2) << k << " x" << c;
  // Same seed, same corpus; another seed, another.
  EXPECT_EQ(corpus::build_lab_corpus(o).text(), text);
  o.seed = 6;
  EXPECT_NE(corpus::build_lab_corpus(o).text(), text);
  EXPECT_EQ(lab.manifest()["items"].size(), lab.items.size());
}

TEST_F(LabTest, TooLittleBackgroundIsAClearError) {
  std::ofstream(dir_ / "tiny.txt") << "too short\n";
  corpus::LabOptions o;
  o.background = {dir_ / "tiny.txt"};
  EXPECT_THROW(corpus::build_lab_corpus(o), Error);
  o.background = {dir_ / "missing.txt"};
  EXPECT_THROW(corpus::build_lab_corpus(o), Error);
}

TEST_F(LabTest, TrainedTokenizerRoundTripsAndMerges) {
  corpus::LabOptions o;
  o.copies = {1, 4};
  o.background = {write_background(dir_)};
  const auto lab = corpus::build_lab_corpus(o);
  tok::BpeTrainOptions t;
  t.vocab_size = 400;
  const std::string json = tok::train_byte_level_bpe(lab.documents, t);
  std::ofstream(dir_ / "tokenizer.json") << json;
  const auto tokenizer = tok::load_tokenizer(dir_ / "tokenizer.json");
  EXPECT_LE(tokenizer->vocab_size(), 400);
  EXPECT_GT(tokenizer->vocab_size(), 300);  // merges were learned
  const std::string text = lab.text();
  const auto ids = tokenizer->encode(text);
  EXPECT_EQ(tokenizer->decode(ids), text);
  EXPECT_LT(ids.size(), text.size() / 2);  // merges compress the text
  EXPECT_EQ(tokenizer->encode("<|endoftext|>"), std::vector<int64_t>{0});
  // Deterministic.
  EXPECT_EQ(tok::train_byte_level_bpe(lab.documents, t), json);
}

}  // namespace
}  // namespace eidetic
