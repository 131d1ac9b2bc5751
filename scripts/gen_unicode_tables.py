#!/usr/bin/env python3
"""scripts/gen_unicode_tables.py: writes tokenizers/unicode_tables.cpp, the Unicode data the
tokenizers need, so that they match Hugging Face `tokenizers` code point for code point.

Each table follows the Unicode version of the library that HF uses for that step:
- the ByteLevel pre-tokenizer regex runs on Oniguruma, whose \\p{L}, \\p{N} and \\s are those of
  Unicode 16.0 (\\s is the White_Space property);
- the `single_word` test of added tokens uses Rust's regex crate, whose \\w (Alphabetic, marks,
  Nd, Pc, Join_Control) is also Unicode 16.0;
- the NFC normalizer uses the unicode-normalization-alignments crate, whose tables are
  Unicode 9.0.0: its combining classes, decompositions and compositions are those of the
  characters assigned by 9.0 (Unicode's stability policy keeps these values unchanged for every
  character once assigned, so they are read from 16.0 data restricted by age).

Needs (for generation only, never at build or run time):
    pip install unicodedata2==16.0.0 unicode-age==18.0.0.0
Run from the repository root: python scripts/gen_unicode_tables.py
"""

import os
import sys

try:
    import unicodedata2 as ud
    import unicode_age
except ImportError as e:
    sys.exit(f"{e}: run `pip install unicodedata2==16.0.0 unicode-age==18.0.0.0` first")

if ud.unidata_version != "16.0.0":
    sys.exit(f"need unicodedata2 16.0.0 (Unicode 16.0), found {ud.unidata_version}")

MAX_CP = 0x110000
NFC_VERSION = (9, 0)

# PropList.txt White_Space (unchanged since Unicode 6.3).
WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680),
               (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F),
               (0x3000, 0x3000)]
# Other_Alphabetic characters that are not marks (the marks are in \w anyway): circled and
# squared Latin letters (PropList.txt, Unicode 16.0).
OTHER_ALPHABETIC_NON_MARK = [(0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169),
                             (0x1F170, 0x1F189)]
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def in_ranges(cp, ranges):
    return any(a <= cp <= b for a, b in ranges)


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


def to_ranges(values):
    """[(first, last, value)] for runs of equal non-zero values over all code points."""
    out = []
    for cp in range(MAX_CP):
        v = values(cp)
        if not v:
            continue
        if out and out[-1][1] == cp - 1 and out[-1][2] == v:
            out[-1][1] = cp
        else:
            out.append([cp, cp, v])
    return out


# Age as a sorted span list, for fast lookups.
AGE_SPANS = sorted((s, e, (maj, mnr)) for s, e, maj, mnr in unicode_age.unicode_age_db.iter_spans())


def assigned_by(cp, version):
    import bisect
    i = bisect.bisect_right(AGE_SPANS, (cp, MAX_CP, (99, 99))) - 1
    if i < 0:
        return False
    s, e, v = AGE_SPANS[i]
    return s <= cp <= e and v <= version


def regex_class(cp):
    """1 = \\p{L}, 2 = \\p{N}, 3 = \\s (White_Space), 0 = anything else."""
    if is_surrogate(cp):
        return 0
    cat = ud.category(chr(cp))
    if cat[0] == "L":
        return 1
    if cat in ("Nd", "Nl", "No"):
        return 2
    if in_ranges(cp, WHITE_SPACE):
        return 3
    return 0


def is_word(cp):
    if is_surrogate(cp):
        return 0
    cat = ud.category(chr(cp))
    return int(cat[0] in "LM" or cat in ("Nd", "Nl", "Pc") or cp in (0x200C, 0x200D)
               or in_ranges(cp, OTHER_ALPHABETIC_NON_MARK))


def nfc9_ccc(cp):
    if is_surrogate(cp) or not assigned_by(cp, NFC_VERSION):
        return 0
    return ud.combining(chr(cp))


def canonical_mapping(cp):
    """The one-level canonical decomposition of cp (as code points), or None."""
    d = ud.decomposition(chr(cp))
    if not d or d.startswith("<"):
        return None
    return [int(x, 16) for x in d.split()]


def full_decomposition(cp):
    m = canonical_mapping(cp)
    if m is None:
        return [cp]
    out = []
    for x in m:
        out.extend(full_decomposition(x))
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = os.path.join(root, "tokenizers", "unicode_tables.cpp")

    classes = to_ranges(regex_class)
    words = to_ranges(is_word)
    cccs = to_ranges(nfc9_ccc)

    decomps = []  # (cp, [full decomposition])
    comps = []    # (first, second, composite)
    for cp in range(MAX_CP):
        if is_surrogate(cp) or (HANGUL_FIRST <= cp <= HANGUL_LAST):
            continue
        if not assigned_by(cp, NFC_VERSION):
            continue
        m = canonical_mapping(cp)
        if m is None:
            continue
        decomps.append((cp, full_decomposition(cp)))
        # A primary composite: a two-character mapping, not excluded from composition. The
        # exclusions (singletons, non-starter decompositions, CompositionExclusions.txt) are
        # exactly the characters that NFC does not give back from their own NFD.
        if len(m) == 2 and ud.normalize("NFC", ud.normalize("NFD", chr(cp))) == chr(cp):
            comps.append((m[0], m[1], cp))
    comps.sort()

    lines = []
    w = lines.append
    w("// tokenizers/unicode_tables.cpp: Unicode data for the tokenizers (regex classes of the")
    w("// ByteLevel pre-tokenizer, \\w of added tokens' single_word, NFC of Unicode 9.0).")
    w("//")
    w("// GENERATED by scripts/gen_unicode_tables.py from unicodedata2 16.0.0 (Unicode 16.0) and")
    w("// unicode-age 18.0.0.0 (to keep NFC to the characters assigned by Unicode 9.0, as HF's")
    w("// unicode-normalization-alignments crate does). Do not edit; rerun the script.")
    w('#include "tokenizers/unicode_tables.h"')
    w("")
    w("namespace eidetic::tok::unicode_data {")
    w("")

    def emit_ranges(name, comment, rows):
        w(f"// {comment}")
        w(f"const ValueRange {name}[] = {{")
        for a, b, v in rows:
            w(f"    {{0x{a:X}, 0x{b:X}, {v}}},")
        w("};")
        w(f"const std::size_t {name}Count = {len(rows)};")
        w("")

    emit_ranges("kRegexClassRanges",
                "Oniguruma classes, Unicode 16.0: 1 = \\p{L}, 2 = \\p{N}, 3 = \\s (White_Space).",
                classes)
    emit_ranges("kWordRanges", "Rust regex \\w, Unicode 16.0.", words)
    emit_ranges("kCombiningClassRanges", "Canonical_Combining_Class != 0, Unicode 9.0.", cccs)

    w("// Full canonical decompositions, Unicode 9.0 (Hangul syllables are algorithmic):")
    w("// code point, offset into kDecompositionData, length.")
    data = []
    entries = []
    for cp, d in decomps:
        entries.append((cp, len(data), len(d)))
        data.extend(d)
    w("const DecompositionEntry kDecompositions[] = {")
    for cp, off, n in entries:
        w(f"    {{0x{cp:X}, {off}, {n}}},")
    w("};")
    w(f"const std::size_t kDecompositionsCount = {len(entries)};")
    w("const char32_t kDecompositionData[] = {")
    for i in range(0, len(data), 10):
        w("    " + " ".join(f"0x{x:X}," for x in data[i:i + 10]))
    w("};")
    w("")
    w("// Primary composites, Unicode 9.0: first, second, composite (sorted by first, second).")
    w("const CompositionEntry kCompositions[] = {")
    for a, b, c in comps:
        w(f"    {{0x{a:X}, 0x{b:X}, 0x{c:X}}},")
    w("};")
    w(f"const std::size_t kCompositionsCount = {len(comps)};")
    w("")
    w("}  // namespace eidetic::tok::unicode_data")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out_path}: {len(classes)} class ranges, {len(words)} word ranges, "
          f"{len(cccs)} ccc ranges, {len(entries)} decompositions, {len(comps)} compositions")


if __name__ == "__main__":
    main()
