// `harness report`: every run result under a folder, aggregated over seeds into one summary (summary.json),
// from which the tables and the ablation plot are rendered. The summary is the one source of truth: every
// number in a table or plot is in it, and every number in it traces back to the run files it lists.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/identity.h"
#include "results/stats.h"

namespace acm::results {

inline constexpr int kSummarySchemaVersion = 2;

struct ReportOptions {
  std::string metric = "best";  // a named metric or a JSON pointer (results/metric.h): what each run gives
  bool paper = true;            // the paper's published value where the setting matches
  bool gain = true;             // the gain of Attentive CutMix over CutMix
  double alpha = 0.05;          // significance level of the Welch t-tests
};

// Mean, sample std (NaN below 2 values), 95 % confidence interval of the mean and count: what a group, a table
// cell and an ablation point show.
struct Stats {
  double mean = 0, std = 0;
  Interval ci95;
  std::size_t count = 0;
};

// One experiment: its seeds' runs (identity.h).
struct Group {
  Identity id;
  int top_n = 0;  // Attentive CutMix's N, 0 for other methods
  std::int64_t epochs = 0;
  std::vector<double> values;
  std::vector<std::int64_t> seeds;
  std::vector<std::string> folders;
  // The "beyond top-1" metrics (metric.h, secondary_metrics()) of the runs that recorded them, by name, and
  // each run's curves (robustness and the reliability bins of its last evaluation), in seed order.
  std::map<std::string, std::vector<double>> extras;
  std::vector<nlohmann::json> curves;
  // The distinct `eval` settings of its runs (an execution field: runs of one experiment may differ in it);
  // secondary metrics and curves are averaged only where there is one.
  std::set<std::string> eval_settings;
  std::string column;  // the method in a table's words: "attentive_cutmix N=3 [cache off]"
  std::string row;     // the row's label: "resnet18 (epochs 10)"
  Stats stats;
  std::optional<double> paper;  // the paper's value where the setting matches
};

// Welch's t-test between two columns of a row; A is the later column (the newer method). NaN where undefined.
struct Comparison {
  std::string dataset, model, row, a, b;
  double mean_a = 0, mean_b = 0, difference = 0;
  Interval ci95;
  double t = 0, df = 0, p = 0, p_holm = 0;
  std::size_t family = 0;  // comparisons of the table with a p (Holm's family)
  bool beyond_seed_spread = false;  // p_holm < alpha
};

struct Table {
  struct Column {
    std::string label, method;
  };
  struct Cell {
    std::size_t group;
    bool best;
  };
  struct Gain {  // Attentive CutMix − CutMix in a row; the comparison's CI and p where there is one
    double difference = 0;
    std::optional<std::size_t> comparison;
  };
  struct Row {
    std::string model, label;
    std::map<std::string, Cell> cells;  // by column label
    std::map<std::string, Gain> gains;  // "attentive_cutmix − cutmix" column pairs
  };
  std::string dataset;
  std::vector<Column> columns;
  std::vector<Row> rows;
};

// Accuracy against N: one method at several N, all else equal.
struct Ablation {
  std::string dataset, model, method, row, column;
  std::vector<std::size_t> points;  // groups, by N
};

// A run that is listed, not averaged: failed (why), incomplete (its state) or not counted (the reason).
struct Listed {
  std::string folder, why;
};

struct Summary {
  std::string source, metric;
  bool lower_is_better = false;
  double alpha = 0.05;
  int paper_n = 6;
  bool has_plan = false;
  std::string plan_name;
  std::size_t plan_runs = 0;
  std::vector<Group> groups;
  std::vector<Table> tables;
  std::vector<Comparison> comparisons;
  std::vector<Ablation> ablations;
  std::vector<Listed> failed, incomplete, not_counted;
  std::size_t runs_completed() const;
};

// The metric's name in tables (metric.h); config::ConfigError (exit 2) naming the allowed values for another.
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
Summary summarize(const std::string& dir, const ReportOptions& options);

// summary.json: what the renderers (render.h) read.
nlohmann::json to_json(const Summary& summary);

// The paper's Tables 1–3 (top-1 %) and settings, compiled into the program.
const nlohmann::json& paper_tables();

}  // namespace acm::results
