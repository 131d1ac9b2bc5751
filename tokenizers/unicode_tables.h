// tokenizers/unicode_tables.h: the generated Unicode data (tokenizers/unicode_tables.cpp, from
// scripts/gen_unicode_tables.py). Plain sorted arrays; tokenizers/unicode.cpp builds its fast
// lookups from them once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eidetic::tok::unicode_data {

struct ValueRange {
  char32_t first;
  char32_t last;
  std::uint8_t value;
};

struct DecompositionEntry {
  char32_t code_point;
  std::uint32_t offset;  // into kDecompositionData
  std::uint8_t length;
};

struct CompositionEntry {
  char32_t first;
  char32_t second;
  char32_t composite;
};

// Oniguruma's classes as HF's ByteLevel regex sees them: 1 = \p{L}, 2 = \p{N}, 3 = \s.
extern const ValueRange kRegexClassRanges[];
extern const std::size_t kRegexClassRangesCount;
// Rust regex's \w (value 1), used by the single_word flag of added tokens.
extern const ValueRange kWordRanges[];
extern const std::size_t kWordRangesCount;
// Canonical combining classes (non-zero only) of Unicode 9.0.
extern const ValueRange kCombiningClassRanges[];
extern const std::size_t kCombiningClassRangesCount;
// Full canonical decompositions of Unicode 9.0, sorted by code point.
extern const DecompositionEntry kDecompositions[];
extern const std::size_t kDecompositionsCount;
extern const char32_t kDecompositionData[];
// Primary composites of Unicode 9.0, sorted by (first, second).
extern const CompositionEntry kCompositions[];
extern const std::size_t kCompositionsCount;

}  // namespace eidetic::tok::unicode_data
