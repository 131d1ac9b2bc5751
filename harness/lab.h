// harness/lab.h: the memorization lab's preparation: build the corpus with planted items,
// train a tokenizer and a model on it (or reuse them), and describe the lab attack's parts.
//
// Everything lands in RUN_DIR/lab: corpus.txt and manifest.json (every planted item, its count
// and the offset of each copy), the item files the attacks read, checkpoints, and model/ (a
// Hugging Face folder: config.json, model.safetensors, tokenizer.json that transformers loads
// as is). A run that is resumed, or re-run with the same lab, arch, train and seed, reuses the
// trained model instead of training again (an interrupted training resumes from its checkpoint).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/schema.h"

namespace eidetic::attacks {
struct Profile;
}

namespace eidetic::harness {

// The `lab`, `arch` and `train` sections of a run config.
std::vector<Field> lab_schema_fields();

struct LabPrepared {
  std::filesystem::path model_dir;
  nlohmann::json attack;  // the resolved `attack` section for the lab attack
};

LabPrepared prepare_lab(const nlohmann::json& config, const std::filesystem::path& run_dir, const std::string& device,
                        std::ostream& err, bool quiet, attacks::Profile& profile);

}  // namespace eidetic::harness
