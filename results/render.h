// Tables and plots rendered from a summary (summary.h): Markdown, CSV and LaTeX tables shaped like the
// paper's Tables 1–3, and the N ablation as an SVG line plot with error bars.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "results/plots.h"

namespace acm::results {

std::string render_markdown(const nlohmann::json& summary);  // tables, comparisons, ablation, failures
std::string render_csv(const nlohmann::json& summary);       // one row per (dataset, model)
std::string render_latex(const nlohmann::json& summary);     // one tabular per data set

// The whole report as one self-contained HTML page: every table of the Markdown, every plot's SVG inline and,
// when `gallery_png` names a PNG, the gallery as a data: URI. Nothing it shows is fetched from elsewhere.
std::string render_html(const nlohmann::json& summary, const std::string& gallery_png = "");

// Writes summary.json, table.md, table.csv, table.tex, the plots that have data (ablation.svg, occlusion.svg,
// fgsm.svg, reliability.svg) and report.html into `out_dir`, each atomically; returns the Markdown.
std::string write_report(const nlohmann::json& summary, const std::string& out_dir, const std::string& gallery_png = "");
// What write_report writes, as "{summary.json,table.md,...}" for the line that names them.
std::string report_files(const nlohmann::json& summary);
// The gallery a report embeds: `given` when not empty, else DIR/gallery.png where there is one, else "".
std::string find_gallery(const std::string& dir, const std::string& given);

}  // namespace acm::results
