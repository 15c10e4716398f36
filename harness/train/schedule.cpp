#include "harness/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace acm::train {

namespace {

constexpr double kPi = 3.141592653589793;

// PyTorch's _annealing_cos: from start to end as pct goes 0 -> 1.
double anneal_cos(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
}

}  // namespace

Schedule::Schedule(const ScheduleConfig& s, const OptimizerConfig& o, std::int64_t steps_per_epoch,
                   std::int64_t epochs)
    : s_(s), o_(o), per_epoch_(std::max<std::int64_t>(steps_per_epoch, 1)), total_(per_epoch_ * epochs) {}

ScheduleValue Schedule::at(std::int64_t step) const {
  const double base = o_.lr;
  ScheduleValue v{base, o_.momentum};
  if (s_.name == "onecycle") {
    // torch.optim.lr_scheduler.OneCycleLR, two phases, cosine annealing.
    const double initial = base / s_.div_factor, final_lr = initial / s_.final_div_factor;
    const double end1 = s_.pct_start * static_cast<double>(total_) - 1,
                 end2 = static_cast<double>(total_) - 1;
    const double t = static_cast<double>(step);
    if (t <= end1) {
      const double pct = end1 > 0 ? t / end1 : 1.0;
      v.lr = anneal_cos(initial, base, pct);
      v.momentum = anneal_cos(s_.max_momentum, s_.base_momentum, pct);
    } else {
      const double pct = end2 > end1 ? (t - end1) / (end2 - end1) : 1.0;
      v.lr = anneal_cos(base, final_lr, std::min(pct, 1.0));
      v.momentum = anneal_cos(s_.base_momentum, s_.max_momentum, std::min(pct, 1.0));
    }
    if (!s_.cycle_momentum) v.momentum = o_.momentum;
    return v;
  }
  const double epoch = static_cast<double>(step) / static_cast<double>(per_epoch_);
  if (s_.name == "step") {
    for (double m : s_.milestones) {
      if (epoch >= m) v.lr *= s_.gamma;
    }
  } else if (s_.name == "cosine") {
    const double warm = s_.warmup_epochs * static_cast<double>(per_epoch_);
    const double span = static_cast<double>(total_) - warm;
    const double pct = span > 0 ? std::clamp((static_cast<double>(step) - warm) / span, 0.0, 1.0) : 1.0;
    v.lr = anneal_cos(base, s_.min_lr, pct);
  }
  const double warm_steps = s_.warmup_epochs * static_cast<double>(per_epoch_);
  if (warm_steps > 0 && static_cast<double>(step) < warm_steps) {
    v.lr *= (static_cast<double>(step) + 1) / warm_steps;  // linear warm-up, reaching the rate at its end
  }
  return v;
}

}  // namespace acm::train
