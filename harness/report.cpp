// harness/report.cpp: report.md, report.html and the side-by-side comparison of runs.
//
// Everything here reads the run directory's JSON files and writes text; nothing depends on the
// model or the device, so reports can be rebuilt anywhere from a copied run directory. Both
// reports carry the same content in the same order: run facts, metrics, tables, plots,
// throughput profile, a few result records, the resolved config.
#include "harness/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "eidetic/build_info.h"
#include "harness/svg_plot.h"

namespace eidetic::harness {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// ---- reading ----------------------------------------------------------------------------

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be opened for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; people need the rest.
std::string json_message(const std::exception& e) {
  std::string m = e.what();
  if (m.rfind("[json.exception.", 0) == 0) {
    const size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  return m;
}

json read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(path.string() + ": not found (a run directory written by `eidetic run` holds manifest.json and metrics.json)");
  try {
    json j = json::parse(read_text(path));
    if (!j.is_object()) throw Error(path.string() + ": expected a JSON object, found " + std::string(j.type_name()));
    return j;
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + json_message(e));
  }
}

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// A JSON scalar as text: strings as they are, numbers for people, null as "".
std::string text_of(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number()) return format_number(v.get<double>());
  return v.dump();
}

std::string str(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v ? text_of(*v) : std::string();
}

double num(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_number() ? v->get<double>() : std::nan("");
}

// A config entry that may be a string or an object naming a path or name.
std::string name_in_config(const json& config, const char* key) {
  const json* v = member(config, key);
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  for (const char* k : {"path", "name", "kind", "type"})
    if (const json* n = member(*v, k); n && n->is_string()) return n->get<std::string>();
  return "";
}

void check_metrics_schema(const json& m, const fs::path& path) {
  const std::string where = path.string() + ": ";
  const json* metrics = member(m, "metrics");
  if (!metrics || !metrics->is_array()) throw Error(where + "expected a \"metrics\" array");
  for (size_t i = 0; i < metrics->size(); ++i) {
    const json& e = (*metrics)[i];
    const std::string at = where + "metrics[" + std::to_string(i) + "]: ";
    if (!e.is_object()) throw Error(at + "expected an object");
    if (!member(e, "name") || !e["name"].is_string()) throw Error(at + "expected a string \"name\"");
    for (const char* k : {"value", "ci_low", "ci_high", "n"})
      if (const json* v = member(e, k); v && !v->is_number())
        throw Error(at + "\"" + k + "\" must be a number, found " + v->dump());
  }
  if (const json* tables = member(m, "tables")) {
    if (!tables->is_array()) throw Error(where + "\"tables\" must be an array");
    for (size_t i = 0; i < tables->size(); ++i) {
      const json& t = (*tables)[i];
      const std::string at = where + "tables[" + std::to_string(i) + "]: ";
      if (!t.is_object()) throw Error(at + "expected an object");
      const json* cols = member(t, "columns");
      if (!cols || !cols->is_array()) throw Error(at + "expected a \"columns\" array");
      const json* rows = member(t, "rows");
      if (rows && !rows->is_array()) throw Error(at + "\"rows\" must be an array of arrays");
      if (rows)
        for (size_t r = 0; r < rows->size(); ++r)
          if (!(*rows)[r].is_array()) throw Error(at + "rows[" + std::to_string(r) + "] must be an array");
    }
  }
  if (const json* plots = member(m, "plots")) {
    if (!plots->is_array()) throw Error(where + "\"plots\" must be an array");
    for (size_t i = 0; i < plots->size(); ++i)
      if (!(*plots)[i].is_object()) throw Error(where + "plots[" + std::to_string(i) + "]: expected an object");
  }
  if (const json* profile = member(m, "profile"); profile && !profile->is_object())
    throw Error(where + "\"profile\" must be an object");
  if (const json* run = member(m, "run"); run && !run->is_object()) throw Error(where + "\"run\" must be an object");
}

struct Run {
  fs::path dir, manifest_path, metrics_path;
  json manifest, metrics;
  std::string name, model, attack, device, commit, label;
};

std::string short_commit(const std::string& commit) {
  if (commit.empty()) return "";
  const bool dirty = commit.size() > 6 && commit.compare(commit.size() - 6, 6, "-dirty") == 0;
  const std::string base = dirty ? commit.substr(0, commit.size() - 6) : commit;
  return base.substr(0, std::min<size_t>(7, base.size())) + (dirty ? "-dirty" : "");
}

// The last component of a model path ("/models/pythia-160m/" -> "pythia-160m").
std::string short_model(const std::string& model) {
  std::string m = model;
  while (m.size() > 1 && (m.back() == '/' || m.back() == '\\')) m.pop_back();
  const size_t slash = m.find_last_of("/\\");
  return slash == std::string::npos ? m : m.substr(slash + 1);
}

// The folder's own name, also for "runs/quickstart/".
std::string dir_name(const fs::path& dir) {
  fs::path p = dir;
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

Run load_run(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": not a directory (expected a run directory written by `eidetic run`)");
  Run r;
  r.dir = dir;
  r.manifest_path = dir / "manifest.json";
  r.metrics_path = dir / "metrics.json";
  r.manifest = read_json_file(r.manifest_path);
  r.metrics = read_json_file(r.metrics_path);
  check_metrics_schema(r.metrics, r.metrics_path);
  const json empty = json::object();
  const json& run = member(r.metrics, "run") ? r.metrics["run"] : empty;
  const json& config = member(r.manifest, "config") ? r.manifest["config"] : empty;
  r.name = str(run, "name");
  if (r.name.empty()) r.name = str(config, "name");
  if (r.name.empty()) r.name = dir_name(dir);
  r.model = str(run, "model");
  if (r.model.empty()) r.model = name_in_config(config, "model");
  r.attack = str(run, "attack");
  if (r.attack.empty()) r.attack = name_in_config(config, "attack");
  r.device = str(r.manifest, "device");
  if (r.device.empty() && member(r.metrics, "profile")) r.device = str(r.metrics["profile"], "device");
  r.commit = str(r.manifest, "git_commit");
  r.label = r.name;
  return r;
}

// ---- times ------------------------------------------------------------------------------

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]".
std::optional<double> parse_iso8601(const std::string& s) {
  int y, mo, d, h, mi, sec, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6) return std::nullopt;
  size_t i = static_cast<size_t>(consumed);
  double frac = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    double scale = 0.1;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10) frac += (s[i] - '0') * scale;
  }
  double offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) < 1) return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
  }
  return static_cast<double>(days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) * 86400.0 + h * 3600.0 +
         mi * 60.0 + sec + frac - offset;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "";
  if (s < 60) return format_number(s, 3) + " s";
  const auto total = static_cast<int64_t>(std::llround(s));
  if (total < 3600) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} h {} min", total / 3600, (total % 3600) / 60);
}

std::string format_bytes(double b) {
  if (!std::isfinite(b)) return "";
  if (b < 1024) return format_number(b) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  int u = -1;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  return format_number(b, 3) + " " + units[u];
}

// ---- the content, independent of the output format ---------------------------------------

struct Fact {
  std::string label, value;
  bool code = false;  // an identifier: monospace
};

std::vector<Fact> run_facts(const Run& r) {
  const json& m = r.manifest;
  std::vector<Fact> f;
  auto add = [&](const std::string& label, const std::string& value, bool code = false) {
    if (!value.empty()) f.push_back({label, value, code});
  };
  add("Attack", r.attack);
  add("Model", r.model, true);
  if (const json* run = member(r.metrics, "run")) add("Items", str(*run, "items"));
  add("Status", str(m, "status"));
  add("Device", r.device);
  add("Data type", str(m, "dtype"));
  add("Seed", str(m, "seed"), true);
  add("Config hash", str(m, "config_hash"), true);
  const std::string started = str(m, "started_at"), finished = str(m, "finished_at");
  add("Started", started);
  std::string fin = finished;
  if (!finished.empty()) {
    const auto a = parse_iso8601(started), b = parse_iso8601(finished);
    if (a && b && *b >= *a) fin += " (" + format_duration(*b - *a) + " after the start)";
  }
  add("Finished", fin);
  if (const json* resumed = member(m, "resumed_at"); resumed && resumed->is_array() && !resumed->empty()) {
    std::string s;
    for (const auto& t : *resumed) s += (s.empty() ? "" : ", ") + text_of(t);
    add("Resumed", s);
  }
  std::string version = str(m, "eidetic_version");
  if (!r.commit.empty()) version += (version.empty() ? "commit " : ", commit ") + r.commit;
  add("Eidetic", version);
  std::string torch = str(m, "torch_version");
  const std::string cuda = str(m, "cuda_version");
  if (!cuda.empty()) torch += (torch.empty() ? "CUDA " : ", CUDA ") + cuda;
  add("Torch", torch);
  return f;
}

struct MetricRow {
  std::string name, value, ci, n, description;
};

std::vector<MetricRow> metric_rows(const Run& r) {
  std::vector<MetricRow> rows;
  for (const auto& m : r.metrics["metrics"]) {
    MetricRow row;
    row.name = m["name"].get<std::string>();
    row.value = member(m, "value") ? format_number(m["value"].get<double>()) : "";
    const double lo = num(m, "ci_low"), hi = num(m, "ci_high");
    if (std::isfinite(lo) || std::isfinite(hi))
      row.ci = "[" + format_number(lo) + ", " + format_number(hi) + "]";
    row.n = str(m, "n");
    row.description = str(m, "description");
    rows.push_back(row);
  }
  return rows;
}

// "0.12 [0.1, 0.14]": a metric's value with its interval, for the comparison.
std::string metric_cell(const json& m) {
  std::string s = member(m, "value") ? format_number(m["value"].get<double>()) : "";
  const double lo = num(m, "ci_low"), hi = num(m, "ci_high");
  if (std::isfinite(lo) || std::isfinite(hi)) s += (s.empty() ? "" : " ") + ("[" + format_number(lo) + ", " + format_number(hi) + "]");
  return s;
}

struct PhaseRow {
  std::string name, seconds, share;
};

struct ProfileView {
  std::vector<PhaseRow> phases;
  std::vector<Fact> facts;
  json bar;  // the phase plot spec; null without phases
};

ProfileView profile_view(const json& profile) {
  ProfileView v;
  const json bar = profile_phase_plot(profile);
  const json& points = bar["series"][0]["points"];
  double total = num(profile, "wall_seconds");
  if (!(total > 0)) {
    total = 0;
    for (const auto& p : points)
      if (p[1].is_number()) total += p[1].get<double>();
  }
  for (const auto& p : points) {
    const double s = p[1].is_number() ? p[1].get<double>() : std::nan("");
    v.phases.push_back({p[0].get<std::string>(), format_number(s, 3),
                        total > 0 && std::isfinite(s) ? format_number(100.0 * s / total, 3) + " %" : ""});
  }
  if (!points.empty()) v.bar = bar;
  auto add = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) v.facts.push_back({label, value, false});
  };
  auto number = [&](const char* key, int sig = 4) {
    const double x = num(profile, key);
    return std::isfinite(x) ? format_number(x, sig) : std::string();
  };
  const double wall = num(profile, "wall_seconds");
  add("Wall time", std::isfinite(wall) ? format_number(wall, 4) + " s" : "");
  add("Generated tokens", number("generated_tokens"));
  add("Scored tokens", number("scored_tokens"));
  add("Tokens/s (generation)", number("tokens_per_s"));
  add("Sequences/s", number("sequences_per_s"));
  const double peak = num(profile, "peak_gpu_memory_bytes");
  if (std::isfinite(peak) && peak > 0) add("Peak GPU memory", format_bytes(peak));
  // A floor of 0 means the device's ceilings were not measured (profile.measure_ceilings off).
  const double floor_s = num(profile, "roofline_floor_seconds");
  const double pct = num(profile, "roofline_percent");
  if (floor_s == 0) {
    add("Roofline", "not measured");
  } else {
    add("Roofline floor", std::isfinite(floor_s) ? format_number(floor_s, 3) + " s" : "");
    add("Share of roofline reached", std::isfinite(pct) ? format_number(pct, 3) + " %" : "");
  }
  const double bw = num(profile, "copy_bytes_per_s");
  if (std::isfinite(bw) && bw > 0) add("Measured copy bandwidth", format_number(bw / 1e9, 4) + " GB/s");
  const double flops = num(profile, "matmul_flops_per_s");
  if (std::isfinite(flops) && flops > 0) add("Measured matrix rate", format_number(flops / 1e12, 4) + " TFLOP/s");
  add("Device", str(profile, "device"));
  return v;
}

struct PlotView {
  std::string id, title, kind, axes, fit;
  struct SeriesView {
    std::string name;
    std::vector<std::array<std::string, 3>> points;  // x, y, "[low, high]" or ""
  };
  std::vector<SeriesView> series;
  size_t total_points = 0;
};

std::string fit_text(const json& fit) {
  if (!fit.is_object()) return "";
  const std::string kind = str(fit, "kind");
  const double slope = num(fit, "slope"), intercept = num(fit, "intercept"), r2 = num(fit, "r2");
  if (!std::isfinite(slope) || !std::isfinite(intercept)) return "";
  std::string s;
  const std::string sign = slope < 0 ? " \u2212 " : " + ";
  if (kind == "loglinear")
    s = "log-linear fit: y = " + format_number(intercept, 3) + sign + format_number(std::abs(slope), 3) +
        "\u00b7ln(x); slope " + format_number(slope, 3) + " per e-fold of x";
  else if (kind == "linear")
    s = "linear fit: y = " + format_number(intercept, 3) + sign + format_number(std::abs(slope), 3) + "\u00b7x; slope " +
        format_number(slope, 3);
  else
    s = kind + " fit: slope " + format_number(slope, 3) + ", intercept " + format_number(intercept, 3);
  if (std::isfinite(r2)) s += ", R\u00b2 = " + format_number(r2, 3);
  return s;
}

PlotView plot_view(const json& plot) {
  PlotView v;
  v.id = str(plot, "id");
  v.title = str(plot, "title");
  if (v.title.empty()) v.title = v.id;
  v.kind = str(plot, "kind");
  if (v.kind.empty()) v.kind = "line";
  const auto is_true = [&](const char* k) { const json* b = member(plot, k); return b && b->is_boolean() && b->get<bool>(); };
  std::string x = str(plot, "x_label"), y = str(plot, "y_label");
  if (v.kind != "roc" && is_true("log_x")) x += x.empty() ? "log scale" : " (log scale)";
  if (v.kind != "roc" && is_true("log_y")) y += y.empty() ? "log scale" : " (log scale)";
  if (!x.empty() || !y.empty())
    v.axes = (x.empty() ? "" : "x: " + x) + (x.empty() || y.empty() ? "" : "; ") + (y.empty() ? "" : "y: " + y);
  if (const json* fit = member(plot, "fit")) v.fit = fit_text(*fit);
  if (const json* series = member(plot, "series"); series && series->is_array()) {
    for (const auto& s : *series) {
      PlotView::SeriesView sv;
      sv.name = str(s, "name");
      const json* pts = member(s, "points");
      const json* ci = member(s, "ci");
      if (pts && pts->is_array()) {
        for (size_t k = 0; k < pts->size(); ++k) {
          const json& p = (*pts)[k];
          std::array<std::string, 3> row;
          row[0] = p.is_array() && p.size() > 0 ? text_of(p[0]) : "";
          row[1] = p.is_array() && p.size() > 1 ? text_of(p[1]) : "";
          if (row[1].empty()) row[1] = "NaN";
          if (ci && ci->is_array() && k < ci->size() && (*ci)[k].is_array() && (*ci)[k].size() == 2)
            row[2] = "[" + text_of((*ci)[k][0]) + ", " + text_of((*ci)[k][1]) + "]";
          sv.points.push_back(row);
        }
      }
      v.total_points += sv.points.size();
      v.series.push_back(std::move(sv));
    }
  }
  return v;
}

struct ResultsSample {
  size_t count = 0;
  std::vector<std::string> first;
};

// UTF-8-safe truncation to about `max_bytes`.
std::string truncate_utf8(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + " \u2026";
}

std::optional<ResultsSample> results_sample(const fs::path& dir, size_t keep = 3) {
  std::ifstream in(dir / "results.jsonl", std::ios::binary);
  if (!in) return std::nullopt;
  ResultsSample r;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++r.count;
    if (r.first.size() < keep) r.first.push_back(truncate_utf8(line, 600));
  }
  return r;
}

// ---- Markdown ---------------------------------------------------------------------------

// Free text inside Markdown: characters with a meaning escaped, one line.
std::string md(const std::string& s) {
  std::string out;
  const auto alnum = [&](size_t i) { return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i])); };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '_':  // emphasis only at word boundaries: snake_case stays as it is
        if (!(i > 0 && alnum(i - 1) && alnum(i + 1))) out += '\\';
        out += c;
        break;
      case '\\': case '|': case '*': case '`':
        out += '\\';
        out += c;
        break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

// An identifier in a code span (usable inside a table cell).
std::string md_code(const std::string& s) {
  if (s.empty()) return "";
  size_t longest = 0, run = 0;
  for (char c : s) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
  const std::string fence(longest + 1, '`');
  std::string body;
  for (char c : s) body += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  const bool pad = body.front() == '`' || body.back() == '`';
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

std::string code_fence_for(const std::string& body) {
  size_t longest = 0, run = 0;
  for (char c : body) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

bool is_number_cell(const json& v) { return v.is_number(); }

void md_table(std::string& o, const std::vector<std::string>& header, const std::vector<bool>& right,
              const std::vector<std::vector<std::string>>& rows) {
  o += "|";
  for (const auto& h : header) o += " " + h + " |";
  o += "\n|";
  for (size_t i = 0; i < header.size(); ++i) o += i < right.size() && right[i] ? " ---: |" : " --- |";
  o += "\n";
  for (const auto& r : rows) {
    o += "|";
    for (size_t i = 0; i < header.size(); ++i) o += " " + (i < r.size() ? r[i] : std::string()) + " |";
    o += "\n";
  }
}

constexpr size_t kMdPointsPerSeries = 20;

std::string render_markdown(const Run& r) {
  std::string o;
  o += "# Eidetic report: " + md(r.name) + "\n\n";
  if (!r.attack.empty() || !r.model.empty())
    o += "*" + md(r.attack.empty() ? "run" : r.attack) + (r.model.empty() ? "" : " attack on " + md(r.model)) + "*\n\n";
  const std::string status = str(r.manifest, "status");
  if (!status.empty() && status != "complete")
    o += "> **Status: " + md(status) + ".** This run had not finished when the report was written; its numbers may cover only part of it.\n\n";

  o += "## Run\n\n";
  std::vector<std::vector<std::string>> facts;
  for (const auto& f : run_facts(r)) facts.push_back({f.label, f.code ? md_code(f.value) : md(f.value)});
  md_table(o, {"Field", "Value"}, {}, facts);

  o += "\n## Metrics\n\n";
  const auto metrics = metric_rows(r);
  if (metrics.empty()) {
    o += "No metrics.\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : metrics) rows.push_back({md_code(m.name), m.value, m.ci, m.n, md(m.description)});
    md_table(o, {"Metric", "Value", "95% CI", "n", "Description"}, {false, true, true, true, false}, rows);
  }

  if (const json* tables = member(r.metrics, "tables"); tables && !tables->empty()) {
    o += "\n## Tables\n";
    for (const auto& t : *tables) {
      const std::string title = str(t, "title").empty() ? str(t, "id") : str(t, "title");
      o += "\n### " + md(title) + "\n\n";
      std::vector<std::string> header;
      for (const auto& c : t["columns"]) header.push_back(md(text_of(c)));
      std::vector<bool> right(header.size(), true);
      std::vector<std::vector<std::string>> rows;
      if (const json* rs = member(t, "rows")) {
        for (const auto& row : *rs) {
          std::vector<std::string> cells;
          for (size_t i = 0; i < row.size(); ++i) {
            cells.push_back(md(text_of(row[i])));
            if (i < right.size() && !row[i].is_null() && !is_number_cell(row[i])) right[i] = false;
          }
          if (cells.size() > header.size()) header.resize(cells.size()), right.resize(cells.size(), false);
          rows.push_back(std::move(cells));
        }
      }
      if (rows.empty()) std::fill(right.begin(), right.end(), false);
      md_table(o, header, right, rows);
    }
  }

  if (const json* plots = member(r.metrics, "plots"); plots && !plots->empty()) {
    o += "\n## Plots\n\nThe plots are drawn in report.html; their data:\n";
    for (const auto& p : *plots) {
      const PlotView v = plot_view(p);
      o += "\n### " + md(v.title) + "\n\n";
      o += "*" + md(v.kind) + " plot" + (v.axes.empty() ? "" : "; " + md(v.axes)) + "*";
      if (!v.fit.empty()) o += "  \n" + md(v.fit);
      o += "\n\n";
      if (v.series.empty()) o += "No series.\n";
      for (const auto& s : v.series) {
        o += "- **" + md(s.name) + "** (" + std::to_string(s.points.size()) + (s.points.size() == 1 ? " point)" : " points)");
        if (!s.points.empty()) o += ": ";
        const size_t shown = std::min(s.points.size(), kMdPointsPerSeries);
        for (size_t k = 0; k < shown; ++k) {
          const auto& q = s.points[k];
          if (k) o += "; ";
          o.append("(").append(md(q[0])).append(", ").append(md(q[1])).append(")");
          if (!q[2].empty()) o.append(" ").append(md(q[2]));
        }
        if (shown < s.points.size()) o += "; \u2026 " + std::to_string(s.points.size() - shown) + " more";
        o += "\n";
      }
    }
  }

  if (const json* profile = member(r.metrics, "profile")) {
    const ProfileView pv = profile_view(*profile);
    o += "\n## Performance\n\n";
    if (!pv.phases.empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& ph : pv.phases) rows.push_back({md(ph.name), ph.seconds, ph.share});
      md_table(o, {"Phase", "Seconds", "Share of wall time"}, {false, true, true}, rows);
      o += "\n";
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : pv.facts) rows.push_back({f.label, md(f.value)});
    if (!rows.empty()) md_table(o, {"Measure", "Value"}, {false, true}, rows);
  }

  if (const auto sample = results_sample(r.dir)) {
    o += "\n## Results\n\n" + std::to_string(sample->count) + " records in results.jsonl";
    if (!sample->first.empty()) {
      std::string body;
      for (const auto& line : sample->first) body += line + "\n";
      const std::string fence = code_fence_for(body);
      o += "; the first " + std::to_string(sample->first.size()) + ":\n\n" + fence + "json\n" + body + fence + "\n";
    } else {
      o += ".\n";
    }
  }

  if (const json* config = member(r.manifest, "config")) {
    const std::string body = config->dump(2);
    const std::string fence = code_fence_for(body);
    o += "\n## Config\n\nThe resolved config (hash " + md_code(str(r.manifest, "config_hash")) + "):\n\n" + fence + "json\n" +
         body + "\n" + fence + "\n";
  }
  o += "\n---\n*Written by Eidetic " + std::string(EIDETIC_VERSION) + " from manifest.json and metrics.json.*\n";
  return o;
}

// ---- HTML -------------------------------------------------------------------------------

constexpr const char* kCss = R"CSS(
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f9fafb; --accent: #0072b2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 2.5rem 1.5rem 3rem; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .3rem; letter-spacing: -.01em; }
h2 { font-size: 1.3rem; margin: 2.6rem 0 .9rem; padding-bottom: .35rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
p { margin: .5rem 0; }
.subtitle { color: var(--muted); margin: 0 0 1.6rem; font-size: 1.05rem; }
.banner { border-left: 4px solid #e69f00; background: #fff8e6; padding: .7rem 1rem; margin: 1rem 0; border-radius: 4px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
code { font-size: .88em; background: var(--soft); padding: .1em .3em; border-radius: 4px; }
pre { font-size: 13px; line-height: 1.5; background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: .9rem 1rem; overflow: auto; max-height: 36rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .93rem; font-variant-numeric: tabular-nums; margin: .4rem 0 1rem; }
th, td { padding: .4rem .8rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; white-space: nowrap; }
.desc { color: var(--muted); font-weight: 400; }
tbody tr:hover { background: #fcfcfd; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.5rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: .9rem; margin: 1.2rem 0 .5rem; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card .value { font-size: 1.7rem; font-weight: 600; font-variant-numeric: tabular-nums; line-height: 1.2; }
.card .ci { color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
.card .name { font-size: .85rem; color: var(--muted); margin-top: .3rem; overflow-wrap: anywhere; }
figure { margin: 1.4rem 0; padding: 1rem 1rem .8rem; border: 1px solid var(--line); border-radius: 8px; break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
details { margin-top: .5rem; font-size: .9rem; }
summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem; }
@media print { main { max-width: none; padding: 0; } pre { max-height: none; } summary { color: inherit; } }
)CSS";

std::string h(const std::string& s) { return xml_escape(s); }

void html_open(std::string& o, const std::string& title) {
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<meta name=\"generator\" content=\"Eidetic " + std::string(EIDETIC_VERSION) + "\">\n<title>" + h(title) +
       "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
}

void html_close(std::string& o, const std::string& footer) {
  o += "<footer>" + footer + "</footer>\n</main>\n</body>\n</html>\n";
}

void html_table(std::string& o, const std::vector<std::string>& header, const std::vector<bool>& right,
                const std::vector<std::vector<std::string>>& rows, const std::string& cls = "") {
  o += "<div class=\"table-wrap\"><table" + (cls.empty() ? "" : " class=\"" + cls + "\"") + ">\n<thead><tr>";
  for (size_t i = 0; i < header.size(); ++i)
    o += std::string(i < right.size() && right[i] ? "<th class=\"num\">" : "<th>") + header[i] + "</th>";
  o += "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    o += "<tr>";
    for (size_t i = 0; i < std::max(header.size(), r.size()); ++i)
      o += std::string(i < right.size() && right[i] ? "<td class=\"num\">" : "<td>") + (i < r.size() ? r[i] : "") + "</td>";
    o += "</tr>\n";
  }
  o += "</tbody></table></div>\n";
}

void html_facts(std::string& o, const std::vector<Fact>& facts) {
  o += "<dl class=\"facts\">\n";
  for (const auto& f : facts)
    o += "<dt>" + h(f.label) + "</dt><dd>" + (f.code ? "<code>" + h(f.value) + "</code>" : h(f.value)) + "</dd>\n";
  o += "</dl>\n";
}

std::string html_id(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
  return out;
}

constexpr size_t kHtmlPointsPerPlot = 500;

// One plot: the SVG, a caption, and its data behind a disclosure.
void html_plot(std::string& o, const json& spec, const std::string& svg_id, const std::string& where) {
  std::string svg;
  try {
    SvgOptions opt;
    opt.width = 880;  // the figure's width in the page's layout
    opt.xmlns = false;
    opt.id_prefix = svg_id;
    svg = render_svg_plot(spec, opt);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  } catch (const json::exception& e) {
    throw Error(where + ": " + json_message(e));
  }
  const PlotView v = plot_view(spec);
  o += "<figure class=\"plot\" id=\"plot-" + html_id(v.id) + "\">\n" + svg + "\n";
  if (!v.fit.empty()) o += "<figcaption>" + h(v.fit) + ".</figcaption>\n";
  if (v.total_points > 0) {
    o += "<details><summary>Data (" + std::to_string(v.total_points) + (v.total_points == 1 ? " point" : " points") +
         ")</summary>\n";
    bool any_ci = false;
    for (const auto& s : v.series)
      for (const auto& q : s.points) any_ci |= !q[2].empty();
    std::vector<std::vector<std::string>> rows;
    size_t shown = 0;
    for (const auto& s : v.series)
      for (const auto& q : s.points) {
        if (shown++ >= kHtmlPointsPerPlot) break;
        rows.push_back({h(s.name), h(q[0]), h(q[1])});
        if (any_ci) rows.back().push_back(h(q[2]));
      }
    std::vector<std::string> header{"Series", v.kind == "bar" ? "Category" : "x", v.kind == "bar" ? "Value" : "y"};
    if (any_ci) header.push_back("95% CI");
    html_table(o, header, {false, v.kind != "bar", true, true}, rows);
    if (v.total_points > kHtmlPointsPerPlot)
      o += "<p class=\"muted\">The first " + std::to_string(kHtmlPointsPerPlot) + " of " + std::to_string(v.total_points) +
           " points; metrics.json has them all.</p>\n";
    o += "</details>\n";
  }
  o += "</figure>\n";
}

std::string render_html(const Run& r) {
  std::string o;
  html_open(o, "Eidetic report: " + r.name);
  o += "<header>\n<h1>" + h(r.name) + "</h1>\n";
  o += "<p class=\"subtitle\">Eidetic report";
  if (!r.attack.empty()) o += " \u00b7 " + h(r.attack) + " attack";
  if (!r.model.empty()) o += " on <code>" + h(r.model) + "</code>";
  o += "</p>\n</header>\n";
  const std::string status = str(r.manifest, "status");
  if (!status.empty() && status != "complete")
    o += "<p class=\"banner\"><strong>Status: " + h(status) +
         ".</strong> This run had not finished when the report was written; its numbers may cover only part of it.</p>\n";

  const auto metrics = metric_rows(r);
  if (!metrics.empty()) {
    o += "<div class=\"cards\">\n";
    for (size_t i = 0; i < std::min<size_t>(4, metrics.size()); ++i) {
      const auto& m = metrics[i];
      o += "<div class=\"card\"><div class=\"value\">" + h(m.value.empty() ? "\u2014" : m.value) + "</div>";
      if (!m.ci.empty()) o += "<div class=\"ci\">95% CI " + h(m.ci) + "</div>";
      o += "<div class=\"name\">" + h(m.name) + "</div></div>\n";
    }
    o += "</div>\n";
  }

  o += "<section id=\"run\">\n<h2>Run</h2>\n";
  html_facts(o, run_facts(r));
  o += "</section>\n";

  o += "<section id=\"metrics\">\n<h2>Metrics</h2>\n";
  if (metrics.empty()) {
    o += "<p>No metrics.</p>\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : metrics)
      rows.push_back({"<code>" + h(m.name) + "</code>", h(m.value), h(m.ci), h(m.n), "<span class=\"desc\">" + h(m.description) + "</span>"});
    html_table(o, {"Metric", "Value", "95% CI", "n", "Description"}, {false, true, true, true, false}, rows, "metrics");
  }
  o += "</section>\n";

  if (const json* tables = member(r.metrics, "tables"); tables && !tables->empty()) {
    o += "<section id=\"tables\">\n<h2>Tables</h2>\n";
    for (const auto& t : *tables) {
      const std::string title = str(t, "title").empty() ? str(t, "id") : str(t, "title");
      o += "<h3 id=\"table-" + html_id(str(t, "id")) + "\">" + h(title) + "</h3>\n";
      std::vector<std::string> header;
      for (const auto& c : t["columns"]) header.push_back(h(text_of(c)));
      std::vector<bool> right(header.size(), true);
      std::vector<std::vector<std::string>> rows;
      if (const json* rs = member(t, "rows")) {
        for (const auto& row : *rs) {
          std::vector<std::string> cells;
          for (size_t i = 0; i < row.size(); ++i) {
            cells.push_back(h(text_of(row[i])));
            if (i < right.size() && !row[i].is_null() && !is_number_cell(row[i])) right[i] = false;
          }
          if (cells.size() > header.size()) header.resize(cells.size()), right.resize(cells.size(), false);
          rows.push_back(std::move(cells));
        }
      }
      if (rows.empty()) std::fill(right.begin(), right.end(), false);
      html_table(o, header, right, rows);
    }
    o += "</section>\n";
  }

  if (const json* plots = member(r.metrics, "plots"); plots && !plots->empty()) {
    o += "<section id=\"plots\">\n<h2>Plots</h2>\n";
    for (size_t i = 0; i < plots->size(); ++i) html_plot(o, (*plots)[i], "p" + std::to_string(i), r.metrics_path.string() + ": plots[" + std::to_string(i) + "]");
    o += "</section>\n";
  }

  if (const json* profile = member(r.metrics, "profile")) {
    const ProfileView pv = profile_view(*profile);
    o += "<section id=\"profile\">\n<h2>Performance</h2>\n";
    if (!pv.bar.is_null()) html_plot(o, pv.bar, "profile", r.metrics_path.string() + ": profile.phases");
    if (!pv.phases.empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& ph : pv.phases) rows.push_back({h(ph.name), h(ph.seconds), h(ph.share)});
      html_table(o, {"Phase", "Seconds", "Share of wall time"}, {false, true, true}, rows);
    }
    html_facts(o, pv.facts);
    o += "</section>\n";
  }

  if (const auto sample = results_sample(r.dir)) {
    o += "<section id=\"results\">\n<h2>Results</h2>\n<p>" + std::to_string(sample->count) +
         " records in <code>results.jsonl</code>";
    if (!sample->first.empty()) {
      o += "; the first " + std::to_string(sample->first.size()) + ":</p>\n<pre>";
      for (const auto& line : sample->first) o += h(line) + "\n";
      o += "</pre>\n";
    } else {
      o += ".</p>\n";
    }
    o += "</section>\n";
  }

  if (const json* config = member(r.manifest, "config")) {
    o += "<section id=\"config\">\n<h2>Config</h2>\n<p>The resolved config";
    const std::string hash = str(r.manifest, "config_hash");
    if (!hash.empty()) o += " (hash <code>" + h(hash) + "</code>)";
    o += ":</p>\n<pre>" + h(config->dump(2)) + "</pre>\n</section>\n";
  }
  html_close(o, "Written by Eidetic " + h(EIDETIC_VERSION) + " from <code>manifest.json</code> and <code>metrics.json</code>.");
  return o;
}


// ---- comparison -------------------------------------------------------------------------

struct Table {
  std::vector<std::vector<std::string>> header;  // per column: lines of the header
  struct Row {
    std::string label;
    std::vector<std::string> cells;
    bool section = false;
    bool metric = false;  // a metric's name (an identifier), not a descriptive label
  };
  std::vector<Row> rows;
};

Table comparison_table(const std::vector<Run>& runs) {
  Table t;
  t.header.push_back({"", "", ""});
  for (const auto& r : runs) t.header.push_back({r.label, short_commit(r.commit), short_model(r.model)});
  auto info_row = [&](const std::string& label, auto get) {
    Table::Row row{label, {}, false};
    bool any = false;
    for (const auto& r : runs) {
      row.cells.push_back(get(r));
      any |= !row.cells.back().empty();
    }
    if (any) t.rows.push_back(std::move(row));
  };
  t.rows.push_back({"run", {}, true});
  info_row("attack", [](const Run& r) { return r.attack; });
  info_row("device", [](const Run& r) { return r.device; });
  info_row("items", [](const Run& r) { const json* run = member(r.metrics, "run"); return run ? str(*run, "items") : ""; });

  t.rows.push_back({"metrics", {}, true});
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& r : runs)
    for (const auto& m : r.metrics["metrics"])
      if (seen.insert(m["name"].get<std::string>()).second) names.push_back(m["name"].get<std::string>());
  for (const auto& name : names) {
    Table::Row row{name, {}, false, true};
    for (const auto& r : runs) {
      std::string cell;
      for (const auto& m : r.metrics["metrics"])
        if (m["name"] == name) {
          cell = metric_cell(m);
          break;
        }
      row.cells.push_back(cell);
    }
    t.rows.push_back(std::move(row));
  }

  t.rows.push_back({"throughput", {}, true});
  auto profile_row = [&](const std::string& label, const char* key, int sig) {
    info_row(label, [&](const Run& r) {
      const json* p = member(r.metrics, "profile");
      const double v = p ? num(*p, key) : std::nan("");
      return std::isfinite(v) ? format_number(v, sig) : std::string();
    });
  };
  profile_row("tokens/s", "tokens_per_s", 4);
  profile_row("sequences/s", "sequences_per_s", 4);
  profile_row("wall time (s)", "wall_seconds", 4);
  info_row("% of roofline", [&](const Run& r) {
    const json* p = member(r.metrics, "profile");
    const double v = p ? num(*p, "roofline_percent") : std::nan("");
    if (p && num(*p, "roofline_floor_seconds") == 0) return std::string("not measured");
    return std::isfinite(v) ? format_number(v, 3) : std::string();
  });
  if (t.rows.back().section) t.rows.pop_back();
  return t;
}

std::string pad_to(const std::string& s, size_t width, bool right) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  const std::string fill(width > n ? width - n : 0, ' ');
  return right ? fill + s : s + fill;
}

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string compare_text(const Table& t) {
  const size_t cols = t.header.size();
  std::vector<size_t> width(cols, 0);
  for (size_t c = 0; c < cols; ++c)
    for (const auto& line : t.header[c]) width[c] = std::max(width[c], display_width(line));
  for (const auto& row : t.rows) {
    width[0] = std::max(width[0], display_width(row.label) + (row.section ? 0 : 2));
    for (size_t c = 0; c < row.cells.size(); ++c) width[c + 1] = std::max(width[c + 1], display_width(row.cells[c]));
  }
  std::string o;
  auto line_out = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cols; ++c) line += (c ? "   " : "") + pad_to(c < cells.size() ? cells[c] : "", width[c], c > 0);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o += line + "\n";
  };
  for (size_t l = 0; l < 3; ++l) {
    std::vector<std::string> cells;
    bool any = false;
    for (size_t c = 0; c < cols; ++c) {
      cells.push_back(t.header[c][l]);
      any |= !cells.back().empty();
    }
    if (any) line_out(cells);
  }
  size_t total = 0;
  for (size_t c = 0; c < cols; ++c) total += width[c] + (c ? 3 : 0);
  o += std::string(total, '-') + "\n";
  for (const auto& row : t.rows) {
    if (row.section) {
      o += row.label + "\n";
      continue;
    }
    std::vector<std::string> cells{"  " + row.label};
    cells.insert(cells.end(), row.cells.begin(), row.cells.end());
    line_out(cells);
  }
  return o;
}

std::string compare_markdown(const Table& t, const std::vector<Run>& runs) {
  std::string o = "# Eidetic: " + std::to_string(runs.size()) + (runs.size() == 1 ? " run\n\n" : " runs compared\n\n");
  std::vector<std::string> header{""};
  std::vector<bool> right{false};
  for (size_t c = 1; c < t.header.size(); ++c) {
    std::string cell = "**" + md(t.header[c][0]) + "**";
    std::string extra;
    if (!t.header[c][1].empty()) extra += md_code(t.header[c][1]);
    if (!t.header[c][2].empty()) extra += (extra.empty() ? "" : ", ") + md(t.header[c][2]);
    if (!extra.empty()) cell += " (" + extra + ")";
    header.push_back(cell);
    right.push_back(true);
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : t.rows) {
    if (row.section) {
      rows.push_back({"**" + md(row.label) + "**"});
      continue;
    }
    std::vector<std::string> cells{row.metric ? md_code(row.label) : md(row.label)};
    for (const auto& c : row.cells) cells.push_back(md(c));
    rows.push_back(std::move(cells));
  }
  md_table(o, header, right, rows);
  o += "\nRun directories:\n\n";
  for (const auto& r : runs) o += "- **" + md(r.label) + "**: " + md_code(r.dir.string()) + "\n";
  return o;
}

// Plots that several runs share, one series per run (and per series of a run's plot).
std::vector<json> overlay_plots(const std::vector<Run>& runs) {
  std::vector<std::string> ids;
  std::map<std::string, std::vector<std::pair<const Run*, const json*>>> by_id;
  for (const auto& r : runs) {
    const json* plots = member(r.metrics, "plots");
    if (!plots) continue;
    std::set<std::string> in_run;
    for (const auto& p : *plots) {
      const std::string id = str(p, "id");
      if (id.empty() || !in_run.insert(id).second) continue;
      if (by_id[id].empty()) ids.push_back(id);
      by_id[id].emplace_back(&r, &p);
    }
  }
  std::vector<json> out;
  for (const auto& id : ids) {
    const auto& members = by_id[id];
    if (members.size() < 2) continue;
    json spec = *members.front().second;
    spec.erase("fit");
    json series = json::array();
    for (const auto& [run, plot] : members) {
      const json* ss = member(*plot, "series");
      if (!ss || !ss->is_array()) continue;
      for (const auto& s : *ss) {
        json copy = s;
        copy["name"] = ss->size() == 1 ? run->label : run->label + ": " + str(s, "name");
        series.push_back(copy);
      }
    }
    spec["series"] = series;
    out.push_back(spec);
  }
  // Time by phase: grouped bars, one series per run.
  json phases = profile_phase_plot(json::object());
  phases["series"] = json::array();
  for (const auto& r : runs) {
    const json* p = member(r.metrics, "profile");
    if (!p) continue;
    json one = profile_phase_plot(*p);
    if (one["series"][0]["points"].empty()) continue;
    one["series"][0]["name"] = r.label;
    phases["series"].push_back(one["series"][0]);
  }
  if (phases["series"].size() >= 2) out.push_back(phases);
  return out;
}

std::string compare_html(const Table& t, const std::vector<Run>& runs) {
  std::string o;
  const std::string title = "Eidetic: " + std::to_string(runs.size()) + (runs.size() == 1 ? " run" : " runs compared");
  html_open(o, title);
  o += "<header>\n<h1>" + h(title) + "</h1>\n<p class=\"subtitle\">";
  for (size_t i = 0; i < runs.size(); ++i) o += (i ? " \u00b7 " : "") + h(runs[i].label);
  o += "</p>\n</header>\n";

  o += "<section id=\"runs\">\n<h2>Runs</h2>\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs)
    rows.push_back({"<strong>" + h(r.label) + "</strong>", h(r.attack), "<code>" + h(r.model) + "</code>", h(r.device),
                    "<code>" + h(short_commit(r.commit)) + "</code>", h(str(r.manifest, "started_at")),
                    "<code>" + h(r.dir.string()) + "</code>"});
  html_table(o, {"Run", "Attack", "Model", "Device", "Commit", "Started", "Directory"}, {}, rows);
  o += "</section>\n";

  o += "<section id=\"comparison\">\n<h2>Side by side</h2>\n<div class=\"table-wrap\"><table class=\"comparison\">\n<thead><tr><th></th>";
  for (size_t c = 1; c < t.header.size(); ++c) {
    o += "<th class=\"num\">" + h(t.header[c][0]);
    if (!t.header[c][1].empty()) o += "<br><code>" + h(t.header[c][1]) + "</code>";
    if (!t.header[c][2].empty()) o += "<br><span class=\"desc\">" + h(t.header[c][2]) + "</span>";
    o += "</th>";
  }
  o += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    if (row.section) {
      o += "<tr><th colspan=\"" + std::to_string(t.header.size()) + "\">" + h(row.label) + "</th></tr>\n";
      continue;
    }
    o += row.metric ? "<tr><td><code>" + h(row.label) + "</code></td>" : "<tr><td>" + h(row.label) + "</td>";
    for (const auto& c : row.cells) o += "<td class=\"num\">" + h(c) + "</td>";
    o += "</tr>\n";
  }
  o += "</tbody></table></div>\n</section>\n";

  const auto overlays = overlay_plots(runs);
  if (!overlays.empty()) {
    o += "<section id=\"plots\">\n<h2>Plots</h2>\n";
    for (size_t i = 0; i < overlays.size(); ++i) {
      try {
        html_plot(o, overlays[i], "c" + std::to_string(i), "overlay");
      } catch (const Error&) {
        // A plot the runs disagree on the shape of is left out of the overlay, not fatal.
      }
    }
    o += "</section>\n";
  }
  html_close(o, "Written by Eidetic " + h(EIDETIC_VERSION) + " from each run's <code>manifest.json</code> and <code>metrics.json</code>.");
  return o;
}

}  // namespace

void write_reports(const std::filesystem::path& run_dir) {
  const Run r = load_run(run_dir);
  std::string markdown, html;
  try {
    markdown = render_markdown(r);
    html = render_html(r);
  } catch (const json::exception& e) {
    throw Error(r.metrics_path.string() + ": " + json_message(e));
  }
  write_file_atomic(run_dir / "report.md", markdown);
  write_file_atomic(run_dir / "report.html", html);
}

std::string compare_runs(const std::vector<std::filesystem::path>& run_dirs, const std::string& format) {
  if (format != "text" && format != "markdown" && format != "html")
    throw Error("report: unknown format '" + format + "' (expected text, markdown or html)");
  if (run_dirs.empty()) throw Error("report: no run directories given");
  std::vector<Run> runs;
  for (const auto& d : run_dirs) runs.push_back(load_run(d));
  // Labels: the run name, made unique with the commit, then the directory name.
  std::map<std::string, int> count;
  for (const auto& r : runs) ++count[r.label];
  for (auto& r : runs)
    if (count[r.label] > 1 && !r.commit.empty()) r.label += " @" + short_commit(r.commit);
  count.clear();
  for (const auto& r : runs) ++count[r.label];
  for (auto& r : runs)
    if (count[r.label] > 1) r.label += " (" + dir_name(r.dir) + ")";
  count.clear();
  for (const auto& r : runs) ++count[r.label];
  std::map<std::string, int> seen;
  for (auto& r : runs)
    if (count[r.label] > 1) {
      const int k = ++seen[r.label];
      r.label += " #" + std::to_string(k);
    }

  try {
    const Table t = comparison_table(runs);
    if (format == "text") return compare_text(t);
    if (format == "markdown") return compare_markdown(t, runs);
    return compare_html(t, runs);
  } catch (const json::exception& e) {
    throw Error("report: " + json_message(e));
  }
}

}  // namespace eidetic::harness
