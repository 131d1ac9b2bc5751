// harness/plan.cpp: see plan.h.
#include "harness/plan.h"

#include <set>

#include "attacks/attack.h"
#include "common/error.h"

namespace eidetic::harness {
namespace {

using nlohmann::json;

Field map_field(std::string name, bool required, std::vector<Field> children, std::string help = "") {
  Field f = make_field(std::move(name), Field::Type::map, "", std::move(help), required);
  f.children = std::move(children);
  return f;
}

Field at_least(Field f, double minimum) {
  f.minimum = minimum;
  return f;
}

Field attack_name_field() {
  std::vector<std::string> names;
  for (const auto& a : attacks::attack_registry()) names.push_back(a.name);
  return make_field("name", Field::Type::string, "", "which attack", true, names);
}

}  // namespace

Field run_schema() {
  using T = Field::Type;
  Field attacks_list = map_field("attacks", false,
                                 {attack_name_field(),
                                  make_field("id", T::string, "", "the attack's metric namespace (default: its name)")},
                                 "several attacks in one run, each with its own parameters; metrics are named ID/metric");
  attacks_list.type = T::map_list;
  Field root = map_field("", true, {});
  root.children = {
      make_field("name", T::string, "", "a name for the run (default: the config file's name)"),
      at_least(make_field("seed", T::integer, "0", "fixes every random draw of the run"), 0),
      make_field("output", T::string, "", "run directory (default: runs/NAME)"),
      map_field("model", true,
                {make_field("path", T::string, "", "model folder, llama2.c checkpoint or architecture name", true),
                 make_field("tokenizer", T::string, "", "tokenizer (default: beside the model)"),
                 make_field("reference", T::string, "",
                            "a reference model for ratio scores (membership, sample-and-rank), opened like the target"),
                 make_field("reference_tokenizer", T::string, "", "the reference model's tokenizer (default: beside it)"),
                 make_field("dtype", T::string, "auto", "weights and compute", false, {"auto", "fp32", "fp16", "bf16"}),
                 make_field("device", T::string, "auto", "where to run", false, {"auto", "cpu", "cuda"})},
                "the target model"),
      map_field("attack", false, {attack_name_field()}, "the attack and its parameters (a lab config makes its own)"),
      attacks_list,
      map_field("engine", false,
                {at_least(make_field("batch_size", T::integer_or_auto, "auto", "rows per batch, or auto from free memory"), 1),
                 at_least(make_field("max_batch_size", T::integer, "1024", "upper bound for auto"), 1),
                 make_field("cuda_graphs", T::boolean, "true", "replay the decode step as a CUDA graph")}),
      map_field("profile", false,
                {make_field("measure_ceilings", T::boolean, "true", "measure copy bandwidth and matrix rate for the roofline")}),
  };
  for (auto& f : lab_schema_fields()) root.children.push_back(std::move(f));
  root.children.push_back(map_field(
      "sweep", false,
      {make_field("key", T::string, "", "the config key to vary, e.g. arch.hidden_size", true),
       make_field("values", T::string_list, "", "its values, one run each", true),
       make_field("metric", T::string, "", "the metric to plot against them, e.g. discoverable/exact_extraction_rate", true),
       make_field("x", T::string, "value", "the x axis: the swept value, or the trained model's parameters", false,
                  {"value", "parameters"})},
      "run the config once per value of one key and plot a metric against it"));
  return root;
}

SchemaExtension attack_extension() {
  return [](const std::string& path, const ConfigValue& map) -> std::vector<Field> {
    if (path != "attack" && path.rfind("attacks[", 0) != 0) return {};
    const ConfigValue* name = map.find("name");
    if (!name || name->kind != ConfigValue::Kind::scalar) return {};
    for (const auto& a : attacks::attack_registry())
      if (a.name == name->scalar) return a.params;
    return {};  // the name itself is then reported as not one of the choices
  };
}

json resolve_config(const std::filesystem::path& file, const std::vector<std::string>& sets) {
  const ConfigValue value = load_config(file, sets);
  json resolved = validate_config(value, run_schema(), attack_extension());
  const Location top{file.string(), 1, 1};
  if (!value.find("lab")) {
    // Without a lab, its sections (filled with defaults) mean nothing.
    for (const char* k : {"lab", "arch", "train"}) resolved.erase(k);
    const bool one = resolved.contains("attack"), many = resolved.contains("attacks");
    if (!one && !many)
      throw Error(top.str() + ": missing required key 'attack' (the attack and its parameters), or 'attacks' (a list)");
    if (one && many)
      throw Error(value.find("attacks")->location.str() + ": key 'attacks': give either 'attack' or 'attacks', not both");
    if (many) {
      if (resolved["attacks"].empty())
        throw Error(value.find("attacks")->location.str() + ": key 'attacks': the list is empty");
      std::set<std::string> ids;
      for (size_t i = 0; i < resolved["attacks"].size(); ++i) {
        json& a = resolved["attacks"][i];
        if (a.value("id", "").empty()) a["id"] = a["name"];
        if (!ids.insert(a["id"].get<std::string>()).second)
          throw Error(value.find("attacks")->items[i].location.str() + ": key 'attacks[" + std::to_string(i) + "].id': '" +
                      a["id"].get<std::string>() + "' is used twice; give each attack its own id");
      }
    }
  } else if (resolved.contains("attack") || resolved.contains("attacks")) {
    const char* key = resolved.contains("attack") ? "attack" : "attacks";
    throw Error(value.find(key)->location.str() + ": key '" + key + "': a lab config runs the lab's own attacks; remove it");
  } else if (resolved["model"]["path"] != "lab") {
    throw Error(value.find("model")->location.str() + ": key 'model.path': must be `lab` in a lab config (the model it trains)");
  }
  if (resolved.value("name", "").empty()) resolved["name"] = file.stem().string();
  if (resolved.value("output", "").empty()) resolved["output"] = "runs/" + resolved["name"].get<std::string>();
  return resolved;
}

RunPlan plan_run(const std::filesystem::path& file, const std::vector<std::string>& sets) {
  RunPlan p;
  p.resolved = resolve_config(file, sets);
  p.hash = config_hash(p.resolved);
  const json& r = p.resolved;
  p.name = r.at("name");
  p.seed = r.at("seed").get<uint64_t>();
  p.output = r.at("output").get<std::string>();
  const json& m = r.at("model");
  p.model.path = m.at("path");
  p.model.tokenizer = m.value("tokenizer", "");
  p.model.reference = m.value("reference", "");
  p.model.reference_tokenizer = m.value("reference_tokenizer", "");
  p.model.dtype = m.at("dtype");
  p.model.device = m.at("device");
  const json& e = r.at("engine");
  if (e.at("batch_size").is_number_integer()) p.engine.batch_size = e.at("batch_size").get<int64_t>();
  p.engine.max_batch_size = e.at("max_batch_size").get<int64_t>();
  p.engine.cuda_graphs = e.at("cuda_graphs").get<bool>();
  p.measure_ceilings = r.at("profile").at("measure_ceilings").get<bool>();
  auto attack_plan = [](const json& section, const std::string& id) {
    json params = section;
    params.erase("name");
    params.erase("id");
    return AttackPlan{id, section.at("name").get<std::string>(), params};
  };
  if (r.contains("lab")) {
    p.lab = decode_lab_plan(r);
    p.namespaced = true;
  } else if (r.contains("attack")) {
    p.attacks.push_back(attack_plan(r.at("attack"), r.at("attack").at("name")));
  } else {
    for (const auto& a : r.at("attacks")) p.attacks.push_back(attack_plan(a, a.at("id")));
    p.namespaced = true;
  }
  if (r.contains("sweep")) {
    const json& s = r.at("sweep");
    p.sweep = SweepPlan{s.at("key"), s.at("values").get<std::vector<std::string>>(), s.at("metric"), s.at("x") == "parameters"};
  }
  return p;
}

}  // namespace eidetic::harness
