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

namespace acm::augment {

struct ReduceSpec {
  std::string how = "mean";  // mean | sum | channel
  std::int64_t channel = 0;  // how = channel: which one
};
const std::vector<std::string>& reduce_names();

// B×C×h×w features -> B×h×w float32 heatmaps. std::invalid_argument for a non-4-D input or a channel index
// out of range.
at::Tensor reduce_channels(const at::Tensor& features, const ReduceSpec& spec);

// B×h×w -> B×grid×grid float32 (see the header comment for the rule).
at::Tensor resize_to_grid(const at::Tensor& maps, std::int64_t grid);

// The N highest cells of each B×grid×grid map (N per sample, int64 B, each in 1..grid²), ties to the lower
// row-major index: a B×grid×grid uint8 selection. std::invalid_argument for non-finite heatmap values.
at::Tensor top_cells(const at::Tensor& grid_maps, const at::Tensor& n);

// For each pixel row (or column) of a side of `size` pixels, the grid cell k it lies in: cell k spans
// [floor(k·size/grid), floor((k+1)·size/grid)). A cell is empty when grid > size.
std::vector<std::int64_t> pixel_cells(std::int64_t size, std::int64_t grid);

// B×grid×grid selection -> B×1×H×W float32 mask: 1 on every pixel of a selected cell.
at::Tensor cell_mask(const at::Tensor& selection, std::int64_t height, std::int64_t width);

// out[i] = images[partner[i]] where mask[i] is set, images[i] elsewhere; mask B×1×H×W. On the CPU, for
// contiguous NCHW images, it copies each recipient row once and then the donor's runs of masked pixels
// (memcpy); elsewhere (CUDA, channels-last) it is at::where. Both give identical results.
at::Tensor paste_masked(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask);
// The at::where path alone, for tests and benchmarks.
at::Tensor paste_masked_reference(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask);

}  // namespace acm::augment
