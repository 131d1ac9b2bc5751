// harness/report.cpp: a run's report.md and report.html.
//
// The report is one Document (report_doc.h) built from the run directory's manifest.json and
// metrics.json, then written by the Markdown and the HTML renderer. Its sections, in order: the
// headline (the metric the run's attack is judged by, with its interval, and its main plot),
// the run's facts, the metrics, the tables, the other plots, the throughput profile, a few
// result records, the resolved config. Nothing here depends on the model or the device, so a
// report can be rebuilt anywhere from a copied run directory.
#include "harness/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/atomic_file.h"
#include "common/error.h"
#include "harness/report_doc.h"
#include "harness/report_headline.h"
#include "harness/report_input.h"
#include "harness/svg_plot.h"

namespace eidetic::harness {
namespace report {
namespace {

namespace fs = std::filesystem;

// ---- times and sizes --------------------------------------------------------------------

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

// ---- sections ---------------------------------------------------------------------------

// Adds a fact when it has a value.
void add_fact(Facts& f, const std::string& label, const std::string& value, bool is_code = false) {
  if (!value.empty()) f.items.emplace_back(label, is_code ? code(value) : plain(value));
}

Facts run_facts(const Run& r) {
  const json& m = r.manifest;
  Facts f;
  add_fact(f, "Attack", r.attack);
  add_fact(f, "Model", r.model, true);
  if (const json* run = member(r.metrics, "run")) {
    add_fact(f, "Items", str(*run, "items"));
    // Which variant of a published protocol ran, and what the attack warned of.
    add_fact(f, "Protocol", str(*run, "protocol"));
    if (const json* w = member(*run, "warnings"); w && w->is_array()) {
      std::string all;
      for (const auto& x : *w)
        if (x.is_string()) all += (all.empty() ? "" : "; ") + x.get<std::string>();
      add_fact(f, "Warnings", all);
    }
  }
  add_fact(f, "Status", str(m, "status"));
  add_fact(f, "Device", r.device);
  add_fact(f, "Data type", str(m, "dtype"));
  add_fact(f, "Seed", str(m, "seed"), true);
  add_fact(f, "Config hash", str(m, "config_hash"), true);
  const std::string started = str(m, "started_at"), finished = str(m, "finished_at");
  add_fact(f, "Started", started);
  std::string fin = finished;
  if (!finished.empty()) {
    const auto a = parse_iso8601(started), b = parse_iso8601(finished);
    if (a && b && *b >= *a) fin += " (" + format_duration(*b - *a) + " after the start)";
  }
  add_fact(f, "Finished", fin);
  if (const json* resumed = member(m, "resumed_at"); resumed && resumed->is_array() && !resumed->empty()) {
    std::string s;
    for (const auto& t : *resumed) s += (s.empty() ? "" : ", ") + text_of(t);
    add_fact(f, "Resumed", s);
  }
  std::string version = str(m, "eidetic_version");
  if (!r.commit.empty()) version += (version.empty() ? "commit " : ", commit ") + r.commit;
  add_fact(f, "Eidetic", version);
  std::string torch = str(m, "torch_version");
  const std::string cuda = str(m, "cuda_version");
  if (!cuda.empty()) torch += (torch.empty() ? "CUDA " : ", CUDA ") + cuda;
  add_fact(f, "Torch", torch);
  return f;
}

std::string plot_where(const Run& r, size_t i) { return r.metrics_path.string() + ": plots[" + std::to_string(i) + "]"; }

std::optional<Section> headline_section(const Run& r, const HeadlineChoice& choice) {
  if (!choice.metric && !choice.plot) return std::nullopt;
  Section s{"headline", "Headline", {}};
  if (choice.metric) s.blocks.push_back(Headline{metric_text(*choice.metric)});
  if (choice.plot) s.blocks.push_back(make_plot(*choice.plot, "p" + std::to_string(choice.plot_index), plot_where(r, choice.plot_index)));
  return s;
}

Section metrics_section(const Run& r) {
  Section s{"metrics", "Metrics", {}};
  std::vector<MetricText> metrics;
  for (const auto& m : r.metrics["metrics"]) metrics.push_back(metric_text(m));
  if (metrics.empty()) {
    s.blocks.push_back(Paragraph{plain("No metrics.")});
    return s;
  }
  const auto first = metrics.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(4, metrics.size()));
  s.blocks.push_back(Cards{std::vector<MetricText>(metrics.begin(), first)});
  Table t;
  t.css_class = "metrics";
  t.header = {plain("Metric"), plain("Value"), plain("95% CI"), plain("n"), plain("Description")};
  t.right = {false, true, true, true, false};
  for (const auto& m : metrics) t.rows.push_back({{code(m.name), plain(m.value), plain(m.ci), plain(m.n), muted(m.description)}});
  s.blocks.push_back(std::move(t));
  return s;
}

// A table of metrics.json: columns right-aligned where every non-null cell is a number; rows
// longer than the columns widen the header with blank, left-aligned columns.
Table json_table(const json& t) {
  Table out;
  for (const auto& c : t["columns"]) out.header.push_back(plain(text_of(c)));
  out.right.assign(out.header.size(), true);
  if (const json* rows = member(t, "rows"))
    for (const auto& row : *rows) {
      Table::Row cells;
      for (size_t i = 0; i < row.size(); ++i) {
        cells.cells.push_back(plain(text_of(row[i])));
        if (i < out.right.size() && !row[i].is_null() && !row[i].is_number()) out.right[i] = false;
      }
      if (cells.cells.size() > out.header.size()) {
        out.header.resize(cells.cells.size());
        out.right.resize(cells.cells.size(), false);
      }
      out.rows.push_back(std::move(cells));
    }
  if (out.rows.empty()) std::fill(out.right.begin(), out.right.end(), false);
  return out;
}

std::optional<Section> tables_section(const Run& r) {
  const json* tables = member(r.metrics, "tables");
  if (!tables || tables->empty()) return std::nullopt;
  Section s{"tables", "Tables", {}};
  for (const auto& t : *tables) {
    const std::string title = str(t, "title").empty() ? str(t, "id") : str(t, "title");
    s.blocks.push_back(Heading{plain(title), "table-" + str(t, "id")});
    // A table may say something of itself ("note"), which stands alone when it has no rows.
    const json* rows = member(t, "rows");
    if (rows && !rows->empty()) s.blocks.push_back(json_table(t));
    if (!str(t, "note").empty()) s.blocks.push_back(Paragraph{plain(str(t, "note"))});
  }
  return s;
}

std::optional<Section> plots_section(const Run& r, const HeadlineChoice& choice) {
  const json* plots = member(r.metrics, "plots");
  if (!plots) return std::nullopt;
  Section s{"plots", "Plots", {}};
  for (size_t i = 0; i < plots->size(); ++i)
    if (&(*plots)[i] != choice.plot) s.blocks.push_back(make_plot((*plots)[i], "p" + std::to_string(i), plot_where(r, i)));
  if (s.blocks.empty()) return std::nullopt;
  return s;
}

Facts profile_facts(const json& profile) {
  Facts f;
  f.label_header = "Measure";
  f.numbers = true;
  auto number = [&](const char* key, int sig = 4) {
    const double x = num(profile, key);
    return std::isfinite(x) ? format_number(x, sig) : std::string();
  };
  const double wall = num(profile, "wall_seconds");
  add_fact(f, "Wall time", std::isfinite(wall) ? format_number(wall, 4) + " s" : "");
  add_fact(f, "Generated tokens", number("generated_tokens"));
  add_fact(f, "Scored tokens", number("scored_tokens"));
  add_fact(f, "Tokens/s (generation)", number("tokens_per_s"));
  add_fact(f, "Sequences/s", number("sequences_per_s"));
  const double peak = num(profile, "peak_gpu_memory_bytes");
  if (std::isfinite(peak) && peak > 0) add_fact(f, "Peak GPU memory", format_bytes(peak));
  // A floor of 0 means the device's ceilings were not measured (profile.measure_ceilings off).
  const double floor_s = num(profile, "roofline_floor_seconds");
  const double pct = num(profile, "roofline_percent");
  if (floor_s == 0) {
    add_fact(f, "Roofline", "not measured");
  } else {
    add_fact(f, "Roofline floor", std::isfinite(floor_s) ? format_number(floor_s, 3) + " s" : "");
    add_fact(f, "Share of roofline reached", std::isfinite(pct) ? format_number(pct, 3) + " %" : "");
  }
  const double bw = num(profile, "copy_bytes_per_s");
  if (std::isfinite(bw) && bw > 0) add_fact(f, "Measured copy bandwidth", format_number(bw / 1e9, 4) + " GB/s");
  const double flops = num(profile, "matmul_flops_per_s");
  if (std::isfinite(flops) && flops > 0) add_fact(f, "Measured matrix rate", format_number(flops / 1e12, 4) + " TFLOP/s");
  add_fact(f, "Device", str(profile, "device"));
  return f;
}

// Time by phase (a bar plot and a table of seconds and shares of the wall time), then the
// throughput and roofline facts.
std::optional<Section> profile_section(const Run& r) {
  const json* profile = member(r.metrics, "profile");
  if (!profile) return std::nullopt;
  Section s{"profile", "Performance", {}};
  const json bar = profile_phase_plot(*profile);
  const json& points = bar["series"][0]["points"];
  if (!points.empty()) {
    Plot plot = make_plot(bar, "profile", r.metrics_path.string() + ": profile.phases");
    plot.data_beside = true;
    s.blocks.push_back(std::move(plot));
    double total = num(*profile, "wall_seconds");
    if (!(total > 0)) {
      total = 0;
      for (const auto& p : points)
        if (p[1].is_number()) total += p[1].get<double>();
    }
    Table t;
    t.header = {plain("Phase"), plain("Seconds"), plain("Share of wall time")};
    t.right = {false, true, true};
    for (const auto& p : points) {
      const double sec = p[1].is_number() ? p[1].get<double>() : std::nan("");
      t.rows.push_back({{plain(p[0].get<std::string>()), plain(format_number(sec, 3)),
                         plain(total > 0 && std::isfinite(sec) ? format_number(100.0 * sec / total, 3) + " %" : "")}});
    }
    s.blocks.push_back(std::move(t));
  }
  Facts facts = profile_facts(*profile);
  if (!facts.items.empty()) s.blocks.push_back(std::move(facts));
  if (s.blocks.empty()) return std::nullopt;
  return s;
}

// UTF-8-safe truncation to about `max_bytes`.
std::string truncate_utf8(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + " \u2026";
}

// How many records results.jsonl holds, and the first three (each cut to about 600 bytes).
std::optional<Section> results_section(const Run& r) {
  std::ifstream in(r.dir / "results.jsonl", std::ios::binary);
  if (!in) return std::nullopt;
  constexpr size_t kKeep = 3;
  size_t count = 0;
  std::string first;
  size_t kept = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++count;
    if (kept < kKeep) first += (kept++ ? "\n" : "") + truncate_utf8(line, 600);
  }
  Section s{"results", "Results", {}};
  Text text = plain(std::to_string(count) + " records in ") + code("results.jsonl") +
              plain(kept ? "; the first " + std::to_string(kept) + ":" : ".");
  s.blocks.push_back(Paragraph{std::move(text)});
  if (kept) s.blocks.push_back(Code{"json", first});
  return s;
}

std::optional<Section> config_section(const Run& r) {
  const json* config = member(r.manifest, "config");
  if (!config) return std::nullopt;
  Section s{"config", "Config", {}};
  const std::string hash = str(r.manifest, "config_hash");
  s.blocks.push_back(Paragraph{plain("The resolved config") + (hash.empty() ? Text{} : plain(" (hash ") + code(hash) + plain(")")) +
                               plain(":")});
  s.blocks.push_back(Code{"json", config->dump(2)});
  return s;
}

Document run_document(const Run& r) {
  Document doc;
  doc.title = "Eidetic report: " + r.name;
  if (!r.attack.empty()) doc.subtitle = plain(r.attack + " attack");
  if (!r.model.empty()) doc.subtitle = doc.subtitle + plain(r.attack.empty() ? "run on " : " on ") + code(r.model);
  const std::string status = str(r.manifest, "status");
  if (!status.empty() && status != "complete")
    doc.preface.push_back(Paragraph{strong("Status: " + status + ".") +
                                        plain(" This run had not finished when the report was written; its numbers may "
                                              "cover only part of it."),
                                    true});
  const HeadlineChoice headline = choose_headline(r);
  const auto add = [&](std::optional<Section> s) {
    if (s) doc.sections.push_back(std::move(*s));
  };
  add(headline_section(r, headline));
  add(Section{"run", "Run", {run_facts(r)}});
  add(metrics_section(r));
  add(tables_section(r));
  add(plots_section(r, headline));
  add(profile_section(r));
  add(results_section(r));
  add(config_section(r));
  doc.footer = written_by(false);
  return doc;
}

}  // namespace
}  // namespace report

void write_reports(const std::filesystem::path& run_dir) {
  const report::Run r = report::load_run(run_dir);
  std::string markdown, html;
  try {
    const report::Document doc = report::run_document(r);
    markdown = report::to_markdown(doc);
    html = report::to_html(doc);
  } catch (const nlohmann::json::exception& e) {
    throw Error(r.metrics_path.string() + ": " + report::json_message(e));
  }
  write_file_atomic(run_dir / "report.md", markdown);
  write_file_atomic(run_dir / "report.html", html);
}

}  // namespace eidetic::harness
