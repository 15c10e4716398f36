// Tables and plots rendered from a summary (summary.h): Markdown, CSV and LaTeX tables shaped like the
// paper's Tables 1–3, and the N ablation as an SVG line plot with error bars.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace acm::results {

std::string render_markdown(const nlohmann::json& summary);  // tables, comparisons, ablation, failures
std::string render_csv(const nlohmann::json& summary);       // one row per (dataset, model)
std::string render_latex(const nlohmann::json& summary);     // one tabular per data set
// Accuracy against N, error bars ±1 std, one line per (dataset, model, method), the paper's N = 6 marked.
// Empty when the summary has no ablation.
std::string render_ablation_svg(const nlohmann::json& summary);

// Writes summary.json, table.md, table.csv, table.tex and (if there is an ablation) ablation.svg into
// `out_dir`, each atomically; returns the Markdown.
std::string write_report(const nlohmann::json& summary, const std::string& out_dir);

}  // namespace acm::results
