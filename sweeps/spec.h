// A sweep spec (JSON): a base run config plus axes, expanded into planned runs.
//
//   {"name": ..., "description": ..., "ranks_per_run": 1, "max_attempts": 3,
//    "inputs": {"data": {"description": "CIFAR-10 binary folder"}},       values: --input data=PATH
//    "assumptions": {"optimizer": "the paper does not say; ..."},         recorded, not interpreted
//    "base": {... a run config, "${data}" replaced by the input ...},
//    "axes": [
//      {"name": "model", "path": "model", "values": ["resnet18", "resnet34"]},
//      {"name": "method", "values": [
//         {"label": "baseline", "set": {"mix": {"method": "none"}}},
//         {"label": "attentive_cutmix", "set": {"mix": {...}}, "extractor_from": {"method": "baseline"},
//          "axes": [{"name": "n", "path": "mix.top_n", "values": "1..15"}]}]},
//      {"name": "seed", "path": "seed", "values": [0, 1, 2]}],
//    "include": [{"method": "attentive_cutmix", "n": 6}], "exclude": [{"model": "resnet34", "n": "1..5"}],
//    "reuse": ["../../results/fashion-mnist/runs"]}                      completed runs taken, not retrained
//
// An axis either sets one config field (`path`, values a list or an "A..B" range) or takes labelled values
// that each merge a partial config (`set`) and may carry axes of their own (a method's parameters).
// include/exclude patterns name axes and the values (one, a list or a range) a run must have to match; a
// run is kept when it matches some include (if any) and no exclude. `extractor_from` makes a run depend on
// the run with the same coordinates but those axes replaced: that run's folder becomes the extractor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "results/identity.h"

namespace acm::sweeps {

struct PlannedRun {
  std::string id;         // 16 hex digits: the resolved config, the inputs' identity and ranks_per_run
  std::string folder;     // relative to the sweep folder, e.g. cifar100/resnet18/attentive_cutmix-n6/seed1
  nlohmann::json labels;  // axis name -> value or label, e.g. {"method": "attentive_cutmix", "n": 6, ...}
  nlohmann::json config;  // the resolved run config
  std::optional<std::size_t> extractor_from;  // index of the run whose folder is this run's extractor
  // extractor_from names the seed axis: one extractor serves every seed (as one pretrained network would), and
  // the report groups the seeds of such runs as one experiment.
  bool extractor_shared = false;
  // A completed run of another folder (the spec's "reuse") with this run's identity and seed: the sweep copies
  // its result (sweeps/reuse.h) instead of training. Absolute path of that run's folder; empty: train.
  std::string reuse_from;
};

struct Sweep {
  std::string name, description;
  int ranks_per_run = 1;
  int max_attempts = 3;    // starts of a run that may end in a crash before it is recorded as failed
  nlohmann::json spec;     // as read
  nlohmann::json inputs;   // name -> value given
  std::vector<std::string> reuse;  // folders of completed runs to take runs from (absolute)
  std::vector<std::string> reuse_notes;  // runs found there but not taken, and why (e.g. no checkpoint)
  std::vector<PlannedRun> runs;
};

struct ExpandOptions {
  std::map<std::string, std::string> inputs;  // --input NAME=VALUE
  std::vector<std::string> sets;              // --set PATH=VALUE, applied to the base config
  std::string out_dir;  // the sweep folder (absolute): a dependency's folder in it becomes the extractor path
  std::string spec_dir;  // the spec's folder: the spec's relative "reuse" paths are resolved against it
  std::vector<std::string> reuse;  // --reuse DIR: more folders to take runs from (absolute)
};

// The rule of results/identity.h applied to a planned run (its extractor named as the report names it).
results::Identity planned_identity(const Sweep& sweep, std::size_t run);

// Reads, validates and expands a spec. Errors (config::ConfigError) name the spec file and the JSON path,
// or the run (its folder) whose config is invalid.
Sweep load_sweep(const std::string& spec_path, const ExpandOptions& options);
Sweep expand_sweep(const nlohmann::json& spec, const std::string& where, const ExpandOptions& options);

// The whole plan as JSON and back (rank 0 expands a spec once and sends the plan to the other ranks).
nlohmann::json sweep_to_json(const Sweep& sweep);
Sweep sweep_from_json(const nlohmann::json& j);

// Channels, size and classes of a data set as the config names it, without reading it; and a synthetic data
// set of that shape (for `sweep --check`).
nlohmann::json synthetic_like(const nlohmann::json& dataset, std::int64_t train, std::int64_t test);

// What a run's identity depends on besides its config: each data file's size and content hash, and the
// extractor file's (or, for a dependency, the run id that will produce it).
nlohmann::json input_identity(const nlohmann::json& resolved_config);

}  // namespace acm::sweeps
