#include "augment/cutout.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "augment/kernels.h"
#include "common/json_reader.h"

namespace acm::augment {

CutoutMixer::CutoutMixer(std::int64_t size, std::int64_t holes) : size_(size), holes_(holes) {
  if (size < 1 || holes < 1) throw std::invalid_argument("cutout: size and holes must be >= 1");
}

MixedBatch CutoutMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                               at::Generator& gen, const BatchInfo&) const {
  const std::int64_t b = images.size(0), H = images.size(2), W = images.size(3);
  MixedBatch out;
  // All centres in one draw, sample by sample and hole by hole (y then x): (b·holes)×2 values.
  const at::Tensor centres =
      at::empty({b * holes_, 2}, at::kLong).random_(0, std::numeric_limits<std::int64_t>::max(), gen);
  const std::int64_t* c = centres.const_data_ptr<std::int64_t>();
  std::vector<std::vector<Box>> boxes(static_cast<std::size_t>(b));
  at::Tensor mask = at::zeros({b, 1, H, W}, at::kFloat);
  float* m = mask.data_ptr<float>();
  for (std::int64_t i = 0; i < b; ++i) {
    for (std::int64_t h = 0; h < holes_; ++h) {
      const std::int64_t k = i * holes_ + h;
      const Box box = centred_box(c[2 * k] % H, c[2 * k + 1] % W, size_, size_, H, W);
      boxes[static_cast<std::size_t>(i)].push_back(box);
      for (std::int64_t y = box.y0; y < box.y1; ++y)
        std::fill(m + (i * H + y) * W + box.x0, m + (i * H + y) * W + box.x1, 1.f);
    }
  }
  out.mask = mask.to(images.device());
  out.images = erase_boxes(images, boxes);
  out.partner = at::arange(b, at::kLong);
  out.lambda = at::zeros({b}, at::kDouble);
  out.targets = one_hot_targets(labels, num_classes);
  return out;
}

Method cutout_method() {
  Method m;
  m.name = m.label = "cutout";
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.size = r.get_int("size", s.size, 1, 4096);
    s.holes = r.get_int("holes", s.holes, 1, 1024);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) { j.update({{"size", s.size}, {"holes", s.holes}}); };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<CutoutMixer>(s.size, s.holes);
  };
  return m;
}

}  // namespace acm::augment
