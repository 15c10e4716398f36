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

  // The same update, reading the values that change from step to step (learning rate, momentum, Adam's bias
  // corrections) from a small tensor on the parameters' device instead of from arguments: what a CUDA graph
  // can capture once and replay (harness/train/graph_step.h). prepare_static() makes the state (before a
  // capture: nothing may be allocated in it) and fixes whether SGD's momentum buffer is used (true: every
  // step, as when momentum is configured or cycled; a step whose momentum is 0 then updates the parameters as
  // step() does). set_scalars() writes one step's values (one copy, no synchronisation) and counts the step;
  // step_from_scalars() applies the update with them. Every parameter must have a gradient.
  void prepare_static(bool sgd_momentum);
  void set_scalars(double lr, double momentum);
  void step_from_scalars();

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
  void initialise();
  // prepare_static: -lr, momentum, AdamW's decay factor 1 - lr*wd, Adam's -lr/(1-beta1^t), sqrt(1-beta2^t).
  at::Tensor scalars_;
  bool static_momentum_ = false;
};

}  // namespace acm::train
