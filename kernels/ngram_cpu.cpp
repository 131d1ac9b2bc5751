// CPU twin of kernels/ngram.cu: window hashes by the rolling update, and a sequential
// open-addressing hash set with the same layout and semantics as the device one. The set's
// loops prefetch the home slot of the key 16 ahead: a large table is one cache miss per key,
// and overlapping the misses makes lookups several times faster.
#include "kernels/ngram.h"

namespace eidetic::kernels {

void ngram_hashes_cpu(const int64_t* tokens, int64_t L, int64_t n, uint64_t* out) {
  if (n < 1 || L < n) return;
  const uint64_t top = ngram_base_power(n - 1);  // weight of the window's first token
  uint64_t p = ngram_polynomial(tokens, n);
  out[0] = ngram_finish(p);
  for (int64_t i = 1; i + n <= L; ++i) {
    p = (p - ngram_term(tokens[i - 1]) * top) * kNgramBase + ngram_term(tokens[i + n - 1]);
    out[i] = ngram_finish(p);
  }
}

void hashset_insert_cpu(uint64_t* table, int64_t capacity, const uint64_t* keys, int64_t count) {
  const uint64_t mask = static_cast<uint64_t>(capacity - 1);
  constexpr int64_t kAhead = 16;  // random slots: fetch them before they are needed
  for (int64_t i = 0; i < count; ++i) {
    if (i + kAhead < count) __builtin_prefetch(table + hashset_home(hashset_key(keys[i + kAhead]), capacity), 1);
    const uint64_t key = hashset_key(keys[i]);
    uint64_t slot = hashset_home(key, capacity);
    for (int64_t probe = 0; probe < capacity; ++probe, slot = (slot + 1) & mask) {
      if (table[slot] == key) break;
      if (table[slot] == 0) {
        table[slot] = key;
        break;
      }
    }
  }
}

void hashset_contains_cpu(const uint64_t* table, int64_t capacity, const uint64_t* keys,
                          int64_t count, bool* found) {
  constexpr int64_t kAhead = 16;
  for (int64_t i = 0; i < count; ++i) {
    if (i + kAhead < count) __builtin_prefetch(table + hashset_home(hashset_key(keys[i + kAhead]), capacity));
    found[i] = hashset_probe(table, capacity, hashset_key(keys[i]));
  }
}

}  // namespace eidetic::kernels
