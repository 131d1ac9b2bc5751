// tokenizers/unicode.cpp: UTF-8 handling, character classes and NFC for the tokenizers (see
// unicode.h). The generated range tables (unicode_tables.cpp) are turned once into two-level
// lookup tables; NFC follows UAX #15 in the order the unicode-normalization-alignments crate
// applies it: full canonical decomposition, stable sort of each run of non-starters by
// combining class, then canonical composition of unblocked pairs.
#include "tokenizers/unicode.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "tokenizers/unicode_tables.h"

namespace eidetic::tok::unicode {
namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr std::size_t kBlockBits = 8;
constexpr std::size_t kBlockSize = std::size_t{1} << kBlockBits;
constexpr std::size_t kBlockCount = (kMaxCodePoint + 1) >> kBlockBits;

// One byte per code point, stored as deduplicated blocks of 256.
class CodePointTable {
 public:
  explicit CodePointTable(const std::vector<std::uint8_t>& full) {
    index_.resize(kBlockCount);
    std::unordered_map<std::string, std::uint16_t> seen;
    for (std::size_t b = 0; b < kBlockCount; ++b) {
      std::string key(reinterpret_cast<const char*>(full.data() + b * kBlockSize), kBlockSize);
      auto [it, inserted] = seen.emplace(key, static_cast<std::uint16_t>(seen.size()));
      if (inserted) blocks_.insert(blocks_.end(), key.begin(), key.end());
      index_[b] = it->second;
    }
  }
  std::uint8_t get(char32_t cp) const {
    if (cp > kMaxCodePoint) return 0;
    return blocks_[(std::size_t{index_[cp >> kBlockBits]} << kBlockBits) | (cp & (kBlockSize - 1))];
  }

 private:
  std::vector<std::uint16_t> index_;
  std::vector<std::uint8_t> blocks_;
};

constexpr std::uint8_t kClassMask = 0x03;
constexpr std::uint8_t kWordBit = 0x04;
constexpr std::uint8_t kComposesAsSecondBit = 0x08;  // may be the second of a composition pair

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

struct Tables {
  CodePointTable properties;  // class | word | composes-as-second
  CodePointTable ccc;
  std::unordered_map<char32_t, std::pair<std::uint32_t, std::uint8_t>> decompositions;
  std::unordered_map<std::uint64_t, char32_t> compositions;

  static std::vector<std::uint8_t> property_bytes() {
    using namespace unicode_data;
    std::vector<std::uint8_t> full(kMaxCodePoint + 1, 0);
    for (std::size_t i = 0; i < kRegexClassRangesCount; ++i)
      for (char32_t c = kRegexClassRanges[i].first; c <= kRegexClassRanges[i].last; ++c)
        full[c] |= kRegexClassRanges[i].value & kClassMask;
    for (std::size_t i = 0; i < kWordRangesCount; ++i)
      for (char32_t c = kWordRanges[i].first; c <= kWordRanges[i].last; ++c) full[c] |= kWordBit;
    for (std::size_t i = 0; i < kCompositionsCount; ++i) full[kCompositions[i].second] |= kComposesAsSecondBit;
    for (char32_t c = kVBase; c < kVBase + kVCount; ++c) full[c] |= kComposesAsSecondBit;
    for (char32_t c = kTBase + 1; c < kTBase + kTCount; ++c) full[c] |= kComposesAsSecondBit;
    return full;
  }
  static std::vector<std::uint8_t> ccc_bytes() {
    using namespace unicode_data;
    std::vector<std::uint8_t> full(kMaxCodePoint + 1, 0);
    for (std::size_t i = 0; i < kCombiningClassRangesCount; ++i)
      for (char32_t c = kCombiningClassRanges[i].first; c <= kCombiningClassRanges[i].last; ++c)
        full[c] = kCombiningClassRanges[i].value;
    return full;
  }

  Tables() : properties(property_bytes()), ccc(ccc_bytes()) {
    using namespace unicode_data;
    decompositions.reserve(kDecompositionsCount);
    for (std::size_t i = 0; i < kDecompositionsCount; ++i)
      decompositions.emplace(kDecompositions[i].code_point,
                             std::make_pair(kDecompositions[i].offset, kDecompositions[i].length));
    compositions.reserve(kCompositionsCount);
    for (std::size_t i = 0; i < kCompositionsCount; ++i)
      compositions.emplace((std::uint64_t{kCompositions[i].first} << 32) | kCompositions[i].second,
                           kCompositions[i].composite);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

[[noreturn]] void utf8_error(std::string_view what, std::size_t offset, const std::string& problem) {
  throw Error("invalid UTF-8 in " + std::string(what) + " at byte offset " + std::to_string(offset) +
              ": " + problem);
}

std::string hex_byte(unsigned char b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Length of the well-formed sequence that starts with b0 (0 when b0 cannot start one) and the
// allowed range of its second byte (Unicode Table 3-7).
struct LeadInfo {
  int length;
  unsigned char lo, hi;
};
inline LeadInfo lead_info(unsigned char b0) {
  if (b0 < 0x80) return {1, 0, 0};
  if (b0 < 0xC2) return {0, 0, 0};
  if (b0 < 0xE0) return {2, 0x80, 0xBF};
  if (b0 == 0xE0) return {3, 0xA0, 0xBF};
  if (b0 == 0xED) return {3, 0x80, 0x9F};
  if (b0 < 0xF0) return {3, 0x80, 0xBF};
  if (b0 == 0xF0) return {4, 0x90, 0xBF};
  if (b0 < 0xF4) return {4, 0x80, 0xBF};
  if (b0 == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

std::optional<char32_t> compose_pair(char32_t a, char32_t b) {
  const Tables& t = tables();
  if (!(t.properties.get(b) & kComposesAsSecondBit)) return std::nullopt;
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && b > kTBase && b < kTBase + kTCount &&
      (a - kSBase) % kTCount == 0)
    return a + (b - kTBase);
  auto it = t.compositions.find((std::uint64_t{a} << 32) | b);
  if (it == t.compositions.end()) return std::nullopt;
  return it->second;
}

}  // namespace

RegexClass regex_class(char32_t cp) {
  if (cp < 0x80) {
    // ASCII fast path (the common case): letters, digits, the six White_Space characters.
    if ((cp | 0x20) - 'a' < 26) return RegexClass::kLetter;
    if (cp - '0' < 10) return RegexClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return RegexClass::kSpace;
    return RegexClass::kOther;
  }
  return static_cast<RegexClass>(tables().properties.get(cp) & kClassMask);
}

bool is_numeric(char32_t cp) {
  if (regex_class(cp) == RegexClass::kNumber) return true;
  // Unicode 17.0's new numbers (unassigned in 16.0): Tolong Siki digits U+11DE0..U+11DE9 and
  // U+16FF4..U+16FF6. tests/tokenizers_oracle.py checks every code point against HF.
  return (cp >= 0x11DE0 && cp <= 0x11DE9) || (cp >= 0x16FF4 && cp <= 0x16FF6);
}

bool is_word(char32_t cp) { return (tables().properties.get(cp) & kWordBit) != 0; }

std::uint8_t combining_class(char32_t cp) { return cp < 0x300 ? 0 : tables().ccc.get(cp); }

void validate_utf8(std::string_view text, std::string_view what) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    const LeadInfo info = lead_info(b0);
    if (info.length == 0) {
      if (b0 >= 0x80 && b0 < 0xC0) utf8_error(what, i, "unexpected continuation byte " + hex_byte(b0));
      if (b0 == 0xC0 || b0 == 0xC1) utf8_error(what, i, "overlong encoding (lead byte " + hex_byte(b0) + ")");
      utf8_error(what, i, "byte " + hex_byte(b0) + " never appears in UTF-8");
    }
    if (i + 1 >= n) utf8_error(what, i, "truncated " + std::to_string(info.length) + "-byte sequence at end of input");
    const unsigned char b1 = s[i + 1];
    if (b1 < info.lo || b1 > info.hi) {
      if (b1 < 0x80 || b1 > 0xBF)
        utf8_error(what, i, "truncated " + std::to_string(info.length) + "-byte sequence (byte " + hex_byte(b1) +
                                " is not a continuation byte)");
      if (b0 == 0xED) utf8_error(what, i, "encoded surrogate (UTF-16 surrogates are not valid UTF-8)");
      if (b0 == 0xF4) utf8_error(what, i, "code point above U+10FFFF");
      utf8_error(what, i, "overlong encoding");
    }
    for (int k = 2; k < info.length; ++k) {
      if (i + k >= n)
        utf8_error(what, i, "truncated " + std::to_string(info.length) + "-byte sequence at end of input");
      const unsigned char bk = s[i + k];
      if (bk < 0x80 || bk > 0xBF)
        utf8_error(what, i, "truncated " + std::to_string(info.length) + "-byte sequence (byte " + hex_byte(bk) +
                                " is not a continuation byte)");
    }
    i += info.length;
  }
}

char32_t previous_code_point(std::string_view text, std::size_t end, std::size_t* start) {
  std::size_t p = end;
  do {
    --p;
  } while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80);
  if (start) *start = p;
  std::size_t q = p;
  return next_code_point(text, q);
}


std::u32string decode_utf8(std::string_view valid_utf8) {
  std::u32string out;
  out.reserve(valid_utf8.size());
  std::size_t pos = 0;
  while (pos < valid_utf8.size()) out.push_back(next_code_point(valid_utf8, pos));
  return out;
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::string out;
  out.reserve(n);
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(b0));
      ++i;
      continue;
    }
    const LeadInfo info = lead_info(b0);
    if (info.length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // Consume the longest prefix of a well-formed sequence; replace it whole if incomplete.
    std::size_t len = 1;
    if (i + 1 < n && s[i + 1] >= info.lo && s[i + 1] <= info.hi) {
      len = 2;
      while (len < static_cast<std::size_t>(info.length) && i + len < n && s[i + len] >= 0x80 &&
             s[i + len] <= 0xBF)
        ++len;
    }
    if (len == static_cast<std::size_t>(info.length)) {
      out.append(bytes.substr(i, len));
    } else {
      out += kReplacement;
    }
    i += len;
  }
  return out;
}

std::u32string nfc(std::u32string_view cps) {
  const Tables& t = tables();
  // 1. Full canonical decomposition.
  std::u32string d;
  d.reserve(cps.size() + 8);
  for (char32_t cp : cps) {
    if (cp < 0xC0) {
      d.push_back(cp);
    } else if (cp >= kSBase && cp < kSBase + kSCount) {
      const char32_t s = cp - kSBase;
      d.push_back(kLBase + s / kNCount);
      d.push_back(kVBase + (s % kNCount) / kTCount);
      if (s % kTCount) d.push_back(kTBase + s % kTCount);
    } else if (auto it = t.decompositions.find(cp); it != t.decompositions.end()) {
      d.append(unicode_data::kDecompositionData + it->second.first, it->second.second);
    } else {
      d.push_back(cp);
    }
  }
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  std::vector<std::uint8_t> ccc(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) ccc[i] = combining_class(d[i]);
  for (std::size_t i = 0; i < d.size();) {
    if (ccc[i] == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < d.size() && ccc[j] != 0) ++j;
    if (j - i > 1) {
      std::vector<std::pair<std::uint8_t, char32_t>> run;
      for (std::size_t k = i; k < j; ++k) run.emplace_back(ccc[k], d[k]);
      std::stable_sort(run.begin(), run.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t k = i; k < j; ++k) {
        ccc[k] = run[k - i].first;
        d[k] = run[k - i].second;
      }
    }
    i = j;
  }
  // 3. Canonical composition. `starter` is the index in `out` of the last starter that may
  // still compose; `last_ccc` is the class of the last character kept after it (-1: none).
  std::u32string out;
  out.reserve(d.size());
  std::ptrdiff_t starter = -1;
  int last_ccc = -1;
  // Keeps ch uncomposed: a starter (class 0) becomes the one later characters may compose with.
  auto keep = [&](char32_t ch, int c) {
    out.push_back(ch);
    if (c == 0) {
      starter = static_cast<std::ptrdiff_t>(out.size()) - 1;
      last_ccc = -1;
    } else if (starter >= 0) {
      last_ccc = c;
    }
  };
  for (std::size_t i = 0; i < d.size(); ++i) {
    const char32_t ch = d[i];
    const int c = ccc[i];
    if (starter < 0 || (last_ccc >= 0 && last_ccc >= c)) {  // no starter yet, or blocked from it
      keep(ch, c);
      continue;
    }
    if (auto r = compose_pair(out[starter], ch)) {
      out[starter] = *r;
      continue;
    }
    keep(ch, c);
  }
  return out;
}

std::string nfc(std::string_view valid_utf8) {
  // Code points below U+0300 (lead bytes below 0xCC) neither reorder nor compose with each
  // other: such text is already NFC.
  bool simple = true;
  for (char ch : valid_utf8) {
    if (static_cast<unsigned char>(ch) >= 0xCC) {
      simple = false;
      break;
    }
  }
  if (simple) return std::string(valid_utf8);
  return encode_utf8(nfc(decode_utf8(valid_utf8)));
}

}  // namespace eidetic::tok::unicode
