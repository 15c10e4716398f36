// The report's plots as standalone SVG (no scripts, no external fonts or links): line plots with error bars
// (the N ablation, occlusion and FGSM curves) and reliability diagrams, all read from summary.json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::results {

struct LinePlot {
  struct Series {
    std::string label;
    std::vector<double> x, y, sd;  // sd: ±1 std error bars; NaN (or empty) for none
  };
  std::string title, x_label, y_label, note = "mean ± std over seeds";
  std::vector<std::pair<double, std::string>> x_ticks;  // where and what; empty: 5 even ticks
  std::vector<Series> series;
  bool marker = false;  // a dashed vertical line at marker_x, labelled
  double marker_x = 0;
  std::string marker_label;
};
std::string line_plot_svg(const LinePlot& plot);

// Accuracy against N, one line per (dataset, model, method), the paper's N = 6 marked. "" without ablations.
std::string render_ablation_svg(const nlohmann::json& summary);
// Top-1 against the occluded square's side (centred; random places dashed), one line per group of the
// report that recorded it. "" when none did.
std::string render_occlusion_svg(const nlohmann::json& summary);
// Top-1 against FGSM's ε (in 1/255 units). "" when no group recorded it.
std::string render_fgsm_svg(const nlohmann::json& summary);
// One reliability diagram per group (accuracy per confidence bin against the diagonal, bins pooled over its
// seeds, their ECE in the title), as small multiples. "" when no group recorded the bins.
std::string render_reliability_svg(const nlohmann::json& summary);

}  // namespace acm::results
