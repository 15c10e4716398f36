// What a run's `mix` config section says, as plain data (no LibTorch): the method's name and every shipped
// method's parameters, each with the paper's setting as the default. Read and written by the method table
// (augment/method.h); the mixers take their part of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::augment {

// How a B×C×h×w feature map becomes one B×h×w heatmap (attention.h).
struct ReduceSpec {
  std::string how = "mean";  // mean | sum | channel
  std::int64_t channel = 0;  // how = channel: which one
};

// Attentive CutMix's parameters (attentive_cutmix.h).
struct AttentiveOptions {
  std::int64_t grid = 7;   // paper: a 7×7 grid (the final map of an ImageNet ResNet at 224×224)
  std::int64_t top_n = 6;  // paper: N = 6 was best in its ablation (1..15)
  std::string lambda = "fixed";  // fixed: N = top_n (paper) | beta: λ ~ Beta(α, α), N = clamp(⌊λ·grid²⌋, 1,
                                 // grid²) ("AttentiveMix+", OpenMixup)
  double alpha = 1.0;  // lambda = beta; an assumption (OpenMixup's default α)
  double prob = 1.0;   // paper: "every image in the training batch is augmented"
};

// Where Attentive CutMix's heatmaps come from (extractor.h).
struct ExtractorSpec {
  std::string path;               // run folder, checkpoint, converted weights or TorchScript file
  std::int64_t input_size = 0;    // images are resized (bilinear) to input_size² first; 0: native size
  std::vector<double> mean, std;  // the extractor's own input normalisation (on [0,1] pixels); empty: it gets
                                  // the training tensor as it is
  ReduceSpec reduce;
};

struct MixSpec {
  std::string method = "none";  // a name of the method table (augment/method.h)
  double alpha = 1.0;           // mixup, cutmix: Beta(α, α); α = 1 in both papers' CIFAR settings
  bool per_sample = false;      // mixup: one λ per sample instead of per batch (the paper: per batch)
  double prob = 0.5;            // cutmix: probability a batch is mixed (reference code, CIFAR: 0.5)
  std::int64_t size = 16;       // cutout: hole side (paper, CIFAR-10: 16)
  std::int64_t holes = 1;       // cutout
  AttentiveOptions attentive;   // attentive_cutmix: grid, top_n, lambda, alpha, prob
  ExtractorSpec extractor;      // attentive_cutmix: where the heatmaps come from
  bool cache = false;           // attentive_cutmix: heatmaps from the attention cache, not a pass per batch
  // The resolved fields of a method that keeps none above: a method added later parses its fields into this
  // object and its factory reads them from it, without touching this struct (README: adding a method).
  nlohmann::json params = nlohmann::json::object();
};

}  // namespace acm::augment
