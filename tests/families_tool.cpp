// tests/families_tool.cpp: the family weight tables (models/families.h) for
// tests/models_families_oracle.py, which holds them to the checkpoints transformers writes.
//
// Usage:
//   eidetic_families_tool names CONFIG_JSON
//       Prints, as JSON, what the table of the config's family expects of a checkpoint with that
//       config.json: {"family": F, "table": [every entry's name, "{layer}" kept],
//       "tensors": {name: {"entry": the entry's name, "shape": [...]}}}.
//   eidetic_families_tool round-trip MODEL_DIR OUT_FILE
//       Loads the Hugging Face folder (float32, CPU) and writes Model::hf_state_dict to OUT_FILE
//       (safetensors): the table read in both directions.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "common/error.h"
#include "models/config.h"
#include "models/families.h"
#include "models/model.h"
#include "models/safetensors.h"

namespace {

namespace models = eidetic::models;

int names(const std::string& config_json) {
  const models::ModelConfig c = models::parse_hf_config(config_json);
  nlohmann::json out;
  out["family"] = models::family_name(c.family);
  out["table"] = nlohmann::json::array();
  for (const auto& spec : models::family_layout(c.family).weights) out["table"].push_back(spec.name);
  out["tensors"] = nlohmann::json::object();
  for (const auto& p : models::weight_plan(c, !c.tied_embeddings))
    out["tensors"][p.name] = {{"entry", p.spec->name}, {"shape", p.shape}};
  std::cout << out.dump(1) << "\n";
  return 0;
}

int round_trip(const std::string& dir, const std::string& out) {
  const models::Model m = models::load_model(dir, at::Device(at::kCPU), at::kFloat);
  models::write_safetensors(out, m.hf_state_dict());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "names" && argc == 3) return names(argv[2]);
    if (mode == "round-trip" && argc == 4) return round_trip(argv[2], argv[3]);
    std::cerr << "usage: eidetic_families_tool names CONFIG_JSON | round-trip MODEL_DIR OUT_FILE\n";
    return 2;
  } catch (const eidetic::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
