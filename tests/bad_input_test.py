"""Bad input, case by case: each gets a non-zero exit, one line naming the key or file and the
problem, and leaves no output behind; runs that can be saved (a torn or NUL-filled results
tail) are.

Cases: invalid values (negative limits, batch sizes 0 or below, training epochs below 0, sample
counts below 1, beam widths below 1, nan), `base:` chains (a folder, an empty name, a device,
a loop, 40 levels deep), a second YAML document, an alias bomb, a results file with a NUL-filled
tail (cut on --resume), records of ids no item has (refused on --resume), two runs writing one
folder at once (the second refused), a run that fails (its manifest says so, with the error),
and the inputs the fuzz targets (fuzz/) found: YAML that yaml-cpp loops on, control bytes and
invalid UTF-8 in configs, numbers past double in JSON, lying .npy header lengths and widths,
implausible model sizes, an odd llama2.c head dimension, tokenizer ids given twice or too large.
Usage: bad_input_test.py --eidetic PATH   (exit 77: numpy missing)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from testlib import one_line_error_problems, skip

try:
    import numpy as np
except ImportError as e:
    skip(f"numpy missing ({e})")

FAILURES = []
CASES = 0


def run(exe, *args, env=None, stdin=""):
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, input=stdin)


def expect_error(name, r, *needles, out=None):
    """A clean failure: non-zero exit, one line on stderr with every needle, nothing at `out`."""
    global CASES
    CASES += 1
    problems = one_line_error_problems(r, needles)
    if out and os.path.exists(out) and os.listdir(out):
        problems.append(f"left {sorted(os.listdir(out))} in {out}")
    if problems:
        FAILURES.append(f"{name}: {', '.join(problems)}: {r.stderr.strip()[:300]}")
        print("FAIL:", FAILURES[-1], flush=True)
    else:
        print(f"ok: {name}: {r.stderr.strip()[:140]}", flush=True)


def main():
    global CASES
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    exe = ap.parse_args().eidetic
    with tempfile.TemporaryDirectory() as work:
        def path(name):
            return os.path.join(work, name)

        def write(name, text):
            with open(path(name), "w") as f:
                f.write(text)
            return path(name)

        g = np.random.default_rng(0)
        np.save(path("prefix.npy"), g.integers(1, 500, size=(12, 8)).astype(np.int64))
        np.save(path("suffix.npy"), g.integers(1, 500, size=(12, 6)).astype(np.int64))
        head = "model:\n  path: test-tiny\n  device: cpu\nprofile:\n  measure_ceilings: false\n"
        disc = f"attack:\n  name: discoverable\n  prefix: {path('prefix.npy')}\n  suffix: {path('suffix.npy')}\n"
        good = write("good.yaml", head + "engine:\n  batch_size: 4\n" + disc)
        lab = ("model:\n  path: lab\n  device: cpu\nlab:\n  copies: [1]\narch:\n  hidden_size: 16\n  layers: 1\n"
               "  heads: 2\ntrain:\n  steps: 2\n")

        # Invalid values: each names its key and the bound.
        for name, cfg, key in [
            ("attack.limit -1", good, "attack.limit=-1"),
            ("engine.batch_size 0", good, "engine.batch_size=0"),
            ("engine.batch_size -5", good, "engine.batch_size=-5"),
            ("attack.beam_width 0", good, "attack.beam_width=0"),
            ("attack.beam_width -3", good, "attack.beam_width=-3"),
            ("attack.prefix_lens [-1]", good, "attack.prefix_lens=[4, -1]"),
            ("seed -1", good, "seed=-1"),
            ("attack.limit nan", good, "attack.limit=.nan"),
        ]:
            out = path("out-" + name.replace(" ", "_"))
            r = run(exe, "run", cfg, "--set", key, "--out", out)
            expect_error(name, r, "key '" + key.split("=")[0], out=out)  # a list names its item: key[1]
        lab_cfg = write("lab.yaml", lab)
        for key in ["train.epochs=-1", "train.epochs=0", "lab.copies=[0]", "arch.layers=0", "lab.tokenizer_vocab=10"]:
            out = path("out-" + key)
            expect_error(key, run(exe, "run", lab_cfg, "--set", key, "--out", out), "key '" + key.split("=")[0], out=out)
        # The keys of several attacks and of the reference model.
        both = write("both.yaml", head + disc + "attacks:\n  - name: exposure\n    secrets: [\"12\"]\n")
        expect_error("attack and attacks", run(exe, "config", "show", both), "not both")
        empty = write("empty.yaml", head + "attacks: []\n")
        expect_error("attacks: []", run(exe, "config", "show", empty), "the list is empty")
        out = path("out-reference")
        r = run(exe, "run", good, "--set", "model.reference=" + path("no-such-model"), "--out", out)
        expect_error("model.reference missing", r, "model.reference", "does not exist")
        sar = write("sar.yaml", head + "attack:\n  name: sample-and-rank\n  samples: -5\n  corpus: [x.txt]\n")
        expect_error("attack.samples -5", run(exe, "run", sar, "--out", path("out-sar")), "key 'attack.samples'",
                     out=path("out-sar"))
        # The protocol keys: a pre-prefix of other rows, a prefix longer than any item's context,
        # a plateau rule below zero, the first and the last prefixes at once. An attack refused
        # once the run has started leaves a failed manifest (as "id past the vocabulary" below)
        # and no record or metric.
        def refused_attack(name, cfg, sets, *needles):
            global CASES
            out = path("out-" + name.replace(" ", "_"))
            expect_error(name, run(exe, "run", cfg, *sum((["--set", x] for x in sets), []), "--out", out), *needles)
            CASES += 1
            written = [f for f in ("results.jsonl", "metrics.json") if os.path.exists(os.path.join(out, f))]
            if written:
                FAILURES.append(f"{name}: wrote {written}")
        np.save(path("preprefix.npy"), g.integers(1, 500, size=(5, 4)).astype(np.int64))
        refused_attack("attack.preprefix rows", good, ["attack.preprefix=" + path("preprefix.npy")], "preprefix.npy",
                       "5 rows")
        refused_attack("attack.prefix_lens past the context", good, ["attack.prefix_lens=[4, 9]"], "row 0",
                       "8 tokens of context")
        for key in ["train.plateau_patience=-1", "train.plateau_min_delta=-0.5"]:
            out = path("out-" + key)
            expect_error(key, run(exe, "run", lab_cfg, "--set", key, "--out", out), "key '" + key.split("=")[0], out=out)
        chal = write("chal.yaml", head + f"attack:\n  name: extraction-challenge\n  prefix: {path('prefix.npy')}\n"
                     "  last: 4\n  limit: 2\n")
        refused_attack("attack.last with limit", chal, [], "limit", "last")
        expect_error("generate --beam -2", run(exe, "generate", "--model", "test-tiny", "--prompt-ids", "1 2",
                                               "--max-new-tokens", "3", "--beam", "-2"), "--beam")

        # `base:` chains and YAML that is not one small document.
        for name, base in [("base: .", "."), ("base: ''", "''"), ("base: /dev/zero", "/dev/zero")]:
            cfg = write(f"base-{len(base)}.yaml", f"base: {base}\n" + head + disc)
            expect_error(name, run(exe, "config", "show", cfg), "base")
        write("loop-a.yaml", "base: loop-b.yaml\n")
        write("loop-b.yaml", "base: loop-a.yaml\n")
        expect_error("base loop", run(exe, "config", "show", path("loop-a.yaml")), "loops back")
        write("deep-0.yaml", head + disc)
        for i in range(1, 41):
            write(f"deep-{i}.yaml", f"base: deep-{i - 1}.yaml\n")
        expect_error("base 40 deep", run(exe, "config", "show", path("deep-40.yaml")), "deeper than")
        r = run(exe, "config", "show", path("deep-20.yaml"))
        CASES += 1
        if r.returncode != 0:
            FAILURES.append(f"base 20 deep: refused: {r.stderr.strip()}")
        two = write("two-docs.yaml", head + disc + "---\nseed: 3\n")
        expect_error("second YAML document", run(exe, "config", "show", two), "second YAML document")
        bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in range(1, 9):
            bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
        expect_error("alias bomb", run(exe, "config", "show", write("bomb.yaml", bomb)), "not a config")

        # .npy headers that lie: a negative dimension, a shape whose product wraps, an id past int64.
        def raw_npy(name, descr, shape_text, payload=b""):
            header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
            header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
            with open(path(name), "wb") as f:
                f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload)
            return path(name)
        for name, file, needle in [
            ("npy shape (-2, 6)", raw_npy("neg.npy", "<i8", "(-2, 6)", b"\0" * 96), "shape dimension '-2'"),
            ("npy shape (2^32, 2^32)", raw_npy("wrap.npy", "<i8", "(4294967296, 4294967296)"), "more elements"),
            ("npy shape (2^62+1, 4)", raw_npy("wrap2.npy", "<i8", "(4611686018427387905, 4)"), "below 10^18"),
            ("npy uint64 2^64-1", raw_npy("big.npy", "<u8", "(1, 2)", b"\xff" * 8 + b"\0" * 8), "too large for a token id"),
        ]:
            expect_error(name, run(exe, "corpus", "head", file), needle)
        r = run(exe, "corpus", "head", path("prefix.npy"), "--offset", "1", "--count", "9223372036854775807")
        CASES += 1
        if r.returncode != 0 or len(r.stdout.splitlines()) != 11:
            FAILURES.append(f"corpus head --count INT64_MAX: exit {r.returncode}, {len(r.stdout.splitlines())} rows, "
                            f"want 11: {r.stderr.strip()}")
        expect_error("corpus index --n INT64_MAX",
                     run(exe, "corpus", "index", path("prefix.npy"), "--n", "9223372036854775807"), "--n")
        neo = path("neo")
        os.makedirs(neo)
        with open(os.path.join(neo, "config.json"), "w") as f:
            json.dump({"model_type": "gpt_neo", "vocab_size": 64, "hidden_size": 16, "num_layers": 2, "num_heads": 2,
                       "max_position_embeddings": 32, "window_size": 4,
                       "attention_types": [[["global", "local"], 10 ** 12]]}, f)
        expect_error("gpt_neo attention_types 10^12",
                     run(exe, "generate", "--model", neo, "--prompt-ids", "1", "--max-new-tokens", "1", "--greedy"),
                     "attention_types")

        # safetensors headers that lie: each read before any tensor is used.
        def safetensors_model(name, header, data):
            folder = path(name)
            os.makedirs(folder)
            with open(os.path.join(folder, "config.json"), "w") as f:
                json.dump({"model_type": "llama", "vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1,
                           "num_attention_heads": 1, "intermediate_size": 8, "max_position_embeddings": 16}, f)
            text = json.dumps(header)
            text += " " * ((8 - (len(text) + 8) % 8) % 8)
            with open(os.path.join(folder, "model.safetensors"), "wb") as f:
                f.write(len(text).to_bytes(8, "little") + text.encode() + data)
            return folder
        t = lambda shape, begin, end, dtype="F32": {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
        for name, header, data, needle in [
            ("safetensors: overlapping tensors", {"a": t([2], 0, 8), "b": t([2], 4, 12)}, b"\0" * 12, "overlaps"),
            ("safetensors: bytes no tensor owns", {"a": t([2], 0, 8), "b": t([2], 12, 20)}, b"\0" * 20,
             "belong to no tensor"),
            ("safetensors: trailing bytes", {"a": t([2], 0, 8)}, b"\0" * 16, "belong to no tensor"),
            ("safetensors: misaligned F32", {"a": t([1], 0, 2, "F16"), "b": t([1], 2, 6)}, b"\0" * 6, "not aligned"),
            ("safetensors: [2^31, 2^31] in 0 bytes", {"a": t([2 ** 31, 2 ** 31], 0, 0)}, b"", "more elements"),
            ("safetensors: non-object __metadata__", {"__metadata__": "x", "a": t([2], 0, 8)}, b"\0" * 8,
             "__metadata__"),
        ]:
            folder = safetensors_model("st-" + str(CASES), header, data)
            expect_error(name, run(exe, "generate", "--model", folder, "--prompt-ids", "1", "--max-new-tokens", "1",
                                   "--greedy"), needle)
        dup = safetensors_model("st-dup", {}, b"")
        text = '{"a": %s, "a": %s}' % (json.dumps(t([2], 0, 8)), json.dumps(t([2], 8, 16)))
        text += " " * ((8 - (len(text) + 8) % 8) % 8)
        with open(os.path.join(dup, "model.safetensors"), "wb") as f:
            f.write(len(text).to_bytes(8, "little") + text.encode() + b"\0" * 16)
        expect_error("safetensors: a name twice", run(exe, "generate", "--model", dup, "--prompt-ids", "1",
                                                      "--max-new-tokens", "1", "--greedy"), "listed twice")

        # Found by the fuzz targets (fuzz/): YAML that yaml-cpp loops on, control bytes and
        # invalid UTF-8 in configs, numbers past double in JSON, .npy headers that claim more
        # bytes than the file has or an integer width that is no width.
        for name, data, needle in [
            ("YAML a leading comma", b", b\n", "cannot be read past"),
            ("YAML a NUL byte", b"# x\0\0y\nseed: 1\n", "control character 0x00"),
            ("YAML invalid UTF-8", b"name: caf\xc3\n", "not valid UTF-8"),
        ]:
            with open(path("fz.yaml"), "wb") as f:
                f.write(data)
            expect_error(name, run(exe, "config", "show", path("fz.yaml")), needle)
        long_base = write("longbase.yaml", "base: " + "x" * 300 + ".yaml\n")
        expect_error("base: a name too long for the file system", run(exe, "config", "show", long_base),
                     "not a usable config path")
        with open(path("longtext.yaml"), "w") as f:
            f.write("a: &a " + "x" * 60000 + "\nb: [" + ", ".join(["*a"] * 100) + "]\n")
        expect_error("alias bomb of long text", run(exe, "config", "show", path("longtext.yaml")), "MiB of text")
        with open(path("npy-hdr.npy"), "wb") as f:
            f.write(b"\x93NUMPY\x02\x00" + (2 ** 31).to_bytes(4, "little") + b"{'descr': '<i8'")
        expect_error("npy header length 2^31", run(exe, "corpus", "head", path("npy-hdr.npy")), "claims 2147483648 bytes")
        long_header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + " " * 1000000 + "1,), }\n"
        with open(path("npy-long.npy"), "wb") as f:  # a megabyte of header: parsed, not a stack overflow
            f.write(b"\x93NUMPY\x02\x00" + len(long_header).to_bytes(4, "little") + long_header.encode())
        expect_error("npy header of 1 MB", run(exe, "corpus", "head", path("npy-long.npy")), "truncated")
        expect_error("npy dtype <i9", run(exe, "corpus", "head", raw_npy("i9.npy", "<i9", "(1,)", b"\0" * 9)),
                     "unsupported integer width")
        expect_error("npy dtype <i", run(exe, "corpus", "head", raw_npy("i.npy", "<ix", "(1,)", b"\0" * 8)),
                     "unsupported integer width")
        for name, cfg, needle in [
            ("config.json a number past double", '{"model_type": "llama", "vocab_size": 2e999}', "not valid JSON"),
            ("config.json vocab_size 2^40", json.dumps({"model_type": "llama", "vocab_size": 2 ** 40, "hidden_size": 4,
                                                         "num_hidden_layers": 1, "num_attention_heads": 1,
                                                         "intermediate_size": 8, "max_position_embeddings": 16}),
             "implausibly large"),
            ("config.json max_position_embeddings 2^40",
             json.dumps({"model_type": "llama", "vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1,
                         "num_attention_heads": 1, "intermediate_size": 8, "max_position_embeddings": 2 ** 40}),
             "implausibly large"),
        ]:
            folder = path("cfg-" + str(CASES))
            os.makedirs(folder)
            with open(os.path.join(folder, "config.json"), "w") as f:
                f.write(cfg)
            expect_error(name, run(exe, "generate", "--model", folder, "--prompt-ids", "1", "--max-new-tokens", "1",
                                   "--greedy"), needle)
        # llama2.c: an odd head dimension (rotary needs pairs) is refused from the header.
        with open(path("odd.bin"), "wb") as f:
            f.write(np.array([6, 8, 1, 2, 1, 16, 8], dtype="<i4").tobytes() + b"\0" * 4096)
        expect_error("llama2.c odd head dimension", run(exe, "generate", "--model", path("odd.bin"), "--prompt-ids", "1",
                                                        "--max-new-tokens", "1", "--greedy"), "must be even")
        # tokenizer.json: an id given to two tokens, an id past the bound, a device as the file.
        def tokenizer_json(vocab):
            return json.dumps({"version": "1.0", "added_tokens": [], "normalizer": None,
                               "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
                               "decoder": {"type": "ByteLevel"},
                               "model": {"type": "BPE", "vocab": vocab, "merges": []}})
        for name, vocab, needle in [
            ("tokenizer.json an id on two tokens", {"a": 0, "b": 1, "c": 1}, "given to two tokens"),
            ("tokenizer.json id 2^31-1", {"a": 0, "b": 2 ** 31 - 1}, "out of range"),
        ]:
            write("tok.json", tokenizer_json(vocab))
            expect_error(name, run(exe, "tokenize", "--tokenizer", path("tok.json"), stdin="ab"), needle)
        expect_error("tokenizer /dev/zero", run(exe, "tokenize", "--tokenizer", "/dev/zero", stdin="ab"),
                     "/dev/zero")

        # The results file after a power loss: a NUL-filled tail is cut and the run resumes.
        full = path("full")
        assert run(exe, "run", good, "--out", full, "-q").returncode == 0
        with open(os.path.join(full, "metrics.json")) as f:
            want = json.load(f)["metrics"]
        cut = path("cut")
        r = run(exe, "run", good, "--out", cut, "-q", env=dict(os.environ, EIDETIC_CRASH_AT="batch:2"))
        CASES += 1
        with open(os.path.join(cut, "results.jsonl"), "ab") as f:
            f.write(b"\0" * 300 + b"\n" + b"\0" * 40)
        r = run(exe, "run", good, "--out", cut, "--resume", "-q")
        if r.returncode != 0:
            FAILURES.append(f"NUL-filled tail: resume failed: {r.stderr.strip()}")
        else:
            with open(os.path.join(cut, "metrics.json")) as f:
                if json.load(f)["metrics"] != want:
                    FAILURES.append("NUL-filled tail: metrics differ from the uninterrupted run's")
            with open(os.path.join(cut, "results.jsonl"), "rb") as f:
                if b"\0" in f.read():
                    FAILURES.append("NUL-filled tail: NUL bytes left in results.jsonl")

        # A record whose id belongs to no item: refused, not counted.
        alien = path("alien")
        run(exe, "run", good, "--out", alien, "-q", env=dict(os.environ, EIDETIC_CRASH_AT="batch:2"))
        with open(os.path.join(alien, "results.jsonl"), "a") as f:
            f.write('{"id": 12, "exact": true}\n')
        expect_error("record of no item", run(exe, "run", good, "--out", alien, "--resume", "-q"), "belongs to no item")

        # Two runs writing one folder: the first halts after its second batch (SIGSTOP, holding
        # the folder), the second is refused, then the first finishes alone.
        import signal
        shared = path("shared")
        first = subprocess.Popen([exe, "run", good, "--out", shared, "-q"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, EIDETIC_CRASH_AT="batch:2:stop"))
        stopped = False
        for _ in range(6000):  # up to a minute for it to reach its second batch
            with open(f"/proc/{first.pid}/stat") as f:
                if f.read().split(") ")[1].startswith("T"):
                    stopped = True
                    break
            time.sleep(0.01)
        CASES += 1
        if not stopped:
            FAILURES.append("two writers: the first run never reached its stop")
        expect_error("second writer", run(exe, "run", good, "--out", shared, "--resume", "-q"),
                     "another eidetic run is writing")
        first.send_signal(signal.SIGCONT)
        if first.wait() != 0:
            FAILURES.append(f"two writers: the first run failed after the second was refused: {first.stderr.read()}")
        with open(os.path.join(shared, "results.jsonl")) as f:
            ids = [json.loads(line)["id"] for line in f]
        if sorted(ids) != list(range(12)):
            FAILURES.append(f"two writers: results.jsonl holds ids {sorted(ids)}")

        # A run that fails says so in its manifest, with the error.
        bad_suffix = path("bad_suffix.npy")
        np.save(bad_suffix, np.full((12, 6), 10**6, dtype=np.int64))
        failing = write("failing.yaml", head + disc.replace(path("suffix.npy"), bad_suffix))
        out = path("failed")
        r = run(exe, "run", failing, "--out", out, "-q")
        expect_error("id past the vocabulary", r, "outside the model's vocabulary")
        CASES += 1
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
        if m.get("status") != "failed" or "vocabulary" not in m.get("error", ""):
            FAILURES.append(f"failed run: manifest says {m.get('status')!r}, error {m.get('error')!r}")
        leftovers = [f for f in os.listdir(out) if ".tmp" in f]
        if leftovers:
            FAILURES.append(f"failed run: temporary files left: {leftovers}")

    print(f"{CASES} cases, {len(FAILURES)} failed")
    for f in FAILURES:
        print("FAIL:", f)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
