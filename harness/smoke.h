// The data/model smoke run: loads a data set, builds a registry model, trains it for a fixed number of SGD
// steps through the prefetching loader and reports test accuracy. It exercises the whole pipeline end to end
// until the full training loop (`train`) exists; it writes no result files.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/data/spec.h"
#include "models/model.h"

namespace acm::harness {

struct SmokeOptions {
  data::DatasetSpec dataset;
  std::string model = "resnet18";
  models::ModelSpec model_spec;  // num_classes and in_channels are taken from the data set
  std::int64_t steps = 300;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  int threads = 2;  // intra-op threads
  int loader_threads = 1;
  std::int64_t crop_padding = 0;
  bool flip = true;
  std::uint64_t seed = 0;
  std::string device = "auto";
};

// Returns {train_loss_first, train_loss_last, test_top1, images_per_s, ...}; prints progress to stdout.
nlohmann::json run_smoke(const SmokeOptions& o);

}  // namespace acm::harness
