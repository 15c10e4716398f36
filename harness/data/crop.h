// The two crops of ImageNet-style training, as resampling plans over the full-size image:
//   - torchvision's Resize(resize) + CenterCrop(size) (evaluation, and training's default);
//   - torchvision's RandomResizedCrop(size) (scale 0.08–1, ratio 3/4–4/3; ten tries, then the centre
//     fallback), whose draws come from the sample's keyed generator, or from a test's list.
// A plan is independent of the scale the image is decoded at (resample.h's scale_axis maps it).
#pragma once

#include <cstdint>
#include <functional>

#include "harness/data/resample.h"

namespace acm::data {

struct CropPlan {
  ResampleAxis x, y;
};

// Resize so the shorter side is `resize` (the longer int(resize · long / short)), then the centre size×size.
CropPlan center_crop_plan(std::int64_t width, std::int64_t height, std::int64_t resize, std::int64_t size);

// A crop in full-size pixel coordinates.
struct CropBox {
  std::int64_t top = 0, left = 0, height = 0, width = 0;
};
// The crop box resized to size×size (torchvision's resized_crop: taps stay inside the box).
CropPlan resized_crop_plan(const CropBox& box, std::int64_t size);

struct RandomResizedCropSpec {
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
};

// The draws RandomResizedCrop makes, in torchvision's order: per try a uniform area fraction in
// [scale_min, scale_max) and a uniform log aspect ratio in [log ratio_min, log ratio_max); on success an
// integer top in [0, H - h] and left in [0, W - w].
struct CropDraws {
  std::function<double(double lo, double hi)> uniform;
  std::function<std::int64_t(std::int64_t n)> below;  // uniform in [0, n)
};

// torchvision.transforms.RandomResizedCrop.get_params, step for step (rounding with Python's round).
CropBox random_resized_crop_box(std::int64_t width, std::int64_t height, const RandomResizedCropSpec& spec,
                                const CropDraws& draws);

}  // namespace acm::data
