// What an attentive_cutmix run needs before its first step: the extractor, loaded and checked, and — with
// mix.cache — the attention cache, read from the run folder or built there over the training set.
#pragma once

#include <c10/core/Device.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "augment/attentive_cutmix.h"
#include "augment/extractor.h"
#include "harness/data/dataset.h"
#include "harness/data/transforms.h"
#include "harness/train/config.h"

namespace acm::train {

struct AttentionSetup {
  std::shared_ptr<const augment::HeatmapSource> heatmaps;
  // For result.json: extractor, its file hash, map size, cache use and build time, and — when a run of this
  // harness made the extractor — that run's config and world size (extractor_run): where a sweep made the
  // extractor per seed, the report groups by that run's group rather than the file (results/identity.h).
  nlohmann::json record;
};

// The run's extractor, fed images as `transform` (the training loader's) leaves them. Every way it can fail
// is a config::ConfigError naming $.mix.extractor.path.
std::shared_ptr<const augment::Extractor> load_extractor(const RunConfig& c, const data::Dataset& train,
                                                         const data::TransformSpec& transform,
                                                         c10::Device device);

// `transform` is the training loader's (its normalisation is what the extractor receives). Errors are
// config::ConfigError naming $.mix.extractor / $.mix.grid; nothing is trained before they are raised.
// `write_cache`: whether a cache built here is saved to out_dir (rank 0 only; the others keep it in memory);
// `commit`, when given, is asked before the cache file is put in place (a sweep's claim fence).
AttentionSetup prepare_attention(const RunConfig& c, const data::Dataset& train,
                                 const data::TransformSpec& transform, c10::Device device,
                                 const std::string& out_dir, FILE* out, bool write_cache = true,
                                 const std::function<bool()>& commit = nullptr);

}  // namespace acm::train
