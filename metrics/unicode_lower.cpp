// metrics/unicode_lower.cpp: Python's str.lower() over UTF-8, and the strict UTF-8 codec the
// text metrics share; see unicode_lower.h.
#include "metrics/unicode_lower.h"

#include <algorithm>

#include "common/error.h"

namespace eidetic::metrics {
namespace {

using namespace unicode_lower_data;

bool in_ranges(const CodeRange* ranges, int count, char32_t cp) {
  const CodeRange* end = ranges + count;
  const CodeRange* it = std::upper_bound(ranges, end, cp, [](char32_t c, const CodeRange& r) { return c < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

bool case_ignorable(char32_t cp) { return in_ranges(kCaseIgnorable, kCaseIgnorableCount, cp); }
bool cased(char32_t cp) { return in_ranges(kCased, kCasedCount, cp); }

// CPython's handle_capital_sigma: U+03A3 at `i` is final when
// \p{Cased}\p{Case_Ignorable}* precedes it and no \p{Case_Ignorable}*\p{Cased} follows it.
bool final_sigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && case_ignorable(s[j - 1])) --j;
  if (j == 0 || !cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && case_ignorable(s[k])) ++k;
  return k == s.size() || !cased(s[k]);
}

[[noreturn]] void bad_utf8(const char* what, size_t at, const char* why) {
  throw Error(std::string(what) + ": invalid UTF-8 at byte " + std::to_string(at) + " (" + why + ")");
}

void append_lower(std::string& out, char32_t cp) {
  const LowerRun* end = kRuns + kRunCount;
  const LowerRun* it = std::upper_bound(kRuns, end, cp, [](char32_t c, const LowerRun& r) { return c < r.first; });
  if (it != kRuns) {
    const LowerRun& r = *(it - 1);
    if (cp <= r.last && (cp - r.first) % r.step == 0) {
      append_utf8(out, static_cast<char32_t>(static_cast<int64_t>(cp) + r.delta));
      return;
    }
  }
  for (int k = 0; k < kMultiCount; ++k)  // a handful of entries (one in Unicode 14)
    if (kMulti[k].cp == cp) {
      for (uint32_t n = 0; n < kMulti[k].count; ++n) append_utf8(out, kMulti[k].to[n]);
      return;
    }
  append_utf8(out, cp);
}

}  // namespace

std::u32string decode_utf8(const std::string& utf8, const char* what) {
  std::u32string out;
  out.reserve(utf8.size());
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  for (size_t i = 0; i < n;) {
    const unsigned char b = p[i];
    auto fail = [&](const char* why) { bad_utf8(what, i, why); };
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b >= 0xC2 && b <= 0xDF)
      len = 2, cp = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF)
      len = 3, cp = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4)
      len = 4, cp = b & 0x07, min = 0x10000;
    else
      fail(b < 0xC0 ? "a continuation byte without a lead byte" : "a byte that never occurs in UTF-8");
    if (i + len > n) fail("a truncated sequence");
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) fail("a lead byte not followed by enough continuation bytes");
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min) fail("an overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) fail("an encoded surrogate");
    if (cp > 0x10FFFF) fail("a code point above U+10FFFF");
    out.push_back(cp);
    i += len;
  }
  return out;
}


bool is_python_space(char32_t cp) {
  // Every code point for which str.isspace() is true (unchanged since Unicode 6.3).
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

std::string to_lower_unicode(const std::string& utf8) {
  const std::u32string s = decode_utf8(utf8, "to_lower_unicode");
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0x3A3)
      append_utf8(out, final_sigma(s, i) ? 0x3C2 : 0x3C3);
    else
      append_lower(out, s[i]);
  }
  return out;
}

const char* unicode_lower_version() { return kVersion; }

}  // namespace eidetic::metrics
