#include "harness/train/optimizer.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <stdexcept>

namespace acm::train {

Optimizer::Optimizer(const OptimizerConfig& config,
                     std::vector<std::pair<std::string, at::Tensor>> named_params)
    : c_(config) {
  for (auto& [name, p] : named_params) {
    names_.push_back(name);
    params_.push_back(p);
  }
}

void Optimizer::zero_grad() {
  std::vector<at::Tensor> grads;
  for (auto& p : params_) {
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  }
  if (!grads.empty()) at::_foreach_zero_(grads);
}

// Zero-initialised buffers give torch.optim's first step exactly: SGD's buffer becomes the gradient
// (dampening 0), Adam's moments are zero before their first update.
void Optimizer::initialise() {
  if (initialised_) return;
  torch::NoGradGuard no_grad;
  for (auto& p : params_) {
    buf1_.push_back(at::zeros_like(p));
    if (c_.name != "sgd") buf2_.push_back(at::zeros_like(p));
  }
  initialised_ = true;
}

void Optimizer::step(double lr, double momentum) {
  torch::NoGradGuard no_grad;
  initialise();
  std::vector<at::Tensor> p, g, b1, b2;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    p.push_back(params_[i]);
    g.push_back(params_[i].mutable_grad());
    b1.push_back(buf1_[i]);
    if (c_.name != "sgd") b2.push_back(buf2_[i]);
  }
  if (p.empty()) return;
  ++steps_;
  const double wd = c_.weight_decay;
  if (c_.name == "sgd") {
    if (wd != 0) at::_foreach_add_(g, p, wd);  // L2: g += wd * p
    std::vector<at::Tensor>* update = &g;
    if (momentum != 0) {
      at::_foreach_mul_(b1, momentum);
      at::_foreach_add_(b1, g);
      if (c_.nesterov) {
        at::_foreach_add_(g, b1, momentum);  // g + momentum * buf
      } else {
        update = &b1;
      }
    }
    at::_foreach_add_(p, *update, -lr);
    return;
  }
  if (c_.name == "adamw") {
    if (wd != 0) at::_foreach_mul_(p, 1.0 - lr * wd);  // decoupled decay (Loshchilov & Hutter)
  } else if (wd != 0) {
    at::_foreach_add_(g, p, wd);
  }
  at::_foreach_lerp_(b1, g, 1.0 - c_.beta1);
  at::_foreach_mul_(b2, c_.beta2);
  at::_foreach_addcmul_(b2, g, g, 1.0 - c_.beta2);
  const double t = static_cast<double>(steps_);
  const double bc1 = 1.0 - std::pow(c_.beta1, t), bc2 = 1.0 - std::pow(c_.beta2, t);
  std::vector<at::Tensor> denom = at::_foreach_sqrt(b2);
  at::_foreach_div_(denom, std::sqrt(bc2));
  at::_foreach_add_(denom, c_.eps);
  at::_foreach_addcdiv_(p, b1, denom, -lr / bc1);
}

void Optimizer::prepare_static(bool sgd_momentum) {
  initialise();
  static_momentum_ = c_.name == "sgd" && sgd_momentum;
  if (!params_.empty()) scalars_ = at::zeros({5}, params_.front().options().dtype(at::kFloat).requires_grad(false));
}

void Optimizer::set_scalars(double lr, double momentum) {
  if (!scalars_.defined()) throw std::logic_error("optimizer: set_scalars before prepare_static");
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bc1 = 1.0 - std::pow(c_.beta1, t), bc2 = 1.0 - std::pow(c_.beta2, t);
  // In double on the host as step() computes them, rounded to float as step()'s scalar arguments are.
  const at::Tensor host = at::tensor(std::vector<float>{static_cast<float>(-lr), static_cast<float>(momentum),
                                                        static_cast<float>(1.0 - lr * c_.weight_decay),
                                                        static_cast<float>(-lr / bc1), static_cast<float>(std::sqrt(bc2))});
  // From pageable memory the copy is staged before it returns: the host tensor may go at once.
  scalars_.copy_(host, /*non_blocking=*/true);
}

void Optimizer::step_from_scalars() {
  torch::NoGradGuard no_grad;
  if (!initialised_ || !scalars_.defined()) throw std::logic_error("optimizer: step_from_scalars before prepare_static");
  std::vector<at::Tensor> g;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) {
      throw std::logic_error("optimizer: parameter '" + names_[i] +
                             "' has no gradient; a replayed step updates every parameter");
    }
    g.push_back(params_[i].mutable_grad());
  }
  if (params_.empty()) return;
  const at::Tensor neg_lr = scalars_[0], momentum = scalars_[1], decay = scalars_[2], neg_step = scalars_[3],
                   bc2_sqrt = scalars_[4];
  const double wd = c_.weight_decay;
  if (c_.name == "sgd") {
    if (wd != 0) at::_foreach_add_(g, params_, wd);
    std::vector<at::Tensor> update = g;
    if (static_momentum_) {
      at::_foreach_mul_(buf1_, momentum);
      at::_foreach_add_(buf1_, g);
      if (c_.nesterov) {
        at::_foreach_add_(g, at::_foreach_mul(buf1_, momentum));
      } else {
        update = buf1_;
      }
    }
    at::_foreach_add_(params_, at::_foreach_mul(update, neg_lr));
    return;
  }
  if (c_.name == "adamw") {
    if (wd != 0) at::_foreach_mul_(params_, decay);
  } else if (wd != 0) {
    at::_foreach_add_(g, params_, wd);
  }
  at::_foreach_lerp_(buf1_, g, 1.0 - c_.beta1);
  at::_foreach_mul_(buf2_, c_.beta2);
  at::_foreach_addcmul_(buf2_, g, g, 1.0 - c_.beta2);
  std::vector<at::Tensor> denom = at::_foreach_sqrt(buf2_);
  at::_foreach_div_(denom, bc2_sqrt);
  at::_foreach_add_(denom, c_.eps);
  at::_foreach_addcdiv_(params_, at::_foreach_mul(buf1_, neg_step), denom);
}

std::vector<std::pair<std::string, at::Tensor>> Optimizer::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  const char* first = c_.name == "sgd" ? "momentum/" : "exp_avg/";
  for (std::size_t i = 0; i < buf1_.size(); ++i) out.emplace_back(first + names_[i], buf1_[i]);
  for (std::size_t i = 0; i < buf2_.size(); ++i) out.emplace_back("exp_avg_sq/" + names_[i], buf2_[i]);
  return out;
}

void Optimizer::load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           std::int64_t steps) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  buf1_.clear();
  buf2_.clear();
  initialised_ = false;
  steps_ = steps;
  if (tensors.empty()) return;  // saved before the first step
  const char* first = c_.name == "sgd" ? "momentum/" : "exp_avg/";
  auto take = [&](const std::string& key, const at::Tensor& like) {
    auto it = by_name.find(key);
    if (it == by_name.end()) throw std::runtime_error("checkpoint lacks optimizer state '" + key + "'");
    if (it->second.sizes() != like.sizes())
      throw std::runtime_error("optimizer state '" + key + "' has the wrong shape");
    return it->second.to(like.options()).clone();
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    buf1_.push_back(take(first + names_[i], params_[i]));
    if (c_.name != "sgd") buf2_.push_back(take("exp_avg_sq/" + names_[i], params_[i]));
  }
  initialised_ = true;
}

}  // namespace acm::train
