// The gallery: a PNG grid in the manner of the Attentive CutMix paper's Figure 1. One row per donor image:
// the donor, its heatmap overlaid with the chosen cells outlined, the recipient, then the recipient after
// every method of the table — Mixup, Cutout, CutMix, SaliencyMix, ResizeMix, FMix, GridMix and Attentive CutMix —
// with that donor (the same pair for every method), with λ printed under each. The newer methods are drawn at
// their defaults (ResizeMix 0.1..0.8, FMix δ = 3 with κ ~ U(0, 1), GridMix 4 × 4 cells at p = 0.5).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "augment/attentive_cutmix.h"

namespace acm::augment {

// An RGB image to draw on.
struct Canvas {
  std::int64_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // height × width × 3

  Canvas(std::int64_t w, std::int64_t h, std::uint8_t grey = 255);
  void fill(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h, const std::uint8_t colour[3]);
  // Draws a C×H×W image with values in [0, 1] (1 or 3 channels), each pixel as a scale×scale square.
  void draw_image(std::int64_t x, std::int64_t y, const at::Tensor& image, std::int64_t scale);
  // Text in a 5×7 pixel font (letters, digits, . = - λ), each font pixel scale×scale; returns its width.
  std::int64_t text(std::int64_t x, std::int64_t y, const std::string& utf8, std::int64_t scale,
                    const std::uint8_t colour[3]);
  static std::int64_t text_width(const std::string& utf8, std::int64_t scale);
};

// PNG (8-bit RGB), written atomically.
void write_png(const std::string& path, const Canvas& canvas);

struct GalleryOptions {
  AttentiveOptions attentive;  // grid and N (fixed) of the attentive column
  double mixup_alpha = 1.0, cutmix_alpha = 1.0;
  std::int64_t cutout_size = 16;
  std::vector<double> mean, std;  // the images' normalisation, undone for display; empty: none
};

// `images` B×C×H×W as training sees them, `grid_maps` their heatmaps (B×grid×grid). Donor i is pasted into
// recipient (i + 1) mod B. Returns the canvas; draws from `gen`.
Canvas render_gallery(const at::Tensor& images, const at::Tensor& grid_maps, const GalleryOptions& options,
                      at::Generator& gen);

}  // namespace acm::augment
