// harness/report_compare.cpp: runs side by side (`eidetic report DIR DIR ...`).
//
// One comparison table: the runs' attack, device and items, every metric of any run (the union,
// in first-seen order, blank where a run lacks it) as "value [low, high]", and throughput. As
// text it is printed in aligned columns; as Markdown or HTML it is a section of a Document
// (report_doc.h), after a table of the runs and before the plots the runs share, overlaid one
// series per run.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "harness/report.h"
#include "harness/report_doc.h"
#include "harness/report_input.h"
#include "harness/svg_plot.h"

namespace eidetic::harness {
namespace report {
namespace {

struct Comparison {
  std::vector<std::vector<std::string>> header;  // per column: label, short commit, short model
  struct Row {
    std::string label;
    std::vector<std::string> cells;  // one per run
    bool group = false;              // a heading row: run, metrics, throughput
    bool metric = false;             // a metric's name (an identifier), not a descriptive label
  };
  std::vector<Row> rows;
};

// "0.12 [0.1, 0.14]": a metric's value with its interval.
std::string metric_cell(const json& m) {
  const MetricText t = metric_text(m);
  return t.value + (t.ci.empty() ? "" : (t.value.empty() ? "" : " ") + t.ci);
}

Comparison comparison_table(const std::vector<Run>& runs) {
  Comparison t;
  t.header.push_back({"", "", ""});
  for (const auto& r : runs) t.header.push_back({r.label, short_commit(r.commit), short_model(r.model)});
  // A row of one value per run, left out when every run's is blank.
  auto info_row = [&](const std::string& label, auto get) {
    Comparison::Row row{label, {}};
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
    Comparison::Row row{name, {}, false, true};
    for (const auto& r : runs) {
      const json& ms = r.metrics["metrics"];
      const auto it = std::find_if(ms.begin(), ms.end(), [&](const json& m) { return m["name"] == name; });
      row.cells.push_back(it == ms.end() ? "" : metric_cell(*it));
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
  if (t.rows.back().group) t.rows.pop_back();
  return t;
}

// ---- text -------------------------------------------------------------------------------

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad_to(const std::string& s, size_t width, bool right) {
  const size_t n = display_width(s);
  const std::string fill(width > n ? width - n : 0, ' ');
  return right ? fill + s : s + fill;
}

// Aligned columns for a terminal: labels left, values right, three spaces between columns.
std::string compare_text(const Comparison& t) {
  const size_t cols = t.header.size();
  std::vector<size_t> width(cols, 0);
  for (size_t c = 0; c < cols; ++c)
    for (const auto& line : t.header[c]) width[c] = std::max(width[c], display_width(line));
  for (const auto& row : t.rows) {
    width[0] = std::max(width[0], display_width(row.label) + (row.group ? 0 : 2));
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
    if (row.group) {
      o += row.label + "\n";
      continue;
    }
    std::vector<std::string> cells{"  " + row.label};
    cells.insert(cells.end(), row.cells.begin(), row.cells.end());
    line_out(cells);
  }
  return o;
}

// ---- the document -----------------------------------------------------------------------

Section runs_section(const std::vector<Run>& runs) {
  Table t;
  t.header = {plain("Run"), plain("Attack"), plain("Model"), plain("Device"), plain("Commit"), plain("Started"), plain("Directory")};
  for (const auto& r : runs)
    t.rows.push_back({{strong(r.label), plain(r.attack), code(r.model), plain(r.device), code(short_commit(r.commit)),
                       plain(str(r.manifest, "started_at")), code(r.dir.string())}});
  return {"runs", "Runs", {std::move(t)}};
}

// The comparison table; a run's column is headed "label (commit, model)".
Section side_by_side_section(const Comparison& c) {
  Table t;
  t.css_class = "comparison";
  t.header.push_back({});
  t.right.push_back(false);
  for (size_t col = 1; col < c.header.size(); ++col) {
    const auto& lines = c.header[col];
    Text head = strong(lines[0]);
    Text extra = lines[1].empty() ? Text{} : code(lines[1]);
    if (!lines[2].empty()) extra = extra + plain(extra.empty() ? lines[2] : ", " + lines[2]);
    if (!extra.empty()) head = head + plain(" (") + extra + plain(")");
    t.header.push_back(std::move(head));
    t.right.push_back(true);
  }
  for (const auto& row : c.rows) {
    if (row.group) {
      t.rows.push_back({{plain(row.label)}, true});
      continue;
    }
    Table::Row out{{row.metric ? code(row.label) : plain(row.label)}};
    for (const auto& cell : row.cells) out.cells.push_back(plain(cell));
    t.rows.push_back(std::move(out));
  }
  return {"comparison", "Side by side", {std::move(t)}};
}

// Plots that several runs share, one series per run (and per series of a run's plot), then
// the time by phase as grouped bars, one series per run.
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

std::optional<Section> plots_section(const std::vector<Run>& runs) {
  Section s{"plots", "Plots", {}};
  const auto overlays = overlay_plots(runs);
  for (size_t i = 0; i < overlays.size(); ++i) {
    try {
      s.blocks.push_back(make_plot(overlays[i], "c" + std::to_string(i), "overlay"));
    } catch (const Error&) {
      // A plot the runs disagree on the shape of is left out of the overlay, not fatal.
    }
  }
  if (s.blocks.empty()) return std::nullopt;
  return s;
}

Document comparison_document(const Comparison& c, const std::vector<Run>& runs) {
  Document doc;
  doc.title = "Eidetic: " + std::to_string(runs.size()) + (runs.size() == 1 ? " run" : " runs compared");
  for (size_t i = 0; i < runs.size(); ++i) doc.subtitle = doc.subtitle + plain((i ? " \u00b7 " : "") + runs[i].label);
  doc.sections.push_back(runs_section(runs));
  doc.sections.push_back(side_by_side_section(c));
  if (auto plots = plots_section(runs)) doc.sections.push_back(std::move(*plots));
  doc.footer = written_by(true);
  return doc;
}

// Labels: the run name, made unique with the commit, then the directory name, then a number.
void label_runs(std::vector<Run>& runs) {
  const auto relabel = [&](auto suffix) {
    std::map<std::string, int> count;
    for (const auto& r : runs) ++count[r.label];
    std::map<std::string, int> seen;
    for (auto& r : runs)
      if (count[r.label] > 1) r.label += suffix(r, ++seen[r.label]);
  };
  relabel([](const Run& r, int) { return r.commit.empty() ? std::string() : " @" + short_commit(r.commit); });
  relabel([](const Run& r, int) { return " (" + dir_name(r.dir) + ")"; });
  relabel([](const Run&, int k) { return " #" + std::to_string(k); });
}

}  // namespace
}  // namespace report

std::string compare_runs(const std::vector<std::filesystem::path>& run_dirs, const std::string& format) {
  if (format != "text" && format != "markdown" && format != "html")
    throw Error("report: unknown format '" + format + "' (expected text, markdown or html)");
  if (run_dirs.empty()) throw Error("report: no run directories given");
  std::vector<report::Run> runs;
  for (const auto& d : run_dirs) runs.push_back(report::load_run(d));
  report::label_runs(runs);
  try {
    const report::Comparison t = report::comparison_table(runs);
    if (format == "text") return report::compare_text(t);
    const report::Document doc = report::comparison_document(t, runs);
    return format == "markdown" ? report::to_markdown(doc) : report::to_html(doc);
  } catch (const nlohmann::json::exception& e) {
    throw Error("report: " + report::json_message(e));
  }
}

}  // namespace eidetic::harness
