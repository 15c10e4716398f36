// GridMix (Baek, Bang and Shim, "GridMix: Strong regularization through local context mapping", Pattern
// Recognition 109, 2021): the image cut into a g × g grid, each cell taken from the donor with probability p, so
// the donor's pixels are spread over the image instead of one box.
//
// Written from the paper (no reference code is in the venv): with probability `prob`, each sample draws its own
// g × g Bernoulli(p) cells; cell (i, j) covers rows ⌊i·H/g⌋..⌊(i+1)·H/g⌋ and the same for columns, so uneven
// sizes fall where H or W is not a multiple of g. λ (the donor's share) is the exact share of donor pixels.
// The paper's local-context loss (a label per cell) is not part of this method: every method here trains on
// one soft target per image. g = 4 and p = 0.5 are our defaults, not the paper's (it tunes both per data set).
#pragma once

#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class GridMixMixer : public Mixer {
 public:
  GridMixMixer(std::int64_t grid = 4, double p = 0.5, double prob = 1.0);
  std::string name() const override { return "gridmix"; }

  // The donors' masks (B×1×H×W float32) of B×g×g cell choices (bool).
  static at::Tensor cell_mask(const at::Tensor& cells, std::int64_t H, std::int64_t W);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  std::int64_t grid_;
  double p_, prob_;
};

// The table entry (method.h): fields grid, p, prob.
Method gridmix_method();

}  // namespace acm::augment
