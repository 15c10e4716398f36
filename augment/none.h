// The baseline: no mixing. Targets are one-hot, λ is 0, every sample is its own partner.
#pragma once

#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class NoneMixer : public Mixer {
 public:
  std::string name() const override { return "none"; }

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
};

// The table entry (method.h): name none, label baseline, no fields.
Method none_method();

}  // namespace acm::augment
