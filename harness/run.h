// harness/run.h: `eidetic run`: a config in, a run directory out.
//
// The run directory holds manifest.json (the resolved config and its hash, versions, device,
// seed, start and end times), results.jsonl (one record per item, crash-safe), metrics.json
// and metrics.csv (aggregates with confidence intervals, the throughput profile), report.md and
// report.html. --resume continues an interrupted run after its last complete batch; since every
// record depends only on the item and the seed, the final metrics equal an uninterrupted run's.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/plan.h"

namespace eidetic::harness {

struct RunOptions {
  std::filesystem::path config;
  std::vector<std::string> sets;
  std::optional<std::filesystem::path> out;
  bool resume = false;
  bool quiet = false;
  bool in_sweep = false;  // a point of a sweep (runs its config once, ignoring `sweep:`)
};

// Runs (or resumes) and returns the run directory. Progress goes to `err`. The loop: plan the
// config; (a lab: prepare its model and attacks); open the session; per attack, per batch of
// pending items: run, append, account; summarize every attack's records into metrics.json;
// write the reports. A sweep calls it once per point.
std::filesystem::path execute_run(const RunOptions& options, std::ostream& err);

// Writes `j` to `file` atomically (temporary file, fsync, rename).
void write_json_atomic(const std::filesystem::path& file, const nlohmann::json& j);

}  // namespace eidetic::harness
