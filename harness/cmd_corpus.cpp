// `eidetic corpus`: look inside training data and index it.
//   corpus head PATH [--offset K] [--count N]   sequences K..K+N-1 as token ids, one per line
//   corpus info PATH                            sequences, tokens, dtype of a Megatron dataset
//   corpus index DATA... [--n 50] [--query Q]   build an n-gram index, report its throughput
//                                               and size, and look up the rows of Q.npy
// PATH is a Megatron dataset (PREFIX, PREFIX.idx or PREFIX.bin) or a 2-D .npy token array.
// DATA may also be .txt/.jsonl files or folders of them, tokenized with --tokenizer.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "corpus/megatron.h"
#include "corpus/ngram_index.h"
#include "corpus/npy.h"
#include "corpus/text_corpus.h"
#include "harness/commands.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::harness {
namespace {

bool is_npy(const std::string& path) { return std::filesystem::path(path).extension() == ".npy"; }

bool is_text(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension();
  return ext == ".txt" || ext == ".jsonl" || std::filesystem::is_directory(path);
}

// Rows of a 2-D .npy token array.
corpus::TokenArray read_npy_rows(const std::string& path) {
  corpus::TokenArray a = corpus::read_npy_tokens(path);
  if (a.shape.size() != 2)
    throw Error(path + ": expected a 2-D (rows, tokens) array of token ids, got " + std::to_string(a.shape.size()) +
                " dimension(s)");
  return a;
}

void append_ids(std::string& line, const int64_t* ids, int64_t count) {
  for (int64_t k = 0; k < count; ++k) {
    if (k) line += ' ';
    line += std::to_string(ids[k]);
  }
  line += '\n';
}

[[noreturn]] void offset_past_end(const std::string& path, int64_t offset, int64_t size) {
  throw Error(path + ": offset " + std::to_string(offset) + " is past the end (it holds " + std::to_string(size) +
              " sequences, 0.." + std::to_string(size - 1) + ")");
}

int head(const std::string& path, int64_t offset, int64_t count, Io& io) {
  count = std::min(count, INT64_MAX - offset);  // offset + count must not wrap
  std::string text;
  if (is_npy(path)) {
    const corpus::TokenArray a = read_npy_rows(path);
    const int64_t rows = a.shape[0], cols = a.shape[1];
    if (offset >= rows) offset_past_end(path, offset, rows);
    for (int64_t r = offset; r < std::min(rows, offset + count); ++r) append_ids(text, a.values.data() + r * cols, cols);
  } else {
    const corpus::MegatronDataset data(path);
    if (offset >= data.size()) offset_past_end(data.idx_path().string(), offset, data.size());
    for (int64_t i = offset; i < std::min(data.size(), offset + count); ++i) {
      const std::vector<int64_t> ids = data.sequence(i);
      append_ids(text, ids.data(), static_cast<int64_t>(ids.size()));
      if (text.size() > (1u << 20)) {
        io.out << text;
        text.clear();
      }
    }
  }
  io.out << text;
  return 0;
}

int info(const std::string& path, Io& io) {
  const corpus::MegatronDataset data(path);
  const int64_t docs = data.doc_idx().empty() ? 0 : static_cast<int64_t>(data.doc_idx().size()) - 1;
  io.out << fmt::format("index:     {}\ndata:      {}\ndtype:     {}\nsequences: {}\ntokens:    {}\ndocuments: {}\n",
                        data.idx_path().string(), data.bin_path().string(), data.dtype_name(), data.size(),
                        data.total_tokens(), docs);
  return 0;
}

struct IndexOptions {
  std::vector<std::string> data;
  std::string tokenizer, field = "text", device = "auto", query;
  int64_t n = 50, limit = -1;
};

// The documents of every DATA argument, in order; at most `limit` in all when limit >= 0.
std::vector<std::vector<int64_t>> load_documents(const IndexOptions& o) {
  std::vector<std::vector<int64_t>> docs;
  const auto full = [&] { return o.limit >= 0 && static_cast<int64_t>(docs.size()) >= o.limit; };
  std::unique_ptr<tok::Tokenizer> tokenizer;
  for (const std::string& path : o.data) {
    if (full()) break;
    if (is_npy(path)) {
      const corpus::TokenArray a = read_npy_rows(path);
      for (int64_t r = 0; r < a.shape[0] && !full(); ++r)
        docs.emplace_back(a.values.begin() + r * a.shape[1], a.values.begin() + (r + 1) * a.shape[1]);
    } else if (is_text(path)) {
      if (o.tokenizer.empty()) throw Error(path + ": text and JSON Lines corpora need --tokenizer");
      if (!tokenizer) tokenizer = tok::load_tokenizer(o.tokenizer);
      for (auto& d : corpus::read_text_corpus({path}, *tokenizer, o.field)) {
        if (full()) break;
        docs.push_back(std::move(d.tokens));
      }
    } else {
      const corpus::MegatronDataset data(path);
      for (int64_t i = 0; i < data.size() && !full(); ++i) docs.push_back(data.sequence(i));
    }
  }
  return docs;
}

int index(const IndexOptions& o, Io& io) {
  const std::vector<std::vector<int64_t>> docs = load_documents(o);
  const corpus::NgramIndex idx(docs, o.n, o.device);
  const auto s = idx.stats();
  io.out << fmt::format("corpus: {} documents, {} tokens, {} windows of {} tokens ({} distinct), device {}\n",
                        docs.size(), s.tokens, s.windows, o.n, s.distinct_windows, s.device);
  io.out << fmt::format("build:  {:.3f} s, {:.3g} windows/s\n", s.build_seconds,
                        s.build_seconds > 0 ? s.windows / s.build_seconds : 0.0);
  io.out << fmt::format("memory: {} bytes, {:.1f} bytes/token\n", s.bytes, s.bytes_per_token);
  if (o.query.empty()) return 0;
  const corpus::TokenArray q = read_npy_rows(o.query);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t r = 0; r < q.shape[0]; ++r)
    rows.emplace_back(q.values.begin() + r * q.shape[1], q.values.begin() + (r + 1) * q.shape[1]);
  const std::vector<corpus::NgramIndex::Hit> hits = idx.query(rows);
  const auto t = idx.stats();
  int64_t any = 0;
  std::string text = "row windows matched document offset\n";
  for (size_t r = 0; r < hits.size(); ++r) {
    const auto& h = hits[r];
    any += h.matched > 0;
    text += fmt::format("{} {} {} {} {}\n", r, h.windows, h.matched, h.document, h.offset);
  }
  io.out << text;
  io.out << fmt::format("query:  {} rows, {} windows, {} rows with a match, {:.3f} s, {:.3g} windows/s\n", rows.size(),
                        t.last_query_windows, any, t.last_query_seconds,
                        t.last_query_seconds > 0 ? t.last_query_windows / t.last_query_seconds : 0.0);
  return 0;
}

}  // namespace

Action add_corpus_command(CLI::App& app) {
  struct Options {
    std::string path;
    int64_t offset = 0, count = 10;
    IndexOptions index;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("corpus", "Read training data (Megatron .idx/.bin, .npy, text) and index its n-grams");
  cmd->require_subcommand(1);

  CLI::App* head_cmd = cmd->add_subcommand("head", "Print sequences K..K+N-1 as token ids, one sequence per line");
  head_cmd->add_option("path", o->path, "Megatron dataset (PREFIX, PREFIX.idx or PREFIX.bin) or 2-D .npy")->required();
  head_cmd->add_option("--offset", o->offset, "first sequence (K)")->capture_default_str()->check(CLI::NonNegativeNumber);
  head_cmd->add_option("--count", o->count, "number of sequences (N)")->capture_default_str()->check(CLI::NonNegativeNumber);

  CLI::App* info_cmd = cmd->add_subcommand("info", "Sequences, tokens, dtype and documents of a Megatron dataset");
  info_cmd->add_option("path", o->path, "Megatron dataset (PREFIX, PREFIX.idx or PREFIX.bin)")->required();

  CLI::App* index_cmd = cmd->add_subcommand(
      "index", "Build an n-gram index of a corpus, report its speed and size, and look up the rows of a .npy");
  index_cmd->add_option("data", o->index.data, "Megatron datasets, 2-D .npy arrays, .txt/.jsonl files or folders")
      ->required();
  index_cmd->add_option("--n", o->index.n, "tokens per window")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  index_cmd->add_option("--device", o->index.device, "cpu, cuda or auto")->capture_default_str();
  index_cmd->add_option("--tokenizer", o->index.tokenizer, "tokenizer for .txt/.jsonl corpora");
  index_cmd->add_option("--field", o->index.field, "JSON Lines field holding the text")->capture_default_str();
  index_cmd->add_option("--limit", o->index.limit, "index at most this many documents (sequences)")
      ->check(CLI::NonNegativeNumber);
  index_cmd->add_option("--query", o->index.query, "2-D .npy of token sequences to look up");

  return [o, head_cmd, info_cmd, index_cmd](Io& io) {
    if (head_cmd->parsed()) return head(o->path, o->offset, o->count, io);
    if (info_cmd->parsed()) return info(o->path, io);
    if (index_cmd->parsed()) return index(o->index, io);
    return 2;
  };
}

}  // namespace eidetic::harness
