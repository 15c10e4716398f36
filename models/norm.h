// Normalisation layers for the registry's networks, chosen by ModelSpec::norm, all registered under the same
// names (weight, bias and, for the batch norms, running_mean, running_var, num_batches_tracked) so that
// checkpoints and converted torchvision weights load into either batch norm.
//
// SyncBatchNorm2d normalises a training batch with the mean and variance of the global batch: the per-channel
// sums (and, in backward, the sums of the output gradient and of its product with the normalised input) are
// all-reduced across ranks through the function set with set_sync_batch_norm_reduce. A rank training with
// SyncBN over P ranks computes what one process computes with BatchNorm over the P local batches together.
// Without a reduce function (one process) it is plain BatchNorm. In eval mode it uses the running statistics.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <functional>

#include "models/model.h"

namespace acm::models {

// In-place sum of a contiguous float64 CPU or device tensor over all ranks. Called from forward (the main
// thread) and from backward (the autograd thread), while the gradient reducer's buckets are in flight: the
// trainer hands it to the reducer's ordered queue (Reducer::run_in_order), so that one thread issues every
// collective of a step in the same order on every rank.
using SyncReduce = std::function<void(at::Tensor&)>;
void set_sync_batch_norm_reduce(SyncReduce reduce);  // an empty function: one process

class SyncBatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit SyncBatchNorm2dImpl(std::int64_t channels, double eps = 1e-5, double momentum = 0.1);
  torch::Tensor forward(torch::Tensor x);

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  double eps_, momentum_;
};
TORCH_MODULE(SyncBatchNorm2d);

// PyTorch's defaults; EfficientNet-B5..B7 use eps 1e-3 and momentum 0.01, as torchvision builds them.
struct NormOptions {
  double eps = 1e-5;
  double momentum = 0.1;  // the running statistics' update weight (batch norms)
};

// BatchNorm2d, GroupNorm (gcd(32, channels) groups) or SyncBatchNorm2d over `channels` channels.
torch::nn::AnyModule make_norm(Norm norm, std::int64_t channels, const NormOptions& options = {});

}  // namespace acm::models
