// FMix (Harris, Marcu, Painter, Niranjan, Prügel-Bennett and Hare, "FMix: Enhancing Mixed Sample Data
// Augmentation", arXiv 2002.12047, 2020): a binary mask of arbitrary shape, cut from low-frequency Fourier
// noise, so the pasted region is one or a few blobs instead of a box.
//
// As the paper's reference code (ecs-vlc/FMix, fmix.py) does it, with its defaults (decay power δ = 3, no soft
// edge): with probability p, κ ~ Beta(α, α) is the recipient's kept share; a complex spectrum of standard
// normal coefficients (real and imaginary parts drawn as an h × f × 2 array, f = ⌊w/2⌋+1, +1 more for odd w)
// scaled by 1/max(|freq|, 1/max(h, w))^δ goes through the inverse real FFT; the image is rescaled to [0, 1];
// the recipient keeps its ⌈κ·h·w⌉ or ⌊κ·h·w⌋ (a fair coin) highest pixels and the donor fills the rest. One
// mask for the whole batch. Our λ (the donor's share) is the exact number of donor pixels / (h·w), where the
// reference code uses κ.
#pragma once

#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class FMixMixer : public Mixer {
 public:
  // α = 1, δ = 3: the reference code's defaults (its CIFAR experiments).
  FMixMixer(double alpha = 1.0, double decay = 3.0, double prob = 1.0);
  std::string name() const override { return "fmix"; }

  // The spectrum's shape for an h × w mask: {h, f, 2} with f as above.
  static std::vector<std::int64_t> param_shape(std::int64_t h, std::int64_t w);
  // The reference code's make_low_freq_image from its normal draws `param` (param_shape, float64): h × w in
  // [0, 1], float64.
  static at::Tensor low_freq_image(const at::Tensor& param, double decay, std::int64_t h, std::int64_t w);
  // The donor's mask (1×1×h×w float32): 0 on the `keep` highest pixels of `grey` (the recipient's), 1 elsewhere.
  static at::Tensor donor_mask(const at::Tensor& grey, std::int64_t keep);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  double alpha_, decay_, prob_;
};

// The table entry (method.h): fields alpha, decay, prob.
Method fmix_method();

}  // namespace acm::augment
