// harness/run.cpp: see run.h.
#include "harness/run.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/file.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <ostream>
#include <set>

#include "attacks/attack.h"
#include "attacks/session.h"
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

namespace {

// One run per value of sweep.key (in DIR/point-N), then one report of the metric against it.
std::filesystem::path run_sweep(const RunPlan& plan, const RunOptions& options, std::ostream& err) {
  const auto wall0 = Clock::now();
  const std::string started = now_iso8601();
  const SweepPlan& sweep = *plan.sweep;
  const std::filesystem::path dir = options.out ? *options.out : plan.output;
  std::filesystem::create_directories(dir);
  const std::string& key = sweep.key;
  const std::string& metric_name = sweep.metric;
  json rows = json::array(), points = json::array(), ci = json::array(), metrics_list = json::array();
  json trained = json::array();  // one row per lab model: how far its training went
  std::vector<double> xs, ys;
  int64_t i = 0;
  for (const std::string& v : sweep.values) {
    RunOptions point = options;
    point.in_sweep = true;
    point.out = dir / ("point-" + std::to_string(i++));
    point.sets.push_back(key + "=" + v);
    if (!options.quiet) err << "sweep: " << key << " = " << v << "\n";
    const auto sub = execute_run(point, err);
    std::ifstream in(sub / "metrics.json");
    const json m = json::parse(in);
    const json* found = nullptr;
    for (const auto& x : m["metrics"])
      if (x["name"] == metric_name) found = &x;
    if (!found) throw Error((sub / "metrics.json").string() + ": no metric '" + metric_name + "' to sweep");
    double x = 0;
    if (sweep.x_is_parameters) {
      if (!m.contains("lab") || !m["lab"].contains("parameters"))
        throw Error((sub / "metrics.json").string() + ": sweep.x is parameters but the run trained no model");
      x = m["lab"]["parameters"].get<double>();
    } else {
      try {
        x = std::stod(v);
      } catch (const std::exception&) {
        throw Error("sweep.values: '" + v + "' is not a number to plot");
      }
    }
    const double y = (*found)["value"].get<double>();
    xs.push_back(x);
    ys.push_back(y);
    points.push_back({x, y});
    ci.push_back({found->value("ci_low", y), found->value("ci_high", y)});
    rows.push_back({v, x, y, found->value("ci_low", y), found->value("ci_high", y), sub.filename().string()});
    if (m.contains("lab") && m["lab"].contains("parameters")) {
      const json& f = m["lab"];
      trained.push_back({v, f.value("parameters", 0.0), f.value("training_set_bits", 0.0), f.value("epochs", 0.0),
                         f.contains("plateau") ? f["plateau"] : json("not asked"), f.value("final_loss", 0.0), y});
    }
    json mm = *found;
    mm["name"] = metric_name + " @ " + key + "=" + v;
    metrics_list.push_back(mm);
  }
  const std::string x_label = sweep.x_is_parameters ? "parameters of the trained model" : key;
  json plot = {{"id", "sweep"},
               {"title", metric_name + " against " + x_label},
               {"kind", "line"},
               {"x_label", x_label},
               {"y_label", metric_name},
               {"log_x", true},
               {"series", {{{"name", metric_name}, {"points", points}, {"ci", ci}}}}};
  const auto fit = metrics::loglinear_fit(xs, ys);
  if (fit.points >= 2) plot["fit"] = {{"kind", "loglinear"}, {"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}};
  json metrics = {{"run", {{"name", plan.name}, {"attack", "sweep of " + key}, {"model", plan.model.path}, {"items", rows.size()}}},
                  {"metrics", metrics_list},
                  {"tables", {{{"id", "sweep"}, {"title", "Sweep of " + key}, {"columns", {key, "x", metric_name, "ci_low", "ci_high", "run"}}, {"rows", rows}}}},
                  {"plots", {plot}},
                  {"fit", {{"slope", fit.slope}, {"intercept", fit.intercept}, {"r2", fit.r2}, {"points", fit.points}}},
                  {"profile", {{"phases", json::object()}, {"wall_seconds", std::chrono::duration<double>(Clock::now() - wall0).count()}}}};
  if (!trained.empty())
    metrics["tables"].push_back({{"id", "trained"},
                                 {"title", "The trained models: size, data, how far training went"},
                                 {"columns", {key, "parameters", "training set bits", "epochs", "plateau reached",
                                              "final loss (nats/token)", metric_name}},
                                 {"rows", trained}});
  write_json_atomic(dir / "metrics.json", metrics);
  const RuntimeInfo info = runtime_info();
  write_json_atomic(dir / "manifest.json", {{"eidetic_version", info.version}, {"git_commit", info.git_commit},
                                            {"torch_version", info.torch_version}, {"cuda_version", info.cuda_runtime},
                                            {"device", info.device_name}, {"config", plan.resolved}, {"config_hash", plan.hash},
                                            {"seed", plan.seed}, {"status", "complete"}, {"started_at", started},
                                            {"finished_at", now_iso8601()}});
  write_reports(dir);
  return dir;
}

// An exclusive lock on a run folder (flock on DIR/.lock), held while a run writes it: a second
// run into the same folder fails at once instead of interleaving its records.
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& dir) {
    const auto file = dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(file.string() + ": cannot create the run folder's lock");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(dir.string() + ": another eidetic run is writing this folder (wait for it, or choose another --out)");
    }
  }
  ~RunLock() { ::close(fd_); }  // closing releases the lock
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// A model (an architecture name gets random weights) with its engine and tokenizer.
attacks::OpenModel open_model(const std::string& path, const std::string& tokenizer, const at::Device& device,
                              at::ScalarType dtype, const models::EngineOptions& engine, uint64_t seed) {
  attacks::OpenModel m;
  m.path = resolve_model(path);
  const bool is_file = std::filesystem::exists(m.path);
  m.model = std::make_unique<models::Model>(is_file ? models::load_model(m.path, device, dtype)
                                                    : models::random_model(models::preset_config(path), device, dtype, seed));
  const int64_t vocab = m.model->config().vocab_size;
  if (!tokenizer.empty()) {
    m.tokenizer = tokenizer_for_model(m.path, std::filesystem::path(tokenizer), vocab);
  } else if (is_file) {
    try {
      m.tokenizer = tokenizer_for_model(m.path, std::nullopt, vocab);
    } catch (const Error&) {
      // No tokenizer beside the model: attacks that need text say so themselves.
    }
  }
  m.engine = std::make_unique<models::Engine>(*m.model, engine);
  return m;
}

// The session of a run: the target (and reference) model opened once, with the engine options.
std::unique_ptr<attacks::Session> open_session(const RunPlan& plan, const std::string& model_path,
                                               const std::string& device_name, const std::string& dtype_name,
                                               const std::filesystem::path& dir) {
  const at::Device device = models::parse_device(device_name);
  const at::ScalarType dtype = models::parse_dtype(dtype_name);
  models::EngineOptions eo;
  if (plan.engine.batch_size) eo.batch_size = *plan.engine.batch_size;
  eo.max_batch_size = plan.engine.max_batch_size;
  eo.cuda_graphs = plan.engine.cuda_graphs;
  attacks::OpenModel target = open_model(model_path, plan.model.tokenizer, device, dtype, eo, plan.seed);
  attacks::OpenModel reference;
  if (!plan.model.reference.empty()) {
    if (!std::filesystem::exists(plan.model.reference))
      throw Error("model.reference: " + plan.model.reference + " does not exist");
    reference = open_model(plan.model.reference, plan.model.reference_tokenizer, device, dtype, eo, plan.seed);
  }
  const models::Ceilings ceilings = plan.measure_ceilings ? models::measure_ceilings(device_name, dtype_name) : models::Ceilings{};
  return std::make_unique<attacks::Session>(std::move(target), std::move(reference), plan.engine.batch_size, ceilings,
                                            plan.seed, dir);
}

// One attack of the run, with the ids its items take in results.jsonl.
struct RunningAttack {
  AttackPlan plan;
  std::unique_ptr<attacks::Attack> attack;
  int64_t offset = 0, count = 0;
};

// Every attack's summary in one metrics.json: one attack's as it is; several, with each metric
// named ID/metric, their tables and plots together, each one's run facts under run.ID and its
// other keys (extraction_by_duplicates, ...) at the top level.
json summarize_all(const std::vector<RunningAttack>& running, const std::vector<json>& records, bool namespaced) {
  if (!namespaced) return running.front().attack->summarize(records);
  json out = {{"run", {{"items", records.size()}}}, {"metrics", json::array()}, {"tables", json::array()}, {"plots", json::array()}};
  for (const auto& x : running) {
    std::vector<json> mine;
    for (const auto& r : records)
      if (r.value("part", "") == x.plan.id) {
        json c = r;
        c["id"] = r.at("part_id");
        mine.push_back(std::move(c));
      }
    json s = x.attack->summarize(mine);
    for (auto& m : s.value("metrics", json::array())) {
      m["name"] = x.plan.id + "/" + m["name"].get<std::string>();
      out["metrics"].push_back(m);
    }
    // Tables and plots keep their ids (the report and the lab look them up by id); their
    // titles say which attack they belong to, as two attacks of one kind make the same ones.
    for (auto t : s.value("tables", json::array())) {
      if (t.contains("title") && t["title"].is_string()) t["title"] = x.plan.id + ": " + t["title"].get<std::string>();
      out["tables"].push_back(std::move(t));
    }
    for (auto pl : s.value("plots", json::array())) {
      if (pl.contains("title") && pl["title"].is_string()) pl["title"] = x.plan.id + ": " + pl["title"].get<std::string>();
      out["plots"].push_back(std::move(pl));
    }
    for (const auto& [k, v] : s.items())
      if (k != "metrics" && k != "tables" && k != "plots" && k != "run") out[k] = v;
    if (s.contains("run")) out["run"][x.plan.id] = s["run"];
  }
  return out;
}

}  // namespace

std::filesystem::path execute_run(const RunOptions& options, std::ostream& err) {
  const auto wall0 = Clock::now();
  const RunPlan plan = plan_run(options.config, options.sets);
  if (plan.sweep && !options.in_sweep) return run_sweep(plan, options, err);
  const std::filesystem::path dir = options.out ? *options.out : plan.output;
  const auto manifest_path = dir / "manifest.json";
  const auto results_path = dir / "results.jsonl";

  std::filesystem::create_directories(dir);
  const RunLock lock(dir);
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
    if (manifest.value("config_hash", "") != plan.hash)
      throw Error(dir.string() + ": the config differs from the one this run started with (hash " +
                  manifest.value("config_hash", "?") + ", now " + plan.hash + "); results would mix two experiments");
    manifest["resumed_at"].push_back(now_iso8601());
    manifest.erase("error");  // of an earlier attempt that failed
  } else {
    if (options.resume) throw Error(dir.string() + ": no run to resume here");
    manifest["started_at"] = now_iso8601();
  }
  // The manifest exists from the start (a lab's corpus and training come before any record), so
  // a run killed at any point can be resumed; it is completed once the model is open.
  manifest["config"] = plan.resolved;
  manifest["config_hash"] = plan.hash;
  manifest["seed"] = plan.seed;
  manifest["status"] = "running";
  manifest["finished_at"] = nullptr;
  write_json_atomic(manifest_path, manifest);

  try {
    const std::string device_name =
        plan.model.device == "auto" ? (at::hasCUDA() ? "cuda" : "cpu") : plan.model.device;
    std::string dtype_name = plan.model.dtype == "auto" ? (device_name == "cuda" ? "bf16" : "fp32") : plan.model.dtype;
    if (plan.model.dtype == "auto" && device_name == "cuda") {
      // A published protocol's own precision (the challenge baseline's fp16), when the run's
      // attacks that name one agree.
      std::set<std::string> named;
      for (const auto& a : plan.attacks) {
        const auto& info = attacks::find_attack(a.name);
        if (info.cuda_dtype)
          if (std::string d = info.cuda_dtype(a.params); !d.empty()) named.insert(d);
      }
      if (named.size() == 1) dtype_name = *named.begin();
    }

    // The model: the config's, or the one a lab trains (with the attacks that question it).
    attacks::Profile preparation;
    std::string model_path = plan.model.path;
    std::vector<AttackPlan> attack_plans = plan.attacks;
    std::optional<LabModel> lab;
    if (plan.lab) {
      lab = prepare_lab(*plan.lab, plan.seed, dir, device_name, err, options.quiet, preparation);
      model_path = lab->model_dir.string();
      attack_plans = lab->attacks;
    }
    auto t0 = Clock::now();
    const auto session = open_session(plan, model_path, device_name, dtype_name, dir);
    attacks::Profile& profile = session->profile();
    for (const auto& [phase, s] : preparation.seconds) profile.add(phase, s);
    profile.add("load", std::chrono::duration<double>(Clock::now() - t0).count());

    const RuntimeInfo info = runtime_info();
    manifest["eidetic_version"] = info.version;
    manifest["git_commit"] = info.git_commit;
    manifest["torch_version"] = info.torch_version;
    manifest["cuda_version"] = info.cuda_runtime;
    manifest["device"] = device_name == "cuda" ? info.device_name : "cpu";
    manifest["dtype"] = dtype_name;
    write_json_atomic(manifest_path, manifest);

    // The attacks, their items numbered one after another in results.jsonl.
    std::vector<RunningAttack> running;
    int64_t offset = 0;
    for (const AttackPlan& a : attack_plans) {
      RunningAttack x;
      x.plan = a;
      x.attack = attacks::find_attack(a.name).make(*session, a.params);
      x.offset = offset;
      x.count = x.attack->item_count();
      offset += x.count;
      running.push_back(std::move(x));
    }
    const int64_t total = offset;

    ResultStore store(results_path);
    if (store.repaired_bytes() > 0)
      err << "resume: cut an invalid tail (" << store.repaired_bytes() << " bytes) from " << results_path.string() << "\n";
    store.check_ids(total);
    const int64_t done_before = static_cast<int64_t>(store.done().size());
    if (options.resume && !options.quiet) err << "resume: " << done_before << " of " << total << " items already done\n";
    Progress progress(err, total, stderr_is_terminal(), options.quiet);
    int64_t done = done_before;
    progress.update(done, 0);
    for (auto& x : running) {
      std::vector<int64_t> pending;
      for (int64_t i = 0; i < x.count; ++i)
        if (!store.done().count(x.offset + i)) pending.push_back(i);
      const auto per_batch = static_cast<size_t>(std::max<int64_t>(1, x.attack->batch_items()));
      for (size_t start = 0; start < pending.size(); start += per_batch) {
        const std::vector<int64_t> items(pending.begin() + static_cast<std::ptrdiff_t>(start),
                                         pending.begin() + static_cast<std::ptrdiff_t>(std::min(pending.size(), start + per_batch)));
        auto records = x.attack->run_batch(items);
        if (plan.namespaced)
          for (auto& r : records) {
            r["part"] = x.plan.id;
            r["part_id"] = r.at("id");
            r["id"] = r.at("id").get<int64_t>() + x.offset;
          }
        crash_point("batch");
        t0 = Clock::now();
        store.append(records);
        profile.add("write", std::chrono::duration<double>(Clock::now() - t0).count());
        done += static_cast<int64_t>(items.size());
        progress.update(done, profile.generated_tokens);
      }
    }
    progress.finish();
    crash_point("records");

    // Aggregates over every record, the ones from before a resume included.
    json metrics = summarize_all(running, store.read_all(), plan.namespaced);
    if (lab) add_lab_summary(*lab, metrics);
    metrics["run"]["name"] = plan.name;
    metrics["run"]["model"] = model_path;
    metrics["run"]["attack"] = plan.lab ? std::string("lab") : plan.namespaced ? std::string("attacks") : running.front().plan.name;
    const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
    const double gen_s = profile.seconds["prefill"] + profile.seconds["decode"];
    json phases = json::object();
    for (const char* p : {"load", "train", "tokenize", "index", "prefill", "decode", "score", "match", "write"})
      if (profile.seconds.count(p) || (std::string(p) != "train" && std::string(p) != "index")) phases[p] = profile.seconds[p];
    metrics["profile"] = {
        {"phases", phases},
        {"wall_seconds", wall},
        {"generated_tokens", profile.generated_tokens},
        {"scored_tokens", profile.scored_tokens},
        {"tokens_per_s", gen_s > 0 ? static_cast<double>(profile.generated_tokens) / gen_s : 0.0},
        {"sequences_per_s", wall > 0 ? static_cast<double>(profile.sequences) / wall : 0.0},
        {"peak_gpu_memory_bytes", peak_gpu_bytes(session->model().device())},
        {"roofline_floor_seconds", profile.floor_seconds},
        {"roofline_percent", gen_s > 0 ? 100.0 * profile.floor_seconds / (gen_s + profile.seconds["score"]) : 0.0},
        {"copy_bytes_per_s", session->ceilings().bytes_per_second},
        {"matmul_flops_per_s", session->ceilings().flops_per_second},
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
