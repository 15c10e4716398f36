// What every classifier in the registry is: forward() gives logits, features() the last spatial feature map
// (B×C×h×w, before global pooling) — the map Attentive CutMix turns into a heatmap.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>

namespace acm::models {

enum class Stem { kImageNet, kCifar };  // 7×7/2 conv + 3×3/2 max-pool, or 3×3/1 conv and no pool
enum class Init {
  kKaiming,
  kXavierNormal
};  // torchvision's default, or what the Attentive CutMix paper used

// Normalisation layers: BatchNorm (statistics per rank under data parallelism, as DDP), GroupNorm (no batch
// statistics: results independent of how the batch is split), or BatchNorm with statistics over the global
// batch of all ranks (SyncBN; norm.h).
enum class Norm { kBatch, kGroup, kSyncBatch };

struct ModelSpec {
  std::int64_t num_classes = 1000;
  std::int64_t in_channels = 3;
  Stem stem = Stem::kImageNet;
  std::int64_t width = 64;  // channels of the first stage; torchvision's ResNets use 64
  Init init = Init::kKaiming;
  Norm norm = Norm::kBatch;
  // ResNets only: the stride of the last stage's first block. 2 (every ResNet) halves the map once more; 1
  // keeps the third stage's resolution (a 28-pixel image with the CIFAR stem: 28/14/7/7), so the final map
  // Attentive CutMix reads is 7×7 — the "last stride 1" of re-identification networks.
  std::int64_t last_stride = 2;
};

class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  virtual torch::Tensor features(torch::Tensor x) = 0;
  virtual std::int64_t feature_channels() const = 0;
  virtual std::string architecture() const = 0;
};
using Classifier = std::shared_ptr<ClassifierImpl>;

std::int64_t parameter_count(const torch::nn::Module& m);

// Every registry network's initialisation: convolutions Kaiming-normal (fan-out, ReLU; torchvision's) or
// Xavier-normal (the Attentive CutMix paper's); norms weight 1, bias 0; linear layers Xavier-normal with zero
// bias under Xavier, LibTorch's default (PyTorch's) under Kaiming.
void init_weights(torch::nn::Module& model, Init init);

const char* to_string(Stem s);
const char* to_string(Init i);
Stem stem_from_string(const std::string& s);  // "imagenet" | "cifar"; std::invalid_argument otherwise
Init init_from_string(const std::string& s);  // "kaiming" | "xavier_normal"
const char* to_string(Norm n);
Norm norm_from_string(const std::string& s);  // "batch" | "group" | "sync_batch"

}  // namespace acm::models
