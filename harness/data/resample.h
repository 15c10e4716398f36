// Antialiased bilinear resampling of an image region with PIL's weights (libImaging/Resample.c): a triangle
// filter whose support widens with the shrink factor, coefficients normalised per output sample and rounded
// to PIL's 22-bit fixed point. The sums are taken in float without PIL's rounding to bytes between the passes:
// at full-size decode the output is within one grey level of PIL's (tests/anchors/test_resize_crop.cpp).
//
// Each axis is described on its own (ResampleAxis): the output samples [first, first + count) of a resize of
// the source interval [box0, box1) to `total` samples, with taps clipped to [clip0, clip1). Two cases cover what
// the loader needs:
//   - torchvision's Resize(r) + CenterCrop(s): box = the whole image, total = the resized side, first = the
//     crop's offset, clip = the whole image;
//   - RandomResizedCrop (crop (top, left, h, w), then resize to s): box = clip = the crop, total = count = s.
// Both passes run with a fixed tap count per axis (short windows padded with zero weights): the horizontal one
// on 4-lane pixels (RGBX) converted to float once per row, the vertical one over whole contiguous rows. On
// x86-64 an AVX2 + FMA copy is picked at load time where the CPU has them.
#pragma once

#include <cstdint>
#include <vector>

namespace acm::data {

struct ResampleAxis {
  double box0 = 0, box1 = 0;        // the source interval that maps onto `total` output samples
  std::int64_t total = 0;           // samples the whole box resizes to
  std::int64_t first = 0, count = 0;  // which of them to compute
  std::int64_t clip0 = 0, clip1 = 0;  // taps stay in [clip0, clip1) (source coordinates)
};

// Fixed-point taps of one axis: output k reads source samples start[k] .. start[k] + width - 1 with weights
// weight[k * width ..]; start is clamped so the window stays inside the clip range.
struct ResampleTaps {
  std::int64_t width = 0;
  std::vector<std::int64_t> start;
  std::vector<std::int32_t> weight;
  std::int64_t lo = 0, hi = 0;  // the source range any tap reads: [lo, hi)
};
ResampleTaps resample_taps(const ResampleAxis& axis);

// The same axis in a source scaled by `factor` (a DCT-scaled decode: source side n becomes ceil(n·factor),
// given as `scaled_n` of `n`).
ResampleAxis scale_axis(const ResampleAxis& axis, std::int64_t n, std::int64_t scaled_n);

// Resamples RGBX rows (4 bytes a pixel, `stride` bytes a row) into 3 × ys.count × xs.count bytes, channel-major.
// `rows` points at source row ty.lo, column 0 in its own coordinates `col0` (the first column held: a cropped
// decode holds columns col0 ..). `scratch` is reused between calls (no allocation once it has grown).
void resample_rgbx(const std::uint8_t* rows, std::int64_t stride, std::int64_t col0, const ResampleTaps& tx,
                   const ResampleTaps& ty, std::uint8_t* out, std::vector<std::uint8_t>& scratch);

}  // namespace acm::data
