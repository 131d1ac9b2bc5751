// harness/plan.h: a config, validated into a typed RunPlan.
//
// `plan_run` reads a YAML config (with its `base:` chain and `--set` overrides), validates it
// against the run's schema (harness/plan.cpp) and each attack's ParamTable, and returns a
// RunPlan: typed sections for the model (and an optional reference model), the engine, the
// output, the sweep, the lab, and the list of attacks with their validated parameters. Nothing
// after this point reads the config tree; `resolved` is kept only to be written to the manifest
// and hashed (a run resumes only with the config it started with).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/config.h"
#include "harness/lab.h"

namespace eidetic::harness {

struct ModelPlan {
  std::string path;       // HF folder, llama2.c checkpoint, architecture name, or `lab`
  std::string tokenizer;  // empty: beside the model
  std::string reference;  // optional reference model (empty: none)
  std::string reference_tokenizer;
  std::string dtype = "auto", device = "auto";
};

struct EnginePlan {
  std::optional<int64_t> batch_size;  // none: auto from free memory
  int64_t max_batch_size = 1024;
  bool cuda_graphs = true;
};

struct SweepPlan {
  std::string key;
  std::vector<std::string> values;
  std::string metric;
  bool x_is_parameters = false;  // x: the trained model's parameters, not the swept value
};

struct RunPlan {
  std::string name;
  uint64_t seed = 0;
  std::filesystem::path output;
  ModelPlan model;
  EnginePlan engine;
  bool measure_ceilings = true;
  std::vector<AttackPlan> attacks;  // empty for a lab, whose attacks come with its model
  bool namespaced = false;          // metrics named ATTACK/metric (an `attacks:` list, or a lab)
  std::optional<LabPlan> lab;
  std::optional<SweepPlan> sweep;
  nlohmann::json resolved;  // the validated config, for the manifest
  std::string hash;         // config_hash(resolved)
};

// The schema of a run config (attack parameters are added per attack by attack_extension).
Field run_schema();
SchemaExtension attack_extension();

// Loads, merges, overrides and validates a config: the resolved config (`config show`).
nlohmann::json resolve_config(const std::filesystem::path& file, const std::vector<std::string>& sets);

RunPlan plan_run(const std::filesystem::path& file, const std::vector<std::string>& sets);

}  // namespace eidetic::harness
