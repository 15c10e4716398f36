#include "models/registry.h"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/resnet.h"

namespace acm::models {

namespace {

ModelEntry resnet(const std::string& name, const std::string& description, BlockKind block,
                  std::vector<std::int64_t> stages) {
  return {name, description, [name, block, stages](const ModelSpec& s) {
            return make_resnet(name, {block, stages}, s);
          }};
}

ModelEntry densenet(const std::string& name, const std::string& description, std::vector<std::int64_t> layers) {
  return {name, description, [name, layers](const ModelSpec& s) { return make_densenet(name, layers, s); }};
}

ModelEntry efficientnet(const std::string& name, const std::string& description, EfficientNetScale scale) {
  return {name, description, [name, scale](const ModelSpec& s) { return make_efficientnet(name, scale, s); }};
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
      densenet("densenet121", "DenseNet-121 (BC, k = 32): dense blocks 6-12-24-16", {6, 12, 24, 16}),
      densenet("densenet169", "DenseNet-169 (BC, k = 32): dense blocks 6-12-32-32", {6, 12, 32, 32}),
      densenet("densenet201", "DenseNet-201 (BC, k = 32): dense blocks 6-12-48-32", {6, 12, 48, 32}),
      densenet("densenet264", "DenseNet-264 (BC, k = 32): dense blocks 6-12-64-48", {6, 12, 64, 48}),
      efficientnet("efficientnet_b0", "EfficientNet-B0: width 1.0, depth 1.0, dropout 0.2", {1.0, 1.0, 0.2}),
      efficientnet("efficientnet_b1", "EfficientNet-B1: width 1.0, depth 1.1, dropout 0.2", {1.0, 1.1, 0.2}),
      efficientnet("efficientnet_b2", "EfficientNet-B2: width 1.1, depth 1.2, dropout 0.3", {1.1, 1.2, 0.3}),
      efficientnet("efficientnet_b3", "EfficientNet-B3: width 1.2, depth 1.4, dropout 0.3", {1.2, 1.4, 0.3}),
      efficientnet("efficientnet_b4", "EfficientNet-B4: width 1.4, depth 1.8, dropout 0.4", {1.4, 1.8, 0.4}),
      efficientnet("efficientnet_b5", "EfficientNet-B5: width 1.6, depth 2.2, dropout 0.4",
                   {1.6, 2.2, 0.4, 1e-3, 0.01}),
      efficientnet("efficientnet_b6", "EfficientNet-B6: width 1.8, depth 2.6, dropout 0.5",
                   {1.8, 2.6, 0.5, 1e-3, 0.01}),
      efficientnet("efficientnet_b7", "EfficientNet-B7: width 2.0, depth 3.1, dropout 0.5",
                   {2.0, 3.1, 0.5, 1e-3, 0.01}),
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
