"""Oracle test: models trained by Eidetic load in Hugging Face transformers and compute the same.

For each family, eidetic_train_tool initializes a tiny model, trains it for a few steps (so the
norms and biases leave their initial ones and zeros), saves it with save_hf_model, and writes the
logits of a few fixed sequences computed by the model in memory. transformers'
AutoModelForCausalLM.from_pretrained must load the folder as is (no missing or unexpected
weights, float32) and its logits must match ours within 1e-4 relative (norm of the difference
over norm of the reference).

Usage: trainer_oracle.py --tool PATH/TO/eidetic_train_tool [--families gpt_neox,llama,...]
Exit code 77 means skipped (reference libraries missing).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import transformers
    from safetensors.torch import load_file
except ImportError as e:  # pragma: no cover
    print(f"SKIP: reference libraries missing ({e}); run scripts/setup.sh --test")
    sys.exit(77)

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
TOL = 1e-4
ARCH = {"gpt_neox": "GPTNeoXForCausalLM", "llama": "LlamaForCausalLM", "gpt2": "GPT2LMHeadModel",
        "gpt_neo": "GPTNeoForCausalLM"}


def check(tool, family, workdir):
    folder = os.path.join(workdir, family)
    check_file = os.path.join(workdir, family + ".check.safetensors")
    r = subprocess.run([tool, "--family", family, "--out", folder, "--check", check_file, "--steps", "30"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [f"{family}: train tool failed ({r.returncode}):\n{r.stderr}"]
    print(r.stdout.strip())
    failures = []
    config = json.load(open(os.path.join(folder, "config.json")))
    if config.get("torch_dtype") != "float32" or config.get("architectures") != [ARCH[family]]:
        failures.append(f"{family}: config.json lacks torch_dtype float32 or architectures {ARCH[family]}")
    model, info = transformers.AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    model.eval()
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(kind):
            failures.append(f"{family}: from_pretrained reports {kind}: {info[kind]}")
    if type(model).__name__ != ARCH[family]:
        failures.append(f"{family}: loaded as {type(model).__name__}, expected {ARCH[family]}")
    dtypes = {p.dtype for p in model.parameters()}
    if dtypes != {torch.float32}:
        failures.append(f"{family}: loaded with dtypes {dtypes}, expected float32")
    # Training moved every norm off its initial ones, so a norm read wrongly would show.
    norms = {n: p for n, p in model.named_parameters() if ("norm" in n or "ln_" in n) and n.endswith("weight")}
    untouched = [n for n, p in norms.items() if torch.equal(p, torch.ones_like(p))]
    if not norms or untouched:
        failures.append(f"{family}: norm weights still at their initial ones: {untouched or 'none found'}")
    data = load_file(check_file)
    with torch.no_grad():
        ref = model(data["ids"]).logits.float()
    ours = data["logits"]
    rel = ((ours - ref).norm() / ref.norm()).item()
    print(f"{family}: logits rel err {rel:.2e}")
    if not rel < TOL:
        failures.append(f"{family}: logits differ: rel err {rel:.3e} >= {TOL}")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--families", default="gpt_neox,llama,gpt2,gpt_neo")
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for family in args.families.split(","):
            failures += check(args.tool, family, workdir)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
