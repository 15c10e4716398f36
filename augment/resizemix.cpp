#include "augment/resizemix.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

#include "augment/none.h"
#include "common/json_reader.h"

namespace acm::augment {

ResizeMixMixer::ResizeMixMixer(double scale_min, double scale_max, double prob)
    : scale_min_(scale_min), scale_max_(scale_max), prob_(prob) {
  if (!(scale_min > 0 && scale_min <= scale_max && scale_max <= 1))
    throw std::invalid_argument("resizemix: need 0 < scale_min <= scale_max <= 1");
  if (!(prob >= 0 && prob <= 1)) throw std::invalid_argument("resizemix: prob must be in [0, 1]");
}

MixedBatch ResizeMixMixer::apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                                 const at::Tensor& partner, const Box& box) {
  const std::int64_t b = images.size(0), H = images.size(2), W = images.size(3);
  MixedBatch out;
  out.images = images.clone();
  out.mask = at::zeros({b, 1, H, W}, images.options().dtype(at::kFloat));
  const at::Tensor donor = images.index_select(0, partner.to(images.device()));
  const at::Tensor small = at::_upsample_bilinear2d_aa(donor.to(at::kFloat), {box.y1 - box.y0, box.x1 - box.x0},
                                                       /*align_corners=*/false);
  out.images.slice(2, box.y0, box.y1).slice(3, box.x0, box.x1).copy_(small);
  out.mask.slice(2, box.y0, box.y1).slice(3, box.x0, box.x1).fill_(1.0);
  out.partner = partner;
  out.lambda = at::full({b}, static_cast<double>(box.area()) / static_cast<double>(H * W), at::kDouble);
  out.targets = soft_targets(labels, partner, out.lambda, num_classes);
  return out;
}

MixedBatch ResizeMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                                  at::Generator& gen, const BatchInfo&) const {
  // Draw order fixed whatever the outcome.
  const double u = sample_uniform(gen);
  const double tau = scale_min_ + (scale_max_ - scale_min_) * sample_uniform(gen);
  const std::int64_t H = images.size(2), W = images.size(3);
  const std::int64_t h = std::max<std::int64_t>(1, static_cast<std::int64_t>(tau * H)),
                     w = std::max<std::int64_t>(1, static_cast<std::int64_t>(tau * W));
  const std::int64_t y0 = sample_below(H - h + 1, gen), x0 = sample_below(W - w + 1, gen);
  const at::Tensor partner = random_pairing(images.size(0), gen);
  if (u >= prob_) return NoneMixer().mix(images, labels, num_classes, gen);
  return apply(images, labels, num_classes, partner, Box{y0, y0 + h, x0, x0 + w});
}

Method resizemix_method() {
  Method m;
  m.name = m.label = "resizemix";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.params["scale_min"] = r.get_double("scale_min", 0.1, 1e-6, 1);
    s.params["scale_max"] = r.get_double("scale_max", 0.8, 1e-6, 1);
    s.params["prob"] = r.get_double("prob", 1.0, 0, 1);
    if (s.params["scale_min"].get<double>() > s.params["scale_max"].get<double>())
      throw config::ConfigError(r.path_of("scale_min") + ": " + s.params["scale_min"].dump() + " is above " +
                                r.path_of("scale_max") + " (" + s.params["scale_max"].dump() + ")");
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) {
    for (const char* k : {"scale_min", "scale_max", "prob"}) j[k] = s.params.at(k);
  };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<ResizeMixMixer>(s.params.at("scale_min").get<double>(),
                                            s.params.at("scale_max").get<double>(), s.params.at("prob").get<double>());
  };
  return m;
}

}  // namespace acm::augment
