// corpus/ngram_index.cpp: see ngram_index.h.
//
// Hashing and the hash set are the n-gram set's (kernels/ngram_set.h), on a CUDA device or on
// the CPU; this file deals in host vectors only.
//
// Build: the documents are concatenated; the set computes the hashes of all windows, those
// whose window crosses a document boundary are dropped, and the (hash, position) pairs are
// sorted. Equal hashes are then split into distinct windows by comparing tokens, keeping the
// first position of each: these entries answer "where" and confirm hits. The distinct hashes
// then make up the set.
//
// Query: the sequences are concatenated the same way, all windows hashed and looked up in the
// set at once; windows the set reports are confirmed on the host against the entries (a bucket
// directory over the top bits of the hash finds them in one or two cache lines). Once a window
// is confirmed at a corpus position, the next window is confirmed by one more token comparison
// at the next position, so a long memorized run costs little more than reading it.
#include "corpus/ngram_index.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <utility>

#include "common/error.h"
#include "kernels/ngram.h"
#include "kernels/ngram_set.h"

namespace eidetic::corpus {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Entry {
  uint64_t hash;
  int64_t pos;  // start of the window in the concatenated corpus
};

// The CUDA device a device name asks for, or -1 for the CPU: "cpu"; "cuda" (device 0) or
// "cuda:K" (kernels::make_ngram_set refuses one that is not usable); "auto", the current CUDA
// device when one is usable (never in a build without CUDA kernels), else the CPU.
int cuda_device_of(const std::string& device) {
  if (device == "cpu") return -1;
  if (device == "auto") return kernels::cuda_device_count() > 0 ? kernels::current_cuda_device() : -1;
  if (device == "cuda") return 0;
  if (device.rfind("cuda:", 0) != 0)
    throw Error("n-gram index: unknown device \"" + device + "\" (expected cpu, cuda, cuda:K or auto)");
  const std::string digits = device.substr(5);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 4)
    throw Error("n-gram index: bad device \"" + device + "\" (expected cpu, cuda, cuda:K or auto)");
  return std::stoi(digits);
}

// Sorts entries by hash, keeping the order of equal hashes (LSD radix sort, 11 bits a pass:
// several times faster than a comparison sort on uniform 64-bit keys).
void sort_by_hash(std::vector<Entry>& v) {
  constexpr int kBits = 11, kPasses = 6;  // 66 >= 64 bits
  constexpr size_t kBuckets = size_t{1} << kBits;
  if (v.size() < 256) {
    std::stable_sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
    return;
  }
  std::vector<size_t> counts(kPasses * kBuckets, 0);
  for (const Entry& e : v)
    for (int p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((e.hash >> (p * kBits)) & (kBuckets - 1))];
  std::vector<Entry> tmp(v.size());
  for (int p = 0; p < kPasses; ++p) {
    size_t* c = counts.data() + p * kBuckets;
    if (*std::max_element(c, c + kBuckets) == v.size()) continue;  // one digit everywhere: nothing moves
    size_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) sum += std::exchange(c[b], sum);
    for (const Entry& e : v) tmp[c[(e.hash >> (p * kBits)) & (kBuckets - 1)]++] = e;
    v.swap(tmp);
  }
}

// Sequences laid end to end, with where each starts (size D + 1).
struct Concatenated {
  std::vector<int64_t> tokens;
  std::vector<int64_t> starts;
};

Concatenated concatenate(const std::vector<std::vector<int64_t>>& parts) {
  Concatenated c;
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  c.tokens.reserve(total);
  c.starts.reserve(parts.size() + 1);
  for (const auto& p : parts) {
    c.starts.push_back(static_cast<int64_t>(c.tokens.size()));
    c.tokens.insert(c.tokens.end(), p.begin(), p.end());
  }
  c.starts.push_back(static_cast<int64_t>(c.tokens.size()));
  return c;
}

}  // namespace

struct NgramIndex::Impl {
  int64_t n = 0;
  std::vector<int64_t> tokens;       // the corpus, documents end to end
  std::vector<int64_t> doc_starts;   // (documents + 1)
  std::vector<Entry> entries;        // one per distinct window, sorted by (hash, pos)
  // entries[directory[k] .. directory[k+1]) are those whose hash's top bits are k: hashes are
  // uniform, so a bucket holds two to four entries and a lookup reads one or two cache lines.
  std::vector<int64_t> directory;
  int directory_shift = 63;
  std::unique_ptr<kernels::NgramSet> set;  // the distinct hashes, on the CPU or a device
  mutable std::mutex mutex;          // one query at a time on the set; guards the statistics
  mutable Stats stats;

  // The corpus position of a window equal to `window` (n tokens) with hash `hash`, or -1.
  int64_t confirm(uint64_t hash, const int64_t* window) const {
    if (entries.empty()) return -1;
    const uint64_t bucket = hash >> directory_shift;
    const Entry* it = entries.data() + directory[bucket];
    const Entry* end = entries.data() + directory[bucket + 1];
    for (; it != end && it->hash < hash; ++it) {
    }
    for (; it != end && it->hash == hash; ++it)
      if (std::memcmp(tokens.data() + it->pos, window, static_cast<size_t>(n) * sizeof(int64_t)) == 0)
        return it->pos;
    return -1;
  }

  // The bucket directory over the sorted entries: 2^b buckets with 2^b in (E/4, E/2].
  void build_directory() {
    int bits = 1;
    while ((int64_t{1} << (bits + 2)) <= static_cast<int64_t>(entries.size()) && bits < 40) ++bits;
    directory_shift = 64 - bits;
    const size_t buckets = size_t{1} << bits;
    directory.assign(buckets + 1, 0);
    size_t i = 0;
    for (size_t k = 0; k < buckets; ++k) {
      directory[k] = static_cast<int64_t>(i);
      while (i < entries.size() && (entries[i].hash >> directory_shift) == k) ++i;
    }
    directory[buckets] = static_cast<int64_t>(entries.size());
  }

  int64_t document_of(int64_t pos) const {
    return static_cast<int64_t>(std::upper_bound(doc_starts.begin(), doc_starts.end(), pos) - doc_starts.begin()) - 1;
  }
};

NgramIndex::NgramIndex(const std::vector<std::vector<int64_t>>& documents, int64_t n, const std::string& device)
    : impl_(std::make_unique<Impl>()) {
  const auto t0 = Clock::now();
  Impl& m = *impl_;
  if (n < 1) throw Error("n-gram index: n must be at least 1, got " + std::to_string(n));
  m.n = n;

  m.set = kernels::make_ngram_set(n, cuda_device_of(device));  // where hashing and the set run

  // The corpus and the hashes of its windows.
  Concatenated c = concatenate(documents);
  m.tokens = std::move(c.tokens);
  m.doc_starts = std::move(c.starts);
  std::vector<uint64_t> hashes = m.set->window_hashes(m.tokens, m.doc_starts);

  // (hash, position) of every window inside a document, sorted.
  std::vector<Entry> all;
  all.reserve(hashes.size());
  for (size_t d = 0; d + 1 < m.doc_starts.size(); ++d)
    for (int64_t p = m.doc_starts[d]; p + n <= m.doc_starts[d + 1]; ++p) all.push_back({hashes[static_cast<size_t>(p)], p});
  std::vector<uint64_t>().swap(hashes);
  const int64_t windows = static_cast<int64_t>(all.size());
  sort_by_hash(all);  // stable: equal hashes stay in position order

  // Keep the first occurrence of each distinct window; count distinct hashes for the set.
  size_t kept = 0;
  int64_t distinct_hashes = 0;
  const size_t window_bytes = static_cast<size_t>(n) * sizeof(int64_t);
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].hash == all[i].hash) ++j;
    const size_t run_start = kept;
    for (size_t k = i; k < j; ++k) {
      bool seen = false;
      for (size_t q = run_start; q < kept && !seen; ++q)
        seen = std::memcmp(m.tokens.data() + all[q].pos, m.tokens.data() + all[k].pos, window_bytes) == 0;
      if (!seen) all[kept++] = all[k];
    }
    ++distinct_hashes;
    i = j;
  }
  all.resize(kept);
  all.shrink_to_fit();
  m.entries = std::move(all);
  m.build_directory();

  // The hash set of the distinct hashes (at most half full).
  std::vector<uint64_t> keys;
  keys.reserve(static_cast<size_t>(distinct_hashes));
  for (size_t i = 0; i < m.entries.size(); ++i)
    if (i == 0 || m.entries[i].hash != m.entries[i - 1].hash) keys.push_back(m.entries[i].hash);
  m.set->build(keys);

  Stats& s = m.stats;
  s.tokens = static_cast<int64_t>(m.tokens.size());
  s.windows = windows;
  s.distinct_windows = static_cast<int64_t>(m.entries.size());
  s.bytes = static_cast<int64_t>(m.tokens.size() * sizeof(int64_t) + m.doc_starts.size() * sizeof(int64_t) +
                                 m.entries.size() * sizeof(Entry) + m.directory.size() * sizeof(int64_t) +
                                 static_cast<size_t>(m.set->table_bytes()));
  s.bytes_per_token = s.tokens ? static_cast<double>(s.bytes) / static_cast<double>(s.tokens) : 0.0;
  s.device = m.set->device();
  s.build_seconds = seconds_since(t0);
}

NgramIndex::~NgramIndex() = default;
NgramIndex::NgramIndex(NgramIndex&&) noexcept = default;
NgramIndex& NgramIndex::operator=(NgramIndex&&) noexcept = default;

int64_t NgramIndex::n() const { return impl_->n; }

bool NgramIndex::contains(const std::vector<int64_t>& window) const {
  const Impl& m = *impl_;
  if (static_cast<int64_t>(window.size()) != m.n)
    throw Error("n-gram index: contains() takes a window of exactly " + std::to_string(m.n) + " tokens, got " +
                std::to_string(window.size()));
  return m.confirm(kernels::ngram_hash(window.data(), m.n), window.data()) >= 0;
}

std::vector<NgramIndex::Hit> NgramIndex::query(const std::vector<std::vector<int64_t>>& sequences) const {
  const auto t0 = Clock::now();
  const Impl& m = *impl_;
  const int64_t n = m.n;
  std::vector<Hit> hits(sequences.size());
  const Concatenated c = concatenate(sequences);

  std::vector<uint64_t> hashes;
  std::vector<uint8_t> found;
  {
    std::lock_guard<std::mutex> lock(m.mutex);  // one batch at a time on the set
    hashes = m.set->window_hashes(c.tokens, c.starts);
    found = m.set->contains(hashes);
  }

  int64_t examined = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    Hit& h = hits[s];
    const int64_t begin = c.starts[s], end = c.starts[s + 1];
    h.windows = std::max<int64_t>(0, end - begin - n + 1);
    examined += h.windows;
    // A run of matching windows is followed along the corpus: when window p-1 occurs at
    // `run_at`, window p occurs at run_at + 1 if one more token agrees inside that document.
    int64_t run_at = -1, run_end = -1;
    for (int64_t p = begin; p + n <= end; ++p) {
      int64_t at = -1;
      if (run_at >= 0 && run_at + n < run_end && m.tokens[static_cast<size_t>(run_at + n)] == c.tokens[static_cast<size_t>(p + n - 1)]) {
        at = run_at + 1;
      } else if (found[static_cast<size_t>(p)]) {
        at = m.confirm(hashes[static_cast<size_t>(p)], c.tokens.data() + p);  // -1: a hash collision
        if (at >= 0) run_end = m.doc_starts[static_cast<size_t>(m.document_of(at)) + 1];
      }
      run_at = at;
      if (at < 0) continue;
      if (h.matched++ == 0) {  // the first window found: report its first occurrence
        h.document = m.document_of(at);
        h.offset = at - m.doc_starts[static_cast<size_t>(h.document)];
      }
    }
  }

  std::lock_guard<std::mutex> lock(m.mutex);
  m.stats.last_query_seconds = seconds_since(t0);
  m.stats.last_query_windows = examined;
  return hits;
}

NgramIndex::Stats NgramIndex::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace eidetic::corpus
