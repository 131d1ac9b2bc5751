// harness/run.cpp: see run.h.
#include "harness/run.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <ostream>

#include "attacks/attack.h"
#include "common/crash_point.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "harness/lab.h"
#include "harness/model_files.h"
#include "harness/progress.h"
#include "harness/report.h"
#include "harness/result_store.h"
#include "harness/runtime_info.h"
#include "models/engine.h"
#include "models/model.h"
#include "models/presets.h"
#include "metrics/stats.h"
#include "models/roofline.h"

#if EIDETIC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace eidetic::harness {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

Field map_field(std::string name, bool required, std::vector<Field> children, std::string help = "") {
  Field f;
  f.name = std::move(name);
  f.type = Field::Type::map;
  f.required = required;
  f.children = std::move(children);
  f.help = std::move(help);
  return f;
}

Field field(std::string name, Field::Type type, bool required, std::string def, std::string help,
            std::vector<std::string> choices = {}) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  f.default_yaml = std::move(def);
  f.help = std::move(help);
  f.choices = std::move(choices);
  return f;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

double peak_gpu_bytes(const at::Device& d) {
#if EIDETIC_WITH_CUDA
  if (d.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index() < 0 ? 0 : d.index());
    return static_cast<double>(stats.allocated_bytes[0].peak);
  }
#endif
  return 0.0;
}

}  // namespace

void write_json_atomic(const std::filesystem::path& file, const json& j) { write_file_atomic(file, j.dump(2) + "\n"); }

Field run_schema() {
  std::vector<std::string> attack_names;
  for (const auto& a : attacks::attack_registry()) attack_names.push_back(a.name);
  Field root = map_field("", true, {});
  root.children = {
      field("name", Field::Type::string, false, "", "a name for the run (default: the config file's name)"),
      field("seed", Field::Type::integer, false, "0", "fixes every random draw of the run"),
      field("output", Field::Type::string, false, "", "run directory (default: runs/NAME)"),
      map_field("model", true,
                {field("path", Field::Type::string, true, "", "model folder, llama2.c checkpoint or architecture name"),
                 field("tokenizer", Field::Type::string, false, "", "tokenizer (default: beside the model)"),
                 field("dtype", Field::Type::string, false, "auto", "weights and compute", {"auto", "fp32", "fp16", "bf16"}),
                 field("device", Field::Type::string, false, "auto", "where to run", {"auto", "cpu", "cuda"})},
                "the target model"),
      map_field("attack", false,
                {field("name", Field::Type::string, true, "", "which attack", attack_names)},
                "the attack and its parameters (a lab config makes its own)"),
      map_field("engine", false,
                {field("batch_size", Field::Type::integer_or_auto, false, "auto", "rows per batch, or auto from free memory"),
                 field("max_batch_size", Field::Type::integer, false, "1024", "upper bound for auto"),
                 field("cuda_graphs", Field::Type::boolean, false, "true", "replay the decode step as a CUDA graph")}),
      map_field("profile", false,
                {field("measure_ceilings", Field::Type::boolean, false, "true",
                       "measure copy bandwidth and matrix rate for the roofline")}),
  };
  for (auto& f : lab_schema_fields()) root.children.push_back(std::move(f));
  root.children.push_back(map_field(
      "sweep", false,
      {field("key", Field::Type::string, true, "", "the config key to vary, e.g. arch.hidden_size"),
       field("values", Field::Type::string_list, true, "", "its values, one run each"),
       field("metric", Field::Type::string, true, "", "the metric to plot against them, e.g. discoverable/exact_extraction_rate"),
       field("x", Field::Type::string, false, "value", "the x axis: the swept value, or the trained model's parameters",
             {"value", "parameters"})},
      "run the config once per value of one key and plot a metric against it"));
  return root;
}

SchemaExtension attack_extension() {
  return [](const std::string& path, const ConfigValue& map) -> std::vector<Field> {
    if (path != "attack") return {};
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
  if (!value.find("lab")) {
    // Without a lab, its sections (filled with defaults) mean nothing.
    for (const char* k : {"lab", "arch", "train"}) resolved.erase(k);
    if (!resolved.contains("attack"))
      throw Error(Location{file.string(), 1, 1}.str() + ": missing required key 'attack' (the attack and its parameters)");
  } else if (resolved.contains("attack")) {
    throw Error(value.find("attack")->location.str() + ": key 'attack': a lab config runs the lab's own attacks; remove it");
  } else if (resolved["model"]["path"] != "lab") {
    throw Error(value.find("model")->location.str() + ": key 'model.path': must be `lab` in a lab config (the model it trains)");
  }
  if (resolved.value("name", "").empty()) resolved["name"] = file.stem().string();
  if (resolved.value("output", "").empty()) resolved["output"] = "runs/" + resolved["name"].get<std::string>();
  return resolved;
}

namespace {

// One run per value of sweep.key (in DIR/point-N), then one report of the metric against it.
std::filesystem::path run_sweep(const json& config, const RunOptions& options, std::ostream& err) {
  const auto wall0 = Clock::now();
  const json& sweep = config["sweep"];
  const std::filesystem::path dir =
      options.out ? *options.out : std::filesystem::path(config["output"].get<std::string>());
  std::filesystem::create_directories(dir);
  const std::string key = sweep["key"], metric_name = sweep["metric"];
  json rows = json::array(), points = json::array(), ci = json::array(), metrics_list = json::array();
  std::vector<double> xs, ys;
  int64_t i = 0;
  for (const auto& v : sweep["values"]) {
    RunOptions point = options;
    point.in_sweep = true;
    point.out = dir / ("point-" + std::to_string(i++));
    point.sets.push_back(key + "=" + v.get<std::string>());
    if (!options.quiet) err << "sweep: " << key << " = " << v.get<std::string>() << "\n";
    const auto sub = execute_run(point, err);
    std::ifstream in(sub / "metrics.json");
    const json m = json::parse(in);
    const json* found = nullptr;
    for (const auto& x : m["metrics"])
      if (x["name"] == metric_name) found = &x;
    if (!found) throw Error((sub / "metrics.json").string() + ": no metric '" + metric_name + "' to sweep");
    double x = 0;
    if (sweep["x"] == "parameters") {
      if (!m.contains("lab") || !m["lab"].contains("parameters"))
        throw Error((sub / "metrics.json").string() + ": sweep.x is parameters but the run trained no model");
      x = m["lab"]["parameters"].get<double>();
    } else {
      try {
        x = std::stod(v.get<std::string>());
      } catch (const std::exception&) {
        throw Error("sweep.values: '" + v.get<std::string>() + "' is not a number to plot");
      }
    }
    const double y = (*found)["value"].get<double>();
    xs.push_back(x);
    ys.push_back(y);
    points.push_back({x, y});
    ci.push_back({found->value("ci_low", y), found->value("ci_high", y)});
    rows.push_back({v, x, y, found->value("ci_low", y), found->value("ci_high", y), sub.filename().string()});
    json mm = *found;
    mm["name"] = metric_name + " @ " + key + "=" + v.get<std::string>();
    metrics_list.push_back(mm);
  }
  const std::string x_label = sweep["x"] == "parameters" ? "parameters of the trained model" : key;
  json plot = {{"id", "sweep"},
               {"title", metric_name + " against " + x_label},
               {"kind", "line"},
               {"x_label", x_label},
               {"y_label", metric_name},
               {"log_x", true},
               {"series", {{{"name", metric_name}, {"points", points}, {"ci", ci}}}}};
  const auto fit = metrics::loglinear_fit(xs, ys);
  if (fit.points >= 2) plot["fit"] = {{"kind", "loglinear"}, {"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}};
  json metrics = {{"run", {{"name", config["name"]}, {"attack", "sweep of " + key}, {"model", config["model"]["path"]}, {"items", rows.size()}}},
                  {"metrics", metrics_list},
                  {"tables", {{{"id", "sweep"}, {"title", "Sweep of " + key}, {"columns", {key, "x", metric_name, "ci_low", "ci_high", "run"}}, {"rows", rows}}}},
                  {"plots", {plot}},
                  {"fit", {{"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}, {"points", fit.points}}},
                  {"profile", {{"phases", json::object()}, {"wall_seconds", std::chrono::duration<double>(Clock::now() - wall0).count()}}}};
  write_json_atomic(dir / "metrics.json", metrics);
  const RuntimeInfo info = runtime_info();
  write_json_atomic(dir / "manifest.json", {{"eidetic_version", info.version}, {"git_commit", info.git_commit},
                                            {"torch_version", info.torch_version}, {"cuda_version", info.cuda_runtime},
                                            {"device", info.device_name}, {"config", config}, {"config_hash", config_hash(config)},
                                            {"seed", config["seed"]}, {"status", "complete"}, {"started_at", nullptr},
                                            {"finished_at", now_iso8601()}});
  write_reports(dir);
  return dir;
}

}  // namespace

std::filesystem::path execute_run(const RunOptions& options, std::ostream& err) {
  const auto wall0 = Clock::now();
  const json config = resolve_config(options.config, options.sets);
  if (config.contains("sweep") && !options.in_sweep) return run_sweep(config, options, err);
  const std::string hash = config_hash(config);
  const std::filesystem::path dir = options.out ? *options.out : std::filesystem::path(config["output"].get<std::string>());
  const auto manifest_path = dir / "manifest.json";
  const auto results_path = dir / "results.jsonl";

  json manifest;
  if (std::filesystem::exists(manifest_path) || std::filesystem::exists(results_path)) {
    if (!options.resume)
      throw Error(dir.string() + ": already holds a run; pass --resume to continue it, or choose another --out");
    std::ifstream in(manifest_path);
    try {
      manifest = json::parse(in);
    } catch (const json::exception&) {
      throw Error(manifest_path.string() + ": missing or not valid JSON; cannot resume this run");
    }
    if (manifest.value("config_hash", "") != hash)
      throw Error(dir.string() + ": the config differs from the one this run started with (hash " +
                  manifest.value("config_hash", "?") + ", now " + hash + "); results would mix two experiments");
    manifest["resumed_at"].push_back(now_iso8601());
    manifest.erase("error");  // of an earlier attempt that failed
  } else {
    if (options.resume) throw Error(dir.string() + ": no run to resume here");
    std::filesystem::create_directories(dir);
    manifest["started_at"] = now_iso8601();
  }
  // The manifest exists from the start (a lab's corpus and training come before any record), so
  // a run killed at any point can be resumed; it is completed once the model is open.
  manifest["config"] = config;
  manifest["config_hash"] = hash;
  manifest["seed"] = config["seed"];
  manifest["status"] = "running";
  manifest["finished_at"] = nullptr;
  write_json_atomic(manifest_path, manifest);
  try {

    attacks::Profile profile;
    auto t0 = Clock::now();
    const std::string device_name = config["model"]["device"] == "auto" ? (at::hasCUDA() ? "cuda" : "cpu")
                                                                        : config["model"]["device"].get<std::string>();
    const at::Device device = models::parse_device(device_name);
    const std::string dtype_name = config["model"]["dtype"] == "auto" ? (device.is_cuda() ? "bf16" : "fp32")
                                                                      : config["model"]["dtype"].get<std::string>();
    std::string model_path = config["model"]["path"];
    json attack_config = config.contains("attack") ? config["attack"] : json();
    if (config.contains("lab")) {
      profile.add("load", std::chrono::duration<double>(Clock::now() - t0).count());
      const LabPrepared lab = prepare_lab(config, dir, device_name, err, options.quiet, profile);
      model_path = lab.model_dir.string();
      attack_config = lab.attack;
      t0 = Clock::now();
    }
    const bool is_file = std::filesystem::exists(model_path);
    const models::Model model = is_file ? models::load_model(model_path, device, models::parse_dtype(dtype_name))
                                        : models::random_model(models::preset_config(model_path), device,
                                                               models::parse_dtype(dtype_name), config["seed"].get<uint64_t>());
    std::unique_ptr<tok::Tokenizer> tokenizer;
    if (config["model"].contains("tokenizer")) {
      tokenizer = tokenizer_for_model(model_path, std::filesystem::path(config["model"]["tokenizer"].get<std::string>()),
                                      model.config().vocab_size);
    } else if (is_file) {
      try {
        tokenizer = tokenizer_for_model(model_path, std::nullopt, model.config().vocab_size);
      } catch (const Error&) {
        // No tokenizer beside the model: attacks that need text say so themselves.
      }
    }
    models::EngineOptions eo;
    const auto& ec = config["engine"];
    if (ec["batch_size"].is_number_integer()) eo.batch_size = ec["batch_size"].get<int64_t>();
    eo.max_batch_size = ec["max_batch_size"].get<int64_t>();
    eo.cuda_graphs = ec["cuda_graphs"].get<bool>();
    models::Engine engine(model, eo);
    profile.add("load", std::chrono::duration<double>(Clock::now() - t0).count());

    attacks::Context ctx;
    ctx.config = config;
    ctx.config["attack"] = attack_config;
    ctx.config["_vocab_size"] = model.config().vocab_size;
    ctx.model = const_cast<models::Model*>(&model);
    ctx.engine = &engine;
    ctx.tokenizer = tokenizer.get();
    ctx.profile = &profile;
    ctx.seed = config["seed"].get<uint64_t>();
    ctx.run_dir = dir.string();
    if (config["profile"]["measure_ceilings"].get<bool>()) ctx.ceilings = models::measure_ceilings(device_name, dtype_name);

    const RuntimeInfo info = runtime_info();
    manifest["eidetic_version"] = info.version;
    manifest["git_commit"] = info.git_commit;
    manifest["torch_version"] = info.torch_version;
    manifest["cuda_version"] = info.cuda_runtime;
    manifest["device"] = device.is_cuda() ? info.device_name : "cpu";
    manifest["dtype"] = dtype_name;
    manifest["config"] = config;
    manifest["config_hash"] = hash;
    manifest["seed"] = config["seed"];
    manifest["status"] = "running";
    manifest["finished_at"] = nullptr;
    write_json_atomic(manifest_path, manifest);

    auto attack = attacks::find_attack(attack_config["name"]).make(ctx);
    ResultStore store(results_path);
    if (store.repaired_bytes() > 0)
      err << "resume: cut a torn last line (" << store.repaired_bytes() << " bytes) from " << results_path.string() << "\n";
    const int64_t total = attack->item_count();
    std::vector<int64_t> pending;
    for (int64_t i = 0; i < total; ++i)
      if (!store.done().count(i)) pending.push_back(i);
    if (options.resume && !options.quiet)
      err << "resume: " << (total - static_cast<int64_t>(pending.size())) << " of " << total << " items already done\n";

    Progress progress(err, total, stderr_is_terminal(), options.quiet);
    const int64_t per_batch = std::max<int64_t>(1, attack->batch_items());
    progress.update(total - static_cast<int64_t>(pending.size()), 0);
    for (size_t start = 0; start < pending.size(); start += static_cast<size_t>(per_batch)) {
      const size_t end = std::min(pending.size(), start + static_cast<size_t>(per_batch));
      const std::vector<int64_t> items(pending.begin() + static_cast<std::ptrdiff_t>(start),
                                       pending.begin() + static_cast<std::ptrdiff_t>(end));
      const auto records = attack->run_batch(items);
      crash_point("batch");
      t0 = Clock::now();
      store.append(records);
      profile.add("write", std::chrono::duration<double>(Clock::now() - t0).count());
      progress.update(total - static_cast<int64_t>(pending.size() - end), profile.generated_tokens);
    }
    progress.finish();
    crash_point("records");

    // Aggregates over every record, the ones from before a resume included.
    json metrics = attack->summarize(store.read_all());
    metrics["run"]["name"] = config["name"];
    metrics["run"]["model"] = model_path;
    metrics["run"]["attack"] = attack_config["name"];
    const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
    const double gen_s = profile.seconds["prefill"] + profile.seconds["decode"];
    json phases = json::object();
    for (const char* p : {"load", "train", "tokenize", "prefill", "decode", "score", "match", "write"})
      if (profile.seconds.count(p) || std::string(p) != "train") phases[p] = profile.seconds[p];
    metrics["profile"] = {
        {"phases", phases},
        {"wall_seconds", wall},
        {"generated_tokens", profile.generated_tokens},
        {"scored_tokens", profile.scored_tokens},
        {"tokens_per_s", gen_s > 0 ? static_cast<double>(profile.generated_tokens) / gen_s : 0.0},
        {"sequences_per_s", wall > 0 ? static_cast<double>(profile.sequences) / wall : 0.0},
        {"peak_gpu_memory_bytes", peak_gpu_bytes(device)},
        {"roofline_floor_seconds", profile.floor_seconds},
        {"roofline_percent", gen_s > 0 ? 100.0 * profile.floor_seconds / (gen_s + profile.seconds["score"]) : 0.0},
        {"copy_bytes_per_s", ctx.ceilings.bytes_per_second},
        {"matmul_flops_per_s", ctx.ceilings.flops_per_second},
        {"device", manifest["device"]},
        {"resumed", options.resume}};
    write_json_atomic(dir / "metrics.json", metrics);
    std::string csv = "name,value,ci_low,ci_high,n\n";
    for (const auto& m : metrics["metrics"]) {
      auto num = [&](const char* k) { return m.contains(k) && !m[k].is_null() ? fmt::format("{}", m[k].get<double>()) : std::string(); };
      csv += csv_escape(m["name"].get<std::string>()) + "," + num("value") + "," + num("ci_low") + "," + num("ci_high") + "," +
             (m.contains("n") ? std::to_string(m["n"].get<int64_t>()) : std::string()) + "\n";
    }
    write_file_atomic(dir / "metrics.csv", csv);
    crash_point("report");
    manifest["status"] = "complete";
    manifest["finished_at"] = now_iso8601();
    write_json_atomic(manifest_path, manifest);
    write_reports(dir);
    return dir;
  } catch (const std::exception& e) {
    // A run that stops on an error says so in its manifest (a kill leaves "running", which
    // --resume continues); the records already written stay valid for a --resume.
    manifest["status"] = "failed";
    manifest["error"] = e.what();
    manifest["finished_at"] = now_iso8601();
    try {
      write_json_atomic(manifest_path, manifest);
    } catch (const std::exception&) {
      // The original error is the one to report.
    }
    throw;
  }
}

}  // namespace eidetic::harness
