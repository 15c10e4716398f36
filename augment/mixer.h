// The batch-mixing interface every augmentation implements (one file per method, one registry).
//
// One convention for λ everywhere in this project: λ is the DONOR's share — the fraction of the mixed image's
// pixels (or, for Mixup, the blend weight) that come from the partner image — and the weight of the partner's
// label: target = λ·y_donor + (1−λ)·y_recipient. The CutMix paper's λ is the recipient's kept share (our
// 1−λ); the Attentive CutMix paper's λ = N/49 is the donor's share (ours).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

namespace acm::augment {

struct MixedBatch {
  at::Tensor images;   // B×C×H×W, the mixed images
  at::Tensor targets;  // B×K soft targets; every row sums to 1
  at::Tensor lambda;   // B (float64): the donor's share per sample; 0 where nothing was mixed in
  at::Tensor
      partner;      // B (int64): the donor's index in the batch; the sample itself where nothing was mixed in
  at::Tensor mask;  // B×1×H×W (float32): 1 where a pixel came from the donor (Cutout: where it was erased);
                    // undefined for blend methods (Mixup, none)
};

// Where a batch's samples came from: what a method that looks samples up (the attention cache) needs.
struct BatchInfo {
  at::Tensor indices;   // B int64: each sample's index in the training set; undefined when unknown
  at::Tensor geometry;  // B×3 int32: crop offset y, crop offset x, flip (harness/data/transforms.h)
};

class Mixer {
 public:
  virtual ~Mixer() = default;
  // `images` B×C×H×W float, `labels` B int64 in [0, num_classes). Every random draw comes from `gen`.
  MixedBatch mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                 at::Generator& gen, const BatchInfo& info = {}) const {
    return do_mix(images, labels, num_classes, gen, info);
  }
  virtual std::string name() const = 0;

 private:
  virtual MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                            at::Generator& gen, const BatchInfo& info) const = 0;
};

// Helpers shared by the methods.
at::Tensor one_hot_targets(const at::Tensor& labels, std::int64_t num_classes);  // B×K float32
// target = λ·onehot(y[partner]) + (1−λ)·onehot(y), λ per sample (B, float64).
at::Tensor soft_targets(const at::Tensor& labels, const at::Tensor& partner, const at::Tensor& lambda,
                        std::int64_t num_classes);
// The batch where `mask` (1×1×H×W or B×1×H×W float32 of 0 and 1, on the CPU) marks the pixels each sample
// takes from images[partner[i]] at the same place; λ is each sample's exact masked share, computed on the host
// (no device synchronisation), and the mask moves to the images' device. SaliencyMix, FMix and GridMix.
MixedBatch paste_mask(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                      const at::Tensor& partner, const at::Tensor& mask);
// A uniformly random permutation of 0..n-1 drawn from `gen` (the pairing of donors to recipients).
at::Tensor random_pairing(std::int64_t n, at::Generator& gen);
// One draw from Beta(a, b) with `gen`: Ga / (Ga + Gb) with Ga ~ Gamma(a), Gb ~ Gamma(b).
double sample_beta(double a, double b, at::Generator& gen);
double sample_uniform(at::Generator& gen);                      // [0, 1)
std::int64_t sample_below(std::int64_t n, at::Generator& gen);  // [0, n)

// Cross-entropy against soft targets: mean over the batch of −Σ_k t_k log softmax(logits)_k.
at::Tensor soft_cross_entropy(const at::Tensor& logits, const at::Tensor& targets);

}  // namespace acm::augment
