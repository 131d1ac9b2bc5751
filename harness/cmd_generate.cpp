// `eidetic generate`: continue one prompt with a model and print the continuation.
#include <ATen/ATen.h>

#include <sstream>
#include <string>

#include "common/error.h"
#include "harness/commands.h"
#include "harness/model_files.h"
#include "models/engine.h"
#include "models/model.h"

namespace eidetic::harness {
namespace {

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size()) throw Error("--prompt-ids: '" + word + "' is not an integer token id");
    ids.push_back(v);
  }
  return ids;
}

}  // namespace

Action add_generate_command(CLI::App& app) {
  struct Options {
    std::string model;
    std::optional<std::string> tokenizer;
    std::optional<std::string> prompt;
    std::optional<std::string> prompt_ids;
    int64_t max_new_tokens = 0;
    bool greedy = false;
    bool sample = false;
    int64_t beam = 0;
    float temperature = 1.0f;
    float temperature_start = -1.0f;
    int64_t temperature_steps = 0;
    int64_t top_k = 0;
    float top_p = 1.0f;
    int64_t num_samples = 1;
    uint64_t seed = 0;
    bool print_ids = false;
    std::optional<int64_t> suppress_token;
    std::string device = "cpu";
    std::string dtype = "fp32";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Continue a prompt with a model and print the continuation");
  cmd->add_option("--model", o->model, "model folder (config.json + safetensors), .gguf file, llama2.c checkpoint, or installed model name (smollm2-135m)")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer (default: the one beside the model)");
  auto* p = cmd->add_option("--prompt", o->prompt, "prompt text");
  auto* pi = cmd->add_option("--prompt-ids", o->prompt_ids, "prompt as token ids, e.g. \"464 3290\"");
  p->excludes(pi);
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "number of tokens to generate")->required()->check(CLI::PositiveNumber);
  auto* g = cmd->add_flag("--greedy", o->greedy, "greedy decoding (the most likely token at each step)");
  auto* smp = cmd->add_flag("--sample", o->sample, "sample with --temperature, --top-k, --top-p");
  auto* bm = cmd->add_option("--beam", o->beam, "beam search of this width (the best beam is printed)")
                 ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  g->excludes(smp)->excludes(bm);
  smp->excludes(bm);
  cmd->add_option("--temperature", o->temperature, "sampling temperature (after the schedule)")->capture_default_str();
  cmd->add_option("--temperature-start", o->temperature_start,
                  "temperature at the first step, decaying linearly to --temperature over --temperature-steps");
  cmd->add_option("--temperature-steps", o->temperature_steps, "length of the temperature decay in tokens");
  cmd->add_option("--top-k", o->top_k, "keep the k most likely tokens (0: off)")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "keep the smallest nucleus holding this probability (1: off)")->capture_default_str();
  cmd->add_option("--num-samples", o->num_samples, "samples per prompt")->capture_default_str();
  cmd->add_option("--seed", o->seed, "random seed: the same seed gives the same samples")->capture_default_str();
  cmd->add_flag("--print-ids", o->print_ids, "print the generated token ids instead of text");
  cmd->add_option("--suppress-token", o->suppress_token,
                  "never produce this token id (the end-of-text token, as Hugging Face's min_length does)");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "fp32, fp16 or bf16")->capture_default_str();
  return [o](Io& io) {
    if (!o->prompt && !o->prompt_ids) throw Error("generate: give --prompt TEXT or --prompt-ids \"ID ...\"");
    if (!o->greedy && !o->sample && o->beam == 0)
      throw Error("generate: choose a decoding: --greedy, --sample or --beam WIDTH");
    const at::Device device = models::parse_device(o->device);
    const at::ScalarType dtype = models::parse_dtype(o->dtype);
    o->model = resolve_model(o->model);
    const models::Model model = models::load_model(o->model, device, dtype);
    const auto& config = model.config();
    const bool llama2c = is_llama2c_checkpoint(o->model);
    std::unique_ptr<tok::Tokenizer> tokenizer;
    if (o->prompt || !o->print_ids)
      tokenizer = tokenizer_for_model(o->model, o->tokenizer ? std::optional<std::filesystem::path>(*o->tokenizer)
                                                             : std::nullopt,
                                      config.vocab_size);
    std::vector<int64_t> prompt;
    if (o->prompt_ids) {
      prompt = parse_ids(*o->prompt_ids);
    } else {
      if (llama2c) prompt.push_back(tokenizer->bos_id().value_or(1));  // llama2.c starts with BOS
      const auto ids = tokenizer->encode(*o->prompt);
      prompt.insert(prompt.end(), ids.begin(), ids.end());
    }
    if (prompt.empty())
      throw Error("generate: the prompt is empty; this model needs at least one token to condition on");
    for (int64_t id : prompt)
      if (id < 0 || id >= config.vocab_size)
        throw Error(o->model + ": prompt token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(config.vocab_size));
    models::DecodeSpec spec;
    spec.max_new_tokens = o->max_new_tokens;
    // llama2.c ends a sequence at BOS; Hugging Face models run to max-new-tokens.
    if (llama2c) spec.stop_token = 1;
    spec.suppress_token = o->suppress_token;
    if (o->sample) {
      spec.mode = models::DecodeSpec::Mode::sample;
      spec.num_samples = o->num_samples;
      spec.sampling.temperature_end = o->temperature;
      spec.sampling.temperature_start = o->temperature_start >= 0 ? o->temperature_start : o->temperature;
      spec.sampling.temperature_steps = o->temperature_steps;
      spec.sampling.top_k = o->top_k;
      spec.sampling.top_p = o->top_p;
      spec.sampling.seed = o->seed;
    } else if (o->beam > 0) {
      spec.mode = models::DecodeSpec::Mode::beam;
      spec.beam_width = o->beam;
    }
    models::Engine engine(model);
    const auto results = engine.generate({prompt}, spec);
    for (const auto& r : results) {
      const auto& ids = r.tokens;
      if (results.size() > 1 && !o->print_ids) io.out << "### sample " << r.sample << "\n";
      if (o->print_ids) {
        for (size_t i = 0; i < ids.size(); ++i) io.out << (i ? " " : "") << ids[i];
        io.out << "\n";
      } else if (llama2c) {
        // As llama2.c prints: a piece right after BOS loses its leading space (BOS prints nothing).
        std::vector<int64_t> seq;
        if (prompt.back() == tokenizer->bos_id().value_or(1)) seq.push_back(prompt.back());
        seq.insert(seq.end(), ids.begin(), ids.end());
        io.out << tokenizer->decode(seq) << "\n";
      } else {
        io.out << tokenizer->decode(ids) << "\n";
      }
    }
    return 0;
  };
}

}  // namespace eidetic::harness
