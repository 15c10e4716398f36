// CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
// Features", ICCV 2019), as its reference code does it: with probability p, one box for the whole batch, cut
// from the partner images and pasted at the same place.
//
// The paper draws κ ~ Beta(α, α) as the recipient's kept share (their λ) and cuts a box of side W·sqrt(1−κ),
// H·sqrt(1−κ) around a uniform centre, clipped to the image. Our λ (the donor's share) is then recomputed as
// the exact pasted area / (H·W) — after clipping, not the sampled 1−κ (CutMix §3.1 and its code).
#pragma once

#include "augment/box.h"
#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class CutMixMixer : public Mixer {
 public:
  // α = 1 is the paper's; p = 0.5 is its reference code's CIFAR command (--cutmix_prob 0.5), 1.0 its ImageNet
  // one.
  explicit CutMixMixer(double alpha = 1.0, double prob = 0.5);
  std::string name() const override { return "cutmix"; }

  // The deterministic core: pastes `box` of images[partner[i]] onto image i, for every i.
  static MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                          const at::Tensor& partner, const Box& box);
  // The paper's box for a sampled κ and centre.
  static Box paper_box(double kappa, std::int64_t cy, std::int64_t cx, std::int64_t H, std::int64_t W);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  double alpha_, prob_;
};

// The table entry (method.h): fields alpha, prob.
Method cutmix_method();

}  // namespace acm::augment
