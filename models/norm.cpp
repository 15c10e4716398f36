#include "models/norm.h"

#include <torch/torch.h>

#include <mutex>
#include <numeric>

namespace acm::models {

namespace nn = torch::nn;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

std::mutex g_mu;
SyncReduce g_reduce;

SyncReduce current_reduce() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_reduce;
}

at::Tensor per_channel(const at::Tensor& v) { return v.view({1, -1, 1, 1}); }

// Statistics in float64: E[x²] − E[x]² over a large global batch loses too much in float32.
struct SyncBatchNormFn : torch::autograd::Function<SyncBatchNormFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var,
                            at::Tensor num_batches_tracked, double momentum, double eps) {
    const std::int64_t c = x.size(1);
    const SyncReduce reduce = current_reduce();
    at::Tensor stats = at::empty({2 * c + 1}, x.options().dtype(at::kDouble));
    stats.narrow(0, 0, c).copy_(x.sum({0, 2, 3}, false, at::kDouble));
    stats.narrow(0, c, c).copy_(x.square().sum({0, 2, 3}, false, at::kDouble));
    stats.narrow(0, 2 * c, 1).fill_(static_cast<double>(x.numel() / c));
    if (reduce) reduce(stats);
    const at::Tensor n = stats.narrow(0, 2 * c, 1);
    const at::Tensor mean = stats.narrow(0, 0, c) / n;
    const at::Tensor var = (stats.narrow(0, c, c) / n - mean.square()).clamp_min(0);
    const double count = stats[2 * c].item<double>();
    {
      torch::NoGradGuard no_grad;
      const double unbias = count > 1 ? count / (count - 1) : 1.0;
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      running_var.mul_(1 - momentum).add_((var * unbias).to(running_var.scalar_type()), momentum);
      num_batches_tracked.add_(1);
    }
    const at::Tensor invstd = (var + eps).rsqrt().to(x.scalar_type());
    const at::Tensor xhat = (x - per_channel(mean.to(x.scalar_type()))) * per_channel(invstd);
    ctx->save_for_backward({xhat, weight, invstd});
    ctx->saved_data["count"] = count;
    return xhat * per_channel(weight) + per_channel(bias);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &xhat = saved[0], &weight = saved[1], &invstd = saved[2];
    const double count = ctx->saved_data["count"].toDouble();
    const at::Tensor g = grads[0].contiguous();
    const std::int64_t c = xhat.size(1);
    const at::Tensor sum_dy = g.sum({0, 2, 3}), sum_dy_xhat = (g * xhat).sum({0, 2, 3});
    // weight and bias gradients stay local: the gradient reducer averages them like any other parameter.
    at::Tensor global = at::cat({sum_dy, sum_dy_xhat}).to(at::kDouble);
    if (const SyncReduce reduce = current_reduce()) reduce(global);
    global = (global / count).to(g.scalar_type());
    const at::Tensor gx =
        (g - per_channel(global.narrow(0, 0, c)) - xhat * per_channel(global.narrow(0, c, c))) *
        per_channel(weight * invstd);
    return {gx, sum_dy_xhat, sum_dy, {}, {}, {}, {}, {}};
  }
};

}  // namespace

void set_sync_batch_norm_reduce(SyncReduce reduce) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_reduce = std::move(reduce);
}

SyncBatchNorm2dImpl::SyncBatchNorm2dImpl(std::int64_t channels, double eps, double momentum)
    : eps_(eps), momentum_(momentum) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor SyncBatchNorm2dImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4, "SyncBatchNorm2d: expected a 4-D input, got ", x.dim(), "-D");
  if (!is_training()) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/false, momentum_, eps_,
                             /*cudnn_enabled=*/true);
  }
  return SyncBatchNormFn::apply(x, weight, bias, running_mean, running_var, num_batches_tracked, momentum_,
                                eps_);
}

nn::AnyModule make_norm(Norm norm, std::int64_t channels, const NormOptions& o) {
  switch (norm) {
    case Norm::kGroup:
      return nn::AnyModule(
          nn::GroupNorm(nn::GroupNormOptions(std::gcd<std::int64_t>(32, channels), channels).eps(o.eps)));
    case Norm::kSyncBatch:
      return nn::AnyModule(SyncBatchNorm2d(channels, o.eps, o.momentum));
    case Norm::kBatch:
      break;
  }
  return nn::AnyModule(nn::BatchNorm2d(nn::BatchNorm2dOptions(channels).eps(o.eps).momentum(o.momentum)));
}

}  // namespace acm::models
