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

}  // namespace acm::augment
