// The attention cache (beyond the paper): a heatmap depends only on the donor image, so each training image's
// heatmap is computed once per extractor, stored with the run, and mapped through the sample's recorded crop
// and flip at batch time instead of running the extractor on every batch.
//
// Mapping: the cached h×w map is brought to the image's H×W (bilinear, align_corners = false; the identity
// when h×w = H×W), then output pixel (y, x) takes the value at (y + offset_y, x' + offset_x), x' = flip ?
// W−1−x : x — the rule of the loader's transforms (harness/data/transforms.h) — and the extractor's value on
// a black image where that falls outside the image (the fresh pass sees black padding there). For an
// extractor that commutes with shifts and flips this equals a fresh pass on the transformed image; for a
// real network it is an approximation whose cost docs/benchmarks.md and results/fashion-mnist/README.md measure.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "augment/attentive_cutmix.h"

namespace acm::augment {

class AttentionCache : public HeatmapSource {
 public:
  // `maps` N×h×w float32: the heatmap of each untransformed training image, by its index in the data set.
  AttentionCache(at::Tensor maps, float fill, std::int64_t height, std::int64_t width, std::string source);

  // Needs info.indices and info.geometry (the loader's); std::invalid_argument when they are missing.
  at::Tensor grid_maps(const at::Tensor& images, const BatchInfo& info, std::int64_t grid) const override;
  std::string describe() const override { return "attention cache: " + source_; }
  // The heatmaps of the transformed samples at image resolution (B×H×W), before the grid resize.
  at::Tensor transformed_maps(const at::Tensor& indices, const at::Tensor& geometry) const;
  const at::Tensor& maps() const { return maps_; }
  float fill() const { return fill_; }

  // Stored as safetensors with `key` (what the maps depend on: extractor hash, reduction, data set, ...) in
  // its metadata, written atomically. `commit`: as fs::write_file_atomic's (false: not written).
  bool save(const std::string& path, const std::map<std::string, std::string>& key,
            const std::function<bool()>& commit = nullptr) const;
  // The cache at `path` if it exists and was written for exactly `key`; nothing otherwise (`why` says which).
  static std::optional<AttentionCache> load(const std::string& path,
                                            const std::map<std::string, std::string>& key,
                                            std::int64_t height, std::int64_t width, std::string* why);

 private:
  at::Tensor maps_;
  float fill_;
  std::int64_t height_, width_;
  std::string source_;
};

}  // namespace acm::augment
