"""Oracle test: Eidetic's four decoder families against Hugging Face transformers.

For a tiny random-weight config of each family (created and saved as safetensors here, with
the norms and biases randomized too so that every parameter matters), our float32 logits must
match transformers' within 1e-4 relative (norm of the difference over norm of the reference)
and, at every position, within a few times transformers' own float32 error against its float64
logits (the max-abs difference over the vocabulary),
our log-probabilities must match log_softmax of its logits, and 32 greedy tokens from prompts
of different lengths must be identical to transformers' generate(do_sample=False).

With --device cuda --dtype fp16|bf16 (the `gpu` variant) both sides run in half precision on
the GPU: our logits must be as close to transformers' float32 logits as transformers' own
half-precision logits are (within twice its error, plus a small floor), and greedy tokens must
agree with transformers' half-precision generate on at least 99% of positions.

Usage: models_oracle.py --eidetic PATH/TO/eidetic [--device cuda --dtype fp16]
Exit code 77 means skipped (reference libraries or, for cuda, a device missing).
"""
import argparse
import copy
import os
import subprocess
import sys
import tempfile
from testlib import skip

try:
    import numpy as np
    import torch
    import transformers
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.logging.set_verbosity_error()
TOL = 1e-4


def configs():
    T = transformers
    common = dict(vocab_size=211, initializer_range=0.2)
    # Each norm epsilon differs from the family's default and is large against the hidden
    # states' variance (~0.04 with weights of scale 0.2), so reading the wrong one, or none,
    # moves every logit far past the per-position bound below.
    yield "gpt2", T.GPT2Config(n_embd=48, n_layer=3, n_head=4, n_positions=96, layer_norm_epsilon=3e-3, **common)
    yield "gpt_neo", T.GPTNeoConfig(hidden_size=48, num_layers=4, num_heads=4, max_position_embeddings=96,
                                    attention_types=[[["global", "local"], 2]], window_size=7,
                                    layer_norm_epsilon=5e-3, **common)
    yield "gpt_neox", T.GPTNeoXConfig(hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                                      intermediate_size=96, rotary_pct=0.25, max_position_embeddings=96,
                                      use_parallel_residual=True, layer_norm_eps=2e-3, **common)
    yield "gpt_neox_sequential", T.GPTNeoXConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                                                 intermediate_size=80, rotary_pct=0.5, max_position_embeddings=96,
                                                 use_parallel_residual=False, layer_norm_eps=4e-3, **common)
    yield "llama_gqa", T.LlamaConfig(hidden_size=48, num_hidden_layers=3, num_attention_heads=4,
                                     num_key_value_heads=2, intermediate_size=96, max_position_embeddings=96,
                                     rope_theta=500.0, rms_norm_eps=1e-2, **common)
    yield "llama_tied", T.LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=64, max_position_embeddings=96, tie_word_embeddings=True,
                                      rms_norm_eps=6e-3, **common)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:  # norms and biases: away from their ones/zeros defaults
                base = 1.0 if ("norm" in name or "ln" in name) and name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def check_family(eidetic, name, config, workdir, seed, shard, device="cpu", dtype="fp32"):
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config).eval()
    randomize(model, seed)
    folder = os.path.join(workdir, name)
    kwargs = {"max_shard_size": "40KB"} if shard else {}
    model.save_pretrained(folder, safe_serialization=True, **kwargs)
    if dtype != "fp32":
        return check_half(eidetic, name, config, model, folder, workdir, seed, device, dtype)
    failures = []

    # Logits and log-probabilities of full sequences.
    ids = torch.randint(0, config.vocab_size, (3, 40), generator=torch.Generator().manual_seed(seed))
    np.save(os.path.join(workdir, "ids.npy"), ids.numpy().astype(np.int64))
    run([eidetic, "score", "--model", folder, "--input", os.path.join(workdir, "ids.npy"),
         "--output", os.path.join(workdir, "logits.npy"), "--logits"])
    run([eidetic, "score", "--model", folder, "--input", os.path.join(workdir, "ids.npy"),
         "--output", os.path.join(workdir, "logp.npy")])
    ours = torch.from_numpy(np.load(os.path.join(workdir, "logits.npy")))
    ours_logp = torch.from_numpy(np.load(os.path.join(workdir, "logp.npy")))
    with torch.no_grad():
        ref = model(ids).logits.float()
    rel = ((ours - ref).norm() / ref.norm()).item()
    ref_logp = torch.log_softmax(ref[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
    rel_logp = ((ours_logp - ref_logp).norm() / ref_logp.norm()).item()
    print(f"{name}: logits rel err {rel:.2e}, log-prob rel err {rel_logp:.2e}" + (" (sharded)" if shard else ""))
    if not rel < TOL:
        failures.append(f"{name}: logits differ: rel err {rel:.3e} >= {TOL}")
    if not rel_logp < TOL:
        failures.append(f"{name}: log-probs differ: rel err {rel_logp:.3e} >= {TOL}")

    # Per position as well: a norm over all logits at once can hide one wrong position. The
    # truth is transformers in float64; at each position transformers' own float32 logits are
    # off by some amount (fp32 rounding through this depth and width), and ours, float32 with
    # other summation orders, may be off by a few times that, plus 16 ulp of the position's
    # largest logit for positions where transformers happens to land almost exactly.
    with torch.no_grad():
        ref64 = copy.deepcopy(model).double()(ids).logits
    hf_err = (ref.double() - ref64).abs().amax(-1)
    our_err = (ours.double() - ref64).abs().amax(-1)
    bound = 4 * hf_err + 16 * 2.0 ** -24 * ref64.abs().amax(-1).clamp_min(1.0)
    worst = (our_err / bound).max().item()
    print(f"{name}: per-position max-abs error {our_err.max().item():.2e} (transformers' fp32 "
          f"{hf_err.max().item():.2e}), worst ratio to the bound {worst:.2f}")
    if not worst <= 1.0:
        b, t = divmod(int((our_err / bound).argmax()), our_err.shape[1])
        failures.append(f"{name}: logits at sequence {b}, position {t} are off by {our_err[b, t].item():.3e} "
                        f"(bound {bound[b, t].item():.3e})")

    # Greedy generation from prompts of different lengths.
    g = torch.Generator().manual_seed(seed + 1)
    same = total = 0
    for length in (1, 5, 17):
        prompt = torch.randint(0, config.vocab_size, (1, length), generator=g)
        with torch.no_grad():
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32, do_sample=False,
                                 pad_token_id=0)
        ref_tokens = out[0, length:].tolist()
        # transformers stops at the end-of-text token; ours runs on, so compare up to that stop.
        eos = model.generation_config.eos_token_id
        stopped = len(ref_tokens) < 32 and ref_tokens and ref_tokens[-1] in (eos if isinstance(eos, list) else [eos])
        text = run([eidetic, "generate", "--model", folder, "--prompt-ids", " ".join(map(str, prompt[0].tolist())),
                    "--max-new-tokens", "32", "--greedy", "--print-ids"])
        our_tokens = [int(t) for t in text.split()]
        if stopped:
            our_tokens = our_tokens[:len(ref_tokens)]
        total += len(ref_tokens)
        same += sum(a == b for a, b in zip(our_tokens, ref_tokens))
        if our_tokens != ref_tokens:
            failures.append(f"{name}: greedy tokens differ for a {length}-token prompt:\n  ours {our_tokens}\n  ref  {ref_tokens}")
    print(f"{name}: greedy tokens identical on {same}/{total} positions")

    # A suppressed token (Pythia's memorization protocol suppresses end-of-text through
    # min_length): transformers' generate with min_new_tokens and that token as its end-of-text
    # sets the token's logit to -inf at every step. The token suppressed is the one greedy
    # decoding produces most often without suppression, so the two runs must differ from it.
    prompt = torch.randint(0, config.vocab_size, (1, 9), generator=g)
    with torch.no_grad():
        free = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32, do_sample=False,
                              pad_token_id=0, eos_token_id=None)[0, 9:].tolist()
        banned = max(set(free), key=free.count)
        ref_tokens = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=32,
                                    min_new_tokens=32, do_sample=False, pad_token_id=0,
                                    eos_token_id=banned)[0, 9:].tolist()
    text = run([eidetic, "generate", "--model", folder, "--prompt-ids", " ".join(map(str, prompt[0].tolist())),
                "--max-new-tokens", "32", "--greedy", "--print-ids", "--suppress-token", str(banned)])
    our_tokens = [int(t) for t in text.split()]
    if banned in ref_tokens or len(ref_tokens) != 32:
        failures.append(f"{name}: the reference did not suppress token {banned}: {ref_tokens}")
    if our_tokens != ref_tokens:
        failures.append(f"{name}: greedy tokens with token {banned} suppressed differ:\n  ours {our_tokens}\n  ref  {ref_tokens}")
    print(f"{name}: token {banned} suppressed ({free.count(banned)} of 32 free greedy tokens): "
          f"{'identical' if our_tokens == ref_tokens else 'DIFFERENT'}")
    return failures


HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


def check_half(eidetic, name, config, model, folder, workdir, seed, device, dtype):
    failures = []
    ids = torch.randint(0, config.vocab_size, (4, 48), generator=torch.Generator().manual_seed(seed))
    np.save(os.path.join(workdir, "ids.npy"), ids.numpy().astype(np.int64))
    run([eidetic, "score", "--model", folder, "--input", os.path.join(workdir, "ids.npy"),
         "--output", os.path.join(workdir, "logits.npy"), "--logits", "--device", device, "--dtype", dtype])
    ours = torch.from_numpy(np.load(os.path.join(workdir, "logits.npy")))
    with torch.no_grad():
        ref32 = model.to(device)(ids.to(device)).logits.float().cpu()
        half = model.to(device, HALF[dtype])
        ref_half = half(ids.to(device)).logits.float().cpu()
    hf_err = ((ref_half - ref32).norm() / ref32.norm()).item()
    our_err = ((ours - ref32).norm() / ref32.norm()).item()
    bound = 2 * hf_err + 1e-4
    print(f"{name} {dtype}: our rel err vs fp32 {our_err:.2e}, transformers' own {hf_err:.2e}")
    if not our_err <= bound:
        failures.append(f"{name} {dtype}: rel err {our_err:.3e} exceeds 2 x transformers' {hf_err:.3e} + 1e-4")
    same = total = 0
    g = torch.Generator().manual_seed(seed + 1)
    for length in (1, 8, 20):
        prompt = torch.randint(0, config.vocab_size, (1, length), generator=g)
        with torch.no_grad():
            out = half.generate(prompt.to(device), attention_mask=torch.ones_like(prompt).to(device), max_new_tokens=32,
                                do_sample=False, pad_token_id=0)
        ref_tokens = out[0, length:].tolist()
        # transformers stops at the end-of-text token; ours runs on, so compare up to that stop.
        eos = model.generation_config.eos_token_id
        stopped = len(ref_tokens) < 32 and ref_tokens and ref_tokens[-1] in (eos if isinstance(eos, list) else [eos])
        text = run([eidetic, "generate", "--model", folder, "--prompt-ids", " ".join(map(str, prompt[0].tolist())),
                    "--max-new-tokens", "32", "--greedy", "--print-ids", "--device", device, "--dtype", dtype])
        ours_tokens = [int(t) for t in text.split()]
        total += len(ref_tokens)
        same += sum(a == b for a, b in zip(ours_tokens, ref_tokens))
    print(f"{name} {dtype}: greedy tokens identical on {same}/{total} positions")
    if same < 0.99 * total:
        failures.append(f"{name} {dtype}: greedy tokens agree on only {same}/{total} positions")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        skip("no CUDA device")
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for i, (name, config) in enumerate(configs()):
            failures += check_family(args.eidetic, name, config, workdir, seed=100 + i, shard=(name == "gpt_neox"),
                                     device=args.device, dtype=args.dtype)
    if failures:
        print("\n".join(["FAIL"] + failures))
        sys.exit(1)
    print("all families match transformers")


if __name__ == "__main__":
    main()
