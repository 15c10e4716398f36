#include "models/model.h"

#include <torch/torch.h>

#include <stdexcept>

namespace acm::models {

std::int64_t parameter_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
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
