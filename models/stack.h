// A Sequential that can sit inside another Sequential: LibTorch's own forward is a template, which
// AnyModule cannot hold (the workaround torchvision's C++ MNASNet uses).
#pragma once

#include <torch/nn/modules/container/sequential.h>

namespace acm::models {

struct StackImpl : torch::nn::SequentialImpl {
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Stack);

}  // namespace acm::models
