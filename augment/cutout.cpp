#include "augment/cutout.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace acm::augment {

CutoutMixer::CutoutMixer(std::int64_t size, std::int64_t holes) : size_(size), holes_(holes) {
  if (size < 1 || holes < 1) throw std::invalid_argument("cutout: size and holes must be >= 1");
}

MixedBatch CutoutMixer::do_mix(const at::Tensor& images, const at::Tensor& labels,
                               std::int64_t num_classes, at::Generator& gen, const BatchInfo&) const {
  const std::int64_t b = images.size(0), H = images.size(2), W = images.size(3);
  MixedBatch out;
  out.mask = at::zeros({b, 1, H, W}, images.options().dtype(at::kFloat));
  for (std::int64_t i = 0; i < b; ++i) {
    for (std::int64_t h = 0; h < holes_; ++h) {
      const std::int64_t cy = sample_below(H, gen), cx = sample_below(W, gen);
      mark_box(out.mask, i, centred_box(cy, cx, size_, size_, H, W));
    }
  }
  out.images = images * (1 - out.mask.to(images.scalar_type()));
  out.partner = at::arange(b, at::kLong);
  out.lambda = at::zeros({b}, at::kDouble);
  out.targets = one_hot_targets(labels, num_classes);
  return out;
}

}  // namespace acm::augment
