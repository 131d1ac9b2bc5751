// harness/lab.cpp: see lab.h.
#include "harness/lab.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <ostream>

#include "attacks/attack.h"
#include "common/crash_point.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "corpus/lab.h"
#include "corpus/npy.h"
#include "kernels/rng.h"
#include "harness/config.h"
#include "harness/run.h"
#include "attacks/params.h"
#include "models/config.h"
#include "models/trainer.h"
#include "tokenizers/bpe_trainer.h"
#include "tokenizers/tokenizer.h"

namespace eidetic::harness {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;


Field section(std::string name, std::vector<Field> children, std::string help) {
  Field x;
  x.name = std::move(name);
  x.type = Field::Type::map;
  x.children = std::move(children);
  x.help = std::move(help);
  return x;
}

void write_lines(const std::filesystem::path& file, const std::vector<json>& lines) {
  AtomicFile out(file);
  for (const auto& l : lines) out.write(l.dump() + "\n");
  out.commit();
}

// One of the lab's attacks, its parameters checked and completed as a config's would be.
AttackPlan lab_attack(const std::string& name, const json& given) {
  return {name, name, apply_defaults(given, attacks::find_attack(name).params, "lab." + name)};
}


const attacks::ParamTable<LabSection>& lab_table() {
  using attacks::param;
  using P = LabSection;
  static const attacks::ParamTable<P> t = {
      param<P>("mode", &P::mode, "text",
               "text: planted items in English text; random: uniformly random token sequences (memorization capacity, "
               "Morris et al. 2025)",
               false, {"text", "random"}),
      param<P>("random_sequences", &P::random_sequences, "1000", "random mode: training sequences").at_least(1),
      param<P>("random_length", &P::random_length, "65", "random mode: tokens per sequence (train.seq_len + 1)").at_least(2),
      param<P>("random_vocab", &P::random_vocab, "64", "random mode: tokens are uniform over this many ids").at_least(2),
      param<P>("copies", &P::copies, "[1, 2, 4, 8, 16, 32, 64]", "the duplicate-count schedule").at_least(1),
      param<P>("items_per_count", &P::items_per_count, "2", "items of each kind per count").at_least(1),
      param<P>("kinds", &P::kinds, "[canary, record, passage]", "planted kinds"),
      param<P>("background", &P::background, "[]", "text files (empty: Debian's fortunes-min)"),
      param<P>("tokenizer_vocab", &P::tokenizer_vocab, "1024", "pieces of the byte-level BPE trained on the corpus").at_least(257),
      param<P>("prefix_tokens", &P::prefix_tokens, "0", "discoverable: prefix tokens given (0: the item's whole prefix)").at_least(0),
      param<P>("prefix_lens", &P::prefix_lens, "[]", "discoverable: sweep of prefix lengths (k tokens each; every item must have k)").at_least(0),
      param<P>("exposure_max_exact", &P::exposure_max_exact, "1000", "score every canary candidate up to this |R|").at_least(1),
      param<P>("exposure_samples", &P::exposure_samples, "1000", "candidates sampled beyond that").at_least(1)};
  return t;
}

const attacks::ParamTable<ArchSection>& arch_table() {
  using attacks::param;
  using P = ArchSection;
  static const attacks::ParamTable<P> t = {
      param<P>("family", &P::family, "gpt_neox", "architecture of the trained model", false, {"gpt_neox", "llama"}),
      param<P>("hidden_size", &P::hidden_size, "128", "width").at_least(1),
      param<P>("layers", &P::layers, "4", "depth").at_least(1),
      param<P>("heads", &P::heads, "4", "attention heads").at_least(1),
      param<P>("intermediate_size", &P::intermediate_size, "0",
               "MLP width (0: 4 x hidden for gpt_neox, 8/3 x hidden for llama)").at_least(0),
      param<P>("max_positions", &P::max_positions, "512", "context length").at_least(2)};
  return t;
}

const attacks::ParamTable<TrainSection>& train_table() {
  using attacks::param;
  using P = TrainSection;
  static const attacks::ParamTable<P> t = {
      param<P>("epochs", &P::epochs, "8", "passes over the corpus (steps follow from it unless steps > 0)").above(0),
      param<P>("steps", &P::steps, "0", "optimizer steps (0: from epochs)").at_least(0),
      param<P>("batch_size", &P::batch_size, "16", "sequences per step").at_least(1),
      param<P>("seq_len", &P::seq_len, "128", "tokens per sequence").at_least(1),
      param<P>("lr", &P::lr, "0.003", "peak learning rate").above(0),
      param<P>("warmup_steps", &P::warmup_steps, "50", "linear warm-up").at_least(0),
      param<P>("weight_decay", &P::weight_decay, "0.1", "AdamW weight decay").at_least(0),
      param<P>("grad_clip", &P::grad_clip, "1.0", "global gradient norm clip").at_least(0),
      param<P>("checkpoint_every", &P::checkpoint_every, "200", "steps between checkpoints").at_least(0),
      param<P>("plateau_patience", &P::plateau_patience, "0",
               "train to a plateau: stop when the loss has not improved for this many epochs, epochs being the cap "
               "(0: train all the epochs)")
          .at_least(0),
      param<P>("plateau_min_delta", &P::plateau_min_delta, "0.001",
               "loss improvement in nats per token that counts as improving (plateau_patience)")
          .at_least(0)};
  return t;
}

}  // namespace

std::vector<Field> lab_schema_fields() {
  return {section("lab", attacks::fields_of(lab_table()),
                  "the memorization lab: build a corpus with planted items and train a model on it"),
          section("arch", attacks::fields_of(arch_table()), "the model the lab trains"),
          section("train", attacks::fields_of(train_table()), "how the lab trains")};
}

LabPlan decode_lab_plan(const json& resolved) {
  LabPlan p;
  p.lab = attacks::decode_params(lab_table(), resolved.at("lab"));
  p.arch = attacks::decode_params(arch_table(), resolved.at("arch"));
  p.train = attacks::decode_params(train_table(), resolved.at("train"));
  json corpus_keys = resolved.at("lab");
  for (const char* k : {"prefix_tokens", "prefix_lens", "exposure_max_exact", "exposure_samples"}) corpus_keys.erase(k);
  p.identity = {{"lab", corpus_keys}, {"arch", resolved.at("arch")}, {"train", resolved.at("train")}};
  return p;
}

LabModel prepare_lab(const LabPlan& plan, uint64_t seed, const std::filesystem::path& run_dir, const std::string& device,
                     std::ostream& err, bool quiet, attacks::Profile& profile) {
  const LabSection& lab = plan.lab;
  const ArchSection& arch = plan.arch;
  const TrainSection& train = plan.train;
  const auto dir = run_dir / "lab";
  const auto model_dir = dir / "model";
  std::filesystem::create_directories(model_dir);

  auto t0 = Clock::now();
  const bool random_mode = lab.mode == "random";
  corpus::LabCorpus corpus;
  std::string tokenizer_json;
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::vector<int64_t> stream;
  std::vector<std::vector<int64_t>> random_train, random_fresh;
  int64_t vocab = 0;
  const int64_t eos = 0;  // "<|endoftext|>" is the first special token; in random mode id 0 is never drawn
  if (random_mode) {
    const int64_t n = lab.random_sequences, len = lab.random_length;
    const int64_t v = lab.random_vocab;
    if (n < 1 || len < 2 || v < 2) throw Error("lab: random_sequences >= 1, random_length >= 2 and random_vocab >= 2");
    vocab = v + 1;
    for (int64_t i = 0; i < 2 * n; ++i) {
      std::vector<int64_t> seq;
      for (int64_t j = 0; j < len; ++j)
        seq.push_back(1 + static_cast<int64_t>(kernels::random_bits(seed, 0xca9ac17, static_cast<uint64_t>(i), static_cast<uint64_t>(j)) %
                                               static_cast<uint64_t>(v)));
      (i < n ? random_train : random_fresh).push_back(std::move(seq));
    }
    for (const auto& seq : random_train) stream.insert(stream.end(), seq.begin(), seq.end());
  } else {
    corpus::LabOptions lo;
    lo.copies = lab.copies;
    lo.items_per_count = lab.items_per_count;
    lo.kinds = lab.kinds;
    lo.background.assign(lab.background.begin(), lab.background.end());
    lo.seed = seed;
    corpus = corpus::build_lab_corpus(lo);
    write_file_atomic(dir / "corpus.txt", corpus.text());
    write_json_atomic(dir / "manifest.json", corpus.manifest());
    crash_point("lab-corpus");
    tok::BpeTrainOptions bo;
    bo.vocab_size = lab.tokenizer_vocab;
    tokenizer_json = tok::train_byte_level_bpe(corpus.documents, bo);
    write_file_atomic(dir / "tokenizer.json", tokenizer_json);
    crash_point("lab-tokenizer");
    tokenizer = tok::load_tokenizer(dir / "tokenizer.json");
    vocab = tokenizer->vocab_size();
    for (const auto& d : corpus.documents) {
      const auto ids = tokenizer->encode(d);
      stream.insert(stream.end(), ids.begin(), ids.end());
      stream.push_back(eos);
    }
    profile.add("tokenize", std::chrono::duration<double>(Clock::now() - t0).count());
  }

  models::ModelConfig mc;
  mc.family = arch.family == "llama" ? models::Family::llama : models::Family::gpt_neox;
  mc.vocab_size = vocab;
  mc.hidden_size = arch.hidden_size;
  mc.num_layers = arch.layers;
  mc.num_heads = mc.num_kv_heads = arch.heads;
  mc.head_dim = mc.num_heads > 0 ? mc.hidden_size / mc.num_heads : 0;
  mc.max_positions = arch.max_positions;
  mc.bos_token_id = eos;
  mc.eos_token_id = eos;
  const int64_t inter = arch.intermediate_size;
  if (mc.family == models::Family::gpt_neox) {
    mc.intermediate_size = inter > 0 ? inter : 4 * mc.hidden_size;
    mc.activation = models::Activation::gelu_exact;
    mc.positions = models::PositionKind::rotary;
    mc.rotary_dim = std::max<int64_t>(2, (mc.head_dim / 4) / 2 * 2);
    mc.parallel_residual = true;
  } else {
    mc.intermediate_size = inter > 0 ? inter : (8 * mc.hidden_size / 3 + 7) / 8 * 8;
    mc.norm = models::Norm::rms_norm;
    mc.norm_eps = 1e-5;
    mc.activation = models::Activation::silu;
    mc.gated_mlp = true;
    mc.qkv_bias = mc.out_bias = mc.mlp_bias = false;
    mc.positions = models::PositionKind::rotary;
    mc.rotary_dim = mc.head_dim;
  }
  mc.validate("arch");

  models::TrainOptions to;
  to.batch_size = train.batch_size;
  to.seq_len = random_mode ? lab.random_length - 1 : train.seq_len;
  if (to.seq_len + 1 > mc.max_positions) throw Error("train.seq_len must be below arch.max_positions");
  const int64_t chunks = static_cast<int64_t>(stream.size()) / (to.seq_len + 1);
  to.steps = train.steps;
  if (to.steps <= 0)
    to.steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(train.epochs * chunks / to.batch_size)));
  to.lr = train.lr;
  to.warmup_steps = std::min<int64_t>(train.warmup_steps, to.steps / 2);
  to.weight_decay = train.weight_decay;
  to.grad_clip = train.grad_clip;
  to.seed = seed;
  to.device = device;
  to.checkpoint_every = train.checkpoint_every;
  to.checkpoint_dir = dir / "checkpoints";
  to.log_every = std::max<int64_t>(1, to.steps / 20);
  if (train.plateau_patience > 0) {  // judged once per epoch
    to.log_every = std::max<int64_t>(1, chunks / to.batch_size);
    to.plateau_patience = train.plateau_patience;
    to.plateau_min_delta = train.plateau_min_delta;
  }

  // The trained tokenizer is part of the identity: a model trained on another tokenization
  // (an older version of the BPE trainer, say) must not be reused.
  json identity = plan.identity;
  identity["seed"] = seed;
  identity["tokenizer"] = tokenizer_json;
  const std::string lab_hash = config_hash(identity);
  json trained_facts;
  const auto stamp = model_dir / "lab.json";
  bool reuse = false;
  if (std::filesystem::exists(stamp) && std::filesystem::exists(model_dir / "model.safetensors")) {
    std::ifstream in(stamp);
    try {
      trained_facts = json::parse(in);
      reuse = trained_facts.value("lab_hash", "") == lab_hash;
    } catch (const json::exception&) {
      reuse = false;
    }
  }
  if (!reuse) {
    t0 = Clock::now();
    if (!quiet)
      err << fmt::format("lab: training a {} of {} parameters on {} tokens ({}), {} steps of {} x {}\n",
                         models::family_name(mc.family), mc.parameter_count(), stream.size(),
                         random_mode ? std::to_string(random_train.size()) + " random sequences"
                                     : std::to_string(corpus.items.size() / 2) + " planted items",
                         to.steps, to.batch_size, to.seq_len);
    models::Model model = models::new_training_model(mc, to);
    const auto result = models::train_model(model, stream, to, [&](const models::TrainProgress& p) {
      if (!quiet)
        err << fmt::format("train: step {}/{}  loss {:.3f}  lr {:.2e}  {:.0f} tok/s  {:.0f}s\n", p.step, p.steps, p.loss,
                           p.lr, p.tokens_per_s, p.elapsed_s)
            << std::flush;
    });
    models::save_hf_model(model, model_dir, tokenizer_json);
    json curve = json::array();
    for (const auto& [s, l] : result.loss_curve) curve.push_back({s, l});
    trained_facts = {{"lab_hash", lab_hash},
                     {"parameters", mc.parameter_count()},
                     {"model_bits_fp32", static_cast<double>(mc.parameter_count()) * 32.0},
                     {"training_tokens", stream.size()},
                     {"training_set_bits", random_mode ? static_cast<double>(stream.size()) *
                                                            std::log2(static_cast<double>(lab.random_vocab))
                                                      : static_cast<double>(stream.size()) * std::log2(static_cast<double>(mc.vocab_size))},
                     {"training_text_bytes", random_mode ? 0 : corpus.text().size()},
                     {"steps", result.steps_done},
                     {"epochs", static_cast<double>(result.steps_done * to.batch_size) / std::max<int64_t>(chunks, 1)},
                     {"plateau", train.plateau_patience > 0 ? json(result.plateau) : json("not asked")},
                     {"final_loss", result.final_loss},
                     {"train_seconds", result.seconds},
                     {"train_tokens_per_s", result.tokens_per_s},
                     {"loss_curve", curve}};
    write_json_atomic(stamp, trained_facts);
    crash_point("lab-model");
    profile.add("train", std::chrono::duration<double>(Clock::now() - t0).count());
  } else if (!quiet) {
    err << "lab: reusing the model trained in " << model_dir.string() << "\n";
  }

  if (random_mode) {
    // Capacity: every training sequence is a member, fresh ones from the same distribution the
    // non-members; the memorized bits come from scoring the members.
    auto save = [&](const std::filesystem::path& file, const std::vector<std::vector<int64_t>>& rows) {
      std::vector<int64_t> flat;
      for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
      corpus::write_npy_i64(file, flat.data(), {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
    };
    save(dir / "members.npy", random_train);
    save(dir / "nonmembers.npy", random_fresh);
    LabModel out{model_dir, {}, trained_facts};
    out.attacks.push_back(lab_attack("membership", {{"members", {(dir / "members.npy").string()}},
                                                    {"nonmembers", {(dir / "nonmembers.npy").string()}},
                                                    {"code_vocab", lab.random_vocab}}));
    out.facts.erase("loss_curve");
    out.facts.erase("lab_hash");
    out.facts["random_sequences"] = random_train.size();
    out.facts["random_length"] = lab.random_length;
    out.facts["random_vocab"] = lab.random_vocab;
    return out;
  }

  // The parts' item files.
  std::vector<json> disc, members, nonmembers;
  json secrets = json::array(), duplicates = json::array();
  for (const auto& it : corpus.items) {
    auto full = tokenizer->encode(it.text());
    const auto pre = tokenizer->encode(it.prefix);
    const bool splits = pre.size() < full.size() && std::equal(pre.begin(), pre.end(), full.begin());
    if (it.copies > 0) members.push_back({{"text", it.text()}});
    else nonmembers.push_back({{"text", it.text()}});
    if (it.copies == 0) continue;
    if (it.kind == "canary") {
      std::string digits;
      for (char c : it.secret)
        if (c != ' ') digits += c;
      secrets.push_back(digits);
      duplicates.push_back(it.copies);
    } else if (splits) {
      disc.push_back({{"prefix", std::vector<int64_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(pre.size()))},
                      {"suffix", std::vector<int64_t>(full.begin() + static_cast<std::ptrdiff_t>(pre.size()), full.end())},
                      {"duplicates", it.copies},
                      {"source", it.kind + " " + std::to_string(it.id)}});
    }
  }
  write_lines(dir / "discoverable.jsonl", disc);
  write_lines(dir / "members.jsonl", members);
  write_lines(dir / "nonmembers.jsonl", nonmembers);

  LabModel out{model_dir, {}, trained_facts};
  if (!disc.empty())
    out.attacks.push_back(lab_attack("discoverable", {{"source", "jsonl"},
                                                      {"items", (dir / "discoverable.jsonl").string()},
                                                      {"prefix_len", lab.prefix_tokens},
                                                      {"prefix_lens", lab.prefix_lens}}));
  if (!secrets.empty())
    out.attacks.push_back(lab_attack("exposure", {{"secrets", secrets},
                                                  {"duplicates", duplicates},
                                                  {"max_exact", lab.exposure_max_exact},
                                                  {"estimate_samples", lab.exposure_samples}}));
  if (!members.empty() && !nonmembers.empty())
    out.attacks.push_back(lab_attack("membership", {{"members", {(dir / "members.jsonl").string()}},
                                                    {"nonmembers", {(dir / "nonmembers.jsonl").string()}}}));
  out.facts.erase("loss_curve");
  out.facts.erase("lab_hash");
  out.facts["planted_items"] = members.size();
  out.facts["never_planted_items"] = nonmembers.size();
  out.facts["copies"] = lab.copies;
  return out;
}

void add_lab_summary(const LabModel& lab, json& out) {
  out["lab"] = lab.facts;
  if (!out.contains("member_bits")) return;
  // The membership attack measured the bits of the planted (member) texts the model memorized.
  const double uniform = out["member_bits"]["uniform"].get<double>();
  const double memorized = out["member_bits"]["memorized"].get<double>();
  out["lab_memorized"] = {{"planted_text_bits_uniform", uniform}, {"planted_text_bits_memorized", memorized}};
  if (!lab.facts.contains("parameters")) return;
  // Sizes in bits, side by side: what the model could store, what it saw, what it kept.
  const json& facts = lab.facts;
  const double params = facts.at("parameters").get<double>();
  out["tables"].push_back(
      {{"id", "bits"},
       {"title", "Model, training set and memorized text, in bits"},
       {"columns", {"quantity", "bits", "per parameter"}},
       {"rows",
        {{"model size (parameters x 32-bit floats)", facts.value("model_bits_fp32", 0.0), 32.0},
         {"training set (tokens x log2 vocabulary)", facts.value("training_set_bits", 0.0),
          facts.value("training_set_bits", 0.0) / params},
         {"planted texts (tokens x log2 vocabulary)", uniform, uniform / params},
         {"planted texts memorized (uniform bits - model bits, > 0)", memorized, memorized / params}}}});
  out["metrics"].push_back({{"name", "memorized_bits_per_parameter"},
                            {"value", memorized / params},
                            {"n", static_cast<int64_t>(params)},
                            {"description", "bits of the planted texts the model memorized, per parameter (Morris et al. "
                                            "2025 measure ~3.6 bits per parameter at capacity)"}});
}

}  // namespace eidetic::harness
