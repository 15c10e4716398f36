// How a run computes (`precision` in the run config): fp32, or forward and loss under autocast to bf16 or fp16
// with weights, gradients and optimizer state in fp32. fp16 adds a dynamic loss scale, as torch.amp.GradScaler:
// the loss is scaled before backward; after the gradients are summed they are unscaled and checked, and a step
// whose gradients are not finite on any rank is skipped and halves the scale; 2000 good steps in a row double
// it. The scale, its growth count and the skipped steps are in the checkpoint and the result.
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace acm::train {

inline constexpr double kInitialLossScale = 65536.0;  // GradScaler's defaults
inline constexpr double kScaleGrowth = 2.0, kScaleBackoff = 0.5;
inline constexpr std::int64_t kScaleGrowthInterval = 2000;

// The autocast dtype of a precision name: none for fp32.
std::optional<at::ScalarType> autocast_dtype(const std::string& precision);

// Autocast on `device` for its lifetime (nothing for fp32); the previous state comes back after. `cache` false:
// weights are cast afresh at every use (what a captured CUDA graph needs: no cast made outside it).
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, std::optional<at::ScalarType> dtype, bool cache = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false, previous_enabled_ = false, previous_cache_ = true;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// fp16's dynamic loss scale; its state rides in the checkpoint.
struct LossScale {
  double scale = kInitialLossScale;
  std::int64_t growth_tracker = 0;  // good steps since the last change
  std::int64_t skipped_steps = 0;

  // Unscales `grads` in place (1/scale) and says whether any of them is not finite (on this rank).
  bool unscale_and_check(std::vector<at::Tensor>& grads) const;
  // After the step's vote: an overflow anywhere skips the step and backs off; otherwise the scale may grow.
  void update(bool overflow);
  nlohmann::json to_json() const;
  static LossScale from_json(const nlohmann::json& j);
};

}  // namespace acm::train
