"""Oracle test: models trained by Eidetic load in Hugging Face transformers and compute the same,
and the trainer's optimizer step is PyTorch's.

Export: for each family, eidetic_train_tool initializes a tiny model, trains it for a few steps (so the
norms and biases leave their initial ones and zeros), saves it with save_hf_model, and writes the
logits of a few fixed sequences computed by the model in memory. transformers'
AutoModelForCausalLM.from_pretrained must load the folder as is (no missing or unexpected
weights, float32) and its logits must match ours within 1e-5 relative (norm of the difference
over norm of the reference).

Optimizer: for gpt_neox, llama (untied heads) and gpt2 (tied),
`eidetic_train_tool --dump` saves a freshly initialized model, one batch, and the weights after
every step of a short train_model run (warm-up, then cosine; a grad_clip small enough that every
step clips; weight decay large enough to show). This script replays the run from the same weights
and batch with transformers' model for the loss and gradients, torch.nn.utils.clip_grad_norm_,
and torch.optim.AdamW (its plain single-tensor implementation, not the fused kernel train_model
calls) over two parameter groups chosen by name: decay for embeddings, projections and the head,
none for norm weights and biases; the learning rate of each step is the schedule documented in
models/trainer.h, computed here. After every step every weight must match, the learning rate
train_model reports must equal the schedule's, and its loss must match transformers'. Each
recipe element is also shown to matter: replays without clipping, with decay on every weight, with
decay on none, or at a constant learning rate must each miss the weights by far more than the
tolerance.

Usage: trainer_oracle.py --tool PATH/TO/eidetic_train_tool [--families gpt_neox,llama,...]
                         [--parts export,optimizer] [--optimizer-families gpt_neox,llama,gpt2]
Exit code 77 means skipped (reference libraries missing).
"""
import math
import argparse
import json
import os
import subprocess
import sys
import tempfile
from testlib import skip

try:
    import torch
    import transformers
    from safetensors.torch import load_file
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
# Logits of the exported models: the norm of (ours - transformers') over the norm of theirs. Two
# fp32 implementations of the same forward sum in different orders; with n ~ 800 terms on the
# longest path (2 layers of width <= 64, MLP 128, 64 positions), random-signed roundings give
# ~sqrt(n) u ~ 2e-6 relative (the strict worst case n u ~ 5e-5 is never approached). Measured:
# <= 1.5e-7 (0 for llama). 1e-5 is ~5x the estimate and ~70x the measurement; a formula that
# differs (an epsilon, an activation, a rotary layout) costs far more.
TOL = 1e-5
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
    # exact: a norm weight nothing moved is still its initial ones, bit for bit.
    untouched = [n for n, p in norms.items() if torch.equal(p, torch.ones_like(p))]
    if not norms or untouched:
        failures.append(f"{family}: norm weights still at their initial ones: {untouched or 'none found'}")
    data = load_file(check_file)
    with torch.no_grad():
        ref = model(data["ids"]).logits.float()
    ours = data["logits"]
    rel = ((ours - ref).norm() / ref.norm()).item()
    print(f"{family}: logits rel err {rel:.2e}")
    if not rel < TOL:  # TOL: see its derivation at the top
        failures.append(f"{family}: logits differ: rel err {rel:.3e} >= {TOL}")
    return failures


# --- the optimizer step ---------------------------------------------------------------------------
# The run the tool records: a tiny model, 6 steps, 2 of warm-up. lr 1e-2 moves every weight by
# about 1e-2 per step; weight_decay 0.5 makes the decay term (lr * wd * w: 5e-3 on a norm weight
# of 1, ~1e-4 on a matrix entry of ~0.02) stand far above the tolerance; grad_clip 0.05 is below
# the gradient norm of every step (checked), so every step clips.
RUN = {"steps": 6, "warmup": 2, "lr": 1e-2, "min-lr-ratio": 0.1, "weight-decay": 0.5, "grad-clip": 0.05,
       "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "batch": 8, "seq-len": 32}
# Tolerance on each weight tensor after each step: the norm of (ours - reference) over the norm of
# the reference's total update since initialization. The two sides do the same float32 math in
# different orders (our forward and backward vs transformers', the fused AdamW kernel vs the
# single-tensor loop, another global-norm reduction), so gradients differ in their last bits.
# Adam divides by the gradient's own size, so those relative errors pass through unscaled, except
# where a gradient is itself rounding noise (a key bias, whose exact gradient is zero): there
# noise / (|noise| + eps) sets the step's sign. Measured worst over six steps: 2e-5 (that key
# bias). 1e-4 sits above it and two orders below what any recipe change costs (each replay in
# check_optimizer must miss by >= 10x this; they miss by 2e-2 or more).
STEP_TOL = 1e-4
# Relative, on each step's mean loss: the same float32 forward in a different order of operations.
# The mean over batch x seq-len = 256 cross-entropies rounds by at most ~256 u = 1.5e-5 relative
# in the worst order; measured: 1.1e-7 (one fp32 ulp of ~4.6).
LOSS_TOL = 1e-5
# Relative, on each step's learning rate: both sides evaluate the same double formula in the same
# order (measured: equal to the last bit); only cos could differ by an ulp between C libraries,
# which moves the result by about an ulp. 1e-15 is ~4-9 ulp.
LR_TOL = 1e-15


def schedule(step, steps, warmup, lr, min_lr_ratio):
    """The learning rate of step `step` (0-based), as models/trainer.h documents it."""
    if step < warmup:
        return lr * (step + 1) / warmup
    min_lr = lr * min_lr_ratio
    span = steps - 1 - warmup
    if span <= 0:
        return lr
    progress = min(1.0, (step - warmup) / span)
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


def decays(name):
    """Decoupled weight decay on matrices (embeddings, projections, the head), none on norms and biases."""
    return not (name.endswith(".bias") or "norm" in name or ".ln_" in name or name.startswith("ln_"))


def replay(folder, tokens, run, clip=True, decay="groups", constant_lr=False):
    """The run in PyTorch: transformers for loss and gradients, clip_grad_norm_, torch.optim.AdamW."""
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    model.eval()  # no dropout; gradients are still computed
    named = list(model.named_parameters())
    init = {n: p.detach().clone() for n, p in named}
    groups = {True: [], False: []}
    for n, p in named:
        groups[decay == "all" or (decay == "groups" and decays(n))].append(p)
    wd = run["weight-decay"]
    opt = torch.optim.AdamW([{"params": groups[True], "weight_decay": wd}, {"params": groups[False], "weight_decay": 0.0}],
                            lr=run["lr"], betas=(run["beta1"], run["beta2"]), eps=run["eps"], foreach=False, fused=False)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    out = {"init": init, "weights": [], "lr": [], "loss": [], "norm": []}
    for step in range(run["steps"]):
        lr = run["lr"] if constant_lr else schedule(step, run["steps"], run["warmup"], run["lr"], run["min-lr-ratio"])
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(input_ids=inputs).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        if clip:
            norm = torch.nn.utils.clip_grad_norm_([p for _, p in named], run["grad-clip"])
        else:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for _, p in named]))
        opt.step()
        opt.zero_grad(set_to_none=True)
        out["weights"].append({n: p.detach().clone() for n, p in named})
        out["lr"].append(lr)
        out["loss"].append(loss.item())
        out["norm"].append(norm.item())
    return out, {n: p for n, p in named}


def weight_error(ours, ref, init):
    """Worst tensor: |ours - ref| / |ref - init| (Frobenius norms), and its name."""
    worst = (0.0, None)
    for n, r in ref.items():
        moved = (r - init[n]).norm().item()
        e = (ours[n] - r).norm().item() / max(moved, 1e-30)
        worst = max(worst, (e, n), key=lambda x: x[0])
    return worst


def check_optimizer(tool, family, workdir):
    d = os.path.join(workdir, "opt_" + family)
    cmd = [tool, "--family", family, "--dump", d]
    for k, v in RUN.items():
        cmd += ["--" + k, str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return [f"{family} optimizer: train tool failed ({r.returncode}):\n{r.stderr}"]
    reported = json.loads(r.stdout)
    failures = []
    tokens = load_file(os.path.join(d, "batch.safetensors"))["tokens"]
    init_folder = os.path.join(d, "init")
    ref, params = replay(init_folder, tokens, RUN)
    init = ref["init"]
    # The reference's groups must be the recipe's: every matrix decays, no vector does, and
    # there is a norm weight among the vectors (a bias alone would test less).
    no_decay = [n for n in params if not decays(n)]
    decay = [n for n in params if decays(n)]
    if not any("norm" in n or "ln_" in n for n in no_decay) or not any(p.dim() >= 2 for n, p in params.items() if n in decay):
        failures.append(f"{family} optimizer: parameter groups miss a norm or a matrix: decay {decay}, none {no_decay}")
    if any(params[n].dim() < 2 for n in decay) or any(params[n].dim() >= 2 for n in no_decay):
        failures.append(f"{family} optimizer: a vector decays or a matrix does not: decay {decay}, none {no_decay}")
    if min(ref["norm"]) <= 2 * RUN["grad-clip"]:
        failures.append(f"{family} optimizer: gradient norms {ref['norm']} do not all exceed twice grad_clip "
                        f"{RUN['grad-clip']}; the run would not test clipping")
    if len(reported["lr"]) != RUN["steps"]:
        return failures + [f"{family} optimizer: {len(reported['lr'])} step reports, expected {RUN['steps']}"]
    # Our files use the checkpoint names save_hf_model writes; transformers may rename a weight
    # when loading (GPT-NeoX's embed_out is lm_head in transformers 5): such a parameter is the
    # one file tensor equal to it at initialization.
    saved = load_file(os.path.join(init_folder, "model.safetensors"))
    file_name = {}
    for n, t in init.items():
        # exact: the loaded tensor is the file's, copied.
        same = [k for k, v in saved.items() if k == n] or [k for k, v in saved.items() if v.shape == t.shape and torch.equal(v, t)]
        if len(same) != 1:
            return failures + [f"{family} optimizer: no single saved weight for {n} (candidates {same})"]
        file_name[n] = same[0]

    def ours_at(step):
        f = load_file(os.path.join(d, f"step_{step}.safetensors"))
        return {n: f[file_name[n]] for n in init if file_name[n] in f}

    worst_step, worst_loss = (0.0, None), 0.0
    for k in range(RUN["steps"]):
        ours = ours_at(k + 1)
        missing = [n for n in params if n not in ours]
        if missing:
            return failures + [f"{family} optimizer: step {k + 1} weights lack {missing}"]
        e, name = weight_error(ours, ref["weights"][k], init)
        worst_step = max(worst_step, (e, f"{name} after step {k + 1}"), key=lambda x: x[0])
        if not e < STEP_TOL:  # STEP_TOL: see its derivation at the top
            failures.append(f"{family} optimizer: after step {k + 1} {name} differs: rel err {e:.3e} >= {STEP_TOL}")
        lr_ours, lr_ref = reported["lr"][k], ref["lr"][k]
        if not abs(lr_ours - lr_ref) <= LR_TOL * lr_ref:  # LR_TOL: see above
            failures.append(f"{family} optimizer: step {k + 1} lr {lr_ours!r}, schedule says {lr_ref!r}")
        l_ours, l_ref = reported["loss"][k], ref["loss"][k]
        worst_loss = max(worst_loss, abs(l_ours - l_ref) / abs(l_ref))
        if not abs(l_ours - l_ref) <= LOSS_TOL * abs(l_ref):  # LOSS_TOL: see above
            failures.append(f"{family} optimizer: step {k + 1} loss {l_ours!r}, transformers {l_ref!r}")
    last = ours_at(RUN["steps"])
    # Each recipe element matters: a replay that changes it must miss our weights by >= 10x STEP_TOL.
    sensitivity = {}
    for label, kw in (("no clipping", {"clip": False}), ("decay on all", {"decay": "all"}),
                      ("decay on none", {"decay": "none"}), ("constant lr", {"constant_lr": True})):
        variant, _ = replay(init_folder, tokens, RUN, **kw)
        sensitivity[label] = weight_error(last, variant["weights"][-1], init)
        if not sensitivity[label][0] >= 10 * STEP_TOL:
            failures.append(f"{family} optimizer: a replay with {label} is within {sensitivity[label][0]:.2e} of our "
                            f"weights; the check would not see that change")
    print(f"{family} optimizer: {RUN['steps']} steps, lr {[f'{x:.4g}' for x in ref['lr']]}, grad norms "
          f"{[f'{x:.3g}' for x in ref['norm']]} (clip {RUN['grad-clip']}); worst weight rel err {worst_step[0]:.2e} ({worst_step[1]}), "
          f"loss rel err {worst_loss:.1e}; "
          f"replays changing one element miss by: "
          + ", ".join(f"{k} {v[0]:.1e} ({v[1]})" for k, v in sensitivity.items()))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--families", default="gpt_neox,llama,gpt2,gpt_neo")
    ap.add_argument("--parts", default="export,optimizer")
    ap.add_argument("--optimizer-families", default="gpt_neox,llama,gpt2")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        if "export" in parts:
            for family in args.families.split(","):
                failures += check(args.tool, family, workdir)
        if "optimizer" in parts:
            for family in args.optimizer_families.split(","):
                failures += check_optimizer(args.tool, family, workdir)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
