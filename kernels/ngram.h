// kernels/ngram.h: hashes of n-token windows and an open-addressing hash set of 64-bit keys,
// the two pieces of the corpus n-gram index (corpus/ngram_index.h).
//
// Deciding whether a generated sequence occurs in the training data comes down to asking, for
// every window of n tokens, whether that window occurs anywhere in a corpus of billions of
// tokens. The index keeps one 64-bit hash per distinct corpus window in a hash set; a query
// hashes its windows and looks them up, all in parallel; the few hits are then confirmed
// against the corpus tokens by the caller (a hash says "maybe", never "yes").
//
// The window hash (the same on host and device, defined here):
//   P = sum_{j=0}^{n-1} (t_j + 1) * B^(n-1-j)   mod 2^64,  B = kNgramBase (odd)
//   hash = fmix64(P), and 1 where that is 0 (0 marks an empty slot of the set).
// The polynomial lets consecutive windows be computed by a rolling update,
//   P' = (P - (t_i + 1) * B^(n-1)) * B + (t_{i+n} + 1),
// which is exact in arithmetic mod 2^64, so every way of computing it gives the same bits.
// The +1 keeps token 0 from vanishing. Polynomial hashes mod 2^64 have known collisions (the
// Thue-Morse construction, for windows of 2048 tokens or more, for any base), which is one
// reason a hit is always confirmed by comparing tokens.
//
// The hash set: a table of `capacity` (a power of two) uint64 slots, 0 meaning empty, linear
// probing from slot (k ^ (k >> 32)) & (capacity - 1). Key 0 is stored as 1 (so 0 and 1 are the
// same key). The device insert claims slots with atomicCAS, so the slot a key lands in depends
// on the order threads arrive, but the set of keys present does not. The table must have more
// slots than distinct keys (the index keeps it at most half full).
#pragma once

#include <cstdint>

#include "kernels/common.h"
#include "kernels/rng.h"  // EIDETIC_HD

namespace eidetic::kernels {

constexpr uint64_t kNgramBase = 0x9e3779b97f4a7c15ull;  // odd

// MurmurHash3's 64-bit finalizer: a bijection that spreads the polynomial's bits.
EIDETIC_HD uint64_t ngram_fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// The final hash of a window from its polynomial P (never 0).
EIDETIC_HD uint64_t ngram_finish(uint64_t polynomial) {
  const uint64_t h = ngram_fmix64(polynomial);
  return h == 0 ? 1 : h;
}

// One token's term in the polynomial.
EIDETIC_HD uint64_t ngram_term(int64_t token) { return static_cast<uint64_t>(token) + 1; }

// B^e mod 2^64 (B^(n-1) is what the rolling update removes).
EIDETIC_HD uint64_t ngram_base_power(int64_t e) {
  uint64_t result = 1, b = kNgramBase;
  for (uint64_t k = static_cast<uint64_t>(e); k; k >>= 1) {
    if (k & 1) result *= b;
    b *= b;
  }
  return result;
}

// The polynomial of the n tokens at `window` (Horner's rule).
EIDETIC_HD uint64_t ngram_polynomial(const int64_t* window, int64_t n) {
  uint64_t p = 0;
  for (int64_t j = 0; j < n; ++j) p = p * kNgramBase + ngram_term(window[j]);
  return p;
}

// The hash of the n tokens at `window`: the definition, computed directly.
EIDETIC_HD uint64_t ngram_hash(const int64_t* window, int64_t n) {
  return ngram_finish(ngram_polynomial(window, n));
}

// The set's home slot of a key, and the key as stored (0 becomes 1).
EIDETIC_HD uint64_t hashset_key(uint64_t key) { return key == 0 ? 1 : key; }
EIDETIC_HD uint64_t hashset_home(uint64_t key, int64_t capacity) {
  return (key ^ (key >> 32)) & static_cast<uint64_t>(capacity - 1);
}

// Whether `key` (already through hashset_key) is in the open-addressing table: linear probing
// from its home slot until the key or an empty slot (0). Host and device share it.
EIDETIC_HD bool hashset_probe(const uint64_t* table, int64_t capacity, uint64_t key) {
  const uint64_t mask = static_cast<uint64_t>(capacity - 1);
  uint64_t slot = hashset_home(key, capacity);
  for (int64_t probe = 0; probe < capacity; ++probe, slot = (slot + 1) & mask) {
    const uint64_t stored = table[slot];
    if (stored == key) return true;
    if (stored == 0) return false;
  }
  return false;
}

// CPU twins: the same functions, computed simply.
// Hashes of every window: out[i] = hash of tokens[i .. i+n-1], for i in [0, L-n+1). Nothing
// is written when L < n. n >= 1.
void ngram_hashes_cpu(const int64_t* tokens,  // (L)
                      int64_t L, int64_t n,
                      uint64_t* out);  // (L - n + 1)
// Inserts `count` keys (duplicates allowed) into the table, one after another.
void hashset_insert_cpu(uint64_t* table,  // (capacity), empty slots 0
                        int64_t capacity,  // a power of two, more than the distinct keys
                        const uint64_t* keys,  // (count)
                        int64_t count);
// found[i] = whether keys[i] is in the table.
void hashset_contains_cpu(const uint64_t* table,  // (capacity)
                          int64_t capacity, const uint64_t* keys,  // (count)
                          int64_t count,
                          bool* found);  // (count)

#if EIDETIC_WITH_CUDA
// CUDA kernel launchers: pointers are device pointers; they run on `stream`.
void ngram_hashes(const int64_t* tokens,  // (L)
                  int64_t L, int64_t n,
                  uint64_t* out,  // (L - n + 1)
                  cudaStream_t stream);
void hashset_insert(uint64_t* table,  // (capacity), empty slots 0
                    int64_t capacity, const uint64_t* keys,  // (count)
                    int64_t count, cudaStream_t stream);
void hashset_contains(const uint64_t* table,  // (capacity)
                      int64_t capacity, const uint64_t* keys,  // (count)
                      int64_t count,
                      bool* found,  // (count)
                      cudaStream_t stream);
#endif

}  // namespace eidetic::kernels
