#include "models/resnet.h"

#include <torch/torch.h>

#include "models/norm.h"

namespace acm::models {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/3).stride(stride).padding(1).bias(false));
}
nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/1).stride(stride).bias(false));
}

// One residual block, basic (two 3×3) or bottleneck (1×1, 3×3 with the stride, 1×1 ×4).
struct BlockImpl : nn::Module {
  BlockImpl(BlockKind kind, std::int64_t in, std::int64_t planes, std::int64_t stride, Norm norm)
      : kind(kind) {
    const std::int64_t expansion = kind == BlockKind::kBasic ? 1 : 4;
    if (kind == BlockKind::kBasic) {
      conv1 = register_module("conv1", conv3x3(in, planes, stride));
      bn1 = make_norm(norm, planes);
      register_module("bn1", bn1.ptr());
      conv2 = register_module("conv2", conv3x3(planes, planes, 1));
      bn2 = make_norm(norm, planes);
      register_module("bn2", bn2.ptr());
    } else {
      conv1 = register_module("conv1", conv1x1(in, planes, 1));
      bn1 = make_norm(norm, planes);
      register_module("bn1", bn1.ptr());
      conv2 = register_module("conv2", conv3x3(planes, planes, stride));  // v1.5: stride on the 3×3
      bn2 = make_norm(norm, planes);
      register_module("bn2", bn2.ptr());
      conv3 = register_module("conv3", conv1x1(planes, planes * expansion, 1));
      bn3 = make_norm(norm, planes * expansion);
      register_module("bn3", bn3.ptr());
    }
    if (stride != 1 || in != planes * expansion) {
      downsample = register_module("downsample", nn::Sequential(conv1x1(in, planes * expansion, stride)));
      downsample->push_back(make_norm(norm, planes * expansion));
    }
  }

  // In-place ReLU and residual add, as torchvision's blocks: the same values with two fewer allocations and
  // memory passes per block.
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor identity = downsample ? downsample->forward(x) : x;
    torch::Tensor out = bn1.forward(conv1(x)).relu_();
    out = bn2.forward(conv2(out));
    if (kind == BlockKind::kBottleneck) out = bn3.forward(conv3(out.relu_()));
    out += identity;
    return out.relu_();
  }

  BlockKind kind;
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::AnyModule bn1, bn2, bn3;
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Block);

class ResNetImpl : public ClassifierImpl {
 public:
  ResNetImpl(std::string name, const ResNetLayout& layout, const ModelSpec& spec)
      : name_(std::move(name)), stem_(spec.stem) {
    const std::int64_t w = spec.width;
    const std::int64_t expansion = layout.block == BlockKind::kBasic ? 1 : 4;
    if (spec.stem == Stem::kImageNet) {
      conv1_ = register_module(
          "conv1",
          nn::Conv2d(
              nn::Conv2dOptions(spec.in_channels, w, /*kernel_size=*/7).stride(2).padding(3).bias(false)));
    } else {
      conv1_ = register_module("conv1", conv3x3(spec.in_channels, w, 1));
    }
    bn1_ = make_norm(spec.norm, w);
    register_module("bn1", bn1_.ptr());
    std::int64_t in = w;
    for (int s = 0; s < 4; ++s) {
      const std::int64_t planes = w << s;
      nn::Sequential stage;
      for (std::int64_t b = 0; b < layout.blocks_per_stage[s]; ++b) {
        const std::int64_t stride = b == 0 && s > 0 ? (s == 3 ? spec.last_stride : 2) : 1;
        stage->push_back(Block(layout.block, in, planes, stride, spec.norm));
        in = planes * expansion;
      }
      stages_.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    feature_channels_ = in;
    fc_ = register_module("fc", nn::Linear(in, spec.num_classes));
    init_weights(*this, spec.init);
  }

  torch::Tensor features(torch::Tensor x) override {
    x = bn1_.forward(conv1_(x)).relu_();
    if (stem_ == Stem::kImageNet) x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);
    for (auto& stage : stages_) x = stage->forward(x);
    return x;
  }

  torch::Tensor forward(torch::Tensor x) override {
    return fc_(torch::adaptive_avg_pool2d(features(x), {1, 1}).flatten(1));
  }

  std::int64_t feature_channels() const override { return feature_channels_; }
  std::string architecture() const override { return name_; }

 private:
  std::string name_;
  Stem stem_;
  nn::Conv2d conv1_{nullptr};
  nn::AnyModule bn1_;
  std::vector<nn::Sequential> stages_;
  nn::Linear fc_{nullptr};
  std::int64_t feature_channels_ = 0;
};

}  // namespace

Classifier make_resnet(const std::string& name, const ResNetLayout& layout, const ModelSpec& spec) {
  if (spec.num_classes < 1 || spec.in_channels < 1 || spec.width < 1) {
    throw std::invalid_argument(name + ": num_classes, in_channels and width must be positive");
  }
  if (spec.last_stride != 1 && spec.last_stride != 2) {
    throw std::invalid_argument(name + ": last_stride must be 1 or 2, not " + std::to_string(spec.last_stride));
  }
  return std::make_shared<ResNetImpl>(name, layout, spec);
}

}  // namespace acm::models
