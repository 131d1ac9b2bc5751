// harness/report.h: the human-readable reports of a run directory, and runs side by side.
//
// A run directory holds manifest.json (versions, device, resolved config, seed, times) and
// metrics.json (metrics with confidence intervals, tables, plot specs, the throughput
// profile). From those two files alone this writes report.md and report.html, so a report can
// be rebuilt at any time (`eidetic report DIR --regenerate`). Both are one document
// (report_doc.h) written by two renderers, and open with the run's headline: the metric its
// attack is judged by, with its interval, and its main plot. report.html is one
// self-contained file: inline CSS and SVG, no scripts, no external URLs, so it can be mailed,
// archived and cited as is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace eidetic::harness {

// Writes DIR/report.md and DIR/report.html from DIR/manifest.json and DIR/metrics.json (each
// file through a .tmp and a rename, so a reader never sees half a report). Throws
// eidetic::Error naming the file when one is missing or malformed.
void write_reports(const std::filesystem::path& run_dir);

// Runs side by side: every metric (the union over runs, blank where a run lacks it) with one
// column per run, then throughput rows (tokens/s, wall time, share of the roofline). `format`
// is "text" (aligned columns for a terminal), "markdown" or "html" (one document: the runs, the
// table, and the plots the runs share overlaid one series per run, drawn in HTML and listed as
// data in Markdown). Throws eidetic::Error for an unknown format or a run directory that cannot
// be read. (harness/report_compare.cpp)
std::string compare_runs(const std::vector<std::filesystem::path>& run_dirs, const std::string& format);

}  // namespace eidetic::harness
