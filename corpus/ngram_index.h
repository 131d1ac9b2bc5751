// corpus/ngram_index.h: which n-token windows of a sequence occur in a corpus.
//
// Extraction is judged by whether what a model generates appears in its training data. The
// index holds a 64-bit hash (kernels/ngram.h) of every window of n tokens (50 by default) of
// every document in an open-addressing hash set, on the GPU when there is one and on the CPU
// otherwise. A query hashes all windows of all its sequences at once and looks them up in the
// set in one batch; each window the set reports is then confirmed by comparing its tokens with
// a stored occurrence of a window with that hash, so a hash collision can never produce a false
// hit. For that the index keeps, sorted by hash, the first occurrence (document, offset) of
// every distinct window (two different windows with one hash both get an entry).
//
// Memory: the corpus tokens (8 bytes each), one 16-byte entry per distinct window, a bucket
// directory over the entries (2-4 bytes a window) and the set (8 bytes a slot, a quarter to half
// full): about 35-50 bytes per corpus token (42 for a million tokens); stats() reports it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eidetic::corpus {

class NgramIndex {
 public:
  // Indexes every window of n tokens (n >= 1) of every document; documents shorter than n add
  // none. `device`: "cpu", "cuda" (or "cuda:K"), or "auto" (CUDA when this build has the
  // kernels and a device is usable, else the CPU). Asking for CUDA without one is an error.
  NgramIndex(const std::vector<std::vector<int64_t>>& documents, int64_t n = 50,
             const std::string& device = "auto");
  ~NgramIndex();
  NgramIndex(NgramIndex&&) noexcept;
  NgramIndex& operator=(NgramIndex&&) noexcept;

  int64_t n() const;

  // Whether this exact window (n tokens; another length is an error) occurs in the corpus.
  bool contains(const std::vector<int64_t>& window) const;

  // Per query sequence: windows examined (max(0, length - n + 1)), windows found in the corpus
  // (confirmed), and the corpus location (document, offset) of the first window found.
  struct Hit {
    int64_t windows = 0;
    int64_t matched = 0;
    int64_t document = -1;
    int64_t offset = -1;
  };
  // All windows of all sequences are hashed and looked up in one batch.
  std::vector<Hit> query(const std::vector<std::vector<int64_t>>& sequences) const;

  struct Stats {
    int64_t tokens = 0, windows = 0;  // corpus tokens, and windows indexed
    int64_t distinct_windows = 0;     // entries kept for confirmation
    double build_seconds = 0, last_query_seconds = 0;
    int64_t last_query_windows = 0;
    int64_t bytes = 0;                // tokens + entries + hash set (host or device)
    double bytes_per_token = 0;
    std::string device;               // "cpu" or "cuda:K"
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eidetic::corpus
