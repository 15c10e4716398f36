// What several subcommands share: the data set flags, a config file with --set overrides, absolute paths.
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "cli/command.h"
#include "common/json_reader.h"
#include "harness/train/config.h"

namespace acm::cli {

using nlohmann::json;

void DatasetFlags::add(CLI::App* app) {
  app->add_option("--dataset", name, "mnist | fashion-mnist | cifar10 | cifar100 | imagenet | synthetic")
      ->capture_default_str();
  app->add_option("--data-path", path, "folder of the data files (fashion-mnist: Debian's by default)");
  app->add_option("--labels", labels, "cifar100 only: fine | coarse");
  app->add_option("--dataset-json", spec, "the data set as a JSON object or a file holding one (overrides the flags)");
  app->add_option("--subset", subset_mode, "none | first | per_class")->capture_default_str();
  app->add_option("--subset-train", subset_train, "first: sample count; per_class: samples per class");
  app->add_option("--subset-test", subset_test, "the same for the test split");
  app->add_option("--subset-seed", subset_seed, "seed of the per_class draw");
  app->add_option("--synthetic-train", syn_train, "synthetic: training images")->capture_default_str();
  app->add_option("--synthetic-test", syn_test, "synthetic: test images")->capture_default_str();
  app->add_option("--synthetic-channels", syn_channels, "synthetic: channels")->capture_default_str();
  app->add_option("--synthetic-size", syn_size, "synthetic: height = width")->capture_default_str();
  app->add_option("--synthetic-classes", syn_classes, "synthetic: classes")->capture_default_str();
}

data::DatasetSpec DatasetFlags::resolve() const {
  json j;
  std::string where = "--dataset-json";
  if (!spec.empty() && spec.front() == '{') {
    try {
      j = json::parse(spec);
    } catch (const json::exception& e) {
      throw config::ConfigError(where + ": not valid JSON: " + e.what());
    }
  } else if (!spec.empty()) {
    j = config::read_config_file(spec);
    where = spec;
  } else {
    where = "flags";
    j = {{"name", name}};
    if (!path.empty()) j["path"] = path;
    if (!labels.empty()) j["labels"] = labels;
    if (name == "synthetic") {
      j.update({{"train_size", syn_train}, {"test_size", syn_test}, {"channels", syn_channels},
                {"height", syn_size}, {"width", syn_size}, {"classes", syn_classes}});
    }
    if (subset_mode != "none") {
      j["subset"] = {{"mode", subset_mode}, {"train", subset_train}, {"test", subset_test}};
      if (subset_mode == "per_class") j["subset"]["seed"] = subset_seed;
    }
  }
  config::JsonReader r(j, where + ":$");
  return data::parse_dataset_spec(r);
}

json with_overrides(json config, const std::vector<std::string>& sets, std::string& where) {
  for (const auto& s : sets) train::apply_override(config, s);
  if (!sets.empty()) where += " (with --set)";
  return config;
}

json config_with_overrides(const std::string& path, const std::vector<std::string>& sets, std::string& where) {
  return with_overrides(path.empty() ? json::object() : config::read_config_file(path), sets, where);
}

std::string absolute_path(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) throw std::runtime_error("cannot read the current folder");
  std::string out = std::string(cwd) + "/" + p;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace acm::cli
