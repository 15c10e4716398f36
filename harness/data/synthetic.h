// A deterministic synthetic data set whose classes are learnable: each class is an oriented grating with its
// own angle, spatial frequency and colour tint, drawn at a random phase and contrast, under Gaussian pixel
// noise. Sample i of a split has class i % classes and is a pure function of (seed, split, i): any size,
// channels and classes, no files.
#pragma once

#include <cstdint>

#include "harness/data/dataset.h"

namespace acm::data {

struct SyntheticSpec {
  std::int64_t train_size = 1024;
  std::int64_t test_size = 256;
  std::int64_t channels = 3;
  std::int64_t height = 32;
  std::int64_t width = 32;
  std::int64_t num_classes = 10;
  double noise = 0.25;  // std of the additive noise, in units of the full pixel range
  std::uint64_t seed = 0;
};

DatasetSplits make_synthetic(const SyntheticSpec& spec);

}  // namespace acm::data
