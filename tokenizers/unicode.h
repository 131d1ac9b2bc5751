// tokenizers/unicode.h: the Unicode pieces the tokenizers need, written out rather than taken
// from a library so that they match Hugging Face `tokenizers` exactly: strict UTF-8 decoding
// with byte offsets in errors, lossy UTF-8 repair as Rust's String::from_utf8_lossy does it, the
// character classes of the ByteLevel regex (Oniguruma, Unicode 16.0) and of added tokens
// (Rust regex), and NFC as the unicode-normalization-alignments crate computes it (Unicode 9.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace eidetic::tok::unicode {

// The classes that decide the ByteLevel regex `'s|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+`.
enum class RegexClass : std::uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

RegexClass regex_class(char32_t cp);
// Rust regex `\w` (Unicode 16.0): the word test of added tokens with single_word.
bool is_word(char32_t cp);
// Rust's char::is_numeric (general category Nd, Nl or No) as HF's Digits pre-tokenizer sees it:
// Unicode 17.0 in the tokenizers 0.23 build, so \p{N} of the regex classes (16.0) plus the
// numbers that 17.0 added.
bool is_numeric(char32_t cp);
// The White_Space property (`\s` of both regex engines).
inline bool is_white_space(char32_t cp) { return regex_class(cp) == RegexClass::kSpace; }
// Canonical combining class of Unicode 9.0 (0 for starters and for later characters).
std::uint8_t combining_class(char32_t cp);

// Checks that `text` is well-formed UTF-8 (no overlongs, surrogates, values past U+10FFFF or
// truncated sequences); throws eidetic::Error naming `what`, the byte offset and the problem.
void validate_utf8(std::string_view text, std::string_view what = "text");

// Decodes one code point of valid UTF-8 at text[pos], advancing pos. Input must be valid.
inline char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  if (b0 < 0xE0) {
    char32_t cp = (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(text[pos + 1]) & 0x3F);
    pos += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    char32_t cp = (char32_t(b0 & 0x0F) << 12) |
                  (char32_t(static_cast<unsigned char>(text[pos + 1]) & 0x3F) << 6) |
                  (static_cast<unsigned char>(text[pos + 2]) & 0x3F);
    pos += 3;
    return cp;
  }
  char32_t cp = (char32_t(b0 & 0x07) << 18) |
                (char32_t(static_cast<unsigned char>(text[pos + 1]) & 0x3F) << 12) |
                (char32_t(static_cast<unsigned char>(text[pos + 2]) & 0x3F) << 6) |
                (static_cast<unsigned char>(text[pos + 3]) & 0x3F);
  pos += 4;
  return cp;
}

// The code point that ends at text[end] (exclusive) in valid UTF-8, and its start.
char32_t previous_code_point(std::string_view text, std::size_t end, std::size_t* start = nullptr);

inline void append_utf8(std::string& out, char32_t cp) { utf8::append(out, cp); }
std::u32string decode_utf8(std::string_view valid_utf8);
std::string encode_utf8(std::u32string_view cps);

// Any bytes to valid UTF-8: each maximal ill-formed subsequence becomes U+FFFD, exactly as
// Rust's String::from_utf8_lossy (which HF's ByteLevel decoder uses) does.
std::string utf8_lossy(std::string_view bytes);

// NFC of valid UTF-8 as HF's NFC normalizer computes it (Unicode 9.0 data).
std::string nfc(std::string_view valid_utf8);
std::u32string nfc(std::u32string_view cps);

}  // namespace eidetic::tok::unicode
