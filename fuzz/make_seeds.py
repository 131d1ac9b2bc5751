#!/usr/bin/env python3
"""fuzz/make_seeds.py OUT: writes a seed corpus for each fuzz target into OUT/TARGET/.

Each seed is a small valid input of the target's format (plus a few near-misses), so the fuzzer
starts from inputs that reach deep into the parser instead of finding the magic bytes first.
Standard library only: the seeds are built byte by byte, as the formats define them.
"""
import json
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def write(out, target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] -> a safetensors file, widest elements first."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (len(h) + 8) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def npy(descr, shape, raw, version=1):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    magic = b"\x93NUMPY" + bytes([version, 0])
    lenfmt = "<H" if version == 1 else "<I"
    pre = len(magic) + struct.calcsize(lenfmt)
    pad = (64 - (pre + len(d) + 1) % 64) % 64
    text = (d + " " * pad + "\n").encode("latin1")
    return magic + struct.pack(lenfmt, len(text)) + text + raw


def megatron(seqs, dtype_code=8, fmt="<H"):
    size = struct.calcsize(fmt)
    sizes = [len(s) for s in seqs]
    pointers, p = [], 0
    for n in sizes:
        pointers.append(p)
        p += n * size
    doc_idx = list(range(len(seqs) + 1))
    idx = b"MMIDIDX\x00\x00" + struct.pack("<Q", 1) + struct.pack("<B", dtype_code)
    idx += struct.pack("<Q", len(seqs)) + struct.pack("<Q", len(doc_idx))
    idx += struct.pack("<%di" % len(sizes), *sizes) + struct.pack("<%dq" % len(pointers), *pointers)
    idx += struct.pack("<%dq" % len(doc_idx), *doc_idx)
    binary = b"".join(struct.pack(fmt, t) for s in seqs for t in s)
    return idx + b"\nBIN\n" + binary


def byte_level_vocab():
    # GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest are shifted.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): i for i, c in enumerate(cs)}


def tokenizer_json(merges, extra_vocab, added=(), normalizer=None):
    vocab = byte_level_vocab()
    for tok in extra_vocab:
        vocab.setdefault(tok, len(vocab))
    return json.dumps({
        "version": "1.0",
        "added_tokens": [{"id": len(vocab) + i, "content": c, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True} for i, c in enumerate(added)],
        "normalizer": normalizer,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": merges},
    })


def llama2c_tokenizer(pieces):
    out = struct.pack("<i", max(len(p) for p in pieces))
    for i, p in enumerate(pieces):
        b = p.encode()
        out += struct.pack("<fi", -float(i), len(b)) + b
    return out


def llama2c_checkpoint(dim, hidden, layers, heads, kv_heads, vocab, seq_len, shared=True):
    head = dim // heads
    kv = kv_heads * head
    floats = (vocab * dim + layers * dim + layers * dim * dim + 2 * layers * dim * kv + layers * dim * dim +
              layers * dim + 3 * layers * dim * hidden + dim + seq_len * head + (0 if shared else vocab * dim))
    header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq_len)
    return header + struct.pack("<%df" % floats, *([0.01] * floats))


def gguf_file(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type id, packed value)]; tensors: [(name, dims, ggml type, raw bytes)]."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    body = b"".join(s(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    infos, data = b"", b""
    for name, dims, t, raw in tensors:
        infos += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", t, len(data))
        data += raw + b"\0" * ((-len(raw)) % alignment)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + body + infos
    return out + b"\0" * ((-len(out)) % alignment) + data


def gguf_strings(items):
    return struct.pack("<IQ", 8, len(items)) + b"".join(struct.pack("<Q", len(x.encode())) + x.encode() for x in items)


def main():
    out = Path(sys.argv[1])
    f32 = struct.pack("<6f", *range(6))
    write(out, "safetensors", "two.safetensors",
          safetensors([("a", "F32", [2, 3], f32), ("b", "I64", [2], struct.pack("<2q", 1, 2)),
                       ("c", "BF16", [3], b"\x00" * 6)], {"format": "pt"}))
    write(out, "safetensors", "empty.safetensors", safetensors([("e", "F16", [0], b"")]))
    write(out, "safetensors", "overlap.safetensors", safetensors([("a", "F32", [2], f32[:8])]) + b"\x00" * 4)

    tokens = ["a", "b", "1", "2", "\u0120", "ab", "<|end|>"]
    tokenizer_kvs = [("tokenizer.ggml.model", 8, struct.pack("<Q", 4) + b"gpt2"),
                     ("tokenizer.ggml.pre", 8, struct.pack("<Q", 6) + b"smollm"),
                     ("tokenizer.ggml.tokens", 9, gguf_strings(tokens)),
                     ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 7) + struct.pack("<7i", 1, 1, 1, 1, 1, 1, 3)),
                     ("tokenizer.ggml.merges", 9, gguf_strings(["a b"])),
                     ("tokenizer.ggml.unknown_token_id", 4, struct.pack("<I", 6))]
    write(out, "gguf", "tokenizer.gguf", gguf_file(tokenizer_kvs, []))
    write(out, "gguf", "tensors.gguf", gguf_file(
        [("general.architecture", 8, struct.pack("<Q", 5) + b"llama"), ("general.alignment", 4, struct.pack("<I", 64))],
        [("a.weight", [32, 2], 2, b"\x01" * 36), ("b.weight", [4], 0, struct.pack("<4f", 1, 2, 3, 4)),
         ("c.weight", [256], 12, b"\x02" * 144)], alignment=64))
    write(out, "gguf", "v2.gguf", gguf_file([("x.f", 6, struct.pack("<f", 0.5)), ("x.b", 7, b"\x01")], [], version=2))

    write(out, "llama2c_checkpoint", "tiny.bin", llama2c_checkpoint(8, 16, 1, 2, 1, 10, 4))
    write(out, "llama2c_checkpoint", "untied.bin", llama2c_checkpoint(4, 4, 2, 1, 1, 3, 2, shared=False))
    write(out, "llama2c_checkpoint", "short.bin", struct.pack("<7i", 8, 16, 1, 2, 1, 10, 4))

    write(out, "npy", "u2.npy", npy("<u2", (2, 3), struct.pack("<6H", *range(6))))
    write(out, "npy", "i8.npy", npy("<i8", (3,), struct.pack("<3q", 5, 6, 7)))
    write(out, "npy", "be4.npy", npy(">i4", (1, 2), struct.pack(">2i", 9, 10), version=2))
    write(out, "npy", "f4.npy", npy("<f4", (2,), struct.pack("<2f", 0.5, 1.5)))

    write(out, "megatron", "u16.idxbin", megatron([[1, 2, 3], [4], [5, 6]]))
    write(out, "megatron", "i32.idxbin", megatron([[7, 8], [9, 10, 11]], dtype_code=4, fmt="<i"))

    write(out, "tokenizer", "bpe.json", b"\x00" + tokenizer_json(["h e", "l l", "he ll", "hell o"], ["he", "ll", "hell", "hello"],
                                                                  added=["<|endoftext|>"]).encode())
    write(out, "tokenizer", "nfc.json", b"\x03" + tokenizer_json(["a b"], ["ab"], normalizer={"type": "NFC"}).encode())
    vocab = byte_level_vocab()
    vocab.update({"he": len(vocab), "<|endoftext|>": len(vocab) + 1})
    write(out, "tokenizer", "gpt2.vocabmerges", b"\x01" + (json.dumps(vocab) + "\nMERGES\n#version: 0.2\nh e\n").encode())
    write(out, "tokenizer", "llama2c.bin", b"\x02" + llama2c_tokenizer(["<unk>", "<s>", "</s>", " ", "a", "b", " ab"]))
    asset_tok = ROOT.parent / "shared" / "assets"
    for p in sorted(asset_tok.glob("**/tokenizer.json")) if asset_tok.is_dir() else []:
        if p.stat().st_size < 4 << 20:
            write(out, "tokenizer", "asset-" + p.parent.name + ".json", b"\x00" + p.read_bytes())

    write(out, "model_config", "gpt2.json", json.dumps({"model_type": "gpt2", "vocab_size": 50, "n_embd": 16, "n_layer": 2,
                                                         "n_head": 2, "n_positions": 32}))
    write(out, "model_config", "neo.json", json.dumps({"model_type": "gpt_neo", "vocab_size": 50, "hidden_size": 16,
                                                        "num_layers": 2, "num_heads": 2, "max_position_embeddings": 32,
                                                        "attention_types": [[["global", "local"], 1]], "window_size": 4}))
    write(out, "model_config", "neox.json", json.dumps({"model_type": "gpt_neox", "vocab_size": 50, "hidden_size": 16,
                                                         "num_hidden_layers": 2, "num_attention_heads": 2,
                                                         "intermediate_size": 64, "max_position_embeddings": 32,
                                                         "rotary_pct": 0.25, "use_parallel_residual": True}))
    write(out, "model_config", "llama.json", json.dumps({"model_type": "llama", "vocab_size": 50, "hidden_size": 16,
                                                          "num_hidden_layers": 2, "num_attention_heads": 4,
                                                          "num_key_value_heads": 2, "intermediate_size": 32,
                                                          "max_position_embeddings": 32, "tie_word_embeddings": True}))

    for cfg in sorted((ROOT / "configs").glob("*.yaml")):
        write(out, "yaml_config", cfg.name, cfg.read_text())
    write(out, "yaml_config", "chain.yaml",
          "base: b.yaml\nengine:\n  batch_size: 4\nattacks:\n  - name: x\n    limit: 3\n"
          "\n#FILE\nbase: c.yaml\ntemperature: 0.5\ncopies: [1, 2, 4]\n"
          "\n#FILE\nname: deep\ngreedy: true\nfiles: [a, 'b']\nmax_new_tokens: 12\nparams: {k: [1, {v: 2}]}\n")
    write(out, "yaml_config", "anchors.yaml", "a: &x [1, 2]\ncopies: *x\nname: \"quoted\"\n")

    write(out, "challenge_csv", "list.csv", "Example ID,Suffix Guess\n0,\"[7, 7, 7]\"\n1,\"[1, 2]\"\n")
    write(out, "challenge_csv", "bare.csv", "Example ID,Suffix Guess,Score\r\n3,7 7 7 7 7,0.5\r\n\r\n2,\"7,7\"\r\n")
    write(out, "challenge_csv", "full.csv", "Example ID,Suffix Guess\n" + "".join(
        "%d,\"%s\"\n" % (i % 4, "[" + ", ".join(["7"] * 50) + "]") for i in range(8)))


if __name__ == "__main__":
    main()
