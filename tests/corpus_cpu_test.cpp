// tests/corpus_cpu_test.cpp: the corpus layer on data written by the tests themselves.
// Megatron .idx/.bin pairs are written byte by byte here (every integer dtype, every error
// path); text and JSON Lines corpora are tokenized with a tiny byte-level BPE written here
// too; the n-gram hashes are held to their definition, the CPU hash set to std::unordered_set,
// and the n-gram index to brute force, including a true 64-bit hash collision (Thue-Morse
// windows) that only exact confirmation can tell apart.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "common/error.h"
#include "corpus/megatron.h"
#include "corpus/ngram_index.h"
#include "corpus/npy.h"
#include "corpus/text_corpus.h"
#include "kernels/ngram.h"
#include "kernels/ngram_set.h"
#include "test_util.h"
#include "tokenizers/tokenizer.h"

namespace fs = std::filesystem;
using eidetic::Error;
using eidetic::corpus::MegatronDataset;
using eidetic::corpus::NgramIndex;
using eidetic::testing::byte_char;
using eidetic::testing::error_of;
using eidetic::testing::TempDir;
using Ids = std::vector<int64_t>;

namespace {

// ---- Megatron files, written by hand -----------------------------------------------------

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

int width_of(int code) {
  switch (code) {
    case 1: case 2: return 1;
    case 3: case 8: return 2;
    case 4: return 4;
    default: return 8;
  }
}

struct Megatron {
  std::string idx, bin;
};

// The two files' bytes for `seqs` stored with dtype `code` (sequences back to back in .bin).
Megatron megatron_bytes(int code, const std::vector<Ids>& seqs, const Ids& doc_idx) {
  Megatron m;
  m.idx.append("MMIDIDX\0\0", 9);
  put<uint64_t>(m.idx, 1);
  put<uint8_t>(m.idx, static_cast<uint8_t>(code));
  put<uint64_t>(m.idx, seqs.size());
  put<uint64_t>(m.idx, doc_idx.size());
  const int w = width_of(code);
  for (const auto& s : seqs) put<int32_t>(m.idx, static_cast<int32_t>(s.size()));
  int64_t pointer = 0;
  for (const auto& s : seqs) {
    put<int64_t>(m.idx, pointer);
    pointer += static_cast<int64_t>(s.size()) * w;
  }
  for (int64_t d : doc_idx) put<int64_t>(m.idx, d);
  for (const auto& s : seqs)
    for (int64_t v : s) {
      const uint64_t u = static_cast<uint64_t>(v);
      m.bin.append(reinterpret_cast<const char*>(&u), w);  // little-endian: the low bytes
    }
  return m;
}

fs::path write_megatron(const TempDir& dir, const std::string& name, const Megatron& m) {
  dir.write(name + ".idx", m.idx);
  dir.write(name + ".bin", m.bin);
  return dir.path() / name;
}

TEST(Megatron, ReadsEveryIntegerDtype) {
  TempDir dir;
  struct Case {
    int code;
    const char* name;
    std::vector<Ids> seqs;
  };
  const std::vector<Case> cases = {
      {1, "uint8", {{0, 255, 7}, {}, {128}}},
      {2, "int8", {{-128, 127, 0, -1}, {5}}},
      {3, "int16", {{-32768, 32767}, {1, 2, 3}}},
      {4, "int32", {{-2147483648LL, 2147483647LL, 50276}, {0}}},
      {5, "int64", {{-(int64_t{1} << 62), (int64_t{1} << 62), 3}, {9, 9}}},
      {8, "uint16", {{0, 65535, 50276, 1}, {}, {12, 13, 14, 15, 16}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Ids doc_idx = {0, static_cast<int64_t>(c.seqs.size())};
    const fs::path prefix = write_megatron(dir, c.name, megatron_bytes(c.code, c.seqs, doc_idx));
    for (const fs::path& p : {prefix, fs::path(prefix.string() + ".bin"), fs::path(prefix.string() + ".idx")}) {
      const MegatronDataset d(p);
      ASSERT_EQ(d.size(), static_cast<int64_t>(c.seqs.size()));
      EXPECT_EQ(d.dtype_name(), c.name);
      EXPECT_EQ(d.element_size(), width_of(c.code));
      EXPECT_EQ(d.doc_idx(), doc_idx);
      int64_t total = 0;
      for (size_t i = 0; i < c.seqs.size(); ++i) {
        EXPECT_EQ(d.length(static_cast<int64_t>(i)), static_cast<int64_t>(c.seqs[i].size()));
        EXPECT_EQ(d.sequence(static_cast<int64_t>(i)), c.seqs[i]);
        total += static_cast<int64_t>(c.seqs[i].size());
      }
      EXPECT_EQ(d.total_tokens(), total);
    }
  }
}

TEST(Megatron, SlicesAndAPythiaSizedSequence) {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::vector<Ids> seqs;
  for (int64_t len : {2049, 1, 0, 100}) {
    Ids s(static_cast<size_t>(len));
    for (auto& v : s) v = static_cast<int64_t>(rng() % 50277);
    seqs.push_back(s);
  }
  const MegatronDataset d(write_megatron(dir, "pile", megatron_bytes(8, seqs, {0, 2, 4})));
  EXPECT_EQ(d.length(0), 2049);
  EXPECT_EQ(d.sequence(0, 2000, 49), Ids(seqs[0].begin() + 2000, seqs[0].end()));
  EXPECT_EQ(d.sequence(0, 0, 0), Ids{});
  EXPECT_EQ(d.sequence(0, 2049, 0), Ids{});
  EXPECT_EQ(d.sequence(3, 10, 5), Ids(seqs[3].begin() + 10, seqs[3].begin() + 15));
  EXPECT_EQ(d.sequence(2), Ids{});
  std::string msg = error_of([&] { d.sequence(0, 2000, 50); });
  EXPECT_NE(msg.find("pile.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = error_of([&] { d.sequence(0, -1, 2); });
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = error_of([&] { d.sequence(4); });
  EXPECT_NE(msg.find("sequence 4 is out of range"), std::string::npos) << msg;
  msg = error_of([&] { d.length(-1); });
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(Megatron, EmptyDatasetOpens) {
  TempDir dir;
  const MegatronDataset d(write_megatron(dir, "empty", megatron_bytes(8, {}, {0})));
  EXPECT_EQ(d.size(), 0);
  EXPECT_EQ(d.total_tokens(), 0);
}

TEST(Megatron, EveryErrorNamesTheFileAndTheProblem) {
  TempDir dir;
  const std::vector<Ids> seqs = {{1, 2, 3}, {4, 5}};
  const Megatron good = megatron_bytes(8, seqs, {0, 2});
  auto expect = [&](const std::string& name, const Megatron& m, const std::string& file_suffix,
                    const std::string& what) {
    SCOPED_TRACE(name);
    const fs::path prefix = write_megatron(dir, name, m);
    const std::string msg = error_of([&] { MegatronDataset d(prefix); });
    EXPECT_NE(msg.find(prefix.string() + file_suffix), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  {
    Megatron m = good;
    m.idx[0] = 'X';
    expect("magic", m, ".idx", "bad magic");
  }
  {
    Megatron m = good;
    m.idx.resize(5);
    expect("short_magic", m, ".idx", "bad magic");
  }
  {
    Megatron m = good;
    m.idx[9] = 2;
    expect("version", m, ".idx", "unsupported index version 2");
  }
  for (int code : {0, 9, 200}) {
    Megatron m = good;
    m.idx[17] = static_cast<char>(code);
    expect("code" + std::to_string(code), m, ".idx", "unsupported dtype code " + std::to_string(code));
  }
  for (int code : {6, 7}) {
    Megatron m = good;
    m.idx[17] = static_cast<char>(code);
    expect("float" + std::to_string(code), m, ".idx", "floating-point");
  }
  {
    Megatron m = good;
    m.idx.resize(m.idx.size() - 1);  // doc_idx cut short
    expect("truncated", m, ".idx", "truncated index");
  }
  {
    Megatron m = good;
    m.idx.resize(20);  // inside the header
    expect("truncated_header", m, ".idx", "truncated index");
  }
  {
    Megatron m = good;
    const uint64_t huge = ~uint64_t{0};
    std::memcpy(m.idx.data() + 18, &huge, 8);  // len: counts that overflow a 64-bit size
    expect("huge_len", m, ".idx", "truncated index");
  }
  // Missing files.
  {
    const fs::path prefix = dir.path() / "only_bin";
    dir.write("only_bin.bin", good.bin);
    const std::string msg = error_of([&] { MegatronDataset d(prefix); });
    EXPECT_NE(msg.find("only_bin.idx"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  }
  {
    const fs::path prefix = dir.path() / "only_idx";
    dir.write("only_idx.idx", good.idx);
    const std::string msg = error_of([&] { MegatronDataset d(prefix.string() + ".idx"); });
    EXPECT_NE(msg.find("only_idx.bin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  }
  // A sequence that runs past the end of the .bin is reported when read.
  {
    Megatron m = good;
    m.bin.resize(m.bin.size() - 1);
    const MegatronDataset d(write_megatron(dir, "short_bin", m));
    EXPECT_EQ(d.sequence(0), seqs[0]);
    const std::string msg = error_of([&] { d.sequence(1); });
    EXPECT_NE(msg.find("short_bin.bin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runs past the end"), std::string::npos) << msg;
  }
  {
    Megatron m = good;
    const int64_t bad_pointer = int64_t{1} << 40;
    std::memcpy(m.idx.data() + 34 + 4 * 2 + 8, &bad_pointer, 8);  // pointer of sequence 1
    const MegatronDataset d(write_megatron(dir, "bad_pointer", m));
    const std::string msg = error_of([&] { d.sequence(1); });
    EXPECT_NE(msg.find("bad_pointer.bin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runs past the end"), std::string::npos) << msg;
  }
  {
    Megatron m = good;
    const int32_t negative = -3;
    std::memcpy(m.idx.data() + 34, &negative, 4);
    const MegatronDataset d(write_megatron(dir, "negative", m));
    EXPECT_NE(error_of([&] { d.sequence(0); }).find("negative size"), std::string::npos);
  }
}

// ---- `eidetic corpus head` ----------------------------------------------------------------

TEST(CorpusCli, HeadPrintsSequencesAsIds) {
  TempDir dir;
  const std::vector<Ids> seqs = {{1, 2, 3}, {40000}, {}, {7, 8}};
  const fs::path prefix = write_megatron(dir, "data", megatron_bytes(8, seqs, {0, 4}));
  auto r = eidetic::testing::run_cli({"corpus", "head", prefix.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1 2 3\n40000\n\n7 8\n");
  r = eidetic::testing::run_cli({"corpus", "head", prefix.string() + ".bin", "--offset", "1", "--count", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "40000\n\n");
  r = eidetic::testing::run_cli({"corpus", "head", prefix.string(), "--offset", "4"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("data.idx"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("past the end"), std::string::npos) << r.err;

  const Ids rows = {5, 6, 7, 8, 9, 10};
  const fs::path npy = dir.path() / "rows.npy";
  eidetic::corpus::write_npy_i64(npy, rows.data(), {3, 2});
  r = eidetic::testing::run_cli({"corpus", "head", npy.string(), "--offset", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "7 8\n9 10\n");
  r = eidetic::testing::run_cli({"corpus", "head", npy.string(), "--offset", "3"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("rows.npy"), std::string::npos) << r.err;

  r = eidetic::testing::run_cli({"corpus", "info", prefix.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sequences: 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokens:    6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uint16"), std::string::npos) << r.out;
}

TEST(CorpusCli, IndexFindsQueryRows) {
  TempDir dir;
  std::mt19937_64 rng(3);
  std::vector<Ids> seqs(4, Ids(64));
  for (auto& s : seqs)
    for (auto& v : s) v = static_cast<int64_t>(rng() % 1000);
  const fs::path prefix = write_megatron(dir, "data", megatron_bytes(4, seqs, {0, 4}));
  Ids q(2 * 20);
  std::copy(seqs[2].begin() + 5, seqs[2].begin() + 25, q.begin());  // row 0: from sequence 2
  for (int k = 20; k < 40; ++k) q[static_cast<size_t>(k)] = 5000 + k;  // row 1: absent
  const fs::path npy = dir.path() / "q.npy";
  eidetic::corpus::write_npy_i64(npy, q.data(), {2, 20});
  const auto r = eidetic::testing::run_cli(
      {"corpus", "index", prefix.string(), "--n", "8", "--device", "cpu", "--query", npy.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\n0 13 13 2 5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1 13 0 -1 -1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bytes/token"), std::string::npos) << r.out;
}

// ---- text and JSON Lines ------------------------------------------------------------------

// A byte-level BPE whose ids are the bytes (0..255) plus one merge, "Ġt" (256).
std::unique_ptr<eidetic::tok::Tokenizer> tiny_tokenizer(const TempDir& dir) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  const std::string G = byte_char(' ');
  vocab[G + "t"] = 256;
  nlohmann::json j;
  j["version"] = "1.0";
  j["added_tokens"] = nlohmann::json::array();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab},
                {"merges", nlohmann::json::array({G + " t"})}};
  return eidetic::tok::load_tokenizer(dir.write("tok/tokenizer.json", j.dump()));
}

TEST(TextCorpus, TextAndJsonLinesBecomeDocuments) {
  TempDir dir;
  const auto tok = tiny_tokenizer(dir);
  const fs::path txt = dir.write("c/b.txt", "a tale");
  const fs::path jsonl = dir.write("c/a.jsonl", "{\"text\": \"hi\", \"id\": 1}\n\n  \r\n{\"text\": \"x t\"}\r\n");
  dir.write("c/ignored.md", "not a corpus file");
  dir.write("c/sub/c.txt", "zz");

  const auto docs = eidetic::corpus::read_text_corpus({txt, jsonl}, *tok);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].name, txt.string());
  EXPECT_EQ(docs[0].tokens, (Ids{'a', 256, 'a', 'l', 'e'}));
  EXPECT_EQ(docs[0].tokens, tok->encode("a tale"));
  EXPECT_EQ(docs[1].name, jsonl.string() + ":1");
  EXPECT_EQ(docs[1].tokens, (Ids{'h', 'i'}));
  EXPECT_EQ(docs[2].name, jsonl.string() + ":4");
  EXPECT_EQ(docs[2].tokens, (Ids{'x', 256}));

  // A folder: every .txt and .jsonl under it, sorted by path.
  const auto all = eidetic::corpus::read_text_corpus({dir.path() / "c"}, *tok);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].name, jsonl.string() + ":1");
  EXPECT_EQ(all[2].name, txt.string());
  EXPECT_EQ(all[3].name, (dir.path() / "c" / "sub" / "c.txt").string());

  // Files named on their own are text when their names say so: Markdown, no extension, or a
  // version number for one (/usr/share/common-licenses/GPL-3, Apache-2.0); a folder still
  // stands only for its .txt and .jsonl files (c/ignored.md above).
  const fs::path md = dir.write("n/notes.md", "a tale"), bare = dir.write("n/GPL-3", "hi"),
                 versioned = dir.write("n/Apache-2.0", "x t");
  const auto named = eidetic::corpus::read_text_corpus({md, bare, versioned}, *tok);
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].tokens, tok->encode("a tale"));
  EXPECT_EQ(named[1].name, bare.string());
  EXPECT_EQ(named[1].tokens, (Ids{'h', 'i'}));
  EXPECT_EQ(named[2].tokens, (Ids{'x', 256}));

  // Another field.
  const fs::path other = dir.write("other.jsonl", "{\"body\": \"q\"}\n");
  const auto by_body = eidetic::corpus::read_text_corpus({other}, *tok, "body");
  ASSERT_EQ(by_body.size(), 1u);
  EXPECT_EQ(by_body[0].tokens, Ids{'q'});
}

TEST(TextCorpus, ErrorsNameFileAndLine) {
  TempDir dir;
  const auto tok = tiny_tokenizer(dir);
  auto expect = [&](const std::string& name, const std::string& bytes, const std::string& where,
                    const std::string& what) {
    SCOPED_TRACE(name);
    const fs::path p = dir.write(name, bytes);
    const std::string msg = error_of([&] { eidetic::corpus::read_text_corpus({p}, *tok); });
    EXPECT_NE(msg.find(p.string() + where), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  };
  expect("malformed.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"unterminated}\n", ":3:", "malformed JSON");
  expect("missing.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n", ":2:", "no field \"text\"");
  expect("number.jsonl", "{\"text\": 5}\n", ":1:", "not a string");
  expect("array.jsonl", "[\"text\"]\n", ":1:", "expected a JSON object");
  expect("bad_utf8.txt", "fine \xff then bad", ":", "UTF-8");
  expect("bad_utf8.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"\xc3\x28\"}\n", ":2:", "");
  expect("notes.csv", "text", ":", "unsupported corpus file");
  expect("data.2x", "text", ":", "unsupported corpus file");
  const std::string msg = error_of([&] { eidetic::corpus::read_text_corpus({dir.path() / "nope.txt"}, *tok); });
  EXPECT_NE(msg.find("nope.txt: file not found"), std::string::npos) << msg;
}

// ---- n-gram hashes and the hash set -------------------------------------------------------

Ids random_tokens(std::mt19937_64& rng, int64_t L, int64_t vocab) {
  Ids t(static_cast<size_t>(L));
  for (auto& v : t) v = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
  return t;
}

// The definition, term by term: sum (t_j + 1) B^(n-1-j), finalized.
uint64_t naive_hash(const int64_t* w, int64_t n) {
  uint64_t p = 0;
  for (int64_t j = 0; j < n; ++j) {
    uint64_t power = 1;
    for (int64_t e = 0; e < n - 1 - j; ++e) power *= eidetic::kernels::kNgramBase;
    p += (static_cast<uint64_t>(w[j]) + 1) * power;
  }
  return eidetic::kernels::ngram_finish(p);
}

TEST(Ngram, RollingHashesEqualTheDefinition) {
  std::mt19937_64 rng(11);
  for (int64_t n : {1, 2, 7, 50}) {
    for (int64_t L : {int64_t{0}, n - 1, n, n + 1, int64_t{333}}) {
      if (L < 0) continue;
      SCOPED_TRACE("n=" + std::to_string(n) + " L=" + std::to_string(L));
      Ids t = random_tokens(rng, L, n == 2 ? 3 : 50277);
      if (L > 3) t[1] = -1, t[2] = int64_t{1} << 40;  // any int64 hashes
      std::vector<uint64_t> out(static_cast<size_t>(std::max<int64_t>(L - n + 1, 0)) + 1, 0xabcdefull);
      eidetic::kernels::ngram_hashes_cpu(t.data(), L, n, out.data());
      for (int64_t i = 0; i + n <= L; ++i) {
        ASSERT_EQ(out[static_cast<size_t>(i)], naive_hash(t.data() + i, n)) << i;
        ASSERT_EQ(out[static_cast<size_t>(i)], eidetic::kernels::ngram_hash(t.data() + i, n)) << i;
        ASSERT_NE(out[static_cast<size_t>(i)], 0u);
      }
      EXPECT_EQ(out.back(), 0xabcdefull);  // nothing written past the last window
    }
  }
  // Token 0 counts: [0] and [] differ, and so do [0, 5] and [5].
  const Ids z = {0, 5};
  EXPECT_NE(eidetic::kernels::ngram_hash(z.data(), 2), eidetic::kernels::ngram_hash(z.data() + 1, 1));
}

TEST(Ngram, CpuHashSetMembershipEqualsUnorderedSet) {
  std::mt19937_64 rng(5);
  for (int64_t capacity : {16, 64, 1 << 12}) {
    SCOPED_TRACE(capacity);
    const int64_t distinct = capacity * 3 / 4;  // crowded: long probe runs and wrap-around
    std::vector<uint64_t> keys;
    for (int64_t i = 0; i < distinct; ++i) keys.push_back(i < 4 ? static_cast<uint64_t>(i) * capacity : rng());
    keys.push_back(0);
    keys.push_back(1);  // 0 is stored as 1: the same key
    std::vector<uint64_t> inserted = keys;
    for (int64_t i = 0; i < distinct; i += 3) inserted.push_back(keys[static_cast<size_t>(i)]);  // duplicates
    std::shuffle(inserted.begin(), inserted.end(), rng);
    std::vector<uint64_t> table(static_cast<size_t>(capacity), 0);
    eidetic::kernels::hashset_insert_cpu(table.data(), capacity, inserted.data(), static_cast<int64_t>(inserted.size()));
    std::unordered_set<uint64_t> truth;
    for (uint64_t k : inserted) truth.insert(k == 0 ? 1 : k);
    std::vector<uint64_t> queries = keys;
    for (int i = 0; i < 1000; ++i) queries.push_back(rng());
    for (int64_t i = 0; i < 4; ++i) queries.push_back(static_cast<uint64_t>(i + 4) * capacity);  // same home slot
    std::unique_ptr<bool[]> found(new bool[queries.size()]);
    eidetic::kernels::hashset_contains_cpu(table.data(), capacity, queries.data(), static_cast<int64_t>(queries.size()),
                                           found.get());
    for (size_t i = 0; i < queries.size(); ++i)
      EXPECT_EQ(found[i], truth.count(queries[i] == 0 ? 1 : queries[i]) > 0) << queries[i];
    std::set<uint64_t> stored;
    for (uint64_t v : table)
      if (v) stored.insert(v);
    EXPECT_EQ(stored.size(), truth.size());
  }
}

// The CPU n-gram set: hashes of the windows inside each part (those across a boundary are not
// its answer), membership equal to std::unordered_set's before and after (re)building, and the
// table's size rule.
TEST(NgramSet, CpuSetHashesPartsAndHoldsItsKeys) {
  using eidetic::kernels::NgramSet;
  std::mt19937_64 rng(31);
  for (int64_t n : {1, 5, 50}) {
    SCOPED_TRACE(n);
    const auto set = eidetic::kernels::make_ngram_set(n);
    EXPECT_EQ(set->device(), "cpu");
    EXPECT_EQ(set->n(), n);
    Ids tokens;
    Ids starts = {0};
    for (int64_t len : {int64_t{0}, n - 1, n, 3 * n + 7, int64_t{1}, int64_t{200}}) {
      const Ids part = random_tokens(rng, len, 1000);
      tokens.insert(tokens.end(), part.begin(), part.end());
      starts.push_back(static_cast<int64_t>(tokens.size()));
    }
    const std::vector<uint64_t> hashes = set->window_hashes(tokens, starts);
    ASSERT_EQ(static_cast<int64_t>(hashes.size()), std::max<int64_t>(0, static_cast<int64_t>(tokens.size()) - n + 1));
    std::vector<uint64_t> inside;  // hashes of the windows inside one part
    for (size_t d = 0; d + 1 < starts.size(); ++d)
      for (int64_t p = starts[d]; p + n <= starts[d + 1]; ++p) {
        ASSERT_EQ(hashes[static_cast<size_t>(p)], eidetic::kernels::ngram_hash(tokens.data() + p, n)) << p;
        inside.push_back(hashes[static_cast<size_t>(p)]);
      }
    ASSERT_FALSE(inside.empty());

    std::vector<uint64_t> queries = inside;
    for (int i = 0; i < 500; ++i) queries.push_back(rng());
    queries.push_back(0);
    queries.push_back(1);
    EXPECT_EQ(set->capacity(), 0);  // not built yet: empty
    for (uint8_t f : set->contains(queries)) ASSERT_EQ(f, 0);

    // The keys: the distinct hashes of every other window, and key 0 (stored as 1).
    std::vector<uint64_t> keys;
    for (size_t i = 0; i < inside.size(); i += 2) keys.push_back(inside[i]);
    keys.push_back(0);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    set->build(keys);
    EXPECT_EQ(set->capacity(), NgramSet::capacity_for(static_cast<int64_t>(keys.size())));
    EXPECT_EQ(set->table_bytes(), set->capacity() * 8);
    std::unordered_set<uint64_t> truth;
    for (uint64_t k : keys) truth.insert(k == 0 ? 1 : k);
    const std::vector<uint8_t> found = set->contains(queries);
    ASSERT_EQ(found.size(), queries.size());
    for (size_t i = 0; i < queries.size(); ++i)
      ASSERT_EQ(found[i] != 0, truth.count(queries[i] == 0 ? 1 : queries[i]) > 0) << queries[i];

    set->build({});  // rebuilding replaces the contents
    EXPECT_EQ(set->capacity(), 16);
    for (uint8_t f : set->contains(queries)) ASSERT_EQ(f, 0);
  }
  // Smallest power of two >= max(16, 2 * keys).
  EXPECT_EQ(NgramSet::capacity_for(0), 16);
  EXPECT_EQ(NgramSet::capacity_for(8), 16);
  EXPECT_EQ(NgramSet::capacity_for(9), 32);
  EXPECT_EQ(NgramSet::capacity_for(1024), 2048);
  EXPECT_EQ(NgramSet::capacity_for(1025), 4096);
  EXPECT_NE(error_of([] { eidetic::kernels::make_ngram_set(0); }).find("n must be at least 1"), std::string::npos);
  // One past the last usable device (device 0 here, or in a build without CUDA kernels).
  const int missing = eidetic::kernels::cuda_device_count();
  EXPECT_NE(error_of([&] { eidetic::kernels::make_ngram_set(3, missing); }).find("asked for"), std::string::npos);
}

// ---- the n-gram index ---------------------------------------------------------------------

// Brute force: the first (document, offset) where `w` occurs, or (-1, -1).
std::pair<int64_t, int64_t> find_window(const std::vector<Ids>& docs, const int64_t* w, int64_t n) {
  for (size_t d = 0; d < docs.size(); ++d)
    for (int64_t o = 0; o + n <= static_cast<int64_t>(docs[d].size()); ++o)
      if (std::equal(w, w + n, docs[d].begin() + o)) return {static_cast<int64_t>(d), o};
  return {-1, -1};
}

TEST(NgramIndex, FindsPlantedWindowsWithTheirLocations) {
  std::mt19937_64 rng(21);
  const int64_t n = 50;
  std::vector<Ids> docs;
  for (int64_t len : {500, 49, 0, 1200, 50, 700}) docs.push_back(random_tokens(rng, len, 50277));
  // A repeated window: doc 5 carries a copy of doc 3's tokens 100..159; the first occurrence wins.
  std::copy(docs[3].begin() + 100, docs[3].begin() + 160, docs[5].begin() + 600);
  const NgramIndex index(docs, n, "cpu");
  EXPECT_EQ(index.n(), n);
  const auto st = index.stats();
  EXPECT_EQ(st.device, "cpu");
  EXPECT_EQ(st.tokens, 500 + 49 + 1200 + 50 + 700);
  EXPECT_EQ(st.windows, 451 + 1151 + 1 + 651);
  EXPECT_EQ(st.distinct_windows, st.windows - 11);
  EXPECT_GT(st.bytes_per_token, 8.0);

  std::vector<Ids> queries;
  Ids q0 = random_tokens(rng, 300, 50277);  // absent, then doc 3's 120..199 planted at 200
  q0.resize(280);
  std::copy(docs[3].begin() + 120, docs[3].begin() + 200, q0.begin() + 200);
  queries.push_back(q0);
  queries.push_back(Ids(docs[4]));                                // all of a 50-token document
  queries.push_back(Ids(docs[5].begin() + 590, docs[5].end()));   // starts in doc 5, then the copy
  queries.push_back(random_tokens(rng, 49, 50277));               // shorter than n
  queries.push_back({});                                          // empty
  queries.push_back(random_tokens(rng, 400, 50277));              // absent
  // Straddling a document boundary: the end of doc 0 and the start of doc 1 are not a window.
  Ids straddle(docs[0].end() - 25, docs[0].end());
  straddle.insert(straddle.end(), docs[1].begin(), docs[1].begin() + 25);
  queries.push_back(straddle);

  const auto hits = index.query(queries);
  ASSERT_EQ(hits.size(), queries.size());
  for (size_t s = 0; s < queries.size(); ++s) {
    SCOPED_TRACE(s);
    const Ids& q = queries[s];
    int64_t windows = 0, matched = 0, doc = -1, off = -1;
    for (int64_t p = 0; p + n <= static_cast<int64_t>(q.size()); ++p) {
      ++windows;
      const auto at = find_window(docs, q.data() + p, n);
      EXPECT_EQ(index.contains(Ids(q.begin() + p, q.begin() + p + n)), at.first >= 0) << p;
      if (at.first >= 0 && matched++ == 0) doc = at.first, off = at.second;
    }
    EXPECT_EQ(hits[s].windows, windows);
    EXPECT_EQ(hits[s].matched, matched);
    EXPECT_EQ(hits[s].document, doc);
    EXPECT_EQ(hits[s].offset, off);
  }
  // (windows, matched, document, offset) of each query, as planted above.
  const std::vector<std::array<int64_t, 4>> planted = {{231, 31, 3, 120}, {1, 1, 4, 0},     {61, 61, 5, 590},
                                                       {0, 0, -1, -1},    {0, 0, -1, -1},   {351, 0, -1, -1},
                                                       {1, 0, -1, -1}};
  for (size_t s = 0; s < planted.size(); ++s)
    EXPECT_EQ((std::array<int64_t, 4>{hits[s].windows, hits[s].matched, hits[s].document, hits[s].offset}), planted[s])
        << s;
  // Every corpus window is found, at its first occurrence.
  for (size_t d = 0; d < docs.size(); ++d)
    for (int64_t o = 0; o + n <= static_cast<int64_t>(docs[d].size()); o += 37)
      ASSERT_TRUE(index.contains(Ids(docs[d].begin() + o, docs[d].begin() + o + n)));
  const auto st2 = index.stats();
  EXPECT_EQ(st2.last_query_windows, 231 + 1 + 61 + 351 + 1);

  EXPECT_NE(error_of([&] { index.contains(Ids(49, 0)); }).find("exactly 50 tokens"), std::string::npos);
  EXPECT_TRUE(index.query({}).empty());
}

// Thue-Morse: S_0 = a, S_{k+1} = S_k + complement(S_k). For any odd base B the polynomials of
// S_q and its complement differ by (a - b) * prod_k (B^(2^k) - 1), which is divisible by 2^64
// once q >= 10: two different windows with the same 64-bit hash.
Ids thue_morse(int q, int64_t a, int64_t b) {
  Ids s = {a};
  for (int k = 0; k < q; ++k) {
    const size_t m = s.size();
    for (size_t i = 0; i < m; ++i) s.push_back(s[i] == a ? b : a);
  }
  return s;
}

TEST(NgramIndex, HashCollisionsNeverGiveFalseHits) {
  const Ids t = thue_morse(11, 17, 4242);
  const Ids u = thue_morse(11, 4242, 17);  // the complement
  const int64_t n = static_cast<int64_t>(t.size());
  ASSERT_EQ(n, 2048);
  ASSERT_NE(t, u);
  ASSERT_EQ(eidetic::kernels::ngram_hash(t.data(), n), eidetic::kernels::ngram_hash(u.data(), n))
      << "the construction should collide";

  const NgramIndex only_t({t}, n, "cpu");
  EXPECT_TRUE(only_t.contains(t));
  EXPECT_FALSE(only_t.contains(u));
  auto hits = only_t.query({u, t});
  EXPECT_EQ(hits[0].windows, 1);
  EXPECT_EQ(hits[0].matched, 0);
  EXPECT_EQ(hits[0].document, -1);
  EXPECT_EQ(hits[1].matched, 1);

  // Both windows in the corpus: each is found at its own place (two entries, one hash).
  const NgramIndex both({Ids{1, 2, 3}, t, u, t}, n, "cpu");
  EXPECT_EQ(both.stats().windows, 3);
  EXPECT_EQ(both.stats().distinct_windows, 2);
  hits = both.query({u, t});
  EXPECT_EQ(hits[0].matched, 1);
  EXPECT_EQ(hits[0].document, 2);
  EXPECT_EQ(hits[1].document, 1);
  EXPECT_TRUE(both.contains(u));
}

TEST(NgramIndex, SmallWindowsAndDevices) {
  // n = 1: every token is a window.
  const NgramIndex unigrams({{5, 6, 5}, {0}}, 1, "auto");
  EXPECT_TRUE(unigrams.contains({0}));
  EXPECT_TRUE(unigrams.contains({6}));
  EXPECT_FALSE(unigrams.contains({7}));
  const auto hits = unigrams.query({{7, 0, 5, 9}});
  EXPECT_EQ(hits[0].windows, 4);
  EXPECT_EQ(hits[0].matched, 2);
  EXPECT_EQ(hits[0].document, 1);
  EXPECT_EQ(hits[0].offset, 0);
  // An empty corpus finds nothing.
  const NgramIndex empty({}, 3, "cpu");
  EXPECT_EQ(empty.query({{1, 2, 3}})[0].matched, 0);
  EXPECT_EQ(empty.stats().windows, 0);

  EXPECT_NE(error_of([] { NgramIndex({{1}}, 0, "cpu"); }).find("n must be at least 1"), std::string::npos);
  EXPECT_NE(error_of([] { NgramIndex({{1}}, 1, "tpu"); }).find("unknown device"), std::string::npos);
  if (!eidetic::testing::gpu_available()) {
    EXPECT_EQ(unigrams.stats().device, "cpu");
    EXPECT_NE(error_of([] { NgramIndex({{1}}, 1, "cuda"); }).find("cuda"), std::string::npos);
  }
}

}  // namespace
