// Attention maps for Attentive CutMix (Walawalkar et al., ICASSP 2020), step by step, each a pure function:
//
//   features B×C×h×w ─reduce over C─► B×h×w ─resize─► B×grid×grid ─top-N cells─► B×grid×grid selection
//   selection ─cell boundaries floor(k·H/grid)─► B×1×H×W pixel mask ─paste donor pixels─► mixed images
//
// The resize is adaptive average pooling along a side longer than the grid, bilinear interpolation
// (align_corners = false) along a shorter one, identity along an equal one. Ties among heatmap values go to
// the lower row-major cell index.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "augment/kernels.h"
#include "augment/mix_spec.h"

namespace acm::augment {

const std::vector<std::string>& reduce_names();

// B×C×h×w features -> B×h×w float32 heatmaps. std::invalid_argument for a non-4-D input or a channel index
// out of range.
at::Tensor reduce_channels(const at::Tensor& features, const ReduceSpec& spec);

// B×h×w -> B×out_h×out_w float32 on the CPU by the rule above, side by side: two small matrix products with
// resample_matrix. The identity when the size is already right.
at::Tensor resample(const at::Tensor& maps, std::int64_t out_h, std::int64_t out_w);
// resample() to grid×grid.
at::Tensor resize_to_grid(const at::Tensor& maps, std::int64_t grid);
// The m×n matrix that takes a side of n values to m: adaptive average pooling when n > m, bilinear
// interpolation (align_corners = false) when n < m, the identity when equal.
at::Tensor resample_matrix(std::int64_t n, std::int64_t m);

// The N highest cells of each B×grid×grid map (N per sample, int64 B, each in 1..grid²), ties to the lower
// row-major index: a B×grid×grid uint8 selection. std::invalid_argument for non-finite heatmap values.
at::Tensor top_cells(const at::Tensor& grid_maps, const at::Tensor& n);

// For each pixel row (or column) of a side of `size` pixels, the grid cell k it lies in: cell k spans
// [floor(k·size/grid), floor((k+1)·size/grid)). A cell is empty when grid > size.
std::vector<std::int64_t> pixel_cells(std::int64_t size, std::int64_t grid);

// B×grid×grid selection -> B×1×H×W mask: 1 on every pixel of a selected cell (float32, or uint8 with
// `dtype` at::kByte).
at::Tensor cell_mask(const at::Tensor& selection, std::int64_t height, std::int64_t width,
                     at::ScalarType dtype = at::kFloat);

}  // namespace acm::augment
