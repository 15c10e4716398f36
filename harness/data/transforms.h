// Standard per-sample transforms: random crop with zero padding, horizontal flip, per-channel normalisation.
//
// Each sample's geometry is returned with it (the attention cache maps heatmaps through it). With offsets
// (oy, ox) and flip f, output pixel (y, x) is input pixel (y + oy, x' + ox) where x' = f ? W-1-x : x, and a
// pixel outside the input is the zero pixel (black, before normalisation) — torchvision's RandomCrop(padding)
// followed by RandomHorizontalFlip.
#pragma once

#include <cstdint>
#include <vector>

#include "harness/data/dataset.h"

namespace acm::data {

struct TransformSpec {
  std::int64_t crop_padding = 0;  // 0: no random crop
  bool horizontal_flip = false;
  std::vector<double> mean;  // per channel, pixels scaled to [0,1]; empty: no normalisation
  std::vector<double> std;
};

struct Geometry {
  std::int32_t offset_y = 0;  // crop window's top-left in input coordinates; in [-padding, +padding]
  std::int32_t offset_x = 0;
  std::int32_t flip = 0;  // 1: mirrored left-right after cropping
};

// Draws the geometry of sample `index` in `epoch`: a pure function of its arguments.
Geometry draw_geometry(const TransformSpec& t, std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);

// Applies crop, flip and normalisation to one C×H×W uint8 image, writing C×H×W floats to `out`.
class SampleTransform {
 public:
  SampleTransform(const TransformSpec& spec, std::int64_t channels, std::int64_t height, std::int64_t width);
  void apply(const std::uint8_t* in, const Geometry& g, float* out) const;
  const TransformSpec& spec() const { return spec_; }

 private:
  TransformSpec spec_;
  std::int64_t c_, h_, w_;
  std::vector<float> lut_;  // c_ × 256: normalised value of each byte per channel
};

// Checks a spec against a data set (mean/std lengths, positive std, padding) and throws
// std::invalid_argument.
void validate_transform(const TransformSpec& t, std::int64_t channels, std::int64_t height,
                        std::int64_t width);

}  // namespace acm::data
