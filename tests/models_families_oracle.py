"""Oracle test: the family weight tables (models/families.h) against the checkpoints transformers
itself writes.

For tiny configs of every family, chosen so that together they switch every optional tensor
on and off (tied and untied heads, projection biases, grouped-query attention), transformers
creates the model, randomizes every parameter and saves it with save_pretrained. Then:
- names: the tensors the table expects for that config.json (`eidetic_families_tool names`)
  are exactly the tensors of transformers' file, each in the file's shape; and over all the
  configs, every entry of every table is among them, so no entry names a tensor transformers
  does not write;
- both directions: loading the folder and exporting it again (`eidetic_families_tool
  round-trip`: build_model, then Model::hf_state_dict) gives back transformers' file, every
  tensor bit for bit. The parameters are random normals, norms and biases included, so an
  export that does not undo the load exactly (a transform without its true inverse, rows of a
  fused tensor split at the wrong place) changes the bytes.
Whether each entry fills the internal tensor the decoder uses as transformers does (q not
swapped with k, NeoX's rows regrouped) is a matter of computing the same logits:
tests/models_oracle.py.

Usage: models_families_oracle.py --tool PATH/TO/eidetic_families_tool
Exit code 77 means skipped (reference libraries missing).
"""
import json
import os
import subprocess
import sys
import tempfile
from testlib import parse_args, skip

try:
    import torch
    import transformers
    from safetensors import safe_open
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.utils.logging.disable_progress_bar()
transformers.logging.set_verbosity_error()


def configs():
    T = transformers
    common = dict(vocab_size=37)
    neo = dict(hidden_size=16, num_layers=2, num_heads=2, max_position_embeddings=24,
               attention_types=[[["global", "local"], 1]], **common)
    neox = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                max_position_embeddings=24, **common)
    llama = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=24, max_position_embeddings=24, **common)
    yield "gpt2", T.GPT2Config(n_embd=16, n_layer=2, n_head=2, n_positions=24, **common)
    yield "gpt2_untied", T.GPT2Config(n_embd=16, n_layer=2, n_head=2, n_positions=24, tie_word_embeddings=False,
                                      **common)
    yield "gpt_neo", T.GPTNeoConfig(**neo)
    yield "gpt_neo_untied", T.GPTNeoConfig(tie_word_embeddings=False, **neo)
    yield "gpt_neox", T.GPTNeoXConfig(**neox)
    yield "gpt_neox_tied_no_bias", T.GPTNeoXConfig(attention_bias=False, tie_word_embeddings=True, **neox)
    yield "llama_gqa", T.LlamaConfig(**llama)
    yield "llama_tied_biases", T.LlamaConfig(attention_bias=True, mlp_bias=True, tie_word_embeddings=True, **llama)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def read(file):
    """{name: tensor} of a safetensors file."""
    with safe_open(file, "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def check(tool, name, config, workdir, seed, seen):
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    folder = os.path.join(workdir, name)
    model.save_pretrained(folder, safe_serialization=True)
    file = os.path.join(folder, "model.safetensors")
    theirs = read(file)
    written = {k: list(t.shape) for k, t in theirs.items()}

    failures = []
    expected = json.loads(run([tool, "names", os.path.join(folder, "config.json")]))
    family, table, tensors = expected["family"], expected["table"], expected["tensors"]
    seen.setdefault(family, (set(table), set()))[1].update(t["entry"] for t in tensors.values())
    missing = sorted(set(tensors) - set(written))
    extra = sorted(set(written) - set(tensors))
    if missing:
        failures.append(f"{name}: the table names tensors transformers does not write: {missing}")
    if extra:
        failures.append(f"{name}: transformers writes tensors the table lacks: {extra}")
    for n in sorted(set(tensors) & set(written)):
        if tensors[n]["shape"] != written[n]:
            failures.append(f"{name}: {n} has shape {written[n]} in transformers' file, the table says "
                            f"{tensors[n]['shape']}")

    out = os.path.join(workdir, name + ".exported.safetensors")
    run([tool, "round-trip", folder, out])
    ours = read(out)
    if set(theirs) != set(ours):
        failures.append(f"{name}: exported names differ from transformers': missing "
                        f"{sorted(set(theirs) - set(ours))}, extra {sorted(set(ours) - set(theirs))}")
    differ = [n for n in sorted(set(theirs) & set(ours))
              if theirs[n].dtype != ours[n].dtype or not torch.equal(theirs[n], ours[n])]
    if differ:
        failures.append(f"{name}: load then export changes {differ}")
    print(f"{name}: {len(written)} tensors; names and shapes "
          f"{'match' if not (missing or extra) else 'differ'}; load then export "
          f"{'gives the file back bit for bit' if not differ and set(theirs) == set(ours) else 'differs'}")
    return failures


def coverage(seen):
    """Every entry of every family's table was among some config's tensors."""
    failures = []
    for family in ("gpt2", "gpt_neo", "gpt_neox", "llama"):
        table, planned = seen.get(family, (set(), set()))
        if not table:
            failures.append(f"{family}: no config of this family was checked")
        elif table - planned:
            failures.append(f"{family}: table entries no config checked against transformers: {sorted(table - planned)}")
        else:
            print(f"{family}: all {len(table)} table entries appear in transformers' files")
    return failures


def main():
    args = parse_args("--tool")
    failures = []
    seen = {}  # family -> (its table's entries, the entries some config planned)
    with tempfile.TemporaryDirectory() as workdir:
        for i, (name, config) in enumerate(configs()):
            failures += check(args.tool, name, config, workdir, 300 + i, seen)
    failures += coverage(seen)
    if failures:
        sys.exit("\n".join(["FAIL"] + failures))  # to stderr, exit code 1
    print("every table matches transformers' checkpoints")


if __name__ == "__main__":
    main()
