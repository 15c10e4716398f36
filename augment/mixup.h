// Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018).
//
// x̃ = (1−λ)·x_recipient + λ·x_donor, target = λ·y_donor + (1−λ)·y_recipient, λ ~ Beta(α, α): by symmetry of
// Beta(α, α) the donor's and the recipient's weights have the same law, so our λ (the donor's share) is drawn
// exactly as the paper's. One λ per batch (the paper's) or one per sample.
#pragma once

#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class MixupMixer : public Mixer {
 public:
  explicit MixupMixer(double alpha = 1.0, bool per_sample = false);  // α = 1: the paper's CIFAR setting
  std::string name() const override { return "mixup"; }

  // The deterministic core: blends with the given pairing and per-sample λ (B, float64).
  static MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                          const at::Tensor& partner, const at::Tensor& lambda);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  double alpha_;
  bool per_sample_;
};

// The table entry (method.h): fields alpha, per_sample.
Method mixup_method();

}  // namespace acm::augment
