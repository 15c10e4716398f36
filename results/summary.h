// `harness report`: every run result under a folder, aggregated over seeds into one summary (summary.json),
// from which the tables and the ablation plot are rendered. The summary is the one source of truth: every
// number in a table or plot is in it, and every number in it traces back to the run files it lists.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace acm::results {

inline constexpr int kSummarySchemaVersion = 1;

struct ReportOptions {
  std::string metric = "best";  // best | last | median5: which test top-1 of each run is averaged
  bool paper = true;            // the paper's published value where the setting matches
  bool gain = true;             // the gain of Attentive CutMix over CutMix
  double alpha = 0.05;          // significance level of the Welch t-tests
};

// The metric's field in a run result's "final" object and its name in tables.
std::string metric_field(const std::string& metric);
std::string metric_title(const std::string& metric);

// Reads every result.json under `dir` (and the sweep's plan in dir/sweep.json, if any) and aggregates:
//   groups       one per (dataset, model, method, parameters, rest of the config): mean ± std over seeds
//   tables       per data set: rows models, columns methods (the paper's Tables 1–3), best per row marked
//   comparisons  every pair of methods in a row with ≥ 2 seeds each: Welch's t-test
//   ablations    accuracy against N where a method was run at several N
//   failed, incomplete   listed with their error or state, never averaged in
nlohmann::json summarize(const std::string& dir, const ReportOptions& options);

// The paper's Tables 1–3 (top-1 %) and settings, compiled into the program.
const nlohmann::json& paper_tables();

}  // namespace acm::results
