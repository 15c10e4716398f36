// ResizeMix (Qin, Fang, Peng, Wang and Wang, "ResizeMix: Mixing Data with Preserved Object Information and
// True Labels", arXiv 2012.11101, 2020): the whole donor, shrunk, pasted into a box of the recipient, so the
// patch always holds the donor's object and the label weight is its true share.
//
// As the paper does it: with probability p, a scale τ ~ U(τ_min, τ_max) (the paper's 0.1..0.8), the donor
// resized to h × w = ⌊τ·H⌋ × ⌊τ·W⌋ (at least 1), pasted with its top-left corner uniform over the places where
// it fits; our λ (the donor's share) is the exact pasted area h·w/(H·W) (the paper's τ², before truncation).
// One scale and place for the whole batch, as CutMix's box. The resize is bilinear with antialiasing, as
// torchvision's resize of a tensor (the paper does not say which filter).
#pragma once

#include "augment/box.h"
#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class ResizeMixMixer : public Mixer {
 public:
  ResizeMixMixer(double scale_min = 0.1, double scale_max = 0.8, double prob = 1.0);
  std::string name() const override { return "resizemix"; }

  // The deterministic core: images[partner[i]] resized into `box` of image i, for every i. `mask` marks the
  // box; the rest of the image is the recipient's.
  static MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                          const at::Tensor& partner, const Box& box);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  double scale_min_, scale_max_, prob_;
};

// The table entry (method.h): fields scale_min, scale_max, prob.
Method resizemix_method();

}  // namespace acm::augment
