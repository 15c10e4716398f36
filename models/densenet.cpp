#include "models/densenet.h"

#include <torch/torch.h>

#include "models/norm.h"
#include "models/stack.h"

namespace acm::models {

namespace nn = torch::nn;

namespace {

// Bottleneck layer: its k new channels are concatenated to everything before it.
struct DenseLayerImpl : nn::Module {
  DenseLayerImpl(std::int64_t in, std::int64_t growth, std::int64_t bn_size, Norm norm) {
    norm1 = make_norm(norm, in);
    register_module("norm1", norm1.ptr());
    conv1 = register_module(
        "conv1", nn::Conv2d(nn::Conv2dOptions(in, bn_size * growth, /*kernel_size=*/1).bias(false)));
    norm2 = make_norm(norm, bn_size * growth);
    register_module("norm2", norm2.ptr());
    conv2 = register_module(
        "conv2", nn::Conv2d(nn::Conv2dOptions(bn_size * growth, growth, /*kernel_size=*/3).padding(1).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto y = conv1(norm1.forward(x).relu());
    y = conv2(norm2.forward(y).relu_());
    return torch::cat({x, y}, 1);
  }
  nn::AnyModule norm1, norm2;
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(DenseLayer);

// Transition: BN-ReLU-1×1 conv to half the channels, 2×2 average pooling.
struct TransitionImpl : nn::Module {
  TransitionImpl(std::int64_t in, std::int64_t out, Norm n) {
    norm = make_norm(n, in);
    register_module("norm", norm.ptr());
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, /*kernel_size=*/1).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::avg_pool2d(conv(norm.forward(x).relu()), /*kernel_size=*/2, /*stride=*/2);
  }
  nn::AnyModule norm;
  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Transition);

class DenseNetImpl : public ClassifierImpl {
 public:
  DenseNetImpl(std::string name, const std::vector<std::int64_t>& layers, const ModelSpec& spec)
      : name_(std::move(name)), stem_(spec.stem) {
    const std::int64_t init = spec.width, growth = std::max<std::int64_t>(1, spec.width / 2), bn_size = 4;
    features_ = register_module("features", nn::Sequential());
    if (spec.stem == Stem::kImageNet) {
      features_->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(spec.in_channels, init, /*kernel_size=*/7)
                                                   .stride(2)
                                                   .padding(3)
                                                   .bias(false)));
    } else {  // CIFAR: 3×3 stride 1, no pooling (overall stride 8 instead of 32)
      features_->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(spec.in_channels, init, /*kernel_size=*/3)
                                                   .padding(1)
                                                   .bias(false)));
    }
    features_->push_back("norm0", make_norm(spec.norm, init));
    features_->push_back("relu0", nn::Functional([](torch::Tensor x) { return x.relu(); }));
    if (spec.stem == Stem::kImageNet) {
      features_->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
    }
    std::int64_t channels = init;
    for (std::size_t b = 0; b < layers.size(); ++b) {
      Stack block;
      for (std::int64_t l = 0; l < layers[b]; ++l) {
        block->push_back("denselayer" + std::to_string(l + 1), DenseLayer(channels, growth, bn_size, spec.norm));
        channels += growth;
      }
      features_->push_back("denseblock" + std::to_string(b + 1), block);
      if (b + 1 < layers.size()) {
        features_->push_back("transition" + std::to_string(b + 1), Transition(channels, channels / 2, spec.norm));
        channels /= 2;
      }
    }
    features_->push_back("norm5", make_norm(spec.norm, channels));
    feature_channels_ = channels;
    classifier_ = register_module("classifier", nn::Linear(channels, spec.num_classes));
    init_weights(*this, spec.init);
  }

  torch::Tensor features(torch::Tensor x) override { return features_->forward(x).relu_(); }
  torch::Tensor forward(torch::Tensor x) override {
    return classifier_(torch::adaptive_avg_pool2d(features(x), {1, 1}).flatten(1));
  }
  std::int64_t feature_channels() const override { return feature_channels_; }
  std::string architecture() const override { return name_; }

 private:
  std::string name_;
  Stem stem_;
  nn::Sequential features_{nullptr};
  nn::Linear classifier_{nullptr};
  std::int64_t feature_channels_ = 0;
};

}  // namespace

Classifier make_densenet(const std::string& name, const std::vector<std::int64_t>& layers_per_block,
                         const ModelSpec& spec) {
  if (spec.num_classes < 1 || spec.in_channels < 1 || spec.width < 2) {
    throw std::invalid_argument(name + ": num_classes and in_channels must be positive and width at least 2");
  }
  if (spec.last_stride != 2) throw std::invalid_argument(name + ": last_stride is a ResNet option");
  return std::make_shared<DenseNetImpl>(name, layers_per_block, spec);
}

}  // namespace acm::models
