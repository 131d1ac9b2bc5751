// harness/report_input.h: what reports read: a run directory's manifest.json and metrics.json
// (checked for the shape reports rely on), and the small readers and number formats that the
// run report and the run comparison share.
#pragma once

#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace eidetic::harness::report {

using json = nlohmann::json;

struct Run {
  std::filesystem::path dir, manifest_path, metrics_path;
  json manifest, metrics;  // metrics has a "metrics" array of objects with a string "name"
  std::string name, model, attack, device, commit;
  std::string label;  // the name shown for the run; made unique among compared runs
};

// Reads DIR/manifest.json and DIR/metrics.json. Throws eidetic::Error naming the file when one
// is missing, not JSON, or of the wrong shape (a metric without a name, a table without columns).
Run load_run(const std::filesystem::path& dir);

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string json_message(const std::exception& e);

// obj[key] when obj is an object holding a non-null key, else nullptr.
const json* member(const json& obj, const char* key);
// A JSON scalar as text: strings as they are, numbers through format_number, null as "".
std::string text_of(const json& v);
// text_of(obj[key]), "" when absent.
std::string str(const json& obj, const char* key);
// obj[key] when it is a number, else NaN.
double num(const json& obj, const char* key);

// A metric of metrics.json as the reports print it.
struct MetricText {
  std::string name, value, ci, n, description;  // ci: "[low, high]", "" without an interval
};
MetricText metric_text(const json& metric);

// "0abc123" for a commit hash, "0abc123-dirty" for a dirty one.
std::string short_commit(const std::string& commit);
// The last component of a model path ("/models/pythia-160m/" -> "pythia-160m").
std::string short_model(const std::string& model);
// The folder's own name, also for "runs/quickstart/".
std::string dir_name(const std::filesystem::path& dir);

}  // namespace eidetic::harness::report
