// Learning-rate (and momentum) schedules as pure functions of the step: resuming at step k needs no saved
// state. LibTorch's C++ API has only StepLR and ReduceLROnPlateau; these follow PyTorch's Python definitions.
#pragma once

#include <cstdint>

#include "harness/train/config.h"

namespace acm::train {

struct ScheduleValue {
  double lr;
  double momentum;  // the optimizer's configured momentum unless one-cycle cycles it
};

class Schedule {
 public:
  Schedule(const ScheduleConfig& s, const OptimizerConfig& o, std::int64_t steps_per_epoch,
           std::int64_t epochs);
  // The values for optimizer step `step` (0-based, counted over the whole run).
  ScheduleValue at(std::int64_t step) const;
  std::int64_t total_steps() const { return total_; }

 private:
  ScheduleConfig s_;
  OptimizerConfig o_;
  std::int64_t per_epoch_, total_;
};

}  // namespace acm::train
