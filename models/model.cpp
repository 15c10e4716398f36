#include "models/model.h"

#include <torch/torch.h>

#include <stdexcept>

namespace acm::models {

std::int64_t parameter_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

void init_weights(torch::nn::Module& model, Init init) {
  namespace nn = torch::nn;
  torch::NoGradGuard no_grad;
  for (auto& m : model.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      if (init == Init::kXavierNormal) {
        nn::init::xavier_normal_(conv->weight);
      } else {  // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu")
        nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
      }
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    } else if (auto* gn = m->as<nn::GroupNorm>()) {
      nn::init::ones_(gn->weight);
      nn::init::zeros_(gn->bias);
    } else if (auto* fc = m->as<nn::Linear>()) {
      if (init == Init::kXavierNormal) {
        nn::init::xavier_normal_(fc->weight);
        nn::init::zeros_(fc->bias);
      }  // else LibTorch's Linear default equals PyTorch's (kaiming_uniform with a = sqrt(5))
    }
  }
}

const char* to_string(Stem s) { return s == Stem::kCifar ? "cifar" : "imagenet"; }
const char* to_string(Init i) { return i == Init::kXavierNormal ? "xavier_normal" : "kaiming"; }

const char* to_string(Norm n) {
  return n == Norm::kGroup ? "group" : n == Norm::kSyncBatch ? "sync_batch" : "batch";
}

Norm norm_from_string(const std::string& s) {
  if (s == "batch") return Norm::kBatch;
  if (s == "group") return Norm::kGroup;
  if (s == "sync_batch") return Norm::kSyncBatch;
  throw std::invalid_argument("unknown norm '" + s + "'; allowed: batch, group, sync_batch");
}

Stem stem_from_string(const std::string& s) {
  if (s == "imagenet") return Stem::kImageNet;
  if (s == "cifar") return Stem::kCifar;
  throw std::invalid_argument("unknown stem '" + s + "'; allowed: imagenet, cifar");
}

Init init_from_string(const std::string& s) {
  if (s == "kaiming") return Init::kKaiming;
  if (s == "xavier_normal") return Init::kXavierNormal;
  throw std::invalid_argument("unknown init '" + s + "'; allowed: kaiming, xavier_normal");
}

}  // namespace acm::models
