#include "augment/attentive_cutmix.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "augment/attention.h"
#include "augment/none.h"

namespace acm::augment {

AttentiveCutMixMixer::AttentiveCutMixMixer(AttentiveOptions options,
                                           std::shared_ptr<const HeatmapSource> heatmaps)
    : opt_(std::move(options)), heatmaps_(std::move(heatmaps)) {
  if (opt_.grid < 1) throw std::invalid_argument("attentive_cutmix: grid must be >= 1");
  if (opt_.top_n < 1 || opt_.top_n > opt_.grid * opt_.grid) {
    throw std::invalid_argument("attentive_cutmix: top_n must be in 1.." +
                                std::to_string(opt_.grid * opt_.grid) + " for a " +
                                std::to_string(opt_.grid) + "×" + std::to_string(opt_.grid) + " grid");
  }
  if (opt_.lambda != "fixed" && opt_.lambda != "beta") {
    throw std::invalid_argument("attentive_cutmix: lambda must be fixed or beta");
  }
  if (!(opt_.alpha > 0)) throw std::invalid_argument("attentive_cutmix: alpha must be > 0");
  if (!(opt_.prob >= 0 && opt_.prob <= 1))
    throw std::invalid_argument("attentive_cutmix: prob must be in [0, 1]");
  if (!heatmaps_) throw std::invalid_argument("attentive_cutmix: needs an extractor (mix.extractor)");
}

MixedBatch AttentiveCutMixMixer::apply(const at::Tensor& images, const at::Tensor& labels,
                                       std::int64_t num_classes, const at::Tensor& partner,
                                       const at::Tensor& grid_maps, const at::Tensor& n) {
  const std::int64_t H = images.size(2), W = images.size(3);
  const at::Tensor donor_maps = grid_maps.index_select(0, partner.to(grid_maps.device()));
  const at::Tensor selection = top_cells(donor_maps, n);
  MixedBatch out;
  const at::Tensor mask = cell_mask(selection, H, W, at::kByte);
  out.images = paste_masked(images, partner, mask);
  out.mask = mask.to(images.device(), at::kFloat);
  out.partner = partner;
  // λ = pasted pixels / all pixels, per sample (N/grid² only when the grid divides H and W): the sum of the
  // chosen cells' exact areas.
  const std::int64_t gh = selection.size(1), gw = selection.size(2);
  const at::Tensor sel = selection.to(at::kCPU).contiguous();
  const std::uint8_t* s = sel.const_data_ptr<std::uint8_t>();
  out.lambda = at::empty({images.size(0)}, at::kDouble);
  double* lam = out.lambda.data_ptr<double>();
  for (std::int64_t i = 0; i < images.size(0); ++i) {
    std::int64_t area = 0;
    for (std::int64_t r = 0; r < gh; ++r) {
      for (std::int64_t c = 0; c < gw; ++c) {
        if (s[(i * gh + r) * gw + c]) {
          area += ((r + 1) * H / gh - r * H / gh) * ((c + 1) * W / gw - c * W / gw);
        }
      }
    }
    lam[i] = static_cast<double>(area) / static_cast<double>(H * W);
  }
  out.targets = soft_targets(labels, partner, out.lambda, num_classes);
  return out;
}

MixedBatch AttentiveCutMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels,
                                        std::int64_t num_classes, at::Generator& gen,
                                        const BatchInfo& info) const {
  // Draw order fixed whatever the outcome, so one batch's draws never shift the next batch's.
  const std::int64_t b = images.size(0), cells = opt_.grid * opt_.grid;
  const double u = sample_uniform(gen);
  const at::Tensor partner = random_pairing(b, gen);
  std::int64_t n = opt_.top_n;
  if (opt_.lambda == "beta") {
    const double lam = sample_beta(opt_.alpha, opt_.alpha, gen);
    n = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(lam * static_cast<double>(cells))), 1,
                                 cells);
  }
  if (u >= opt_.prob) return NoneMixer().mix(images, labels, num_classes, gen);
  const at::Tensor maps = heatmaps_->grid_maps(images, info, opt_.grid);
  return apply(images, labels, num_classes, partner, maps, at::full({b}, n, at::kLong));
}

}  // namespace acm::augment
