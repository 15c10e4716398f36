// Test-set evaluation across ranks: each rank evaluates a contiguous slice of the test set (n·r/P ..
// n·(r+1)/P: every image exactly once) and the hit counts are summed over the ranks, with the calibration sums
// (calibration.h) when `calibration_bins` > 0.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

#include "harness/data/dataset.h"
#include "harness/data/loader.h"
#include "harness/dist/communicator.h"
#include "harness/train/calibration.h"
#include "models/model.h"

namespace acm::train {

struct EvalResult {
  double top1 = 0, top5 = 0;
  std::int64_t images = 0;  // summed over the ranks
  std::optional<Calibration> calibration;
};

EvalResult evaluate(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
                    c10::Device device, bool channels_last, dist::Communicator& comm,
                    std::optional<at::ScalarType> autocast = std::nullopt, int calibration_bins = 0);

}  // namespace acm::train
