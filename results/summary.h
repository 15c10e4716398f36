// `harness report`: every run result under a folder, aggregated over seeds into one summary (summary.json),
// from which the tables and the ablation plot are rendered. The summary is the one source of truth: every
// number in a table or plot is in it, and every number in it traces back to the run files it lists.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace acm::results {

inline constexpr int kSummarySchemaVersion = 2;

struct ReportOptions {
  std::string metric = "best";  // best | last | median5: which test top-1 of each run is averaged
  bool paper = true;            // the paper's published value where the setting matches
  bool gain = true;             // the gain of Attentive CutMix over CutMix
  double alpha = 0.05;          // significance level of the Welch t-tests
};

// The metric's field in a run result's "final" object and its name in tables.
std::string metric_field(const std::string& metric);
std::string metric_title(const std::string& metric);

// Reads the results under `dir` and aggregates them by the rule of results/identity.h:
//   plan         dir/sweep.json, when there is one: only its runs (their folder holding their run id) count
//   groups       one per experiment (every field but the seed and execution fields equal; a seed counts
//                once): mean, sample std, 95 % confidence interval of the mean (Student's t)
//   tables       per data set: rows settings (model, and the fields that differ, named), columns methods
//                (the paper's Tables 1–3), best per row marked
//   comparisons  every pair of columns in a row with ≥ 2 seeds each: difference with its 95 % CI, Welch's
//                t-test, and its p adjusted (Holm) over the comparisons of the table
//   ablations    accuracy against N where a method was run at several N, all else equal
//   failed, incomplete   the plan's runs that failed or have not finished, never averaged in
//   not_counted  results that are not the plan's (moved aside, another plan's) or repeat a counted seed, with
//                the reason
nlohmann::json summarize(const std::string& dir, const ReportOptions& options);

// The paper's Tables 1–3 (top-1 %) and settings, compiled into the program.
const nlohmann::json& paper_tables();

}  // namespace acm::results
