#include "models/registry.h"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

#include "models/resnet.h"

namespace acm::models {

namespace {

ModelEntry resnet(const std::string& name, const std::string& description, BlockKind block,
                  std::vector<std::int64_t> stages) {
  return {name, description, [name, block, stages](const ModelSpec& s) {
            return make_resnet(name, {block, stages}, s);
          }};
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<ModelEntry>& registry() {
  static const std::vector<ModelEntry> entries = {
      resnet("resnet18", "ResNet-18: basic blocks 2-2-2-2", BlockKind::kBasic, {2, 2, 2, 2}),
      resnet("resnet34", "ResNet-34: basic blocks 3-4-6-3", BlockKind::kBasic, {3, 4, 6, 3}),
      resnet("resnet50", "ResNet-50 v1.5: bottlenecks 3-4-6-3", BlockKind::kBottleneck, {3, 4, 6, 3}),
      resnet("resnet101", "ResNet-101 v1.5: bottlenecks 3-4-23-3", BlockKind::kBottleneck, {3, 4, 23, 3}),
      resnet("resnet152", "ResNet-152 v1.5: bottlenecks 3-8-36-3", BlockKind::kBottleneck, {3, 8, 36, 3}),
  };
  return entries;
}

const ModelEntry& find_model(const std::string& name) {
  const auto& all = registry();
  for (const auto& e : all) {
    if (e.name == name) return e;
  }
  std::vector<std::pair<std::size_t, std::string>> near;
  for (const auto& e : all) near.emplace_back(edit_distance(name, e.name), e.name);
  std::sort(near.begin(), near.end());
  std::string known;
  for (const auto& e : all) known += (known.empty() ? "" : ", ") + e.name;
  throw std::invalid_argument("unknown model '" + name + "' (did you mean " + near.front().second +
                              "?); known models: " + known);
}

Classifier create(const std::string& name, const ModelSpec& spec) { return find_model(name).create(spec); }

std::vector<std::string> list_models(const std::string& pattern) {
  std::vector<std::string> out;
  for (const auto& e : registry()) {
    if (fnmatch(pattern.c_str(), e.name.c_str(), 0) == 0) out.push_back(e.name);
  }
  return out;
}

}  // namespace acm::models
