#include "augment/box.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace acm::augment {

Box centred_box(std::int64_t cy, std::int64_t cx, std::int64_t h, std::int64_t w, std::int64_t H,
                std::int64_t W) {
  Box b;
  b.y0 = std::clamp<std::int64_t>(cy - h / 2, 0, H);
  b.y1 = std::clamp<std::int64_t>(cy + h / 2, 0, H);
  b.x0 = std::clamp<std::int64_t>(cx - w / 2, 0, W);
  b.x1 = std::clamp<std::int64_t>(cx + w / 2, 0, W);
  return b;
}

void mark_box(at::Tensor& mask, std::int64_t i, const Box& box) {
  if (box.area() <= 0) return;
  mask[i].slice(1, box.y0, box.y1).slice(2, box.x0, box.x1).fill_(1.0);
}

}  // namespace acm::augment
