#!/usr/bin/env python3
"""tests/gguf_tokenizer_oracle.py: holds the SentencePiece tokenizer of GGUF files
(`tokenizer.ggml.model` "llama") equal to transformers.

GGUF files with a llama architecture are written here with gguf-py, their vocabularies taken
from a real SentencePiece model (stories260K's tok512.model, read with a minimal protobuf
parser) and from a 2000-piece BPE vocabulary trained here on tinyshakespeare with HF
`tokenizers` and laid out as SentencePiece lays out its BPE models (control pieces, the 256 byte
pieces, merged pieces scored -0, -1, ... in merge order, then single characters). Variants of
tok512 cover add_space_prefix false, coarse scores with many ties (the tie rules of
transformers' merge ranks), byte pieces missing (unknown-token fusion) with and without an
unknown token. The reference is transformers' own tokenizer for each file,
`AutoTokenizer.from_pretrained(folder, gguf_file=...)`: `encode(text, add_special_tokens=False)`
and `decode(ids)` on each corpus in the assets (the first 300 KB, whole, and its first lines
one by one), thousands of random Unicode strings, decode of the encodings and of random id
sequences. BOS, EOS, vocabulary size and kind ("spm") come from the tool's info.

llama.cpp's llm_tokenizer_spm (merge by the score of the merged piece, leftmost on ties) is
rendered here too: on the two vocabularies whose merged pieces all score distinctly below their
parts (both real BPE layouts) it must give transformers' ids for text without special-token
strings; where it differs otherwise is written in tokenizers/llama2c.cpp.

Usage: gguf_tokenizer_oracle.py --tool PATH/TO/eidetic_tokenize_tool
Exit status: 0 all equal, 1 a difference, 77 skipped (no assets or no reference libraries).
"""
import heapq
import json
import math
import os
import random
import struct
import sys
import tempfile

from testlib import Report, find_assets, parse_args, run_json_tool, skip, verdict
from tokenizers_oracle import combining_marks, random_strings

try:
    import numpy as np
    import gguf
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.logging.set_verbosity_error()
CORPUS_CHARS = 300_000
N_LINES = 1000
N_RANDOM = 3000
META = "\u2581"
# Text that means something to a SentencePiece vocabulary: its special pieces, their near misses,
# the meta symbol, piece-like strings, a user-defined piece.
SPM_PIECES = ["<s>", "</s>", "<unk>", "<s", "s>", "<</s>>", "<s><s>", META, META * 3, " " + META, "<0x41>",
              "<0xE4>", "<|user|>", "<|end|>", "<sep>", "<pad>", "\u200a", "™", "[", "]", "~"]


# ---- vocabularies --------------------------------------------------------------------------------


def varint(b, i):
    r = sh = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << sh
        sh += 7
        if c < 0x80:
            return r, i


def read_spm_model(path):
    """(pieces, scores, types) of a SentencePiece ModelProto: field 1 is the repeated piece
    message {1: piece, 2: score (float), 3: type (enum)}; other fields are skipped."""
    b = open(path, "rb").read()
    pieces, scores, types = [], [], []
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, i = varint(b, i)
            sub, i = b[i:i + n], i + n
            if field != 1:
                continue
            piece, score, typ, j = None, 0.0, 1, 0
            while j < len(sub):
                k, j = varint(sub, j)
                f, w = k >> 3, k & 7
                if w == 2:
                    m, j = varint(sub, j)
                    if f == 1:
                        piece = sub[j:j + m].decode("utf-8")
                    j += m
                elif w == 5:
                    if f == 2:
                        score = struct.unpack_from("<f", sub, j)[0]
                    j += 4
                elif w == 0:
                    v, j = varint(sub, j)
                    if f == 3:
                        typ = v
                else:
                    raise ValueError(f"{path}: unexpected wire type {w}")
            pieces.append(piece)
            scores.append(score)
            types.append(typ)
        elif wire == 0:
            _, i = varint(b, i)
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError(f"{path}: unexpected wire type {wire}")
    return pieces, scores, types


def trained_vocab(text, size):
    """A SentencePiece-BPE-shaped vocabulary of `size` pieces trained on `text` with HF's BPE
    trainer over Metaspace words: <unk>, <s>, </s>, the byte pieces, merged pieces in merge order
    (score -rank), single characters (scores below), two control pieces and a user-defined one."""
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tail = ["<|user|>", "<|end|>", "<sep>"]
    trainer = trainers.BpeTrainer(vocab_size=size - len(head) - len(tail), limit_alphabet=70, show_progress=False)
    tk.train_from_iterator(text.splitlines(), trainer)
    model = json.loads(tk.to_str())["model"]
    merged = [(m.replace(" ", "", 1) if isinstance(m, str) else m[0] + m[1]) for m in model["merges"]]
    chars = [t for t, _ in sorted(model["vocab"].items(), key=lambda x: x[1]) if len(t) == 1]
    body = []
    for p in merged + chars:
        if p not in body and p not in head:
            body.append(p)
    pieces = head + body + tail
    scores = [0.0] * len(head) + [-float(i) for i in range(len(body))] + [0.0] * len(tail)
    types = [2, 3, 3] + [6] * 256 + [1] * len(body) + [3, 3, 4]
    return pieces, scores, types


def write_gguf(path, pieces, scores, types, bos=1, eos=2, unk=0, add_space_prefix=None):
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(4)
    w.add_vocab_size(len(pieces))
    w.add_tokenizer_model("llama")
    w.add_token_list(pieces)
    w.add_token_scores(scores)
    w.add_token_types(types)
    if bos is not None:
        w.add_bos_token_id(bos)
    if eos is not None:
        w.add_eos_token_id(eos)
    if unk is not None:
        w.add_unk_token_id(unk)
    w.add_add_bos_token(True)
    if add_space_prefix is not None:
        w.add_add_space_prefix(add_space_prefix)
    w.add_tensor("token_embd.weight", np.zeros((len(pieces), 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---- llama.cpp's llm_tokenizer_spm, rendered from its published algorithm -------------------------


def llama_cpp_encode(pieces, scores, text, add_space_prefix=True):
    """llm_tokenizer_spm::tokenize on one fragment: the space prefix, spaces as U+2581, code
    points as symbols, repeatedly the adjacent pair whose concatenation is the piece of highest
    score (leftmost on ties), then each symbol as its piece or as byte pieces."""
    if not text:
        return []
    ids = {p: i for i, p in enumerate(pieces)}
    text = ((" " if add_space_prefix else "") + text).replace(" ", META)
    sym = list(text)
    nxt = list(range(1, len(sym))) + [-1]
    prv = list(range(-1, len(sym) - 1))
    heap = []

    def add(left, right):
        if left < 0 or right < 0:
            return
        t = sym[left] + sym[right]
        if t in ids:
            heapq.heappush(heap, (-scores[ids[t]], left, right, t))

    for i in range(len(sym) - 1):
        add(i, i + 1)
    while heap:
        _, left, right, t = heapq.heappop(heap)
        if sym[left] is None or sym[right] is None or nxt[left] != right or sym[left] + sym[right] != t:
            continue
        sym[left], sym[right] = t, None
        nxt[left] = nxt[right]
        if nxt[left] >= 0:
            prv[nxt[left]] = left
        add(prv[left], left)
        add(left, nxt[left])
    out = []
    for s in sym:
        if s is None:
            continue
        if s in ids:
            out.append(ids[s])
        else:
            out += [ids[f"<0x{b:02X}>"] for b in s.encode()]
    return out


# ---- the comparison --------------------------------------------------------------------------------


def corpora(assets):
    """(name, the first CORPUS_CHARS characters) of each corpus; sotu is its speeches in name order."""
    base = os.path.join(assets, "corpora")
    out = []
    for name in ("tinyshakespeare.txt", "moby-dick.txt"):
        with open(os.path.join(base, name), encoding="utf-8") as f:
            out.append((name, f.read(CORPUS_CHARS)))
    text = ""
    for name in sorted(os.listdir(os.path.join(base, "sotu"))):
        if len(text) >= CORPUS_CHARS:
            break
        with open(os.path.join(base, "sotu", name), encoding="utf-8") as f:
            text += f.read()
    out.append(("sotu", text[:CORPUS_CHARS]))
    return out


def random_ids(rng, n, vocab, byte_ids, special_ids):
    seqs = []
    for _ in range(n):
        seq = []
        for _ in range(rng.randint(0, 16)):
            r = rng.random()
            if r < 0.45:
                seq.append(rng.choice(byte_ids))
            elif r < 0.55:
                seq.append(rng.choice(special_ids))
            else:
                seq.append(rng.randrange(vocab))
        seqs.append(seq)
    return seqs


def check(name, tool, path, vocab, rng, marks, report, texts, lines, n_random, spm_rendering=False):
    """Compares the tokenizer of the GGUF file `path` with transformers' on the corpus `texts`
    ([(name, text)], each compared whole), `lines` and random strings; then decode."""
    pieces, scores, types, bos, eos, prefix = vocab
    hf = transformers.AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
    strings = random_strings(rng, n_random, marks)
    # Random strings again with SentencePiece's own symbols mixed in.
    strings += ["".join(rng.choice(SPM_PIECES) if rng.random() < 0.4 else rng.choice(strings)[:12]
                        for _ in range(rng.randint(1, 6))) for _ in range(n_random // 3)]
    strings += ["", " ", "  ", "\n", META, "<s>", " <s> ", "a<s>b", "<unk><unk>", "\u4e2d\u6587", "\U0001F600x",
                # an unknown code point, then one that falls back to bytes: transformers emits the
                # bytes first and the (fused) unknown after them
                "\u4e2d\u0109\u6587", "x\u4e2d\u0109", "\u4e2d\u0109\u00e9"]
    strings = lines + strings
    inputs = [t for _, t in texts] + strings
    ref = [hf.encode(s, add_special_tokens=False) for s in inputs]
    byte_ids = [i for i, t in enumerate(types) if t == 6] or [0]
    special_ids = [i for i, t in enumerate(types) if t in (2, 3, 4)] or [0]
    id_seqs = ref[len(texts):] + random_ids(rng, n_random, len(pieces), byte_ids, special_ids)
    ans = run_json_tool([tool, "batch", path], {"encode": inputs, "decode": id_seqs})
    info = ans["info"]
    want = {"kind": "spm", "vocab_size": len(pieces), "bos": bos, "eos": eos}
    got = {k: info.get(k) for k in want}
    if got != want:
        report.failures += 1
        print(f"FAIL {name} info: {got} != {want}")
    for i, (cname, _) in enumerate(texts):
        report.compare(f"{name} {cname}", [inputs[i]], [ans["encode"][i]], [ref[i]])
    report.compare(f"{name} encode lines and strings", strings, ans["encode"][len(texts):], ref[len(texts):])
    mine = [d if isinstance(d, dict) else bytes.fromhex(d).decode("utf-8", errors="strict") for d in ans["decode"]]
    report.compare(f"{name} decode", id_seqs, mine, [hf.decode(ids) for ids in id_seqs])
    if spm_rendering:
        # llama.cpp's merge order, for text that holds no special piece (it splits those out
        # only when asked to parse them; transformers always does).
        specials = [pieces[i] for i, t in enumerate(types) if t == 3] + [pieces[0], pieces[bos]]
        plain = [s for s in inputs if s and not any(p in s for p in specials)]
        spm = [llama_cpp_encode(pieces, scores, s, prefix) for s in plain]
        report.compare(f"{name} llama.cpp merge-by-score", plain, spm,
                       [hf.encode(s, add_special_tokens=False) for s in plain])


def main():
    tool = parse_args("--tool").tool
    assets = find_assets()
    if assets is None:
        skip("no assets folder (EIDETIC_ASSETS or ../shared/assets)")
    model = os.path.join(assets, "models", "stories260K", "tok512.model")
    if not os.path.exists(model):
        skip(f"{model} is missing")
    rng = random.Random(13)
    marks = combining_marks()
    report = Report()
    texts = corpora(assets)
    lines = [l for _, t in texts for l in t.splitlines()[:N_LINES]]
    pieces, scores, types = read_spm_model(model)
    assert len(pieces) == 512 and pieces[:3] == ["<unk>", "<s>", "</s>"] and pieces[3] == "<0x00>", pieces[:4]

    with tempfile.TemporaryDirectory() as work:
        def variant(name, pcs, scs, tps, bos=1, eos=2, unk=0, prefix=None):
            folder = os.path.join(work, name)
            os.makedirs(folder)
            path = os.path.join(folder, name + ".gguf")
            write_gguf(path, pcs, scs, tps, bos=bos, eos=eos, unk=unk, add_space_prefix=prefix)
            return path, (pcs, scs, tps, bos, eos, prefix is not False)

        some_lines = lines[::5]
        path, v = variant("tok512", pieces, scores, types)
        check("tok512", tool, path, v, rng, marks, report, texts, lines, N_RANDOM, spm_rendering=True)

        path, v = variant("noprefix", pieces, scores, types, prefix=False)
        check("tok512 add_space_prefix=false", tool, path, v, rng, marks, report, [], some_lines, N_RANDOM // 2)

        # Scores in steps of 8: many merged pieces tie, so the ranks' tie rules decide.
        tied = [s if t != 1 else 8.0 * math.floor(s / 8.0) for s, t in zip(scores, types)]
        path, v = variant("tied", pieces, tied, types)
        check("tok512 tied scores", tool, path, v, rng, marks, report, [], some_lines, N_RANDOM // 2)

        # Byte pieces 0xE4..0xE9 and 0xF0 renamed: CJK and emoji fall to the unknown token.
        gone = set(range(0xE4, 0xEA)) | {0xF0}
        holes = [f"<unused{int(p[3:5], 16)}>" if t == 6 and int(p[3:5], 16) in gone else p for p, t in zip(pieces, types)]
        htypes = [5 if p.startswith("<unused") else t for p, t in zip(holes, types)]
        path, v = variant("holes", holes, scores, htypes)
        check("tok512 missing byte pieces", tool, path, v, rng, marks, report, [], some_lines, N_RANDOM // 2)
        path, v = variant("holes_nounk", holes, scores, htypes, unk=None)
        check("tok512 missing byte pieces, no unknown id", tool, path, v, rng, marks, report, [], some_lines, N_RANDOM // 3)

        with open(os.path.join(assets, "corpora", "tinyshakespeare.txt"), encoding="utf-8") as f:
            tp, ts, tt = trained_vocab(f.read(), 2000)
        path, v = variant("shakespeare2000", tp, ts, tt, bos=1, eos=2)
        check("shakespeare2000", tool, path, v, rng, marks, report, texts, lines, N_RANDOM, spm_rendering=True)

    return verdict(report.failures > 0, f"FAIL: {report.failures} differences",
                   "ok: GGUF SentencePiece tokenizers equal transformers on every input")


if __name__ == "__main__":
    sys.exit(main())
