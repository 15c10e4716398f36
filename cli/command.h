// The `harness` program's subcommands. Each lives in its own file: an options struct its flags fill, a run
// function that receives that struct, and an add_* function that registers the flags on the program and
// returns the pair. Errors: a config::ConfigError (a bad flag, config or spec) exits 2, anything else 1
// (main.cpp).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "harness/data/spec.h"

namespace acm::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_info(CLI::App& program);
Command add_models(CLI::App& program);
Command add_data(CLI::App& program);
Command add_train(CLI::App& program);
Command add_gallery(CLI::App& program);
Command add_sweep(CLI::App& program);
Command add_report(CLI::App& program);

// Data set flags of the subcommands that read data. They become the same JSON object a config file holds, so
// flags and files are validated by one parser.
struct DatasetFlags {
  std::string name = "fashion-mnist", path, labels, spec, subset_mode = "none";
  std::int64_t subset_train = 0, subset_test = 0, subset_seed = 0;
  std::int64_t syn_train = 1024, syn_test = 256, syn_channels = 3, syn_size = 32, syn_classes = 10;

  void add(CLI::App* app);
  data::DatasetSpec resolve() const;
};

// A run config with the --set overrides applied; `where`, how errors name its origin, gains " (with --set)".
nlohmann::json with_overrides(nlohmann::json config, const std::vector<std::string>& sets, std::string& where);
// The same for a config file (none: an empty object).
nlohmann::json config_with_overrides(const std::string& path, const std::vector<std::string>& sets,
                                     std::string& where);

// `p` made absolute against the current folder.
std::string absolute_path(const std::string& p);

}  // namespace acm::cli
