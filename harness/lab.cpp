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

}  // namespace

std::vector<Field> lab_schema_fields() {
  return {
      section("lab",
              {make_field("mode", Field::Type::string, "text", "text: planted items in English text; random: uniformly random "
                          "token sequences (memorization capacity, Morris et al. 2025)", false, {"text", "random"}),
               make_field("random_sequences", Field::Type::integer, "1000", "random mode: training sequences"),
               make_field("random_length", Field::Type::integer, "65", "random mode: tokens per sequence (train.seq_len + 1)"),
               make_field("random_vocab", Field::Type::integer, "64", "random mode: tokens are uniform over this many ids"),
               make_field("copies", Field::Type::integer_list, "[1, 2, 4, 8, 16, 32, 64]", "the duplicate-count schedule"),
               make_field("items_per_count", Field::Type::integer, "2", "items of each kind per count"),
               make_field("kinds", Field::Type::string_list, "[canary, record, passage]", "planted kinds"),
               make_field("background", Field::Type::string_list, "[]", "text files (empty: Debian's fortunes-min)"),
               make_field("tokenizer_vocab", Field::Type::integer, "1024", "pieces of the byte-level BPE trained on the corpus"),
               make_field("prefix_tokens", Field::Type::integer, "0", "discoverable: prefix tokens given (0: the item's whole prefix)"),
               make_field("prefix_lens", Field::Type::integer_list, "[]", "discoverable: sweep of prefix lengths (at most k tokens each)"),
               make_field("exposure_max_exact", Field::Type::integer, "1000", "score every canary candidate up to this |R|"),
               make_field("exposure_samples", Field::Type::integer, "1000", "candidates sampled beyond that")},
              "the memorization lab: build a corpus with planted items and train a model on it"),
      section("arch",
              {make_field("family", Field::Type::string, "gpt_neox", "architecture of the trained model", false, {"gpt_neox", "llama"}),
               make_field("hidden_size", Field::Type::integer, "128", "width"),
               make_field("layers", Field::Type::integer, "4", "depth"),
               make_field("heads", Field::Type::integer, "4", "attention heads"),
               make_field("intermediate_size", Field::Type::integer, "0", "MLP width (0: 4 x hidden for gpt_neox, 8/3 x hidden for llama)"),
               make_field("max_positions", Field::Type::integer, "512", "context length")},
              "the model the lab trains"),
      section("train",
              {make_field("epochs", Field::Type::number, "8", "passes over the corpus (steps follow from it unless steps > 0)"),
               make_field("steps", Field::Type::integer, "0", "optimizer steps (0: from epochs)"),
               make_field("batch_size", Field::Type::integer, "16", "sequences per step"),
               make_field("seq_len", Field::Type::integer, "128", "tokens per sequence"),
               make_field("lr", Field::Type::number, "0.003", "peak learning rate"),
               make_field("warmup_steps", Field::Type::integer, "50", "linear warm-up"),
               make_field("weight_decay", Field::Type::number, "0.1", "AdamW weight decay"),
               make_field("grad_clip", Field::Type::number, "1.0", "global gradient norm clip"),
               make_field("checkpoint_every", Field::Type::integer, "200", "steps between checkpoints")},
              "how the lab trains"),
  };
}

LabPrepared prepare_lab(const json& config, const std::filesystem::path& run_dir, const std::string& device,
                        std::ostream& err, bool quiet, attacks::Profile& profile) {
  const json& lab = config.at("lab");
  const json& arch = config.at("arch");
  const json& train = config.at("train");
  const auto dir = run_dir / "lab";
  const auto model_dir = dir / "model";
  std::filesystem::create_directories(model_dir);
  const uint64_t seed = config.at("seed").get<uint64_t>();

  auto t0 = Clock::now();
  const bool random_mode = lab.at("mode") == "random";
  corpus::LabCorpus corpus;
  std::string tokenizer_json;
  std::unique_ptr<tok::Tokenizer> tokenizer;
  std::vector<int64_t> stream;
  std::vector<std::vector<int64_t>> random_train, random_fresh;
  int64_t vocab = 0;
  const int64_t eos = 0;  // "<|endoftext|>" is the first special token; in random mode id 0 is never drawn
  if (random_mode) {
    const int64_t n = lab.at("random_sequences").get<int64_t>(), len = lab.at("random_length").get<int64_t>();
    const int64_t v = lab.at("random_vocab").get<int64_t>();
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
    lo.copies = lab.at("copies").get<std::vector<int64_t>>();
    lo.items_per_count = lab.at("items_per_count").get<int64_t>();
    lo.kinds = lab.at("kinds").get<std::vector<std::string>>();
    for (const auto& b : lab.at("background")) lo.background.emplace_back(b.get<std::string>());
    lo.seed = seed;
    corpus = corpus::build_lab_corpus(lo);
    write_file_atomic(dir / "corpus.txt", corpus.text());
    write_json_atomic(dir / "manifest.json", corpus.manifest());
    crash_point("lab-corpus");
    tok::BpeTrainOptions bo;
    bo.vocab_size = lab.at("tokenizer_vocab").get<int64_t>();
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
  mc.family = arch.at("family") == "llama" ? models::Family::llama : models::Family::gpt_neox;
  mc.vocab_size = vocab;
  mc.hidden_size = arch.at("hidden_size").get<int64_t>();
  mc.num_layers = arch.at("layers").get<int64_t>();
  mc.num_heads = mc.num_kv_heads = arch.at("heads").get<int64_t>();
  mc.head_dim = mc.num_heads > 0 ? mc.hidden_size / mc.num_heads : 0;
  mc.max_positions = arch.at("max_positions").get<int64_t>();
  mc.bos_token_id = eos;
  mc.eos_token_id = eos;
  int64_t inter = arch.at("intermediate_size").get<int64_t>();
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
  to.batch_size = train.at("batch_size").get<int64_t>();
  to.seq_len = random_mode ? lab.at("random_length").get<int64_t>() - 1 : train.at("seq_len").get<int64_t>();
  if (to.seq_len + 1 > mc.max_positions) throw Error("train.seq_len must be below arch.max_positions");
  const int64_t chunks = static_cast<int64_t>(stream.size()) / (to.seq_len + 1);
  to.steps = train.at("steps").get<int64_t>();
  if (to.steps <= 0)
    to.steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(train.at("epochs").get<double>() * chunks / to.batch_size)));
  to.lr = train.at("lr").get<double>();
  to.warmup_steps = std::min<int64_t>(train.at("warmup_steps").get<int64_t>(), to.steps / 2);
  to.weight_decay = train.at("weight_decay").get<double>();
  to.grad_clip = train.at("grad_clip").get<double>();
  to.seed = seed;
  to.device = device;
  to.checkpoint_every = train.at("checkpoint_every").get<int64_t>();
  to.checkpoint_dir = dir / "checkpoints";
  to.log_every = std::max<int64_t>(1, to.steps / 20);

  json corpus_keys = lab;
  for (const char* k : {"prefix_tokens", "prefix_lens", "exposure_max_exact", "exposure_samples"}) corpus_keys.erase(k);
  const std::string lab_hash = config_hash({{"lab", corpus_keys}, {"arch", arch}, {"train", train}, {"seed", seed}});
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
                                                            std::log2(static_cast<double>(lab.at("random_vocab").get<int64_t>()))
                                                      : static_cast<double>(stream.size()) * std::log2(static_cast<double>(mc.vocab_size))},
                     {"training_text_bytes", random_mode ? 0 : corpus.text().size()},
                     {"steps", to.steps},
                     {"epochs", static_cast<double>(to.steps * to.batch_size) / std::max<int64_t>(chunks, 1)},
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
    json attack = {{"name", "lab"}};
    attack["membership"] = apply_defaults({{"members", {(dir / "members.npy").string()}},
                                           {"nonmembers", {(dir / "nonmembers.npy").string()}}},
                                          attacks::find_attack("membership").params, "lab.membership");
    json facts = trained_facts;
    facts.erase("loss_curve");
    facts.erase("lab_hash");
    facts["random_sequences"] = random_train.size();
    facts["random_length"] = lab.at("random_length");
    facts["random_vocab"] = lab.at("random_vocab");
    attack["facts"] = facts;
    return {model_dir, attack};
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

  json attack = {{"name", "lab"}};
  auto fields_of = [](const std::string& name) { return attacks::find_attack(name).params; };
  if (!disc.empty())
    attack["discoverable"] = apply_defaults({{"source", "jsonl"},
                                             {"items", (dir / "discoverable.jsonl").string()},
                                             {"prefix_len", lab.at("prefix_tokens")},
                                             {"prefix_lens", lab.at("prefix_lens")}},
                                            fields_of("discoverable"), "lab.discoverable");
  if (!secrets.empty())
    attack["exposure"] = apply_defaults({{"secrets", secrets},
                                         {"duplicates", duplicates},
                                         {"max_exact", lab.at("exposure_max_exact")},
                                         {"estimate_samples", lab.at("exposure_samples")}},
                                        fields_of("exposure"), "lab.exposure");
  if (!members.empty() && !nonmembers.empty())
    attack["membership"] = apply_defaults({{"members", {(dir / "members.jsonl").string()}},
                                           {"nonmembers", {(dir / "nonmembers.jsonl").string()}}},
                                          fields_of("membership"), "lab.membership");
  json facts = trained_facts;
  facts.erase("loss_curve");
  facts.erase("lab_hash");
  facts["planted_items"] = members.size();
  facts["never_planted_items"] = nonmembers.size();
  facts["copies"] = lab.at("copies");
  attack["facts"] = facts;
  return {model_dir, attack};
}

}  // namespace eidetic::harness
