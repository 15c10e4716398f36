#include "augment/mixup.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "augment/kernels.h"
#include "common/json_reader.h"

namespace acm::augment {

MixupMixer::MixupMixer(double alpha, bool per_sample) : alpha_(alpha), per_sample_(per_sample) {
  if (!(alpha > 0)) throw std::invalid_argument("mixup: alpha must be > 0");
}

MixedBatch MixupMixer::apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                             const at::Tensor& partner, const at::Tensor& lambda) {
  MixedBatch out;
  out.images = blend_pairs(images, partner, lambda);
  out.partner = partner;
  out.lambda = lambda;
  out.targets = soft_targets(labels, partner, lambda, num_classes);
  return out;
}

MixedBatch MixupMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                              at::Generator& gen, const BatchInfo&) const {
  const std::int64_t b = images.size(0);
  const at::Tensor partner = random_pairing(b, gen);
  at::Tensor lambda = at::empty({b}, at::kDouble);
  if (per_sample_) {
    auto* l = lambda.data_ptr<double>();
    for (std::int64_t i = 0; i < b; ++i) l[i] = sample_beta(alpha_, alpha_, gen);
  } else {
    lambda.fill_(sample_beta(alpha_, alpha_, gen));
  }
  return apply(images, labels, num_classes, partner, lambda);
}

Method mixup_method() {
  Method m;
  m.name = m.label = "mixup";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.alpha = r.get_double("alpha", s.alpha, 1e-6, 1e6);
    s.per_sample = r.get_bool("per_sample", s.per_sample);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) { j.update({{"alpha", s.alpha}, {"per_sample", s.per_sample}}); };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<MixupMixer>(s.alpha, s.per_sample);
  };
  return m;
}

}  // namespace acm::augment
