// The per-pixel work of the mixers as single passes over the batch. On the CPU, for contiguous NCHW float32
// or float64 images, each is one loop (parallel over samples) that reads each source pixel once and writes
// each output pixel once; anywhere else (CUDA, channels-last, other types) it falls back to the equivalent
// ATen expression. Both paths give bit-identical results (tests/augment/test_attentive.cpp, test_mixers.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "augment/box.h"

namespace acm::augment {

// out[i] = images[partner[i]] where mask[i] is set, images[i] elsewhere; mask B×1×H×W (any dtype, non-zero
// = set).
at::Tensor paste_masked(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask);
// The ATen path alone (at::where), for tests and benchmarks.
at::Tensor paste_masked_reference(const at::Tensor& images, const at::Tensor& partner,
                                  const at::Tensor& mask);

// out[i] = images[i]·(1−λ_i) + images[partner[i]]·λ_i, computed in the images' type as three rounded
// operations (multiply, multiply, add) — timm's and torchvision's order.
at::Tensor blend_pairs(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& lambda);

// out = images with every box of sample i set to zero; boxes[i] lists sample i's boxes.
at::Tensor erase_boxes(const at::Tensor& images, const std::vector<std::vector<Box>>& boxes);

}  // namespace acm::augment
