// `eidetic bench`: throughput of generation and scoring against the device's own ceilings.
//
// For each model (a named architecture with random weights, or a checkpoint), dtype, batch
// size and prompt+generation shape, it times the engine (median of --repeats runs after a
// warm-up run) and prints generated tokens/s, sequences/s, the bytes/s the roofline says the
// work needs at that speed, the share of the roofline's floor reached, and peak device memory.
// The ceilings (copy bandwidth, matrix rate) are measured on the device first, in the same run.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "harness/commands.h"
#include "harness/model_files.h"
#include "harness/runtime_info.h"
#include "models/engine.h"
#include "models/model.h"
#include "models/presets.h"
#include "models/roofline.h"

#if EIDETIC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace eidetic::harness {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

int64_t to_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(s, &used);
    if (used == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw Error("bench: " + what + " '" + s + "' is not a positive integer");
}

void reset_peak(const at::Device& d) {
#if EIDETIC_WITH_CUDA
  if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index() < 0 ? 0 : d.index());
#endif
}

double peak_gib(const at::Device& d) {
#if EIDETIC_WITH_CUDA
  if (d.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index() < 0 ? 0 : d.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 30);
  }
#endif
  return 0.0;
}

template <typename F>
double median_seconds(int repeats, const at::Device& device, F&& f) {
  f();  // warm-up: allocations, cuBLAS handles, graph capture paths
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
#if EIDETIC_WITH_CUDA
    if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  struct Options {
    std::vector<std::string> models;
    std::string batch_sizes, shapes, dtypes;
    std::string device = "cpu";
    bool score = false;
    int64_t score_batch = 0, score_len = 100;
    bool no_graphs = false;
    int repeats = 3;
    std::string json;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure generation and scoring throughput against the device's roofline");
  cmd->add_option("--model", o->models, "architecture name (gpt2-124m, pythia-160m, pythia-410m, pythia-1.4b, test-tiny; random weights), installed model name (smollm2-135m) or checkpoint path (folder, .gguf, llama2.c .bin); repeatable");
  cmd->add_option("--batch-sizes", o->batch_sizes, "comma-separated batch sizes (default: 1024 on CUDA, 4 on CPU)");
  cmd->add_option("--shapes", o->shapes, "comma-separated PROMPT+NEW shapes (default: 32+32,50+50 on CUDA, 8+8 on CPU)");
  cmd->add_option("--dtype", o->dtypes, "comma-separated dtypes (default: bf16 on CUDA, fp32 on CPU)");
  cmd->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
  cmd->add_flag("--score", o->score, "also time teacher-forced scoring");
  cmd->add_option("--score-batch", o->score_batch, "sequences per scoring run (default: 256 on CUDA, 4 on CPU)");
  cmd->add_option("--score-len", o->score_len, "tokens per scored sequence")->capture_default_str();
  cmd->add_flag("--no-graphs", o->no_graphs, "decode eagerly instead of replaying CUDA graphs");
  cmd->add_option("--repeats", o->repeats, "timed runs per case (median reported)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--json", o->json, "also append one JSON object per case to this file");
  return [o](Io& io) {
    const at::Device device = models::parse_device(o->device);
    const bool cuda = device.is_cuda();
    if (o->models.empty()) o->models = cuda ? std::vector<std::string>{"pythia-160m"} : std::vector<std::string>{"test-tiny"};
    if (o->batch_sizes.empty()) o->batch_sizes = cuda ? "1024" : "4";
    if (o->shapes.empty()) o->shapes = cuda ? "32+32,50+50" : "8+8";
    if (o->dtypes.empty()) o->dtypes = cuda ? "bf16" : "fp32";
    if (o->score_batch == 0) o->score_batch = cuda ? 256 : 4;
    std::ofstream json;
    if (!o->json.empty()) {
      json.open(o->json, std::ios::app);
      if (!json) throw Error(o->json + ": cannot open for writing");
    }
    const RuntimeInfo info = runtime_info();
    io.out << fmt::format("eidetic {} ({}), torch {}\n", info.version, info.git_commit, info.torch_version);
    for (const std::string& dtype_name : split(o->dtypes, ',')) {
      const at::ScalarType dtype = models::parse_dtype(dtype_name);
      const models::Ceilings k = models::measure_ceilings(o->device, dtype_name);
      io.out << fmt::format("device: {}  copy {:.2f} TB/s  {} matmul {:.1f} TFLOP/s\n", k.device,
                            k.bytes_per_second / 1e12, cuda ? dtype_name : "fp32", k.flops_per_second / 1e12);
      io.out << fmt::format("{:<14} {:>5} {:>6} {:>7} {:>12} {:>10} {:>9} {:>8} {:>9}\n", "model", "dtype", "batch",
                            "shape", "tokens/s", "seq/s", "GB/s", "%floor", "peak GiB");
      for (const std::string& model_arg : o->models) {
        const std::string model_name = resolve_model(model_arg);
        const bool is_path = std::filesystem::exists(model_name);
        const models::Model model = is_path ? models::load_model(model_name, device, dtype)
                                            : models::random_model(models::preset_config(model_name), device, dtype, 0);
        const auto& c = model.config();
        const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
        auto report = [&](const std::string& kind, int64_t B, const std::string& shape, double tokens, double seconds,
                          const models::Floor& floor, double peak) {
          const double tps = tokens / seconds, sps = static_cast<double>(B) / seconds;
          const double gbs = floor.bytes / seconds / 1e9, pct = 100.0 * floor.seconds / seconds;
          io.out << fmt::format("{:<14} {:>5} {:>6} {:>7} {:>12.0f} {:>10.1f} {:>9.1f} {:>7.1f}% {:>9.2f}\n",
                                model_name.substr(0, 14), dtype_name, B, shape, tps, sps, gbs, pct, peak);
          io.out.flush();
          if (json.is_open()) {
            nlohmann::json j = {{"tool", "eidetic"}, {"kind", kind}, {"model", model_name}, {"dtype", dtype_name},
                                {"batch", B}, {"shape", shape}, {"tokens_per_s", tps}, {"sequences_per_s", sps},
                                {"seconds", seconds}, {"floor_seconds", floor.seconds}, {"floor_bytes", floor.bytes},
                                {"floor_flops", floor.flops}, {"achieved_gbps", gbs}, {"percent_of_floor", pct},
                                {"peak_gib", peak}, {"device", k.device}, {"copy_tbps", k.bytes_per_second / 1e12},
                                {"matmul_tflops", k.flops_per_second / 1e12}, {"graphs", !o->no_graphs},
                                {"commit", info.git_commit}};
            json << j.dump() << "\n";
            json.flush();
          }
        };
        for (const std::string& bs : split(o->batch_sizes, ',')) {
          const int64_t B = to_int(bs, "batch size");
          for (const std::string& shape : split(o->shapes, ',')) {
            const auto parts = split(shape, '+');
            if (parts.size() != 2) throw Error("bench: shape '" + shape + "' must look like PROMPT+NEW, e.g. 32+32");
            const int64_t P = to_int(parts[0], "prompt length"), N = to_int(parts[1], "generation length");
            at::manual_seed(1);
            const at::Tensor ids = at::randint(0, c.vocab_size, {B, P}, at::kLong);
            std::vector<std::vector<int64_t>> prompts(B);
            for (int64_t b = 0; b < B; ++b) prompts[b].assign(ids[b].const_data_ptr<int64_t>(), ids[b].const_data_ptr<int64_t>() + P);
            models::EngineOptions eo;
            eo.batch_size = B;
            eo.max_batch_size = B;
            eo.cuda_graphs = !o->no_graphs;
            models::Engine engine(model, eo);
            models::DecodeSpec spec;
            spec.max_new_tokens = N;
            reset_peak(device);
            const double t = median_seconds(o->repeats, device, [&] { engine.generate(prompts, spec); });
            report("generate", B, shape, static_cast<double>(B * N), t,
                   models::generation_floor(c, elem, B, P, N, k), peak_gib(device));
          }
        }
        if (o->score) {
          const int64_t B = o->score_batch, T = o->score_len;
          at::manual_seed(2);
          const at::Tensor ids = at::randint(0, c.vocab_size, {B, T}, at::kLong);
          std::vector<std::vector<int64_t>> seqs(B);
          for (int64_t b = 0; b < B; ++b) seqs[b].assign(ids[b].const_data_ptr<int64_t>(), ids[b].const_data_ptr<int64_t>() + T);
          models::EngineOptions eo;
          eo.batch_size = B;
          models::Engine engine(model, eo);
          reset_peak(device);
          const double t = median_seconds(o->repeats, device, [&] { engine.score(seqs); });
          report("score", B, "score" + std::to_string(T), static_cast<double>(B * T), t,
                 models::scoring_floor(c, elem, B, T, k), peak_gib(device));
        }
      }
    }
    return 0;
  };
}

}  // namespace eidetic::harness
