"""GGUF dequantization against llama.cpp's own Python package: for every ggml type Eidetic reads,
kernels::dequantize_cpu (through eidetic_dequant_tool) must give gguf.quants.dequantize's float32
values bit for bit (compared as uint32, so NaN payloads and the sign of zero count).

The blocks: for F32, F16, BF16 and Q4_0 ... Q8_0, real-valued random data quantized by
gguf.quants.quantize, plus edge arrays (zeros, constant blocks, large values near the fp16
limit, tiny values whose fp16 scales are subnormal or zero, all-negative, mixed magnitudes;
for the float types also +-inf, NaN, -0 and float32 subnormals) and, for the float types, raw
random bytes (every bit pattern, NaN payloads included). The K-quants have no Python quantizer
(gguf 0.19.0 raises NotImplementedError), so their blocks are random bytes, which exercise every
bit of qs, qh, hmask and the packed scales, with the fp16 fields overwritten by finite values:
small ones (+-0.05) and any finite fp16 bit pattern (subnormals up to 65504).

Usage: gguf_dequant_oracle.py --tool eidetic_dequant_tool
Exit: 0 equal, 1 a difference (the first one is printed), 77 skipped (gguf is missing).
"""
import os
import subprocess
import sys
import tempfile

from testlib import parse_args, skip, verdict

try:
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize
except ImportError as e:  # the reference is missing: skipped, not failed
    skip(f"{e} (scripts/setup.sh --test installs gguf==0.19.0)")

REAL_VALUED = [T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# Offsets of the fp16 fields inside one block (ggml-common.h's block structs).
F16_FIELDS = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def real_arrays(rng, t):
    """(label, float32 array of shape (rows, 32 * k)) cases for a type with a Python quantizer."""
    cols = 64
    cases = [
        ("normal", rng.standard_normal((8, cols)).astype(np.float32)),
        ("zeros", np.zeros((2, cols), np.float32)),
        ("constant blocks", np.repeat(rng.standard_normal((4, 1)), cols, 1).astype(np.float32)),
        # |x| up to 3e4: every scale (max/8, (max-min)/15, max/127, ...) and minimum stays finite in fp16.
        ("large", (rng.uniform(-3e4, 3e4, (4, cols))).astype(np.float32)),
        ("tiny (subnormal fp16 scales)", (rng.standard_normal((4, cols)) * 1e-6).astype(np.float32)),
        ("tinier (scales round to 0)", (rng.standard_normal((2, cols)) * 1e-9).astype(np.float32)),
        ("negative", -np.abs(rng.standard_normal((4, cols)) * 3).astype(np.float32)),
        ("mixed magnitudes", (rng.standard_normal((4, cols)) * 10.0 ** rng.integers(-4, 4, (4, cols))).astype(np.float32)),
        ("many blocks", rng.standard_normal((64, 256)).astype(np.float32)),
    ]
    if t in (T.F32, T.F16, T.BF16):
        special = np.array([np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-40, -1e-45, 3.4e38, 1e5, -7e4, 6e-8, 65504.0],
                           np.float32)
        cases.append(("specials", np.tile(special, 4).reshape(4, -1)))
    return cases


def raw_float_bytes(rng, t):
    """Every bit pattern of a float type, as random bytes (no quantizer between)."""
    bs, ts = GGML_QUANT_SIZES[t]
    return rng.integers(0, 256, 4096 * ts, dtype=np.uint8)


def k_quant_blocks(rng, t, n_blocks, wide_scales):
    """Random blocks of a K-quant with finite fp16 fields."""
    bs, ts = GGML_QUANT_SIZES[t]
    blocks = rng.integers(0, 256, (n_blocks, ts), dtype=np.uint8)
    for o in F16_FIELDS[t]:
        if wide_scales:  # any finite fp16: exponent field below 31 (subnormals included)
            bits = rng.integers(0, 0x10000, n_blocks).astype(np.uint16)
            bits = np.where((bits & 0x7C00) == 0x7C00, bits & 0xBFFF, bits).astype('<u2')
        else:
            bits = rng.uniform(-0.05, 0.05, n_blocks).astype('<f2').view('<u2')
        blocks[:, o:o + 2] = bits.view(np.uint8).reshape(-1, 2)
    return blocks.reshape(-1)


def ours(tool, t, raw, work):
    src = os.path.join(work, "in.bin")
    dst = os.path.join(work, "out.f32")
    raw.tofile(src)
    r = subprocess.run([tool, str(int(t)), src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{tool} {int(t)} failed: {r.stderr.strip()}")
    return np.fromfile(dst, dtype='<f4')


def compare(tool, t, label, raw, work):
    """None when equal, else a one-line description of the first difference."""
    theirs = np.ascontiguousarray(dequantize(raw, t), dtype=np.float32).reshape(-1)
    got = ours(tool, t, raw, work)
    if got.size != theirs.size:
        return f"{t.name} {label}: {got.size} values, gguf gives {theirs.size}"
    a, b = got.view(np.uint32), theirs.view(np.uint32)
    bad = np.flatnonzero(a != b)
    if bad.size:
        i = int(bad[0])
        return (f"{t.name} {label}: {bad.size} of {a.size} values differ; first at index {i}: "
                f"ours {got[i]!r} (0x{a[i]:08x}), gguf {theirs[i]!r} (0x{b[i]:08x})")
    return None


def main():
    args = parse_args("--tool")
    rng = np.random.default_rng(20240613)
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as work:
        for t in REAL_VALUED:
            with np.errstate(over="ignore"):  # the specials overflow fp16 and bf16 to infinity on purpose
                cases = [(label, np.frombuffer(np.ascontiguousarray(quantize(x, t)).tobytes(), np.uint8))
                         for label, x in real_arrays(rng, t)]
            if t in (T.F32, T.F16, T.BF16):
                cases.append(("random bytes", raw_float_bytes(rng, t)))
            for label, raw in cases:
                msg = compare(args.tool, t, label, raw, work)
                checked += raw.size // GGML_QUANT_SIZES[t][1]
                if msg:
                    failures.append(msg)
        for t in K_QUANTS:
            for n_blocks in (1, 7, 300):
                for wide in (False, True):
                    raw = k_quant_blocks(rng, t, n_blocks, wide)
                    label = f"{n_blocks} random blocks, {'any finite' if wide else 'small'} fp16 scales"
                    msg = compare(args.tool, t, label, raw, work)
                    checked += n_blocks
                    if msg:
                        failures.append(msg)
        # The bridge refuses what it cannot read: a byte count that is not whole blocks.
        bad = rng.integers(0, 256, GGML_QUANT_SIZES[T.Q4_K][1] + 1, dtype=np.uint8)
        try:
            ours(args.tool, T.Q4_K, bad, work)
            failures.append("q4_K with 145 bytes was accepted; a whole number of 144-byte blocks is required")
        except RuntimeError as e:
            if "whole number" not in str(e):
                failures.append(f"q4_K with 145 bytes: unexpected message: {e}")
    for f in failures:
        print("FAIL:", f)
    return verdict(failures, f"{len(failures)} case(s) differ from gguf.quants.dequantize",
                   f"{checked} blocks of {len(REAL_VALUED) + len(K_QUANTS)} types equal gguf.quants.dequantize bit for bit")


if __name__ == "__main__":
    sys.exit(main())
