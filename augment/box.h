// Axis-aligned pixel boxes [y0, y1) × [x0, x1), shared by the box-pasting methods (Cutout, CutMix).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace acm::augment {

struct Box {
  std::int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  std::int64_t area() const { return (y1 - y0) * (x1 - x0); }
};

// A box of height h and width w centred at (cy, cx), clipped to the H×W image: the rule of both the Cutout
// and the CutMix reference code (centre − size/2 .. centre + size/2, integer division, then clip).
Box centred_box(std::int64_t cy, std::int64_t cx, std::int64_t h, std::int64_t w, std::int64_t H,
                std::int64_t W);

}  // namespace acm::augment
