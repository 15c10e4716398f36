#include "augment/attention_cache.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/stat.h>

#include <stdexcept>

#include "augment/attention.h"
#include "models/weights.h"

namespace acm::augment {

AttentionCache::AttentionCache(at::Tensor maps, float fill, std::int64_t height, std::int64_t width,
                               std::string source)
    : maps_(maps.to(at::kCPU, at::kFloat).contiguous()),
      fill_(fill),
      height_(height),
      width_(width),
      source_(std::move(source)) {
  if (maps_.dim() != 3) throw std::invalid_argument("attention cache: maps must be N×h×w");
}

at::Tensor AttentionCache::transformed_maps(const at::Tensor& indices, const at::Tensor& geometry) const {
  const std::int64_t b = indices.size(0), H = height_, W = width_;
  if (geometry.dim() != 2 || geometry.size(0) != b || geometry.size(1) != 3) {
    throw std::invalid_argument("attention cache: geometry must be B×3 (offset_y, offset_x, flip)");
  }
  const at::Tensor idx = indices.to(at::kCPU, at::kLong).contiguous();
  if (b > 0 && (idx.min().item<std::int64_t>() < 0 || idx.max().item<std::int64_t>() >= maps_.size(0))) {
    throw std::invalid_argument("attention cache: sample index outside the " + std::to_string(maps_.size(0)) +
                                " cached images (was it built for another data set?)");
  }
  const at::Tensor up = resample(maps_.index_select(0, idx), H, W);
  const at::Tensor geo = geometry.to(at::kCPU, at::kInt).contiguous();
  at::Tensor out = at::empty({b, H, W}, at::kFloat);
  const float* src = up.const_data_ptr<float>();
  const std::int32_t* g = geo.const_data_ptr<std::int32_t>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, b, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t i = b0; i < b1; ++i) {
      const std::int64_t oy = g[i * 3], ox = g[i * 3 + 1];
      const bool flip = g[i * 3 + 2] != 0;
      for (std::int64_t y = 0; y < H; ++y) {
        const std::int64_t sy = y + oy;
        float* row = dst + (i * H + y) * W;
        for (std::int64_t x = 0; x < W; ++x) {
          const std::int64_t sx = (flip ? W - 1 - x : x) + ox;
          row[x] = (sy < 0 || sy >= H || sx < 0 || sx >= W) ? fill_ : src[(i * H + sy) * W + sx];
        }
      }
    }
  });
  return out;
}

at::Tensor AttentionCache::grid_maps(const at::Tensor&, const BatchInfo& info, std::int64_t grid) const {
  if (!info.indices.defined() || !info.geometry.defined()) {
    throw std::invalid_argument("attention cache: the batch carries no sample indices and geometry");
  }
  return resize_to_grid(transformed_maps(info.indices, info.geometry), grid);
}

bool AttentionCache::save(const std::string& path, const std::map<std::string, std::string>& key,
                          const std::function<bool()>& commit) const {
  models::TensorFile f;
  f.metadata = key;
  f.metadata["format"] = "acm-attention-cache-v1";
  f.metadata["fill"] = std::to_string(fill_);
  f.metadata["source"] = source_;
  f.tensors.emplace_back("maps", maps_);
  f.tensors.emplace_back("fill", at::full({1}, fill_, at::kFloat));
  return models::write_safetensors(path, f, commit);
}

std::optional<AttentionCache> AttentionCache::load(const std::string& path,
                                                   const std::map<std::string, std::string>& key,
                                                   std::int64_t height, std::int64_t width,
                                                   std::string* why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (why) *why = "none yet";
    return std::nullopt;
  }
  models::TensorFile f;
  try {
    f = models::read_safetensors(path);
  } catch (const models::WeightsError& e) {
    if (why) *why = std::string("unreadable (") + e.what() + ")";
    return std::nullopt;
  }
  for (const auto& [k, v] : key) {
    auto it = f.metadata.find(k);
    if (it == f.metadata.end() || it->second != v) {
      if (why)
        *why = "built for another " + k + " (" + (it == f.metadata.end() ? "none" : it->second) + ", now " +
               v + ")";
      return std::nullopt;
    }
  }
  at::Tensor maps, fill;
  for (auto& [name, t] : f.tensors) {
    if (name == "maps") maps = t;
    if (name == "fill") fill = t;
  }
  if (!maps.defined() || !fill.defined() || maps.dim() != 3 || fill.numel() != 1) {
    if (why) *why = "malformed (no maps/fill tensors)";
    return std::nullopt;
  }
  const auto src = f.metadata.count("source") ? f.metadata.at("source") : path;
  return AttentionCache(maps, fill.item<float>(), height, width, src + ", loaded from " + path);
}

}  // namespace acm::augment
