// Image files to pixels: JPEG through libjpeg-turbo (grayscale and Adobe CMYK included), PNG through libpng
// (ImageNet's train split holds one PNG named .JPEG); told apart by their bytes, not their names.
//
// The loader's path, decode_resampled, reads only what its crop needs: the JPEG is decoded at the smallest
// DCT scale (k/8) that still gives `oversample` source pixels per output pixel on both axes, only the rows
// the crop's filter taps touch are decoded (rows above are skipped without colour conversion, rows below
// never entropy-decoded), and only the columns they touch leave the IDCT (jpeg_crop_scanline). The region is
// then resampled as PIL does (resample.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/data/crop.h"

namespace acm::data {

// An RGB image, height × width × 3 bytes (interleaved).
struct RgbImage {
  std::int64_t height = 0, width = 0;
  std::vector<std::uint8_t> pixels;
};

// Decodes JPEG or PNG bytes whole. A JPEG may be decoded at a reduced DCT scale whose shorter side is still
// >= `min_side` (0: full size). DataError naming `path`: not a JPEG or PNG (with the first bytes), a corrupt
// or truncated stream (with the decoder's message).
RgbImage decode_image(const std::string& path, const std::uint8_t* data, std::size_t size,
                      std::int64_t min_side = 0);

// The crop plan of an image of the given full size (width, height).
using CropPlanner = std::function<CropPlan(std::int64_t width, std::int64_t height)>;

struct DecodeStats {
  std::int64_t width = 0, height = 0;            // the file's size
  std::int64_t scale_eighths = 8;                // DCT scale used, in eighths
  std::int64_t decoded_rows = 0, decoded_cols = 0;  // the region that left the decoder
};

// Decodes what the plan needs and resamples it to 3 × plan.y.count × plan.x.count bytes (channel-major) in
// `out`. `oversample` 0 decodes at full size: the bytes are then PIL's (tests/anchors/test_resize_crop.cpp);
// the DCT-scaled decode is a slightly different low-pass: at 2 (the default, kDefaultOversample) within a few
// levels of PIL's, at 1 visibly softer on fine detail. Errors as decode_image. Safe to call from several
// threads (buffers are per thread and reused).
inline constexpr double kDefaultOversample = 2.0;
DecodeStats decode_resampled(const std::string& path, const std::uint8_t* data, std::size_t size,
                             const CropPlanner& plan, std::uint8_t* out, double oversample = kDefaultOversample);

// Resamples an already decoded RGB image by a plan (what decode_resampled does after decoding).
void resample_rgb(const RgbImage& in, const CropPlan& plan, std::uint8_t* out);

}  // namespace acm::data
