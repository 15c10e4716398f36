#include "harness/data/transforms.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "harness/data/keyed_rng.h"

namespace acm::data {

void validate_transform(const TransformSpec& t, std::int64_t channels, std::int64_t height,
                        std::int64_t width) {
  if (t.crop_padding < 0 || t.crop_padding > std::min(height, width)) {
    throw std::invalid_argument("crop padding " + std::to_string(t.crop_padding) + " must be in [0, " +
                                std::to_string(std::min(height, width)) + "]");
  }
  if (t.mean.size() != t.std.size())
    throw std::invalid_argument("normalisation mean and std differ in length");
  if (!t.mean.empty() && static_cast<std::int64_t>(t.mean.size()) != channels) {
    throw std::invalid_argument("normalisation has " + std::to_string(t.mean.size()) +
                                " channels, images have " + std::to_string(channels));
  }
  for (double s : t.std) {
    if (!(s > 0)) throw std::invalid_argument("normalisation std must be > 0, got " + std::to_string(s));
  }
}

Geometry draw_geometry(const TransformSpec& t, std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  KeyedRng rng(seed, epoch, index, Stream::kTransform);
  Geometry g;
  // Always two draws, so turning one transform off does not change the other's values.
  const std::int64_t span = 2 * t.crop_padding + 1;
  const std::int64_t dy = rng.below(span), dx = rng.below(span);
  const bool flip = rng.bernoulli(0.5);
  if (t.crop_padding > 0) {
    g.offset_y = static_cast<std::int32_t>(dy - t.crop_padding);
    g.offset_x = static_cast<std::int32_t>(dx - t.crop_padding);
  }
  g.flip = t.horizontal_flip && flip ? 1 : 0;
  return g;
}

SampleTransform::SampleTransform(const TransformSpec& spec, std::int64_t channels, std::int64_t height,
                                 std::int64_t width)
    : spec_(spec), c_(channels), h_(height), w_(width), lut_(static_cast<std::size_t>(channels) * 256) {
  validate_transform(spec, channels, height, width);
  for (std::int64_t c = 0; c < c_; ++c) {
    const double mean = spec.mean.empty() ? 0.0 : spec.mean[c];
    const double inv_std = spec.std.empty() ? 1.0 : 1.0 / spec.std[c];
    for (int v = 0; v < 256; ++v) lut_[c * 256 + v] = static_cast<float>((v / 255.0 - mean) * inv_std);
  }
}

void SampleTransform::apply(const std::uint8_t* in, const Geometry& g, float* out) const {
  for (std::int64_t c = 0; c < c_; ++c) {
    const float* lut = lut_.data() + c * 256;
    const float pad = lut[0];
    const std::uint8_t* plane = in + c * h_ * w_;
    float* dst = out + c * h_ * w_;
    for (std::int64_t y = 0; y < h_; ++y) {
      const std::int64_t sy = y + g.offset_y;
      float* row = dst + y * w_;
      if (sy < 0 || sy >= h_) {
        std::fill(row, row + w_, pad);
        continue;
      }
      const std::uint8_t* src = plane + sy * w_;
      // Output columns whose source column x' + ox lies inside the image.
      if (!g.flip) {
        const std::int64_t lo = std::max<std::int64_t>(0, -g.offset_x),
                           hi = std::min<std::int64_t>(w_, w_ - g.offset_x);
        std::fill(row, row + lo, pad);
        for (std::int64_t x = lo; x < hi; ++x) row[x] = lut[src[x + g.offset_x]];
        std::fill(row + std::max(lo, hi), row + w_, pad);
      } else {
        for (std::int64_t x = 0; x < w_; ++x) {
          const std::int64_t sx = (w_ - 1 - x) + g.offset_x;
          row[x] = (sx < 0 || sx >= w_) ? pad : lut[src[sx]];
        }
      }
    }
  }
}

}  // namespace acm::data
