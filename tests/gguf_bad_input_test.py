"""Malformed GGUF files, case by case: each gets a non-zero exit and one line naming the file
and the field (key or tensor) at fault, as llama.cpp's gguf.cpp checks them: the header
(magic, version, byte order, counts), metadata (string and array lengths, value types, nested
arrays, duplicate keys, the alignment), tensor infos (name length, duplicates, dimensions,
types, block multiples, offsets, byte ranges), then what the model loader and the tokenizer
reader ask of the contents. The files are written byte by byte here (struct), starting from a
valid one-layer llama file that the same commands load.

Usage: gguf_bad_input_test.py --eidetic PATH
"""
import os
import struct
import subprocess
import sys
import tempfile

from testlib import one_line_error_problems, parse_args, verdict

FAILURES = []

# GGUF value types.
U32, I32, F32, BOOL, STR, ARR, U64 = 4, 5, 6, 7, 8, 9, 10


def gstr(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def value(vtype, v):
    if vtype == U32:
        return struct.pack("<I", v)
    if vtype == I32:
        return struct.pack("<i", v)
    if vtype == F32:
        return struct.pack("<f", v)
    if vtype == BOOL:
        return struct.pack("<B", v)
    if vtype == U64:
        return struct.pack("<Q", v)
    if vtype == STR:
        return gstr(v)
    raise ValueError(vtype)


def kv(key, vtype, v, elem=None):
    if vtype == ARR:
        payload = struct.pack("<IQ", elem, len(v)) + b"".join(value(elem, x) for x in v)
    else:
        payload = value(vtype, v)
    return gstr(key) + struct.pack("<I", vtype) + payload


H, FF, HEADS, VOCAB = 32, 32, 2, 8


def base_kvs():
    tokens = ["a", "b", "c", "d", "ab", "cd", "abcd", "<|end|>"]
    return [
        ("general.architecture", STR, "llama", None),
        ("llama.block_count", U32, 1, None),
        ("llama.context_length", U32, 64, None),
        ("llama.embedding_length", U32, H, None),
        ("llama.feed_forward_length", U32, FF, None),
        ("llama.attention.head_count", U32, HEADS, None),
        ("llama.attention.head_count_kv", U32, HEADS, None),
        ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5, None),
        ("llama.rope.freq_base", F32, 10000.0, None),
        ("tokenizer.ggml.model", STR, "gpt2", None),
        ("tokenizer.ggml.pre", STR, "smollm", None),
        ("tokenizer.ggml.tokens", ARR, tokens, STR),
        ("tokenizer.ggml.token_type", ARR, [1] * 7 + [3], I32),
        ("tokenizer.ggml.merges", ARR, ["a b", "c d", "ab cd"], STR),
        ("tokenizer.ggml.bos_token_id", U32, 7, None),
        ("tokenizer.ggml.eos_token_id", U32, 7, None),
    ]


def base_tensors():
    """(name, dims innermost first, ggml type) of a one-layer llama, all f32."""
    return [
        ("token_embd.weight", [H, VOCAB], 0),
        ("blk.0.attn_norm.weight", [H], 0),
        ("blk.0.attn_q.weight", [H, H], 0),
        ("blk.0.attn_k.weight", [H, H], 0),
        ("blk.0.attn_v.weight", [H, H], 0),
        ("blk.0.attn_output.weight", [H, H], 0),
        ("blk.0.ffn_norm.weight", [H], 0),
        ("blk.0.ffn_gate.weight", [H, FF], 0),
        ("blk.0.ffn_up.weight", [H, FF], 0),
        ("blk.0.ffn_down.weight", [FF, H], 0),
        ("output_norm.weight", [H], 0),
    ]


BLOCK = {0: (1, 4), 2: (32, 18), 16: (256, 66)}


def build(kvs=None, tensors=None, version=3, magic=b"GGUF", alignment=32, raw_kvs=b"", n_kv=None, n_tensors=None,
          offsets=None, cut=None, raw_infos=None):
    kvs = base_kvs() if kvs is None else kvs
    tensors = base_tensors() if tensors is None else tensors
    body = b"".join(kv(*k) for k in kvs) + raw_kvs
    infos = b""
    data = b""
    for i, (name, dims, t) in enumerate(tensors):
        n = 1
        for d in dims:
            n *= d
        be, bb = BLOCK.get(t, (1, 4))
        nbytes = n // be * bb
        off = len(data) if offsets is None or offsets[i] is None else offsets[i]
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", t, off)
        # A tensor too large to write gets no data (its info is refused before any is read).
        blob = (struct.pack("<f", 0.01) * (nbytes // 4 + 1))[:nbytes] if nbytes < (1 << 24) else b""
        data += blob + b"\0" * ((-len(blob)) % alignment)
    if raw_infos is not None:
        infos = raw_infos
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) + (1 if raw_kvs else 0) if n_kv is None else n_kv)
    out = head + body + infos
    out += b"\0" * ((-len(out)) % alignment)
    out += data
    return out[:cut] if cut is not None else out


def main():
    exe = parse_args("--eidetic").eidetic
    cases = 0
    with tempfile.TemporaryDirectory() as work:
        def write(name, blob):
            p = os.path.join(work, name + ".gguf")
            with open(p, "wb") as f:
                f.write(blob)
            return p

        def load(p):
            return subprocess.run([exe, "generate", "--model", p, "--prompt-ids", "1 2", "--max-new-tokens", "2",
                                   "--greedy", "--print-ids"], capture_output=True, text=True)

        def tokenize(p):
            return subprocess.run([exe, "tokenize", "--tokenizer", p], input="abcd 12", capture_output=True, text=True)

        def expect(name, r, *needles):
            nonlocal cases
            cases += 1
            problems = one_line_error_problems(r, needles)
            if problems:
                FAILURES.append(f"{name}: {', '.join(problems)}: {r.stderr.strip()[:300]}")
                print("FAIL:", FAILURES[-1], flush=True)
            else:
                print(f"ok: {name}: {r.stderr.strip()[:150]}", flush=True)

        # The valid file loads and tokenizes: every case below differs from it in one thing.
        good = write("good", build())
        r = load(good)
        if r.returncode != 0:
            FAILURES.append(f"the valid file does not load: {r.stderr.strip()}")
        r = tokenize(good)
        # smollm: digits alone; "abcd" merges to one token.
        if r.returncode != 0 or r.stdout.split()[:1] != ["6"]:
            FAILURES.append(f"the valid file does not tokenize as expected: {r.stdout.strip()} {r.stderr.strip()}")

        def kvs_with(key, vtype, v, elem=None):
            out = [k for k in base_kvs() if k[0] != key]
            if vtype is not None:
                out.append((key, vtype, v, elem))
            return out

        def tensors_with(name, dims=None, t=None, drop=False):
            out = []
            for n, d, ty in base_tensors():
                if n == name:
                    if drop:
                        continue
                    out.append((n, d if dims is None else dims, ty if t is None else t))
                else:
                    out.append((n, d, ty))
            return out

        # Header.
        expect("bad magic", load(write("magic", build(magic=b"GGUX"))), "magic.gguf", "not a GGUF file")
        expect("version 1", load(write("v1", build(version=1))), "v1.gguf", "version 1 is not supported")
        expect("version 4", load(write("v4", build(version=4))), "version 4 is not supported")
        expect("big-endian", load(write("be", build(version=3 << 24))), "big-endian")
        expect("2^60 tensors", load(write("ntensors", build(n_tensors=1 << 60))), "tensors, more than")
        expect("2^60 metadata entries", load(write("nkv", build(n_kv=1 << 60))), "metadata entries, more than")
        expect("empty file", load(write("empty", b"")), "not a GGUF file")
        expect("truncated in the metadata", load(write("trunc-kv", build(cut=300))), "trunc-kv.gguf", "truncated")
        # Metadata.
        expect("string of 2^40 bytes", load(write("longstr", build(raw_kvs=gstr("x.long") + struct.pack("<IQ", STR, 1 << 40)))),
               "x.long", "limit")
        expect("string past the end", load(write("strpast", build(raw_kvs=gstr("x.s") + struct.pack("<IQ", STR, 10 ** 7)))),
               "x.s", "truncated")
        expect("array of 2^31 elements", load(write("bigarr", build(raw_kvs=gstr("x.a") + struct.pack("<IIQ", ARR, U32, 1 << 31)))),
               "x.a", "limit")
        expect("array past the end", load(write("arrpast", build(raw_kvs=gstr("x.b") + struct.pack("<IIQ", ARR, U32, 100000)))),
               "x.b", "truncated")
        expect("unknown value type", load(write("vtype", build(raw_kvs=gstr("x.t") + struct.pack("<I", 13)))),
               "x.t", "unknown value type 13")
        expect("array of arrays", load(write("nested", build(raw_kvs=gstr("x.n") + struct.pack("<IIQ", ARR, ARR, 1)))),
               "array of arrays")
        expect("empty key", load(write("emptykey", build(raw_kvs=gstr("") + struct.pack("<I", U32) + struct.pack("<I", 1)))),
               "empty key")
        expect("key twice", load(write("dupkey", build(kvs=base_kvs() + [("llama.block_count", U32, 1, None)]))),
               "llama.block_count", "appears twice")
        expect("alignment 48", load(write("align48", build(kvs=base_kvs() + [("general.alignment", U32, 48, None)]))),
               "general.alignment", "not a power of two")
        expect("alignment as u64", load(write("align64", build(kvs=base_kvs() + [("general.alignment", U64, 32, None)]))),
               "general.alignment", "must be a u32")
        # Tensor infos.
        expect("tensor name of 64 bytes", load(write("longname", build(tensors=base_tensors() + [("x" * 64, [4], 0)]))),
               "at most 63")
        expect("tensor twice", load(write("duptensor", build(tensors=base_tensors() + [("output_norm.weight", [H], 0)]))),
               "output_norm.weight", "appears twice")
        expect("5 dimensions", load(write("dims5", build(tensors=base_tensors() + [("x.w", [1, 1, 1, 1, 1], 0)]))),
               "x.w", "at most 4")
        expect("undefined ggml type", load(write("type5", build(tensors=base_tensors() + [("x.w", [32], 5)]))),
               "x.w", "ggml type 5")
        expect("rows not whole blocks", load(write("blocks", build(tensors=base_tensors() + [("x.w", [16], 2)]))),
               "x.w", "not whole q4_0 blocks")
        expect("element count past 2^63", load(write("overflow", build(tensors=base_tensors() + [("x.w", [1 << 40, 1 << 40], 0)]))),
               "x.w", "overflows")
        offsets = [None] * len(base_tensors())
        offsets[3] = 4100
        expect("offset not aligned", load(write("misaligned", build(offsets=offsets))),
               "blk.0.attn_k.weight", "not a multiple of the alignment")
        offsets[3] = 1 << 40
        expect("offset past the end", load(write("pastend", build(offsets=offsets))),
               "blk.0.attn_k.weight", "past the end of the file")
        whole = build()
        expect("data cut short", load(write("cutdata", whole[:-100])), "output_norm.weight", "past the end of the file")
        # What the loader asks of the contents.
        expect("a type Eidetic cannot dequantize",
               load(write("iq2", build(tensors=tensors_with("blk.0.ffn_down.weight", dims=[256, H], t=16),
                                       kvs=kvs_with("llama.feed_forward_length", U32, 256)))),
               "blk.0.ffn_down.weight", "iq2_xxs", "cannot dequantize")
        expect("a tensor missing", load(write("missing", build(tensors=tensors_with("blk.0.ffn_up.weight", drop=True)))),
               "missing.gguf", "tensor 'blk.0.ffn_up.weight' is missing")
        expect("unknown architecture", load(write("arch", build(kvs=kvs_with("general.architecture", STR, "mamba")))),
               "general.architecture", "mamba")
        expect("no architecture", load(write("noarch", build(kvs=kvs_with("general.architecture", None, None)))),
               "general.architecture", "is missing")
        expect("block_count missing", load(write("nolayers", build(kvs=kvs_with("llama.block_count", None, None)))),
               "llama.block_count", "is missing")
        expect("block_count a string", load(write("strlayers", build(kvs=kvs_with("llama.block_count", STR, "1")))),
               "llama.block_count", "must be an integer")
        expect("context length 2^40", load(write("ctx", build(kvs=kvs_with("llama.context_length", U64, 1 << 40)))),
               "llama.context_length", "outside")
        expect("head count 0", load(write("heads0", build(kvs=kvs_with("llama.attention.head_count", U32, 0)))),
               "heads0.gguf", "must be positive")
        expect("embedding of another width", load(write("embd", build(kvs=kvs_with("llama.embedding_length", U32, 64)))),
               "token_embd.weight")
        expect("rope scaling", load(write("rope", build(kvs=base_kvs() + [("llama.rope.scaling.type", STR, "linear", None)]))),
               "llama.rope.scaling.type", "not supported")
        expect("q rows not whole heads", load(write("qrows", build(tensors=tensors_with("blk.0.attn_q.weight", dims=[H, 30])))),
               "blk.0.attn_q.weight")
        # The tokenizer.
        expect("unknown pre-tokenizer", tokenize(write("pre", build(kvs=kvs_with("tokenizer.ggml.pre", STR, "nonesuch")))),
               "tokenizer.ggml.pre", "nonesuch")
        expect("tokenizer of type bert", tokenize(write("bert", build(kvs=kvs_with("tokenizer.ggml.model", STR, "bert")))),
               "tokenizer.ggml.model", "bert")
        expect("no tokenizer", tokenize(write("notok", build(kvs=kvs_with("tokenizer.ggml.model", None, None)))),
               "tokenizer.ggml.model", "no tokenizer")
        expect("tokens not strings", tokenize(write("toknum", build(kvs=kvs_with("tokenizer.ggml.tokens", ARR, [1, 2], U32)))),
               "tokenizer.ggml.tokens", "array of string")
        tokens = ["a", "b", "c", "d", "ab", "cd", "a", "<|end|>"]
        expect("a token twice", tokenize(write("duptok", build(kvs=kvs_with("tokenizer.ggml.tokens", ARR, tokens, STR)))),
               "tokenizer.ggml.tokens", "twice")
        expect("a token type past int32",
               tokenize(write("typebig", build(kvs=kvs_with("tokenizer.ggml.token_type", ARR, [1.0] * 7 + [4.3e9], F32)))),
               "tokenizer.ggml.token_type", "entry 7 is not a token type")
        expect("token types too few", tokenize(write("types", build(kvs=kvs_with("tokenizer.ggml.token_type", ARR, [1, 1], I32)))),
               "tokenizer.ggml.token_type", "entries for")
        expect("a merge without a space", tokenize(write("merge", build(kvs=kvs_with("tokenizer.ggml.merges", ARR, ["ab"], STR)))),
               "tokenizer.ggml.merges", "left right")
        expect("a merge of unknown tokens", tokenize(write("merge2", build(kvs=kvs_with("tokenizer.ggml.merges", ARR, ["x y"], STR)))),
               "merge2.gguf", "not in the vocabulary")
        # A SentencePiece ("llama") tokenizer needs one score per token (its merge priorities).
        def spm_kvs(*extra):
            drop = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.merges")
            return [k for k in base_kvs() if k[0] not in drop] + [("tokenizer.ggml.model", STR, "llama", None)] + list(extra)
        scores = [0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, 0.0]
        expect("spm without scores", tokenize(write("spm_noscores", build(kvs=spm_kvs()))),
               "spm_noscores.gguf", "tokenizer.ggml.scores", "missing")
        expect("spm scores too few", tokenize(write("spm_short", build(kvs=spm_kvs(("tokenizer.ggml.scores", ARR, scores[:5], F32))))),
               "tokenizer.ggml.scores", "5 entries for 8 tokens")
        expect("spm scores not numbers", tokenize(write("spm_str", build(kvs=spm_kvs(("tokenizer.ggml.scores", ARR, ["x"] * 8, STR))))),
               "tokenizer.ggml.scores", "array of numbers")
        expect("spm NaN score", tokenize(write("spm_nan", build(kvs=spm_kvs(("tokenizer.ggml.scores", ARR, scores[:3] + [float("nan")] + scores[4:], F32))))),
               "tokenizer.ggml.scores", "entry 3 is NaN")
    print(f"{cases} malformed-GGUF cases")
    return verdict(bool(FAILURES), f"{len(FAILURES)} of {cases} cases failed", "every malformed GGUF file is refused in one line")


if __name__ == "__main__":
    sys.exit(main())
