#include "augment/none.h"

#include <ATen/ATen.h>
#include "common/json_reader.h"

namespace acm::augment {

MixedBatch NoneMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                             at::Generator&, const BatchInfo&) const {
  const std::int64_t b = images.size(0);
  MixedBatch out;
  out.images = images;
  out.partner = at::arange(b, at::kLong);
  out.lambda = at::zeros({b}, at::kDouble);
  out.targets = one_hot_targets(labels, num_classes);
  return out;
}

Method none_method() {
  Method m;
  m.name = "none";
  m.label = "baseline";
  m.parse = [](config::JsonReader&, MixSpec&) {};
  m.to_json = [](const MixSpec&, nlohmann::json&) {};
  m.make = [](const MixSpec&, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<NoneMixer>();
  };
  return m;
}

}  // namespace acm::augment
