// The model registry: every architecture is one entry with a name, a line of description and a factory.
// Unknown names fail loudly with the closest known names; listing takes shell wildcards ("resnet*").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/model.h"

namespace acm::models {

struct ModelEntry {
  std::string name;
  std::string description;
  std::function<Classifier(const ModelSpec&)> create;
};

const std::vector<ModelEntry>& registry();
Classifier create(const std::string& name, const ModelSpec& spec);
// Names matching a glob pattern (fnmatch: *, ?, [..]), in registry order.
std::vector<std::string> list_models(const std::string& pattern = "*");
const ModelEntry& find_model(const std::string& name);  // std::invalid_argument for an unknown name

}  // namespace acm::models
