"""The baseline: Hugging Face transformers on the same architectures and shapes as `eidetic bench`.

Generation with greedy decoding in both of transformers' cache modes (the default dynamic
cache and cache_implementation="static"), and teacher-forced scoring as forward + log_softmax +
gather. Random weights (transformers' own initialization) of the real architectures; the same
batch sizes and prompt+new shapes; median of --repeats timed runs after a warm-up run. Writes
one JSON object per case (the same keys as `eidetic bench --json`) and prints a table.

Usage: python3 bench/hf_generate.py --models pythia-160m,pythia-410m --batch 1024 \
           --shapes 32+32,50+50 --dtype bf16 --score --json hf.jsonl
"""
import argparse
import json
import statistics
import sys
import time

import torch
import transformers

transformers.logging.set_verbosity_error()


def config_for(name):
    T = transformers
    if name == "gpt2-124m":
        return T.GPT2Config(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257)
    dims = {"pythia-160m": (12, 768, 12), "pythia-410m": (24, 1024, 16), "pythia-1.4b": (24, 2048, 16)}
    if name in dims:
        layers, hidden, heads = dims[name]
        return T.GPTNeoXConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                               intermediate_size=4 * hidden, vocab_size=50304, max_position_embeddings=2048,
                               rotary_pct=0.25, use_parallel_residual=True)
    sys.exit(f"unknown model {name}")


def timed(fn, repeats):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="pythia-160m")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--shapes", default="32+32,50+50")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp16"])
    ap.add_argument("--caches", default="dynamic,static")
    ap.add_argument("--score", action="store_true")
    ap.add_argument("--score-batch", type=int, default=256)
    ap.add_argument("--score-len", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("hf_generate.py needs a CUDA device")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    out = open(args.json, "a") if args.json else None
    device_name = torch.cuda.get_device_name()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {device_name}")
    print(f"{'model':<14} {'case':<16} {'batch':>6} {'shape':>8} {'tokens/s':>12} {'peak GiB':>9}")

    def emit(model, kind, batch, shape, tokens, seconds):
        peak = torch.cuda.max_memory_allocated() / 2**30
        rec = {"tool": "hf", "kind": kind, "model": model, "dtype": args.dtype, "batch": batch, "shape": shape,
               "tokens_per_s": tokens / seconds, "sequences_per_s": batch / seconds, "seconds": seconds,
               "peak_gib": peak, "device": device_name, "transformers": transformers.__version__}
        print(f"{model:<14} {kind:<16} {batch:>6} {shape:>8} {tokens / seconds:>12.0f} {peak:>9.2f}", flush=True)
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    for name in args.models.split(","):
        with torch.device("cuda"):
            model = transformers.AutoModelForCausalLM.from_config(config_for(name), dtype=dtype).eval()
        vocab = model.config.vocab_size
        for shape in args.shapes.split(","):
            prompt, new = (int(x) for x in shape.split("+"))
            ids = torch.randint(0, vocab, (args.batch, prompt), device="cuda")
            mask = torch.ones_like(ids)
            for cache in args.caches.split(","):
                kwargs = {"cache_implementation": "static"} if cache == "static" else {}

                def run():
                    with torch.no_grad():
                        model.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new,
                                       do_sample=False, pad_token_id=0, **kwargs)

                torch.cuda.reset_peak_memory_stats()
                emit(name, f"generate-{cache}", args.batch, shape, args.batch * new, timed(run, args.repeats))
        if args.score:
            ids = torch.randint(0, vocab, (args.score_batch, args.score_len), device="cuda")

            def score():
                with torch.no_grad():
                    logits = model(ids).logits
                    torch.log_softmax(logits.float(), -1)[:, :-1].gather(-1, ids[:, 1:, None])

            torch.cuda.reset_peak_memory_stats()
            emit(name, "score", args.score_batch, f"score{args.score_len}", args.score_batch * args.score_len,
                 timed(score, args.repeats))
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
