// The method table: one entry per mixing method, the only place the rest of the program learns what methods
// exist. An entry carries the method's config name, its label in reports and sweep folders, how its fields of
// a run config's `mix` section are read and written, and its factory. Config parsing (harness/train/config),
// reports (results/) and sweeps (sweeps/) all read this table.
//
// Adding a method: a file pair augment/<name>.{h,cpp} with the Mixer and a `Method <name>_method()` that fills
// an entry, and one line in methods() (method.cpp). README, "Adding a method", walks through it.
//
// This header does not include LibTorch: results/ reads names, labels and order from it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "augment/mix_spec.h"

namespace acm::config {
class JsonReader;
}

namespace acm::augment {

class Mixer;
class HeatmapSource;

struct Method {
  std::string name;   // $.mix.method
  std::string label;  // its column in reports and its part of a sweep run's folder name
  // Whether it pairs images inside the batch it is given (each rank's share under data parallelism): then the
  // rank count changes what is computed, and reports keep runs on different rank counts apart.
  bool pairs_in_batch = false;
  // Reads the method's own fields of $.mix into `spec` (unknown fields are left for the caller's finish(),
  // which rejects them); errors are config::ConfigError naming the JSON path.
  void (*parse)(config::JsonReader& mix, MixSpec& spec) = nullptr;
  // Writes the same fields, resolved, into `mix` (which already holds "method").
  void (*to_json)(const MixSpec& spec, nlohmann::json& mix) = nullptr;
  // The mixer. attentive_cutmix takes its heatmaps from `heatmaps` (an ExtractorHeatmaps or an AttentionCache),
  // which the caller builds because it owns the device and the data; other methods ignore it.
  std::unique_ptr<Mixer> (*make)(const MixSpec& spec, std::shared_ptr<const HeatmapSource> heatmaps) = nullptr;
};

// Every method, in the order reports show them (the baseline first).
const std::vector<Method>& methods();
std::vector<std::string> method_names();
// The entry of `name`; config::ConfigError naming the allowed names otherwise.
const Method& find_method(const std::string& name);
// The report label of a method name; the name itself when no entry has it (a result of a method since removed).
std::string method_label(const std::string& name);
// Entry's pairs_in_batch; true for a name no entry has (the cautious answer: keep rank counts apart).
bool pairs_in_batch(const std::string& name);
// A method's place in report order, by name or label; unknown methods come after every known one.
int method_order(const std::string& name_or_label);

// find_method(spec.method).make(spec, heatmaps).
std::unique_ptr<Mixer> make_mixer(const MixSpec& spec, std::shared_ptr<const HeatmapSource> heatmaps = nullptr);

}  // namespace acm::augment
