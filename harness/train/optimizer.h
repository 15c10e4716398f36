// SGD (momentum, Nesterov, L2), Adam (L2) and AdamW (decoupled decay) over multi-tensor `at::_foreach_*`
// kernels: a handful of kernel launches per step for the whole model instead of several per parameter, as
// torch.optim's foreach implementations do. Update rules equal torch.optim's.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "harness/train/config.h"

namespace acm::train {

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::vector<std::pair<std::string, at::Tensor>> named_params);

  // One update with this step's learning rate and momentum (from the schedule). Parameters without a gradient
  // are skipped, as torch.optim does.
  void step(double lr, double momentum);
  // Sets every gradient to zero in place (keeps the tensors: no per-step allocation).
  void zero_grad();

  // State for checkpoints: named tensors ("momentum/<param>", "exp_avg/<param>", ...) plus the step count.
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, std::int64_t steps);
  std::int64_t steps() const { return steps_; }

 private:
  OptimizerConfig c_;
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> buf1_, buf2_;  // sgd: momentum; adam(w): exp_avg, exp_avg_sq
  bool initialised_ = false;
  std::int64_t steps_ = 0;
};

}  // namespace acm::train
