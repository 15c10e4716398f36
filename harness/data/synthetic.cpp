#include "harness/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "harness/data/keyed_rng.h"

namespace acm::data {

namespace {

constexpr double kPi = 3.141592653589793;

Dataset make_split(const SyntheticSpec& s, std::int64_t n, std::uint64_t split, const std::string& name) {
  Dataset ds;
  ds.name = name;
  ds.source = "synthetic(seed=" + std::to_string(s.seed) + ", classes=" + std::to_string(s.num_classes) +
              ", noise=" + std::to_string(s.noise) + ")";
  ds.channels = s.channels;
  ds.height = s.height;
  ds.width = s.width;
  ds.num_classes = s.num_classes;
  ds.images.resize(static_cast<std::size_t>(n * ds.image_bytes()));
  ds.labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    KeyedRng rng(s.seed, split, static_cast<std::uint64_t>(i), Stream::kSynthetic);
    const std::int64_t c = i % s.num_classes;  // balanced, so any prefix or subset holds every class
    ds.labels[static_cast<std::size_t>(i)] = c;
    // Class identity: orientation spread over half a turn, frequency cycling through 3 values.
    const double angle = kPi * static_cast<double>(c) / static_cast<double>(s.num_classes);
    const double freq = 1.5 + static_cast<double>(c % 3);  // cycles across the image
    const double phase = 2 * kPi * rng.uniform();
    const double contrast = 0.25 + 0.2 * rng.uniform();
    const double ca = std::cos(angle), sa = std::sin(angle);
    std::uint8_t* img = ds.image(i);
    for (std::int64_t ch = 0; ch < s.channels; ++ch) {
      const double tint =
          s.channels == 1
              ? 1.0
              : 0.65 + 0.35 * std::cos(2 * kPi *
                                       (static_cast<double>(c) / static_cast<double>(s.num_classes) +
                                        static_cast<double>(ch) / static_cast<double>(s.channels)));
      for (std::int64_t y = 0; y < s.height; ++y) {
        for (std::int64_t x = 0; x < s.width; ++x) {
          const double u = (static_cast<double>(x) / static_cast<double>(s.width)) * ca +
                           (static_cast<double>(y) / static_cast<double>(s.height)) * sa;
          const double v =
              0.5 + tint * contrast * std::sin(2 * kPi * freq * u + phase) + s.noise * rng.normal();
          img[(ch * s.height + y) * s.width + x] =
              static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
        }
      }
    }
  }
  return ds;
}

}  // namespace

DatasetSplits make_synthetic(const SyntheticSpec& s) {
  auto positive = [](std::int64_t v, const char* what) {
    if (v <= 0)
      throw std::invalid_argument(std::string("synthetic data: ") + what + " must be positive, got " +
                                  std::to_string(v));
  };
  positive(s.train_size, "train_size");
  positive(s.test_size, "test_size");
  positive(s.channels, "channels");
  positive(s.height, "height");
  positive(s.width, "width");
  positive(s.num_classes, "classes");
  if (s.num_classes > 100000) throw std::invalid_argument("synthetic data: at most 100000 classes");
  if (!(s.noise >= 0)) throw std::invalid_argument("synthetic data: noise must be >= 0");
  return {make_split(s, s.train_size, 0, "synthetic/train"), make_split(s, s.test_size, 1, "synthetic/test")};
}

}  // namespace acm::data
