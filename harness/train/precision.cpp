#include "harness/train/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

namespace acm::train {

std::optional<at::ScalarType> autocast_dtype(const std::string& precision) {
  if (precision == "bf16") return at::kBFloat16;
  if (precision == "fp16") return at::kHalf;
  return std::nullopt;
}

AutocastScope::AutocastScope(c10::DeviceType device, std::optional<at::ScalarType> dtype, bool cache)
    : device_(device), active_(dtype.has_value()) {
  if (!active_) return;
  previous_cache_ = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(cache);
  previous_enabled_ = at::autocast::is_autocast_enabled(device_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, *dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
  at::autocast::set_autocast_cache_enabled(previous_cache_);
}

bool LossScale::unscale_and_check(std::vector<at::Tensor>& grads) const {
  if (grads.empty()) return false;
  at::Tensor found_inf = at::zeros({1}, grads.front().options().dtype(at::kFloat));
  const at::Tensor inv_scale = at::full({1}, 1.0 / scale, grads.front().options().dtype(at::kFloat));
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
  return found_inf.item<float>() > 0;
}

void LossScale::update(bool overflow) {
  if (overflow) {
    scale *= kScaleBackoff;
    growth_tracker = 0;
    ++skipped_steps;
    return;
  }
  if (++growth_tracker == kScaleGrowthInterval) {
    scale *= kScaleGrowth;
    growth_tracker = 0;
  }
}

nlohmann::json LossScale::to_json() const {
  return {{"loss_scale", scale}, {"growth_tracker", growth_tracker}, {"skipped_steps", skipped_steps}};
}

LossScale LossScale::from_json(const nlohmann::json& j) {
  LossScale s;
  s.scale = j.value("loss_scale", kInitialLossScale);
  s.growth_tracker = j.value("growth_tracker", std::int64_t{0});
  s.skipped_steps = j.value("skipped_steps", std::int64_t{0});
  return s;
}

}  // namespace acm::train
