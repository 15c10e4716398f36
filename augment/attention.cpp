#include "augment/attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
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

at::Tensor resample_matrix(std::int64_t n, std::int64_t m) {
  at::Tensor a = at::zeros({m, n}, at::kFloat);
  float* p = a.data_ptr<float>();
  if (n > m) {  // adaptive average pooling: output k averages inputs [⌊k·n/m⌋, ⌈(k+1)·n/m⌉)
    for (std::int64_t k = 0; k < m; ++k) {
      const std::int64_t lo = k * n / m, hi = ((k + 1) * n + m - 1) / m;
      for (std::int64_t i = lo; i < hi; ++i) p[k * n + i] = 1.0f / static_cast<float>(hi - lo);
    }
  } else if (n < m) {  // bilinear, align_corners = false: source (k + ½)·n/m − ½, clamped at 0
    for (std::int64_t k = 0; k < m; ++k) {
      const double src = std::max(
          0.0, (static_cast<double>(k) + 0.5) * static_cast<double>(n) / static_cast<double>(m) - 0.5);
      const std::int64_t lo = std::min<std::int64_t>(static_cast<std::int64_t>(src), n - 1),
                         hi = std::min(lo + 1, n - 1);
      const float f = static_cast<float>(src - static_cast<double>(lo));
      p[k * n + lo] += 1.0f - f;
      p[k * n + hi] += f;
    }
  } else {
    for (std::int64_t k = 0; k < m; ++k) p[k * n + k] = 1.0f;
  }
  return a;
}

at::Tensor resample(const at::Tensor& maps, std::int64_t out_h, std::int64_t out_w) {
  if (maps.dim() != 3) throw std::invalid_argument("attention: heatmaps must be B×h×w");
  if (out_h < 1 || out_w < 1) throw std::invalid_argument("attention: output size must be >= 1");
  const at::Tensor x = maps.to(at::kCPU, at::kFloat);
  const std::int64_t b = x.size(0), h = x.size(1), w = x.size(2);
  if (h == out_h && w == out_w) return x.contiguous();
  // Columns then rows, each pooled (longer side) or interpolated (shorter side), as two plain matrix products
  // over the whole batch.
  const at::Tensor cols = at::mm(x.reshape({b * h, w}), resample_matrix(w, out_w).t());  // (b·h)×out_w
  const at::Tensor by_col = cols.view({b, h, out_w}).transpose(1, 2).reshape({b * out_w, h});  // (b·out_w)×h
  return at::mm(by_col, resample_matrix(h, out_h).t()).view({b, out_w, out_h}).transpose(1, 2).contiguous();
}

at::Tensor resize_to_grid(const at::Tensor& maps, std::int64_t grid) {
  if (grid < 1) throw std::invalid_argument("attention: grid must be >= 1");
  return resample(maps, grid, grid);
}

at::Tensor top_cells(const at::Tensor& grid_maps, const at::Tensor& n) {
  const std::int64_t b = grid_maps.size(0), cells = grid_maps.size(1) * grid_maps.size(2);
  const at::Tensor flat = grid_maps.to(at::kCPU, at::kFloat).reshape({b, cells}).contiguous();
  const at::Tensor counts = n.to(at::kCPU, at::kLong).contiguous();
  if (counts.dim() != 1 || counts.size(0) != b)
    throw std::invalid_argument("attention: N must be given per sample");
  const float* v = flat.const_data_ptr<float>();
  const std::int64_t* cnt = counts.const_data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < b; ++i) {
    if (cnt[i] < 1 || cnt[i] > cells) {
      throw std::invalid_argument("attention: N must be in 1.." + std::to_string(cells) +
                                  " for each sample, got " + std::to_string(cnt[i]));
    }
  }
  for (std::int64_t k = 0; k < b * cells; ++k) {
    if (!std::isfinite(v[k]))
      throw std::invalid_argument("attention: the extractor produced a non-finite heatmap value");
  }
  at::Tensor sel = at::zeros({b, cells}, at::kByte);
  std::uint8_t* out = sel.data_ptr<std::uint8_t>();
  at::parallel_for(0, b, 16, [&](std::int64_t b0, std::int64_t b1) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(cells));
    for (std::int64_t i = b0; i < b1; ++i) {
      const float* row = v + i * cells;
      std::iota(idx.begin(), idx.end(), 0);
      // Highest first; equal values in row-major order (the lower index wins a tie).
      std::partial_sort(idx.begin(), idx.begin() + cnt[i], idx.end(), [&](std::int64_t a, std::int64_t c) {
        return row[a] > row[c] || (row[a] == row[c] && a < c);
      });
      for (std::int64_t k = 0; k < cnt[i]; ++k) out[i * cells + idx[static_cast<std::size_t>(k)]] = 1;
    }
  });
  return sel.view({b, grid_maps.size(1), grid_maps.size(2)}).to(grid_maps.device());
}

std::vector<std::int64_t> pixel_cells(std::int64_t size, std::int64_t grid) {
  std::vector<std::int64_t> cell(static_cast<std::size_t>(size));
  for (std::int64_t k = 0; k < grid; ++k) {
    for (std::int64_t p = k * size / grid; p < (k + 1) * size / grid; ++p)
      cell[static_cast<std::size_t>(p)] = k;
  }
  return cell;
}

namespace {

template <typename T>
void fill_cell_mask(const std::uint8_t* s, T* m, std::int64_t b, std::int64_t gh, std::int64_t gw,
                    std::int64_t height, std::int64_t width, const std::vector<std::int64_t>& cols) {
  at::parallel_for(0, b, 16, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t i = b0; i < b1; ++i) {
      for (std::int64_t r = 0; r < gh; ++r) {
        const std::int64_t y0 = r * height / gh, y1 = (r + 1) * height / gh;
        if (y0 == y1) continue;
        // One pixel row of this cell row, then copies of it.
        T* first = m + (i * height + y0) * width;
        const std::uint8_t* cells = s + (i * gh + r) * gw;
        for (std::int64_t x = 0; x < width; ++x)
          first[x] = cells[cols[static_cast<std::size_t>(x)]] ? T(1) : T(0);
        for (std::int64_t y = y0 + 1; y < y1; ++y) {
          std::memcpy(first + (y - y0) * width, first, static_cast<std::size_t>(width) * sizeof(T));
        }
      }
    }
  });
}

}  // namespace

at::Tensor cell_mask(const at::Tensor& selection, std::int64_t height, std::int64_t width,
                     at::ScalarType dtype) {
  const std::int64_t b = selection.size(0), gh = selection.size(1), gw = selection.size(2);
  const std::vector<std::int64_t> cols = pixel_cells(width, gw);
  const at::Tensor sel = selection.to(at::kCPU, at::kByte).contiguous();
  const std::uint8_t* s = sel.const_data_ptr<std::uint8_t>();
  at::Tensor mask = at::empty({b, 1, height, width}, dtype == at::kByte ? at::kByte : at::kFloat);
  if (dtype == at::kByte) {
    fill_cell_mask(s, mask.data_ptr<std::uint8_t>(), b, gh, gw, height, width, cols);
  } else {
    fill_cell_mask(s, mask.data_ptr<float>(), b, gh, gw, height, width, cols);
  }
  return mask.to(selection.device());
}

}  // namespace acm::augment
