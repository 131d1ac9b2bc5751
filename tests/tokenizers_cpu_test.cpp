// tests/tokenizers_cpu_test.cpp: the tokenizers layer on small tokenizers written by the tests
// themselves (merges, added tokens, NFC, llama2.c merging and printing, every error path) and,
// when the assets folder is present, on the real GPT-2, GPT-NeoX-20B and stories260K tokenizers.
// Equality with Hugging Face on large random inputs is tests/tokenizers_oracle.py's job.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "test_util.h"
#include "tokenizers/byte_level_bpe.h"
#include "tokenizers/tokenizer.h"

namespace fs = std::filesystem;
using eidetic::Error;
using eidetic::tok::load_tokenizer;
using eidetic::tok::Tokenizer;
using Ids = std::vector<int64_t>;

namespace {

using eidetic::testing::byte_char;
using eidetic::testing::error_of;
using eidetic::testing::read_file;
using eidetic::testing::TempDir;

// A tiny byte-level BPE: ids 0..255 are the bytes, then Ġt (256), he (257), Ġthe (258),
// ll (259); added tokens follow.
nlohmann::json tiny_bpe_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const std::string G = byte_char(' ');
  vocab[G + "t"] = 256;
  vocab["he"] = 257;
  vocab[G + "the"] = 258;
  vocab["ll"] = 259;
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = nlohmann::json::array(
      {{{"id", 260}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false},
        {"lstrip", false}, {"rstrip", false}, {"single_word", false}}});
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab},
                {"merges", nlohmann::json::array({G + " t", "h e", G + "t he", "l l"})}};
  return j;
}

std::unique_ptr<Tokenizer> load_json(const TempDir& dir, const nlohmann::json& j,
                                     const std::string& name = "tokenizer.json") {
  return load_tokenizer(dir.write(name, j.dump()));
}

// A llama2.c tokenizer.bin: int32 max_token_length, then (float score, int32 len, bytes).
std::string llama2c_bin(const std::vector<std::pair<std::string, float>>& pieces) {
  std::string out;
  auto put_i32 = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  int32_t max_len = 0;
  for (const auto& p : pieces) max_len = std::max<int32_t>(max_len, static_cast<int32_t>(p.first.size()));
  put_i32(max_len);
  for (const auto& [piece, score] : pieces) {
    out.append(reinterpret_cast<const char*>(&score), 4);
    put_i32(static_cast<int32_t>(piece.size()));
    out += piece;
  }
  return out;
}

// <unk>, <s>, </s>, <0x00>..<0xFF> (ids 3..258), then the given pieces from id 259.
std::vector<std::pair<std::string, float>> llama2c_pieces(std::vector<std::pair<std::string, float>> extra) {
  std::vector<std::pair<std::string, float>> p = {{"<unk>", 0}, {"\n<s>\n", 0}, {"\n</s>\n", 0}};
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) p.push_back({std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0});
  p.insert(p.end(), extra.begin(), extra.end());
  return p;
}

}  // namespace

// ---- byte-level BPE on a tokenizer written here -------------------------------------------------

TEST(TokenizersBpe, MergesByRankAndAddedTokens) {
  TempDir dir;
  auto tok = load_json(dir, tiny_bpe_json());
  EXPECT_EQ(tok->kind(), "bpe");
  EXPECT_EQ(tok->vocab_size(), 261);
  EXPECT_EQ(tok->bos_id(), 260);
  EXPECT_EQ(tok->eos_id(), 260);
  // " the" merges fully; " hello" takes "he" (rank 1) then "ll" (rank 3).
  EXPECT_EQ(tok->encode(" the hello"), (Ids{258, ' ', 257, 259, 'o'}));
  EXPECT_EQ(tok->encode("the"), (Ids{'t', 257}));
  EXPECT_EQ(tok->encode("a<|endoftext|> the"), (Ids{'a', 260, 258}));
  EXPECT_EQ(tok->encode("<|endoftext|><|endoftext|>"), (Ids{260, 260}));
  EXPECT_EQ(tok->encode(""), Ids{});
  // The regex: contractions, numbers, punctuation runs, a space run leaves its last space.
  EXPECT_EQ(tok->encode("it's"), (Ids{'i', 't', '\'', 's'}));
  EXPECT_EQ(tok->decode(tok->encode("it's 42!!  x\n")), "it's 42!!  x\n");
  EXPECT_EQ(tok->decode({258, 260, 'a'}), " the<|endoftext|>a");
}

TEST(TokenizersBpe, DecodeRepairsInvalidUtf8AsHf) {
  TempDir dir;
  auto tok = load_json(dir, tiny_bpe_json());
  EXPECT_EQ(tok->decode({0xE2, 0x82}), "\xEF\xBF\xBD");                    // truncated sequence: one U+FFFD
  EXPECT_EQ(tok->decode({0xE2, 0x82, 0xAC}), "\xE2\x82\xAC");              // the bytes of €
  EXPECT_EQ(tok->decode({0xFF, 'a', 0x80}), "\xEF\xBF\xBD" "a" "\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode({0xF0, 0x80}), "\xEF\xBF\xBD\xEF\xBF\xBD");       // F0 80 is not a prefix
  EXPECT_EQ(tok->decode({}), "");
}

TEST(TokenizersBpe, NfcNormalizerAndNormalizedAddedTokens) {
  TempDir dir;
  nlohmann::json j = tiny_bpe_json();
  j["normalizer"] = {{"type", "NFC"}};
  // A normalized added token written in NFD matches its NFC form in the text.
  j["added_tokens"].push_back({{"id", 261}, {"content", "cafe\xCC\x81"}, {"special", false}, {"normalized", true},
                               {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  auto tok = load_json(dir, j);
  EXPECT_EQ(tok->encode("e\xCC\x81"), (Ids{0xC3, 0xA9}));  // e + U+0301 -> é (C3 A9)
  EXPECT_EQ(tok->encode("\xC3\xA9"), (Ids{0xC3, 0xA9}));
  EXPECT_EQ(tok->encode("caf\xC3\xA9!"), (Ids{261, '!'}));
  EXPECT_EQ(tok->encode("cafe\xCC\x81"), (Ids{261}));
  // HF decodes the normalized form through the ByteLevel decoder, which reads its "é" (U+00E9, a
  // character of the byte alphabet) as the byte 0xE9: invalid UTF-8, so U+FFFD.
  EXPECT_EQ(tok->decode({261}), "caf\xEF\xBF\xBD");
}

TEST(TokenizersBpe, AddedTokenFlags) {
  TempDir dir;
  nlohmann::json j = tiny_bpe_json();
  auto add = [&](int id, const std::string& content, bool lstrip, bool rstrip, bool single_word) {
    j["added_tokens"].push_back({{"id", id}, {"content", content}, {"special", false}, {"normalized", false},
                                 {"lstrip", lstrip}, {"rstrip", rstrip}, {"single_word", single_word}});
  };
  add(261, "<L>", true, false, false);
  add(262, "<R>", false, true, false);
  add(263, "word", false, false, true);
  auto tok = load_json(dir, j);
  EXPECT_EQ(tok->encode("a  <L>b"), (Ids{'a', 261, 'b'}));           // lstrip takes the spaces
  EXPECT_EQ(tok->encode("a<R> \t b"), (Ids{'a', 262, 'b'}));         // rstrip takes them
  EXPECT_EQ(tok->encode("a word."), (Ids{'a', ' ', 263, '.'}));     // a whole word
  EXPECT_EQ(tok->encode("swords"), (Ids{'s', 'w', 'o', 'r', 'd', 's'}));  // inside a word: not the token
}

TEST(TokenizersBpe, AddPrefixSpaceAndNoDecoder) {
  TempDir dir;
  nlohmann::json j = tiny_bpe_json();
  j["pre_tokenizer"]["add_prefix_space"] = true;
  j["decoder"] = nullptr;
  auto tok = load_json(dir, j);
  EXPECT_EQ(tok->encode("the"), (Ids{258}));
  EXPECT_EQ(tok->encode("x<|endoftext|>the"), (Ids{' ', 'x', 260, 258}));  // each piece gets the space
  // Without a decoder HF joins the token strings with spaces.
  EXPECT_EQ(tok->decode({258, 260}), byte_char(' ') + "the <|endoftext|>");
}

TEST(TokenizersBpe, VocabAndMergesFiles) {
  TempDir dir;
  const nlohmann::json j = tiny_bpe_json();
  nlohmann::json vocab = j["model"]["vocab"];
  vocab["<|endoftext|>"] = 260;
  std::string merges = "#version: 0.2\n";
  for (const auto& m : j["model"]["merges"]) merges += m.get<std::string>() + "\n";
  dir.write("gpt2/encoder.json", vocab.dump());
  dir.write("gpt2/vocab.bpe", merges);
  dir.write("hf/vocab.json", vocab.dump());
  dir.write("hf/merges.txt", merges);
  for (const fs::path& p : {dir.path() / "gpt2/encoder.json", dir.path() / "gpt2", dir.path() / "hf/vocab.json",
                           dir.path() / "hf"}) {
    auto tok = load_tokenizer(p);
    EXPECT_EQ(tok->encode(" the hello<|endoftext|>"), (Ids{258, ' ', 257, 259, 'o', 260})) << p;
    EXPECT_EQ(tok->vocab_size(), 261) << p;
    EXPECT_EQ(tok->eos_id(), 260) << p;
  }
}

TEST(TokenizersBpe, Utf8ValidationNamesTheOffset) {
  TempDir dir;
  auto tok = load_json(dir, tiny_bpe_json());
  struct Case {
    std::string text;
    std::size_t offset;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"\xFF", 0, "never appears"},
      {"ab\xE2\x82", 2, "truncated"},
      {"ab\xE2\x82x", 2, "truncated"},
      {"\xC0\xAF", 0, "overlong"},
      {"x\xE0\x80\x80", 1, "overlong"},
      {"\xED\xA0\x80", 0, "surrogate"},
      {"\xF4\x90\x80\x80", 0, "above U+10FFFF"},
      {"abc\x80", 3, "continuation"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of([&] { tok->encode(c.text); });
    EXPECT_NE(msg.find("invalid UTF-8"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte offset " + std::to_string(c.offset)), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.problem), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(tok->encode(std::string("nul\0inside", 10)));
  EXPECT_NO_THROW(tok->encode("\xF4\x8F\xBF\xBF \xEF\xBF\xBF"));  // U+10FFFF and U+FFFF are valid
}

TEST(TokenizersBpe, DecodeRejectsIdsOutsideTheVocabulary) {
  TempDir dir;
  auto tok = load_json(dir, tiny_bpe_json());
  for (int64_t id : {int64_t{261}, int64_t{-1}, int64_t{1} << 40}) {
    const std::string msg = error_of([&] { tok->decode({1, id}); });
    EXPECT_NE(msg.find("id " + std::to_string(id)), std::string::npos) << msg;
    EXPECT_NE(msg.find("size 261"), std::string::npos) << msg;
  }
}

TEST(TokenizersBpe, LoadErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  auto expect_error = [&](const fs::path& p, const std::string& what) {
    const std::string msg = error_of([&] { load_tokenizer(p); });
    EXPECT_NE(msg.find(p.filename().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  expect_error(dir.path() / "missing.json", "no such file");
  expect_error(dir.write("empty_dir/.keep", "").parent_path(), "no tokenizer in this folder");
  expect_error(dir.write("bad/tokenizer.json", "{\"model\": {"), "malformed JSON");
  expect_error(dir.write("list/tokenizer.json", "[1, 2]"), "must be a JSON object");
  expect_error(dir.write("x.txt", "hello"), "not a known tokenizer file");

  nlohmann::json j = tiny_bpe_json();
  j["model"]["type"] = "WordPiece";
  expect_error(dir.write("wp/tokenizer.json", j.dump()), "unsupported model type 'WordPiece'");
  j = tiny_bpe_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_error(dir.write("lc/tokenizer.json", j.dump()), "unsupported normalizer type 'Lowercase'");
  j = tiny_bpe_json();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(dir.write("ws/tokenizer.json", j.dump()), "unsupported pre_tokenizer type 'Whitespace'");
  j = tiny_bpe_json();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(dir.write("dec/tokenizer.json", j.dump()), "unsupported decoder type 'WordPiece'");
  j = tiny_bpe_json();
  j["model"]["merges"].push_back("x q z");
  expect_error(dir.write("merge/tokenizer.json", j.dump()), "merge 5");
  j = tiny_bpe_json();
  j["model"]["merges"].push_back("he ll");  // "hell" is not in the vocabulary
  expect_error(dir.write("merge2/tokenizer.json", j.dump()), "not in the vocabulary");
  j = tiny_bpe_json();
  j["model"]["dropout"] = 0.1;
  expect_error(dir.write("drop/tokenizer.json", j.dump()), "dropout");
  dir.write("nomerges/encoder.json", "{\"a\": 0}");
  expect_error(dir.path() / "nomerges/encoder.json", "vocab.bpe");
}

// ---- the pre-tokenizers of newer models ---------------------------------------------------------

namespace {

using eidetic::tok::byte_level_pretokenize;
using eidetic::tok::PreTokenizer;
using Pieces = std::vector<std::string>;

// The Split patterns of Llama 3's and Qwen2's tokenizer.json.
const std::string kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

nlohmann::json byte_level_step(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}
nlohmann::json digits_pre_tokenizer() {
  return {{"type", "Sequence"},
          {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level_step(true)}}};
}
nlohmann::json split_pre_tokenizer(const std::string& regex) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            byte_level_step(false)}}};
}

// tiny_bpe_json with merges that cross the pieces' boundaries: Ġ1 (261), 12 (262), 123 (263),
// ĉt (264), so that the ids show where each pre-tokenizer cuts " 1234\tt".
nlohmann::json cutting_bpe_json() {
  nlohmann::json j = tiny_bpe_json();
  const std::string G = byte_char(' '), T = byte_char('\t');
  j["model"]["vocab"][G + "1"] = 261;
  j["model"]["vocab"]["12"] = 262;
  j["model"]["vocab"]["123"] = 263;
  j["model"]["vocab"][T + "t"] = 264;
  for (const std::string& m : std::vector<std::string>{G + " 1", "1 2", "12 3", T + " t"})
    j["model"]["merges"].push_back(m);
  j["added_tokens"][0]["id"] = 265;
  return j;
}

}  // namespace

TEST(TokenizersPre, PiecesOfEachPreTokenizer) {
  const std::string G = byte_char(' '), N = byte_char('\n'), R = byte_char('\r'), T = byte_char('\t');
  // Digits: every numeric code point (U+0663 ARABIC-INDIC DIGIT THREE too) is a piece, then the
  // GPT-2 regex cuts the rest ("abc " leaves its trailing space alone).
  EXPECT_EQ(byte_level_pretokenize("abc 1234 x\u0663y", PreTokenizer::digits_gpt2),
            (Pieces{"abc", G, "1", "2", "3", "4", G + "x", byte_char(0xD9) + byte_char(0xA3), "y"}));
  // Llama 3: contractions in any case, digits by three, a space before a number stands alone,
  // \s*[\r\n]+ ends at the last newline of a run, and punctuation takes the newlines after it.
  EXPECT_EQ(byte_level_pretokenize("I'M 12345 don't\r\n\n  hi!!\n", PreTokenizer::llama3),
            (Pieces{"I", "'M", G, "123", "45", G + "don", "'t", R + N + N, G, G + "hi", "!!" + N}));
  // One non-letter before letters joins them ("\tx"); " 'S" is " '" then "S" (the contraction
  // alternative only starts at the apostrophe).
  EXPECT_EQ(byte_level_pretokenize("\tx 'S ?!\r\n", PreTokenizer::llama3),
            (Pieces{T + "x", G + "'", "S", G + "?!" + R + N}));
  // U+017F LONG S folds to s: "'ſ" is a contraction.
  EXPECT_EQ(byte_level_pretokenize("it'\u017F", PreTokenizer::llama3),
            (Pieces{"it", "'" + byte_char(0xC5) + byte_char(0xBF)}));
  // Qwen2: single digits; U+00A0 and U+3000 are white space (a run leaves its last one to the word).
  EXPECT_EQ(byte_level_pretokenize("x12345 \u00a0\u3000y", PreTokenizer::qwen2),
            (Pieces{"x", "1", "2", "3", "4", "5", G + byte_char(0xC2) + byte_char(0xA0),
                    byte_char(0xE3) + byte_char(0x80) + byte_char(0x80) + "y"}));
  EXPECT_EQ(byte_level_pretokenize("", PreTokenizer::llama3), Pieces{});
  EXPECT_STREQ(eidetic::tok::pre_tokenizer_name(PreTokenizer::digits_gpt2), "digits_gpt2");
}

TEST(TokenizersPre, TokenizerJsonPicksThePipeline) {
  TempDir dir;
  // " 1234\tt": GPT-2's regex keeps " 1234" whole (Ġ1 merges first), Digits cuts every digit,
  // Llama 3 cuts "123" "4" and joins the tab to the letter after it, Qwen2 cuts single digits.
  const std::string text = " 1234\tt";
  nlohmann::json j = cutting_bpe_json();
  EXPECT_EQ(load_json(dir, j, "gpt2.json")->encode(text), (Ids{261, '2', '3', '4', '\t', 't'}));
  j["pre_tokenizer"] = digits_pre_tokenizer();
  EXPECT_EQ(load_json(dir, j, "digits.json")->encode(text), (Ids{' ', '1', '2', '3', '4', '\t', 't'}));
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex);
  EXPECT_EQ(load_json(dir, j, "llama3.json")->encode(text), (Ids{' ', 263, '4', 264}));
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = split_pre_tokenizer(kQwen2Regex);
  auto qwen2 = load_json(dir, j, "qwen2.json");
  EXPECT_EQ(qwen2->encode(text), (Ids{' ', '1', '2', '3', '4', 264}));
  EXPECT_EQ(qwen2->encode("e\xCC\x81"), (Ids{0xC3, 0xA9}));  // NFC: e + U+0301 -> é
  EXPECT_EQ(qwen2->decode(qwen2->encode("x 12\r\n<|endoftext|>")), "x 12\r\n<|endoftext|>");

  // ByteLevel's prefix space goes before each piece the step before it made.
  j = cutting_bpe_json();
  j["pre_tokenizer"] = digits_pre_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
  EXPECT_EQ(load_json(dir, j, "digits_prefix.json")->encode("a12"), (Ids{' ', 'a', 261, ' ', '2'}));
}

TEST(TokenizersPre, SpecWithPreSetDirectly) {
  // What a reader of other formats builds: the spec alone picks the pipeline; qwen2 implies NFC.
  const nlohmann::json j = cutting_bpe_json();
  eidetic::tok::BpeSpec spec;
  spec.source = "spec";
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
    spec.vocab.emplace_back(it.key(), it.value().get<int64_t>());
  for (const auto& m : j["model"]["merges"]) {
    const std::string line = m.get<std::string>();
    spec.merges.emplace_back(line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1));
  }
  spec.pre = eidetic::tok::BpeSpec::PreTokenizer::llama3;
  EXPECT_EQ(eidetic::tok::make_byte_level_bpe(spec)->encode(" 1234\tt"), (Ids{' ', 263, '4', 264}));
  spec.pre = PreTokenizer::qwen2;
  EXPECT_EQ(eidetic::tok::make_byte_level_bpe(spec)->encode("e\xCC\x81 1234"), (Ids{0xC3, 0xA9, ' ', '1', '2', '3', '4'}));
  spec.pre = PreTokenizer::digits_gpt2;
  spec.use_regex = false;  // read only for gpt2: Digits is always followed by the GPT-2 regex
  EXPECT_EQ(eidetic::tok::make_byte_level_bpe(spec)->encode("ab 1\tt"), (Ids{'a', 'b', ' ', '1', '\t', 't'}));
}

TEST(TokenizersPre, UnsupportedPipelinesNameTheFile) {
  TempDir dir;
  auto expect_error = [&](const std::string& name, const nlohmann::json& j, const std::string& what) {
    const fs::path p = dir.write(name + "/tokenizer.json", j.dump());
    const std::string msg = error_of([&] { load_tokenizer(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  nlohmann::json j = cutting_bpe_json();
  j["pre_tokenizer"] = digits_pre_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["individual_digits"] = false;
  expect_error("digits_runs", j, "individual_digits=false");
  j["pre_tokenizer"] = digits_pre_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = false;
  expect_error("digits_noregex", j, "ByteLevel(use_regex=true)");
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex + "|x");
  expect_error("other_regex", j, "unsupported pattern");
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex);
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"String", " "}};
  expect_error("string_pattern", j, "only a \"Regex\" pattern");
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex);
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
  expect_error("removed", j, "behavior \"Removed\"");
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex);
  j["pre_tokenizer"]["pretokenizers"][0]["invert"] = true;
  expect_error("invert", j, "invert=true");
  j["pre_tokenizer"] = split_pre_tokenizer(kLlama3Regex);
  j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true;
  expect_error("split_regex", j, "ByteLevel(use_regex=false)");
  j["pre_tokenizer"] = split_pre_tokenizer(kQwen2Regex);  // no NFC normalizer
  expect_error("qwen2_no_nfc", j, "without the NFC normalizer");
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", {{{"type", "Whitespace"}}, byte_level_step(true)}}};
  expect_error("whitespace", j, "unsupported pre_tokenizer type 'Sequence[Whitespace, ByteLevel]'");
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", {digits_pre_tokenizer()["pretokenizers"][0], byte_level_step(true),
                                           byte_level_step(true)}}};
  expect_error("three", j, "Sequence[Digits, ByteLevel, ByteLevel]");
  j["pre_tokenizer"] = nullptr;
  expect_error("none", j, "unsupported pre_tokenizer type 'null'");
}

// ---- llama2.c on a tokenizer.bin written here ----------------------------------------------------

TEST(TokenizersLlama2c, EncodeMergesByScoreAsRunC) {
  TempDir dir;
  // 259 " ", 260 "a", 261 "b", 262 "ab", 263 " ab", 264 "aa", 265 "é"
  auto pieces = llama2c_pieces({{" ", -1}, {"a", -2}, {"b", -3}, {"ab", -4}, {" ab", -5}, {"aa", -4}, {"\xC3\xA9", -6}});
  const fs::path bin = dir.write("tok.bin", llama2c_bin(pieces));
  auto tok = load_tokenizer(bin);
  EXPECT_EQ(tok->kind(), "llama2c");
  EXPECT_EQ(tok->vocab_size(), 266);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->encode(""), Ids{});
  EXPECT_EQ(tok->encode("ab"), (Ids{263}));             // " " a b -> " " ab -> " ab"
  EXPECT_EQ(tok->encode("b"), (Ids{259, 261}));
  // "aa" and "ab" score the same (-4): the leftmost pair merges first.
  EXPECT_EQ(tok->encode("aab"), (Ids{259, 264, 261}));
  EXPECT_EQ(tok->encode("\xC3\xA9" "c"), (Ids{259, 265, 'c' + 3}));  // é is a piece; c falls back to its byte
  EXPECT_EQ(tok->encode("\xE2\x82\xAC"), (Ids{259, 0xE2 + 3, 0x82 + 3, 0xAC + 3}));
  // The vocabulary size given by the caller limits the pieces read.
  auto small = load_tokenizer(bin, 262);
  EXPECT_EQ(small->vocab_size(), 262);
  EXPECT_EQ(small->encode("ab"), (Ids{259, 260, 261}));
}

TEST(TokenizersLlama2c, DecodePrintsWhatRunCPrints) {
  TempDir dir;
  auto tok = load_tokenizer(dir.write("tok.bin", llama2c_bin(llama2c_pieces({{" ", 0}, {" ab", 0}, {"x", 0}}))));
  EXPECT_EQ(tok->decode({1, 260, 260}), "ab ab");     // the space after BOS is dropped
  EXPECT_EQ(tok->decode({260, 1, 260, 2, 260}), " abab ab");
  EXPECT_EQ(tok->decode({1, 'A' + 3, '\n' + 3}), "A\n");  // byte pieces print their byte
  EXPECT_EQ(tok->decode({1, 0xC3 + 3, 0xA9 + 3, 0x01 + 3, 0x00 + 3, 261}), "x");  // non-printable bytes skipped
  EXPECT_EQ(tok->decode({1, 2}), "");
  const std::string msg = error_of([&] { tok->decode({1, 262}); });
  EXPECT_NE(msg.find("id 262"), std::string::npos) << msg;
  EXPECT_NE(msg.find("size 262"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { tok->encode("\xC3"); }).find("byte offset 0"), std::string::npos);
}

TEST(TokenizersLlama2c, TruncatedAndMalformedFiles) {
  TempDir dir;
  const std::string full = llama2c_bin(llama2c_pieces({{" ", 0}, {"ab", 0}}));
  for (std::size_t cut : {std::size_t{2}, full.size() - 1, full.size() - 3, full.size() - 8}) {
    const fs::path p = dir.write("cut" + std::to_string(cut) + ".bin", full.substr(0, cut));
    const std::string msg = error_of([&] { load_tokenizer(p); });
    EXPECT_NE(msg.find(p.filename().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  const fs::path ok = dir.write("tokenizer/tokenizer.bin", full);
  EXPECT_EQ(load_tokenizer(ok.parent_path())->vocab_size(), 261);  // a folder with tokenizer.bin
  EXPECT_NE(error_of([&] { load_tokenizer(ok, 262); }).find("truncated"), std::string::npos);
  EXPECT_NE(error_of([&] { load_tokenizer(ok, -1); }).find("negative"), std::string::npos);
  EXPECT_NE(error_of([&] { load_tokenizer(dir.write("empty.bin", std::string(4, '\0'))); }).find("no pieces"),
            std::string::npos);
}

// ---- the real tokenizers (assets folder) ----------------------------------------------------------

TEST(TokenizersAssets, Gpt2) {
  EIDETIC_REQUIRE_ASSETS(assets);
  const fs::path dir = assets / "tokenizers" / "gpt2";
  auto tok = load_tokenizer(dir / "encoder.json");
  auto from_folder = load_tokenizer(dir);
  EXPECT_EQ(tok->vocab_size(), 50257);
  EXPECT_EQ(tok->bos_id(), 50256);
  EXPECT_EQ(tok->eos_id(), 50256);
  EXPECT_EQ(tok->encode("Hello world"), (Ids{15496, 995}));
  EXPECT_EQ(tok->encode("Hello world<|endoftext|>"), (Ids{15496, 995, 50256}));
  EXPECT_EQ(from_folder->encode(" The quick brown fox"), tok->encode(" The quick brown fox"));
  EXPECT_EQ(tok->decode({15496, 995, 50256}), "Hello world<|endoftext|>");
}

TEST(TokenizersAssets, GptNeoX) {
  EIDETIC_REQUIRE_ASSETS(assets);
  auto tok = load_tokenizer(assets / "tokenizers" / "gpt-neox-20b" / "tokenizer.json");
  EXPECT_EQ(tok->vocab_size(), 50277);
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 0);
  EXPECT_EQ(tok->encode("Hello world"), (Ids{12092, 1533}));
  // Runs of spaces are added tokens (24 spaces: 50254, ..., 2 spaces: 50276).
  EXPECT_EQ(tok->encode("hi   there"), (Ids{5801, 50275, 9088}));
  EXPECT_EQ(tok->encode("<|endoftext|>"), (Ids{0}));
  EXPECT_EQ(tok->decode(tok->encode("caf\x65\xCC\x81")), "caf\xC3\xA9");  // NFC
}

// Speed is measured by benchmarks, not asserted here (a loaded CI machine would make a
// wall-clock bound flaky); the whole corpus must round-trip.
TEST(TokenizersAssets, TinyShakespeareRoundTrips) {
  EIDETIC_REQUIRE_ASSETS(assets);
  const std::string text = read_file(assets / "corpora" / "tinyshakespeare.txt");
  ASSERT_GT(text.size(), 1000000u);
  for (const fs::path& p : {assets / "tokenizers" / "gpt2", assets / "tokenizers" / "gpt-neox-20b"}) {
    auto tok = load_tokenizer(p);
    const Ids ids = tok->encode(text);
    EXPECT_GT(ids.size(), 300000u);
    EXPECT_EQ(tok->decode(ids), text) << p;
    // The same ids from two threads sharing the tokenizer (its word cache is shared).
    auto fresh = load_tokenizer(p);
    const std::string part = text.substr(0, 300000);
    Ids a, b;
    std::thread ta([&] { a = fresh->encode(part); });
    std::thread tb([&] { b = fresh->encode(part); });
    ta.join();
    tb.join();
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, tok->encode(part));
  }
}

TEST(TokenizersAssets, Llama2cStories260K) {
  EIDETIC_REQUIRE_ASSETS(assets);
  const fs::path dir = assets / "models" / "stories260K";
  auto tok = load_tokenizer(dir / "tok512.bin", 512);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(load_tokenizer(dir / "tok512.bin")->vocab_size(), 512);  // read to the end of the file
  // Expected ids from a Python rendering of run.c's encode (tests/tokenizers_oracle.py).
  EXPECT_EQ(tok->encode("Once upon a time"), (Ids{403, 407, 261, 378}));
  EXPECT_EQ(tok->encode("Lily's mom said, \"Hi!\""), (Ids{317, 439, 419, 357, 336, 432, 313, 440, 417, 443, 436}));
  EXPECT_EQ(tok->encode("h\xC3\xA9llo \xF0\x9F\xA4\x97"), (Ids{270, 485, 306, 414, 410, 243, 162, 167, 154}));
  EXPECT_EQ(tok->decode({1, 403, 407, 261, 378}), "Once upon a time");
  // The text run.c printed for greedy decoding comes back from BOS + its own encoding.
  std::string golden = read_file(dir / "golden_greedy_200.txt");
  while (!golden.empty() && golden.back() == '\n') golden.pop_back();
  Ids ids = {1};
  const Ids enc = tok->encode(golden);
  ids.insert(ids.end(), enc.begin(), enc.end());
  EXPECT_EQ(tok->decode(ids), golden);
  EXPECT_NE(error_of([&] { load_tokenizer(dir / "tok512.bin", 513); }).find("truncated"), std::string::npos);
}
