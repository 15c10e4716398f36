#include "models/efficientnet.h"

#include <torch/torch.h>

#include <cmath>

#include "models/norm.h"
#include "models/stack.h"

namespace acm::models {

namespace nn = torch::nn;

namespace {

// torchvision's _make_divisible: the nearest multiple of 8, never more than 10 % below v.
std::int64_t make_divisible(double v) {
  std::int64_t r = std::max<std::int64_t>(8, static_cast<std::int64_t>(v + 4) / 8 * 8);
  if (static_cast<double>(r) < 0.9 * v) r += 8;
  return r;
}

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride = 1, std::int64_t groups = 1,
                bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding((k - 1) / 2).groups(groups).bias(bias));
}

struct MBConvImpl : nn::Module {
  MBConvImpl(std::int64_t in, std::int64_t out, std::int64_t expand, std::int64_t k, std::int64_t stride,
             double drop, Norm norm, const NormOptions& no)
      : residual(stride == 1 && in == out), drop_prob(drop) {
    const std::int64_t mid = make_divisible(static_cast<double>(in * expand));
    if (mid != in) {
      expand_conv = register_module("expand_conv", conv(in, mid, 1));
      expand_norm = make_norm(norm, mid, no);
      register_module("expand_norm", expand_norm.ptr());
    }
    dw_conv = register_module("dw_conv", conv(mid, mid, k, stride, mid));
    dw_norm = make_norm(norm, mid, no);
    register_module("dw_norm", dw_norm.ptr());
    const std::int64_t squeeze = std::max<std::int64_t>(1, in / 4);
    se_fc1 = register_module("se_fc1", conv(mid, squeeze, 1, 1, 1, /*bias=*/true));
    se_fc2 = register_module("se_fc2", conv(squeeze, mid, 1, 1, 1, /*bias=*/true));
    project_conv = register_module("project_conv", conv(mid, out, 1));
    project_norm = make_norm(norm, out, no);
    register_module("project_norm", project_norm.ptr());
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = x;
    if (expand_conv) y = torch::silu(expand_norm.forward(expand_conv(y)));
    y = torch::silu(dw_norm.forward(dw_conv(y)));
    y = y * torch::sigmoid(se_fc2(torch::silu(se_fc1(torch::adaptive_avg_pool2d(y, {1, 1})))));
    y = project_norm.forward(project_conv(y));
    if (!residual) return y;
    if (is_training() && drop_prob > 0) {  // stochastic depth, per sample ("row" mode), as torchvision
      const double keep = 1.0 - drop_prob;
      y = y * torch::empty({y.size(0), 1, 1, 1}, y.options()).bernoulli_(keep).div_(keep);
    }
    return y + x;
  }

  bool residual;
  double drop_prob;
  nn::Conv2d expand_conv{nullptr}, dw_conv{nullptr}, se_fc1{nullptr}, se_fc2{nullptr}, project_conv{nullptr};
  nn::AnyModule expand_norm, dw_norm, project_norm;
};
TORCH_MODULE(MBConv);

struct StageConfig {
  std::int64_t expand, kernel, stride, in, out, layers;
};
// B0 (torchvision's _efficientnet_conf).
const StageConfig kStages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},
                               {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3},  {6, 5, 2, 112, 192, 4},
                               {6, 3, 1, 192, 320, 1}};
constexpr double kStochasticDepth = 0.2;

class EfficientNetImpl : public ClassifierImpl {
 public:
  EfficientNetImpl(std::string name, const EfficientNetScale& scale, const ModelSpec& spec)
      : name_(std::move(name)), dropout_(scale.dropout) {
    const double wm = scale.width_mult * static_cast<double>(spec.width) / 64.0;
    const bool cifar = spec.stem == Stem::kCifar;
    std::int64_t total = 0;
    for (const auto& s : kStages) total += static_cast<std::int64_t>(std::ceil(s.layers * scale.depth_mult));
    features_ = register_module("features", nn::Sequential());
    const std::int64_t stem_out = make_divisible(32 * wm);
    features_->push_back("stem_conv", conv(spec.in_channels, stem_out, 3, cifar ? 1 : 2));
    const NormOptions no{scale.bn_eps, scale.bn_momentum};
    features_->push_back("stem_norm", make_norm(spec.norm, stem_out, no));
    features_->push_back("stem_act", nn::Functional([](torch::Tensor x) { return torch::silu(x); }));
    std::int64_t id = 0, channels = stem_out;
    bool first_strided = true;
    for (std::size_t si = 0; si < std::size(kStages); ++si) {
      const auto& s = kStages[si];
      const std::int64_t out = make_divisible(s.out * wm);
      const std::int64_t layers = static_cast<std::int64_t>(std::ceil(s.layers * scale.depth_mult));
      std::int64_t stride = s.stride;
      if (stride == 2 && first_strided) {
        first_strided = false;
        if (cifar) stride = 1;
      }
      Stack stage;
      for (std::int64_t l = 0; l < layers; ++l) {
        const double drop = kStochasticDepth * static_cast<double>(id) / static_cast<double>(total);
        stage->push_back(MBConv(channels, out, s.expand, s.kernel, l == 0 ? stride : 1, drop, spec.norm, no));
        channels = out;
        ++id;
      }
      features_->push_back("stage" + std::to_string(si + 1), stage);
    }
    const std::int64_t head = 4 * channels;
    features_->push_back("head_conv", conv(channels, head, 1));
    features_->push_back("head_norm", make_norm(spec.norm, head, no));
    features_->push_back("head_act", nn::Functional([](torch::Tensor x) { return torch::silu(x); }));
    feature_channels_ = head;
    classifier_ = register_module("classifier", nn::Linear(head, spec.num_classes));
    init_weights(*this, spec.init);
  }

  torch::Tensor features(torch::Tensor x) override { return features_->forward(x); }
  torch::Tensor forward(torch::Tensor x) override {
    auto pooled = torch::adaptive_avg_pool2d(features(x), {1, 1}).flatten(1);
    return classifier_(torch::dropout(pooled, dropout_, is_training()));
  }
  std::int64_t feature_channels() const override { return feature_channels_; }
  std::string architecture() const override { return name_; }

 private:
  std::string name_;
  double dropout_;
  nn::Sequential features_{nullptr};
  nn::Linear classifier_{nullptr};
  std::int64_t feature_channels_ = 0;
};

}  // namespace

Classifier make_efficientnet(const std::string& name, const EfficientNetScale& scale, const ModelSpec& spec) {
  if (spec.num_classes < 1 || spec.in_channels < 1 || spec.width < 1) {
    throw std::invalid_argument(name + ": num_classes, in_channels and width must be positive");
  }
  if (spec.last_stride != 2) throw std::invalid_argument(name + ": last_stride is a ResNet option");
  return std::make_shared<EfficientNetImpl>(name, scale, spec);
}

}  // namespace acm::models
