// `eidetic score`: per-token log-probabilities (or logits) of token id sequences in a .npy file.
#include <ATen/ATen.h>

#include <string>

#include "common/error.h"
#include "corpus/npy.h"
#include "harness/commands.h"
#include "harness/model_files.h"
#include "models/generate.h"
#include "models/model.h"

namespace eidetic::harness {

Action add_score_command(CLI::App& app) {
  struct Options {
    std::string model, input, output;
    bool logits = false;
    std::string device = "cpu";
    std::string dtype = "fp32";
    int64_t batch = 8;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "score", "Write log-probabilities of tokens 1..T-1 given their prefixes (or the logits) of a (B, T) id array");
  cmd->add_option("--model", o->model, "model folder, .gguf file, llama2.c checkpoint, or installed model name (smollm2-135m)")->required();
  cmd->add_option("--input", o->input, "(B, T) integer .npy of token ids")->required();
  cmd->add_option("--output", o->output, "output .npy: float32 (B, T-1) log-probs, or (B, T, V) logits")->required();
  cmd->add_flag("--logits", o->logits, "write the float32 (B, T, V) logits instead");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "fp32, fp16 or bf16")->capture_default_str();
  cmd->add_option("--batch-size", o->batch, "sequences per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  return [o](Io& io) {
    const corpus::TokenArray ids = corpus::read_npy_tokens(o->input);
    if (ids.shape.size() != 2) throw Error(o->input + ": expected a 2-D (B, T) array of token ids");
    const int64_t B = ids.shape[0], T = ids.shape[1];
    if (!o->logits && T < 2) throw Error(o->input + ": sequences need at least 2 tokens to score, got " + std::to_string(T));
    o->model = resolve_model(o->model);
    const models::Model model = models::load_model(o->model, models::parse_device(o->device), models::parse_dtype(o->dtype));
    const int64_t V = model.config().vocab_size;
    for (size_t i = 0; i < ids.values.size(); ++i)
      if (ids.values[i] < 0 || ids.values[i] >= V)
        throw Error(o->input + ": token id " + std::to_string(ids.values[i]) + " at [" + std::to_string(i / T) +
                    ", " + std::to_string(i % T) + "] is outside the model's vocabulary of " + std::to_string(V));
    const at::Tensor t = at::from_blob(const_cast<int64_t*>(ids.values.data()), {B, T}, at::kLong).clone();
    at::Tensor out;
    if (o->logits) {
      std::vector<at::Tensor> parts;
      for (int64_t b = 0; b < B; b += o->batch) parts.push_back(models::full_logits(model, t.slice(0, b, std::min(B, b + o->batch))));
      out = parts.empty() ? at::zeros({0, T, V}) : at::cat(parts, 0);
    } else {
      out = models::score_logprobs(model, t, o->batch);
    }
    out = out.to(at::kFloat).contiguous();
    corpus::write_npy_f32(o->output, out.const_data_ptr<float>(), out.sizes().vec());
    io.err << "scored " << B << " sequences of " << T << " tokens -> " << o->output << "\n";
    return 0;
  };
}

}  // namespace eidetic::harness
