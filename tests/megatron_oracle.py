"""Oracle test: `eidetic corpus head` against Megatron datasets written here with numpy.

The writer below is independent of Eidetic's reader: it lays out MMapIndexedDataset files as
Megatron-LM / GPT-NeoX write them (magic, version, dtype code, counts, int32 sizes, int64 byte
pointers, int64 doc_idx; the .bin is the tokens back to back). For uint16 and int32 datasets of
sequences of varying lengths (empty ones, and a 2049-token one as in Pythia's pre-shuffled
Pile), `eidetic corpus head PATH --offset K --count N` must print exactly rows K..K+N-1 of the
numpy data, one per line, ids separated by single spaces. A truncated .idx and a wrong magic
must exit non-zero with a message naming the file.

Usage: megatron_oracle.py --eidetic PATH/TO/eidetic
Exit code 77 means skipped (numpy missing).
"""
import os
import struct
import subprocess
import sys
import tempfile
from testlib import parse_args, skip

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    skip(f"numpy missing ({e})")

MAGIC = b"MMIDIDX\x00\x00"
CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
         np.dtype(np.int64): 5, np.dtype(np.uint16): 8}


def write_dataset(prefix, sequences, dtype, doc_idx):
    dtype = np.dtype(dtype)
    sizes = np.array([len(s) for s in sequences], dtype=np.int32)
    pointers = np.zeros(len(sequences), dtype=np.int64)
    if len(sequences) > 1:
        pointers[1:] = np.cumsum(sizes[:-1].astype(np.int64) * dtype.itemsize)
    with open(prefix + ".bin", "wb") as f:
        for s in sequences:
            f.write(np.asarray(s, dtype=dtype).tobytes(order="C"))
    with open(prefix + ".idx", "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<Q", 1))
        f.write(struct.pack("<B", CODES[dtype]))
        f.write(struct.pack("<Q", len(sequences)))
        f.write(struct.pack("<Q", len(doc_idx)))
        f.write(sizes.astype("<i4").tobytes())
        f.write(pointers.astype("<i8").tobytes())
        f.write(np.asarray(doc_idx, dtype="<i8").tobytes())


def run(eidetic, *args):
    return subprocess.run([eidetic, *args], capture_output=True, text=True)


def expected_lines(sequences, offset, count):
    rows = sequences[offset:offset + count]
    return "".join(" ".join(str(int(v)) for v in row) + "\n" for row in rows)


def main():
    args = parse_args("--eidetic")
    rng = np.random.default_rng(1234)
    failures = []

    def check(label, ok, detail=""):
        if not ok:
            failures.append(f"{label}: {detail}")
        print(("ok   " if ok else "FAIL ") + label)

    with tempfile.TemporaryDirectory() as tmp:
        for dtype, high, low in [(np.uint16, 65536, 0), (np.int32, 2**31, -2**31)]:
            lengths = [2049, 0, 1, 17, 2049, 300, 0, 5] + list(rng.integers(0, 3000, size=12))
            sequences = [rng.integers(low, high, size=int(n), dtype=np.int64) for n in lengths]
            for s in sequences:  # the extremes of the dtype occur
                if len(s) >= 2:
                    s[0], s[-1] = low, high - 1
            prefix = os.path.join(tmp, f"pile_{np.dtype(dtype).name}")
            write_dataset(prefix, sequences, dtype, doc_idx=[0, 4, len(sequences)])
            name = np.dtype(dtype).name
            for path in (prefix, prefix + ".idx", prefix + ".bin"):
                r = run(args.eidetic, "corpus", "head", path)
                check(f"{name} head {os.path.basename(path)}", r.returncode == 0 and r.stdout == expected_lines(sequences, 0, 10),
                      r.stderr[:400])
            for offset, count in [(0, 1), (3, 4), (4, 1), (7, 100), (19, 1), (0, 20), (5, 0)]:
                r = run(args.eidetic, "corpus", "head", prefix, "--offset", str(offset), "--count", str(count))
                check(f"{name} head --offset {offset} --count {count}",
                      r.returncode == 0 and r.stdout == expected_lines(sequences, offset, count), r.stderr[:400])
            r = run(args.eidetic, "corpus", "head", prefix, "--offset", str(len(sequences)))
            check(f"{name} offset past the end", r.returncode != 0 and "past the end" in r.stderr, r.stderr[:400])

            # A truncated index: the last doc_idx entry cut off.
            bad = os.path.join(tmp, f"trunc_{name}")
            write_dataset(bad, sequences, dtype, doc_idx=[0, len(sequences)])
            with open(bad + ".idx", "rb") as f:
                data = f.read()
            with open(bad + ".idx", "wb") as f:
                f.write(data[:-3])
            r = run(args.eidetic, "corpus", "head", bad)
            check(f"{name} truncated .idx", r.returncode != 0 and bad + ".idx" in r.stderr and "truncated" in r.stderr,
                  r.stderr[:400])

            # A wrong magic.
            with open(bad + ".idx", "wb") as f:
                f.write(b"MMIDIDY\x00\x00" + data[9:])
            r = run(args.eidetic, "corpus", "head", bad + ".bin")
            check(f"{name} wrong magic", r.returncode != 0 and bad + ".idx" in r.stderr and "magic" in r.stderr,
                  r.stderr[:400])

        # A 2-D .npy is printed row by row too.
        rows = rng.integers(0, 50277, size=(6, 33)).astype(np.int32)
        npy = os.path.join(tmp, "rows.npy")
        np.save(npy, rows)
        r = run(args.eidetic, "corpus", "head", npy, "--offset", "2", "--count", "3")
        check("npy head", r.returncode == 0 and r.stdout == expected_lines(list(rows), 2, 3), r.stderr[:400])

    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print("  " + f)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
