// Attentive CutMix (Walawalkar, Shen, Liu, Savvides, ICASSP 2020): paste the donor's N most attended grid
// cells — by a frozen extractor's heatmap — onto the recipient at the same positions (attention.h has each
// step).
//
// λ (the donor's share, the convention of this whole project and of this paper: λ = N/49 for N of 7×7 cells)
// is recomputed as the exact pasted pixel fraction, which is N/grid² only when the grid divides the image.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "augment/method.h"
#include "augment/mixer.h"
#include "augment/mix_spec.h"

namespace acm::augment {

// Gives the grid×grid heatmap of each image of a batch (B×grid×grid float32): a fresh pass of the extractor
// (extractor.h) or a look-up in the attention cache (attention_cache.h).
class HeatmapSource {
 public:
  virtual ~HeatmapSource() = default;
  virtual at::Tensor grid_maps(const at::Tensor& images, const BatchInfo& info, std::int64_t grid) const = 0;
  virtual std::string describe() const = 0;
};


class AttentiveCutMixMixer : public Mixer {
 public:
  AttentiveCutMixMixer(AttentiveOptions options, std::shared_ptr<const HeatmapSource> heatmaps);
  std::string name() const override { return "attentive_cutmix"; }
  const AttentiveOptions& options() const { return opt_; }

  // The deterministic core: `grid_maps` holds each image's own heatmap (B×grid×grid); image i receives the
  // top-n[i] cells of images[partner[i]]'s heatmap.
  static MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                          const at::Tensor& partner, const at::Tensor& grid_maps, const at::Tensor& n);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  AttentiveOptions opt_;
  std::shared_ptr<const HeatmapSource> heatmaps_;
};

// The table entry (method.h): fields grid, lambda, top_n or alpha, prob, cache and the extractor object.
Method attentive_cutmix_method();

}  // namespace acm::augment
