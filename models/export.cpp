// models/export.cpp: the model's weights handed back out: as a parameter list for an optimizer,
// as a Hugging Face state dict (the family's table in models/families.h, read from internal to
// Hugging Face: build_model's inverse), and as a Hugging Face model folder that transformers
// loads as is. Lab-trained models leave Eidetic this way, so that other tools (and the oracle
// tests) can run exactly what was trained.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "models/families.h"
#include "models/model.h"
#include "models/safetensors.h"
#include "models/trainer.h"

namespace eidetic::models {

std::vector<at::Tensor> Model::parameters() const {
  std::vector<at::Tensor> out;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) out.push_back(t);
  };
  add(weights_.embed);
  add(weights_.position_embed);
  for (const auto& l : weights_.layers)
    for (const at::Tensor* t : {&l.norm1_weight, &l.norm1_bias, &l.qkv_weight, &l.qkv_bias, &l.out_weight,
                                &l.out_bias, &l.norm2_weight, &l.norm2_bias, &l.up_weight, &l.up_bias,
                                &l.down_weight, &l.down_bias})
      add(*t);
  add(weights_.final_norm_weight);
  add(weights_.final_norm_bias);
  if (weights_.lm_head.defined() && !weights_.lm_head.is_same(weights_.embed)) add(weights_.lm_head);
  return out;
}

std::map<std::string, at::Tensor> Model::hf_state_dict() const {
  std::map<std::string, at::Tensor> out;
  for (const PlannedWeight& p : weight_plan(config_, !weights_.lm_head.is_same(weights_.embed))) {
    const at::Tensor& t = slot_tensor(weights_, p.spec->slot, p.layer);
    if (!t.defined())
      throw Error(std::string("model has no ") + slot_name(p.spec->slot) + " for tensor '" + p.name + "'");
    const at::Tensor rows = p.parts > 1 ? t.detach().slice(0, p.row_begin, p.row_end) : t.detach();
    at::Tensor hf = to_hf(p.spec->transform, rows, config_).contiguous();
    if (!hf.sizes().equals(p.shape))
      throw Error(std::string("model's ") + slot_name(p.spec->slot) + " gives tensor '" + p.name + "' shape " +
                  c10::str(hf.sizes()) + ", config says " + c10::str(at::IntArrayRef(p.shape)));
    out[p.name] = std::move(hf);
  }
  return out;
}

void save_hf_model(const Model& model, const std::filesystem::path& dir, const std::string& tokenizer_json) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the model folder (" + ec.message() + ")");

  nlohmann::json config = nlohmann::json::parse(to_hf_config_json(model.config()));
  config["torch_dtype"] = "float32";
  config["dtype"] = "float32";  // the key's newer name
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [name, t] : model.hf_state_dict()) tensors[name] = t.to(at::kCPU, at::kFloat);
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");
  if (!tokenizer_json.empty()) write_file_atomic(dir / "tokenizer.json", tokenizer_json);
}

}  // namespace eidetic::models
