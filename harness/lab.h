// harness/lab.h: the memorization lab as a model source: build the corpus with planted items,
// train a tokenizer and a model on it (or reuse them), and hand back the trained model (a
// Hugging Face folder), the attacks that question it and the facts the report needs.
//
// Everything lands in RUN_DIR/lab: corpus.txt and manifest.json (every planted item, its count
// and the offset of each copy), the item files the attacks read, checkpoints, and model/ (a
// Hugging Face folder: config.json, model.safetensors, tokenizer.json that transformers loads
// as is). A run that is resumed, or re-run with the same lab, arch, train, seed and trained
// tokenizer, reuses the trained model instead of training again (an interrupted training
// resumes from its checkpoint). The lab's attacks are ordinary attacks (discoverable, exposure,
// membership) run by the harness like any others.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/schema.h"

namespace eidetic::attacks {
struct Profile;
}

namespace eidetic::harness {

// The `lab`, `arch` and `train` sections of a run config, typed.
struct LabSection {
  std::string mode = "text";
  int64_t random_sequences = 1000, random_length = 65, random_vocab = 64;
  std::vector<int64_t> copies;
  int64_t items_per_count = 2;
  std::vector<std::string> kinds, background;
  int64_t tokenizer_vocab = 1024, prefix_tokens = 0;
  std::vector<int64_t> prefix_lens;
  int64_t exposure_max_exact = 1000, exposure_samples = 1000;
};
struct ArchSection {
  std::string family = "gpt_neox";
  int64_t hidden_size = 128, layers = 4, heads = 4, intermediate_size = 0, max_positions = 512;
};
struct TrainSection {
  double epochs = 8;
  int64_t steps = 0, batch_size = 16, seq_len = 128;
  double lr = 0.003;
  int64_t warmup_steps = 50;
  double weight_decay = 0.1, grad_clip = 1.0;
  int64_t checkpoint_every = 200;
  int64_t plateau_patience = 0;  // epochs without improvement that end training (0: train the epochs)
  double plateau_min_delta = 0.001;
};
struct LabPlan {
  LabSection lab;
  ArchSection arch;
  TrainSection train;
  nlohmann::json identity;  // the resolved sections whose hash names a trained model
};

// The schema of the three sections, and their decoding from a resolved config.
std::vector<Field> lab_schema_fields();
LabPlan decode_lab_plan(const nlohmann::json& resolved);

// One attack of a run: its id (its metric namespace), its name and its validated parameters.
struct AttackPlan {
  std::string id, name;
  nlohmann::json params;
};

struct LabModel {
  std::filesystem::path model_dir;
  std::vector<AttackPlan> attacks;
  nlohmann::json facts;  // parameters, bits of the model and the training set, training figures
};

LabModel prepare_lab(const LabPlan& plan, uint64_t seed, const std::filesystem::path& run_dir, const std::string& device,
                     std::ostream& err, bool quiet, attacks::Profile& profile);

// The lab's additions to a run's metrics: its facts, and the bits table (model, training set,
// planted texts memorized) from the membership attack's member_bits.
void add_lab_summary(const LabModel& lab, nlohmann::json& metrics);

}  // namespace eidetic::harness
