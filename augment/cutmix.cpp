#include "augment/cutmix.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>

#include "augment/none.h"
#include "common/json_reader.h"

namespace acm::augment {

CutMixMixer::CutMixMixer(double alpha, double prob) : alpha_(alpha), prob_(prob) {
  if (!(alpha > 0)) throw std::invalid_argument("cutmix: alpha must be > 0");
  if (!(prob >= 0 && prob <= 1)) throw std::invalid_argument("cutmix: prob must be in [0, 1]");
}

Box CutMixMixer::paper_box(double kappa, std::int64_t cy, std::int64_t cx, std::int64_t H, std::int64_t W) {
  const double ratio = std::sqrt(1.0 - kappa);
  // int() truncation, as the reference code's np.int(W * cut_rat).
  return centred_box(cy, cx, static_cast<std::int64_t>(H * ratio), static_cast<std::int64_t>(W * ratio), H,
                     W);
}

MixedBatch CutMixMixer::apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                              const at::Tensor& partner, const Box& box) {
  const std::int64_t b = images.size(0), H = images.size(2), W = images.size(3);
  MixedBatch out;
  out.images = images.clone();
  out.mask = at::zeros({b, 1, H, W}, images.options().dtype(at::kFloat));
  if (box.area() > 0) {
    out.images.slice(2, box.y0, box.y1)
        .slice(3, box.x0, box.x1)
        .copy_(images.slice(2, box.y0, box.y1)
                   .slice(3, box.x0, box.x1)
                   .index_select(0, partner.to(images.device())));
    out.mask.slice(2, box.y0, box.y1).slice(3, box.x0, box.x1).fill_(1.0);
  }
  out.partner = partner;
  // λ is the pasted area, not the sampled one (CutMix, Yun et al. 2019, §3.1).
  out.lambda = at::full({b}, static_cast<double>(box.area()) / static_cast<double>(H * W), at::kDouble);
  out.targets = soft_targets(labels, partner, out.lambda, num_classes);
  return out;
}

MixedBatch CutMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                               at::Generator& gen, const BatchInfo&) const {
  // Draw order fixed whatever the outcome, so one batch's draws never shift the next batch's.
  const double u = sample_uniform(gen);
  const double kappa = sample_beta(alpha_, alpha_, gen);
  const std::int64_t H = images.size(2), W = images.size(3);
  const std::int64_t cy = sample_below(H, gen), cx = sample_below(W, gen);
  const at::Tensor partner = random_pairing(images.size(0), gen);
  if (u >= prob_) return NoneMixer().mix(images, labels, num_classes, gen);
  return apply(images, labels, num_classes, partner, paper_box(kappa, cy, cx, H, W));
}

Method cutmix_method() {
  Method m;
  m.name = m.label = "cutmix";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.alpha = r.get_double("alpha", s.alpha, 1e-6, 1e6);
    s.prob = r.get_double("prob", s.prob, 0, 1);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) { j.update({{"alpha", s.alpha}, {"prob", s.prob}}); };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<CutMixMixer>(s.alpha, s.prob);
  };
  return m;
}

}  // namespace acm::augment
