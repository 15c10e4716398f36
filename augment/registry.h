// Which mixer a run uses: a method name and its parameters, with each paper's setting as the default.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "augment/attentive_cutmix.h"
#include "augment/extractor.h"
#include "augment/mixer.h"

namespace acm::augment {

struct MixSpec {
  std::string method = "none";  // none | mixup | cutout | cutmix | attentive_cutmix
  double alpha = 1.0;           // mixup, cutmix: Beta(α, α); α = 1 in both papers' CIFAR settings
  bool per_sample = false;      // mixup: one λ per sample instead of per batch (the paper: per batch)
  double prob = 0.5;            // cutmix: probability a batch is mixed (reference code, CIFAR: 0.5)
  std::int64_t size = 16;       // cutout: hole side (paper, CIFAR-10: 16)
  std::int64_t holes = 1;       // cutout
  AttentiveOptions attentive;   // attentive_cutmix: grid, top_n, lambda, alpha, prob
  ExtractorSpec extractor;      // attentive_cutmix: where the heatmaps come from
  bool cache = false;           // attentive_cutmix: heatmaps from the attention cache, not a pass per batch
};

const std::vector<std::string>& mixer_names();
// attentive_cutmix takes its heatmaps from `heatmaps` (an ExtractorHeatmaps or an AttentionCache), which the
// caller builds because it owns the device and the data; std::invalid_argument when it is missing.
std::unique_ptr<Mixer> make_mixer(const MixSpec& spec,
                                  std::shared_ptr<const HeatmapSource> heatmaps = nullptr);

}  // namespace acm::augment
