"""Oracle test: GGUF model files against transformers.

Tiny random models of each GGUF architecture Eidetic reads (llama with grouped-query heads,
qwen2 with q/k/v biases, gpt2, gptneox) are written as GGUF files here with gguf-py's writer
(llama.cpp's own Python library), laid out as llama.cpp's convert_hf_to_gguf.py lays them out
(llama's q/k rows permuted to interleaved rotary pairs, GPT-2's Conv1D weights transposed,
NeoX's per-head q/k/v rows regrouped as [Q; K; V]). Two checks per file:

- float32 tensors: our logits must equal the original transformers model's, the one the file
  was written from, within 1e-4 relative (norm of the difference over the norm of the
  reference: fp32 sums in another order over two layers differ by ~1e-6; the margin covers
  other CPUs' vector widths). This holds the layout transforms to the upstream conversion.
- quantized tensors (every type, the K-quants as random blocks): our logits must equal those of
  transformers loading the same GGUF file itself (from_pretrained(gguf_file=...), which
  dequantizes with gguf-py), within the same 1e-4. gptneox, which transformers cannot load,
  is checked against the original model with each weight replaced by gguf-py's dequantization
  of its quantization (per row, so NeoX's row regrouping does not change it).

Greedy continuations (32 tokens) must be identical to transformers' generate.

Usage: gguf_models_oracle.py --eidetic PATH/TO/eidetic
"""
import os
import subprocess
import sys
import tempfile

from testlib import parse_args, skip, verdict

try:
    import numpy as np
    import torch
    import transformers
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import quantize, dequantize
except ImportError as e:  # pragma: no cover
    skip(f"reference libraries missing ({e}); run scripts/setup.sh --test")

transformers.logging.set_verbosity_error()
TOL = 1e-4
VOCAB = 96

# Offsets of the fp16 fields in one block of each K-quant (ggml-common.h), overwritten with
# finite values in random blocks.
K_FP16_FIELDS = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"command failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr}")
    return r.stdout


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:  # norms and biases away from their defaults, so every one matters
                base = 1.0 if ("norm" in name or "ln" in name) and name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))


def encode(x, qtype, rng):
    """(raw array for GGUFWriter.add_tensor, raw_dtype or None, the values it dequantizes to)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if qtype == T.F32:
        return x, None, x
    if qtype == T.F16:
        h = x.astype(np.float16)
        return h, None, h.astype(np.float32)
    if qtype in K_FP16_FIELDS:  # gguf-py has no K-quant quantizer: random blocks, finite scales
        bs, ts = gguf.GGML_QUANT_SIZES[qtype]
        rows, cols = x.shape
        raw = rng.integers(0, 256, (rows, cols // bs * ts), dtype=np.uint8)
        blocks = raw.reshape(-1, ts)
        for o in K_FP16_FIELDS[qtype]:
            d = rng.uniform(-0.001, 0.001, len(blocks)).astype("<f2")
            blocks[:, o:o + 2] = np.frombuffer(d.tobytes(), np.uint8).reshape(-1, 2)
        return raw, qtype, dequantize(raw, qtype)
    raw = quantize(x, qtype)
    return raw, qtype, dequantize(raw, qtype)


def llama_permute(w, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: HF's rotary halves to interleaved pairs."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def neox_regroup(w, heads):
    """convert_hf_to_gguf.py's GPTNeoXModel: per-head [q_h; k_h; v_h] rows to [Q; K; V]."""
    hd = w.shape[0] // 3 // heads
    rest = w.shape[1:]
    return w.reshape(heads, 3, hd, *rest).swapaxes(0, 1).reshape(w.shape)


def gguf_tensors(arch, model, cfg):
    """(GGUF name, float32 array in GGUF's row-major layout) for every weight, as convert_hf_to_gguf.py writes them."""
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    out = []
    if arch in ("llama", "qwen2"):
        out.append(("token_embd.weight", sd["model.embed_tokens.weight"]))
        for i in range(cfg.num_hidden_layers):
            p = f"model.layers.{i}."
            b = f"blk.{i}."
            out.append((b + "attn_norm.weight", sd[p + "input_layernorm.weight"]))
            for ours, theirs in (("attn_q", "q_proj"), ("attn_k", "k_proj"), ("attn_v", "v_proj"), ("attn_output", "o_proj")):
                for kind in ("weight", "bias"):
                    key = p + f"self_attn.{theirs}.{kind}"
                    if key not in sd:
                        continue
                    w = sd[key]
                    if arch == "llama" and ours in ("attn_q", "attn_k"):
                        w = llama_permute(w, cfg.num_attention_heads if ours == "attn_q" else cfg.num_key_value_heads)
                    out.append((b + f"{ours}.{kind}", w))
            out.append((b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]))
            for ours, theirs in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"), ("ffn_down", "down_proj")):
                out.append((b + f"{ours}.weight", sd[p + f"mlp.{theirs}.weight"]))
        out.append(("output_norm.weight", sd["model.norm.weight"]))
        if not cfg.tie_word_embeddings:
            out.append(("output.weight", sd["lm_head.weight"]))
    elif arch == "gpt2":
        out.append(("token_embd.weight", sd["transformer.wte.weight"]))
        out.append(("position_embd.weight", sd["transformer.wpe.weight"]))
        for i in range(cfg.n_layer):
            p = f"transformer.h.{i}."
            b = f"blk.{i}."
            for ours, theirs, conv in (("attn_norm", "ln_1", False), ("attn_qkv", "attn.c_attn", True),
                                       ("attn_output", "attn.c_proj", True), ("ffn_norm", "ln_2", False),
                                       ("ffn_up", "mlp.c_fc", True), ("ffn_down", "mlp.c_proj", True)):
                out.append((b + ours + ".weight", sd[p + theirs + ".weight"].T if conv else sd[p + theirs + ".weight"]))
                out.append((b + ours + ".bias", sd[p + theirs + ".bias"]))
        out.append(("output_norm.weight", sd["transformer.ln_f.weight"]))
        out.append(("output_norm.bias", sd["transformer.ln_f.bias"]))
    else:  # gptneox
        out.append(("token_embd.weight", sd["gpt_neox.embed_in.weight"]))
        for i in range(cfg.num_hidden_layers):
            p = f"gpt_neox.layers.{i}."
            b = f"blk.{i}."
            for kind in ("weight", "bias"):
                out.append((b + f"attn_norm.{kind}", sd[p + f"input_layernorm.{kind}"]))
                out.append((b + f"attn_qkv.{kind}", neox_regroup(sd[p + f"attention.query_key_value.{kind}"],
                                                                  cfg.num_attention_heads)))
                out.append((b + f"attn_output.{kind}", sd[p + f"attention.dense.{kind}"]))
                out.append((b + f"ffn_norm.{kind}", sd[p + f"post_attention_layernorm.{kind}"]))
                out.append((b + f"ffn_up.{kind}", sd[p + f"mlp.dense_h_to_4h.{kind}"]))
                out.append((b + f"ffn_down.{kind}", sd[p + f"mlp.dense_4h_to_h.{kind}"]))
        out.append(("output_norm.weight", sd["gpt_neox.final_layer_norm.weight"]))
        out.append(("output_norm.bias", sd["gpt_neox.final_layer_norm.bias"]))
        # The head: `embed_out` in checkpoints, `lm_head` in transformers 5's module tree.
        out.append(("output.weight", sd["embed_out.weight"] if "embed_out.weight" in sd else sd["lm_head.weight"]))
    return [(n, np.ascontiguousarray(w)) for n, w in out]


def write_gguf(path, arch, cfg, tensors, types, rng):
    """Writes the file; returns {GGUF name: the float32 values the file holds}."""
    w = gguf.GGUFWriter(path, arch=arch)
    if arch in ("llama", "qwen2"):
        w.add_block_count(cfg.num_hidden_layers)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(cfg.num_attention_heads)
        w.add_head_count_kv(cfg.num_key_value_heads)
        w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
        w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
        w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    elif arch == "gpt2":
        w.add_block_count(cfg.n_layer)
        w.add_context_length(cfg.n_positions)
        w.add_embedding_length(cfg.n_embd)
        w.add_feed_forward_length(4 * cfg.n_embd)
        w.add_head_count(cfg.n_head)
        w.add_layer_norm_eps(cfg.layer_norm_epsilon)
    else:
        w.add_block_count(cfg.num_hidden_layers)
        w.add_context_length(cfg.max_position_embeddings)
        w.add_embedding_length(cfg.hidden_size)
        w.add_feed_forward_length(cfg.intermediate_size)
        w.add_head_count(cfg.num_attention_heads)
        rope = cfg.rope_parameters  # transformers 5 keeps rotary_pct and the base here
        w.add_rope_dimension_count(int(rope["partial_rotary_factor"] * (cfg.hidden_size // cfg.num_attention_heads)))
        w.add_rope_freq_base(rope["rope_theta"])
        w.add_parallel_residual(cfg.use_parallel_residual)
        w.add_layer_norm_eps(cfg.layer_norm_eps)
    w.add_vocab_size(VOCAB)
    # A byte-level vocabulary of distinct tokens (the loaders want a tokenizer; no test reads it).
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(VOCAB)])
    w.add_token_types([1] * VOCAB)
    w.add_token_merges(["t 1"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    held = {}
    for name, x in tensors:
        qtype = types(name, x) if x.ndim == 2 else T.F32
        raw, raw_dtype, values = encode(x, qtype, rng)
        if raw_dtype is None:
            w.add_tensor(name, raw)
        else:
            w.add_tensor(name, raw, raw_dtype=raw_dtype)
        held[name] = values
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return held


def our_logits(eidetic, path, ids, workdir):
    np.save(os.path.join(workdir, "ids.npy"), ids.numpy().astype(np.int64))
    out = os.path.join(workdir, "logits.npy")
    run([eidetic, "score", "--model", path, "--input", os.path.join(workdir, "ids.npy"), "--output", out, "--logits"])
    return torch.from_numpy(np.load(out))


def our_greedy(eidetic, path, prompt, n):
    text = run([eidetic, "generate", "--model", path, "--prompt-ids", " ".join(map(str, prompt)),
                "--max-new-tokens", str(n), "--greedy", "--print-ids"])
    return [int(t) for t in text.split()]


def compare(eidetic, label, path, ref_model, workdir, seed, failures):
    ids = torch.randint(0, VOCAB, (3, 24), generator=torch.Generator().manual_seed(seed))
    ours = our_logits(eidetic, path, ids, workdir)
    with torch.no_grad():
        ref = ref_model(ids).logits.float()
    rel = ((ours - ref).norm() / ref.norm()).item()
    print(f"{label}: logits rel err {rel:.2e}")
    if not rel < TOL:
        failures.append(f"{label}: logits differ: rel err {rel:.3e} >= {TOL}")
    prompt = ids[0, :5]
    with torch.no_grad():
        ref_tokens = ref_model.generate(prompt[None], attention_mask=torch.ones(1, 5, dtype=torch.long),
                                        max_new_tokens=32, do_sample=False, pad_token_id=0, eos_token_id=None)[0, 5:].tolist()
    mine = our_greedy(eidetic, path, prompt.tolist(), 32)
    if mine != ref_tokens:
        failures.append(f"{label}: greedy tokens differ:\n  ours {mine}\n  ref  {ref_tokens}")
    print(f"{label}: 32 greedy tokens {'identical' if mine == ref_tokens else 'DIFFERENT'}")


def configs():
    return {
        # hidden 256 and intermediate 512 so that every K-quant (256-value blocks) fits a row.
        "llama": transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                          rope_theta=10000.0, tie_word_embeddings=False),
        "llama-tied": transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                               num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                                               rope_theta=100000.0, tie_word_embeddings=True),
        "qwen2": transformers.Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                                          tie_word_embeddings=True),
        "gpt2": transformers.GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=64),
        "gptneox": transformers.GPTNeoXConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                                              num_attention_heads=4, max_position_embeddings=64, rotary_pct=0.5),
    }


# Quantized variants: a type per tensor, covering every type Eidetic reads across the files.
def llama_types(name, x):
    for key, t in (("attn_q.", T.Q4_K), ("attn_k.", T.Q5_K), ("attn_v.", T.Q3_K), ("attn_output.", T.Q2_K),
                   ("ffn_gate.", T.Q6_K), ("ffn_up.", T.Q4_0), ("ffn_down.", T.Q4_1), ("output.", T.Q5_0),
                   ("token_embd.", T.Q8_0)):
        if key in name:
            return t
    return T.F32


def small_types(name, x):
    for key, t in (("attn_q", T.Q5_1), ("attn_k", T.BF16), ("attn_v", T.F16), ("attn_output", T.Q8_0),
                   ("attn_qkv", T.Q8_0), ("ffn_gate", T.Q4_0), ("ffn_up", T.Q4_1), ("ffn_down", T.Q5_0),
                   ("token_embd", T.Q8_0), ("position_embd", T.F16), ("output.", T.Q5_1)):
        if key in name:
            return t
    return T.F32


def check(eidetic, arch_label, cfg, workdir, seed, failures):
    arch = "llama" if arch_label.startswith("llama") else arch_label
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
    randomize(model, seed)
    tensors = gguf_tensors(arch, model, cfg)
    rng = np.random.default_rng(seed)

    # float32: the original model is the reference.
    exact = os.path.join(workdir, f"{arch_label}-f32.gguf")
    write_gguf(exact, arch, cfg, tensors, lambda n, x: T.F32, rng)
    compare(eidetic, f"{arch_label} f32", exact, model, workdir, seed, failures)

    # quantized: transformers reading the same file, or (gptneox) the original model with
    # gguf-py's dequantized values.
    quant = os.path.join(workdir, f"{arch_label}-quant.gguf")
    held = write_gguf(quant, arch, cfg, tensors, llama_types if arch_label == "llama" else small_types, rng)
    if arch == "gptneox":
        ref = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
        ref.load_state_dict(model.state_dict())
        with torch.no_grad():
            for i in range(cfg.num_hidden_layers):
                layer = ref.gpt_neox.layers[i]
                b = f"blk.{i}."
                # [Q; K; V] rows back to per-head order: the inverse of neox_regroup.
                qkv = held[b + "attn_qkv.weight"]
                hd = qkv.shape[0] // 3 // cfg.num_attention_heads
                layer.attention.query_key_value.weight.copy_(torch.from_numpy(
                    qkv.reshape(3, cfg.num_attention_heads, hd, -1).swapaxes(0, 1).reshape(qkv.shape).copy()))
                layer.attention.dense.weight.copy_(torch.from_numpy(held[b + "attn_output.weight"]))
                layer.mlp.dense_h_to_4h.weight.copy_(torch.from_numpy(held[b + "ffn_up.weight"]))
                layer.mlp.dense_4h_to_h.weight.copy_(torch.from_numpy(held[b + "ffn_down.weight"]))
            ref.gpt_neox.embed_in.weight.copy_(torch.from_numpy(held["token_embd.weight"]))
            ref.get_output_embeddings().weight.copy_(torch.from_numpy(held["output.weight"]))
    else:
        ref = transformers.AutoModelForCausalLM.from_pretrained(workdir, gguf_file=os.path.basename(quant),
                                                                dtype=torch.float32).eval()
    compare(eidetic, f"{arch_label} quantized", quant, ref, workdir, seed + 7, failures)


def main():
    args = parse_args("--eidetic")
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for i, (label, cfg) in enumerate(configs().items()):
            check(args.eidetic, label, cfg, workdir, 300 + i, failures)
    for f in failures:
        print("FAIL:", f)
    return verdict(bool(failures), f"{len(failures)} GGUF model checks failed",
                   "GGUF models of every architecture match transformers")


if __name__ == "__main__":
    sys.exit(main())
