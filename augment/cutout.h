// Cutout (DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks with Cutout", 2017), as
// its reference code: per image, `holes` square holes of side `size` centred uniformly and clipped to the
// image are set to 0 (after normalisation, i.e. the data set's mean). Labels are unchanged: λ = 0, partner =
// self; the mask marks the erased pixels.
#pragma once

#include "augment/box.h"
#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class CutoutMixer : public Mixer {
 public:
  explicit CutoutMixer(std::int64_t size = 16,
                       std::int64_t holes = 1);  // 16×16, 1 hole: the paper's CIFAR-10
  std::string name() const override { return "cutout"; }

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  std::int64_t size_, holes_;
};

// The table entry (method.h): fields size, holes.
Method cutout_method();

}  // namespace acm::augment
