#include "augment/attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <stdexcept>
#include <utility>

namespace acm::augment {

const std::vector<std::string>& reduce_names() {
  static const std::vector<std::string> names = {"mean", "sum", "channel"};
  return names;
}

at::Tensor reduce_channels(const at::Tensor& features, const ReduceSpec& spec) {
  if (features.dim() != 4) {
    throw std::invalid_argument("attention: features must be B×C×h×w, got " + std::to_string(features.dim()) +
                                "-D");
  }
  const at::Tensor f = features.to(at::kFloat);
  if (spec.how == "mean") return f.mean(1);
  if (spec.how == "sum") return f.sum(1);
  if (spec.how == "channel") {
    if (spec.channel < 0 || spec.channel >= f.size(1)) {
      throw std::invalid_argument("attention: channel " + std::to_string(spec.channel) +
                                  " does not exist; the feature map has " + std::to_string(f.size(1)) +
                                  " channels (0.." + std::to_string(f.size(1) - 1) + ")");
    }
    return f.select(1, spec.channel).clone();
  }
  throw std::invalid_argument("attention: unknown reduction '" + spec.how + "'; allowed: mean, sum, channel");
}

at::Tensor resize_to_grid(const at::Tensor& maps, std::int64_t grid) {
  if (maps.dim() != 3) throw std::invalid_argument("attention: heatmaps must be B×h×w");
  if (grid < 1) throw std::invalid_argument("attention: grid must be >= 1");
  at::Tensor x = maps.to(at::kFloat).unsqueeze(1);
  const std::int64_t h = x.size(2), w = x.size(3);
  const std::int64_t ph = std::min(h, grid), pw = std::min(w, grid);
  // Pool the sides longer than the grid down to it (a side not longer keeps its size: pooling to the same
  // size is the identity), then interpolate the sides shorter than the grid up to it.
  if (ph != h || pw != w) x = at::adaptive_avg_pool2d(x, {ph, pw});
  if (ph != grid || pw != grid) {
    x = at::upsample_bilinear2d(x, {grid, grid}, /*align_corners=*/false);
  }
  return x.squeeze(1).contiguous();
}

at::Tensor top_cells(const at::Tensor& grid_maps, const at::Tensor& n) {
  const std::int64_t b = grid_maps.size(0), cells = grid_maps.size(1) * grid_maps.size(2);
  const at::Tensor flat = grid_maps.reshape({b, cells});
  if (!at::isfinite(flat).all().item<bool>()) {
    throw std::invalid_argument("attention: the extractor produced a non-finite heatmap value");
  }
  const at::Tensor counts = n.to(flat.device(), at::kLong);
  if (counts.size(0) != b || counts.min().item<std::int64_t>() < 1 ||
      counts.max().item<std::int64_t>() > cells) {
    throw std::invalid_argument("attention: N must be in 1.." + std::to_string(cells) + " for each sample");
  }
  // A stable sort keeps equal values in index order, so ties go to the lower row-major cell.
  const at::Tensor order = std::get<1>(flat.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  const at::Tensor chosen = at::arange(cells, counts.options()).unsqueeze(0).lt(counts.unsqueeze(1));
  return at::zeros({b, cells}, flat.options().dtype(at::kByte))
      .scatter_(1, order, chosen.to(at::kByte))
      .view_as(grid_maps);
}

std::vector<std::int64_t> pixel_cells(std::int64_t size, std::int64_t grid) {
  std::vector<std::int64_t> cell(static_cast<std::size_t>(size));
  for (std::int64_t k = 0; k < grid; ++k) {
    for (std::int64_t p = k * size / grid; p < (k + 1) * size / grid; ++p) cell[static_cast<std::size_t>(p)] = k;
  }
  return cell;
}

at::Tensor cell_mask(const at::Tensor& selection, std::int64_t height, std::int64_t width) {
  const std::int64_t grid = selection.size(1);
  auto as_tensor = [&](std::vector<std::int64_t> v) {
    return at::tensor(v, at::TensorOptions().dtype(at::kLong)).to(selection.device());
  };
  return selection.to(at::kFloat)
      .index_select(1, as_tensor(pixel_cells(height, grid)))
      .index_select(2, as_tensor(pixel_cells(width, selection.size(2))))
      .unsqueeze(1)
      .contiguous();
}

at::Tensor paste_masked_reference(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask) {
  const at::Tensor donors = images.index_select(0, partner.to(images.device()));
  return at::where(mask.to(images.device()).ne(0), donors, images);
}

at::Tensor paste_masked(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask) {
  if (images.dim() != 4 || mask.dim() != 4 || mask.size(0) != images.size(0) || mask.size(1) != 1 ||
      mask.size(2) != images.size(2) || mask.size(3) != images.size(3) || partner.size(0) != images.size(0)) {
    throw std::invalid_argument("paste_masked: need images B×C×H×W, mask B×1×H×W and partner B");
  }
  if (!images.device().is_cpu() || !images.is_contiguous()) return paste_masked_reference(images, partner, mask);
  const std::int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  const at::Tensor m = mask.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor p = partner.to(at::kCPU, at::kLong).contiguous();
  const std::int64_t* pp = p.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < B; ++i) {
    if (pp[i] < 0 || pp[i] >= B) throw std::invalid_argument("paste_masked: partner index out of range");
  }
  at::Tensor out = at::empty_like(images);
  const std::size_t esz = images.element_size();
  const char* src = static_cast<const char*>(images.const_data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  const float* mp = m.const_data_ptr<float>();
  at::parallel_for(0, B, 1, [&](std::int64_t b0, std::int64_t b1) {
    std::vector<std::pair<std::int64_t, std::int64_t>> runs;  // [x0, x1) taken from the donor
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t d = pp[b];
      for (std::int64_t y = 0; y < H; ++y) {
        runs.clear();
        const float* row = mp + (b * H + y) * W;
        for (std::int64_t x = 0; x < W;) {
          if (row[x] == 0) {
            ++x;
            continue;
          }
          const std::int64_t x0 = x;
          while (x < W && row[x] != 0) ++x;
          runs.emplace_back(x0, x);
        }
        for (std::int64_t c = 0; c < C; ++c) {
          const std::size_t off_r = static_cast<std::size_t>(((b * C + c) * H + y) * W) * esz;
          const std::size_t off_d = static_cast<std::size_t>(((d * C + c) * H + y) * W) * esz;
          std::int64_t x = 0;
          for (const auto& [x0, x1] : runs) {
            if (x0 > x) std::memcpy(dst + off_r + x * esz, src + off_r + x * esz, (x0 - x) * esz);
            std::memcpy(dst + off_r + x0 * esz, src + off_d + x0 * esz, (x1 - x0) * esz);
            x = x1;
          }
          if (x < W) std::memcpy(dst + off_r + x * esz, src + off_r + x * esz, (W - x) * esz);
        }
      }
    }
  });
  return out;
}

}  // namespace acm::augment
