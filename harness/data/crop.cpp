#include "harness/data/crop.h"

#include <algorithm>
#include <cmath>

namespace acm::data {

namespace {

// Python's round() on a double: halves to even (the default rounding mode).
std::int64_t py_round(double v) { return static_cast<std::int64_t>(std::nearbyint(v)); }

ResampleAxis whole_resize_window(std::int64_t n, std::int64_t resized, std::int64_t first, std::int64_t count) {
  ResampleAxis a;
  a.box0 = 0;
  a.box1 = static_cast<double>(n);
  a.total = resized;
  a.first = first;
  a.count = count;
  a.clip0 = 0;
  a.clip1 = n;
  return a;
}

ResampleAxis crop_axis(std::int64_t start, std::int64_t length, std::int64_t size) {
  ResampleAxis a;
  a.box0 = static_cast<double>(start);
  a.box1 = static_cast<double>(start + length);
  a.total = size;
  a.first = 0;
  a.count = size;
  a.clip0 = start;
  a.clip1 = start + length;
  return a;
}

}  // namespace

CropPlan center_crop_plan(std::int64_t w, std::int64_t h, std::int64_t resize, std::int64_t s) {
  // torchvision's Resize(int): the shorter side becomes `resize`, the longer one int(resize · long / short).
  std::int64_t rh = resize, rw = resize;
  if (w < h) rh = static_cast<std::int64_t>(static_cast<double>(resize) * static_cast<double>(h) / static_cast<double>(w));
  if (h < w) rw = static_cast<std::int64_t>(static_cast<double>(resize) * static_cast<double>(w) / static_cast<double>(h));
  // CenterCrop: top = round((rh - s) / 2) with Python's round.
  const std::int64_t top = py_round(static_cast<double>(rh - s) / 2.0);
  const std::int64_t left = py_round(static_cast<double>(rw - s) / 2.0);
  return {whole_resize_window(w, rw, left, s), whole_resize_window(h, rh, top, s)};
}

CropPlan resized_crop_plan(const CropBox& b, std::int64_t size) {
  return {crop_axis(b.left, b.width, size), crop_axis(b.top, b.height, size)};
}

CropBox random_resized_crop_box(std::int64_t width, std::int64_t height, const RandomResizedCropSpec& spec,
                                const CropDraws& draws) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  // torchvision holds log(ratio) and the drawn aspect ratio as float32 tensors.
  const double log_lo = static_cast<float>(std::log(static_cast<float>(spec.ratio_min)));
  const double log_hi = static_cast<float>(std::log(static_cast<float>(spec.ratio_max)));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * draws.uniform(spec.scale_min, spec.scale_max);
    const double aspect = std::exp(static_cast<float>(draws.uniform(log_lo, log_hi)));
    const std::int64_t w = py_round(std::sqrt(target_area * aspect));
    const std::int64_t h = py_round(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const std::int64_t top = draws.below(height - h + 1);
      const std::int64_t left = draws.below(width - w + 1);
      return {top, left, h, w};
    }
  }
  // The centre fallback: the largest box of the nearest allowed ratio.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  std::int64_t w = width, h = height;
  if (in_ratio < spec.ratio_min) {
    h = py_round(static_cast<double>(w) / spec.ratio_min);
  } else if (in_ratio > spec.ratio_max) {
    w = py_round(static_cast<double>(h) * spec.ratio_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

}  // namespace acm::data
