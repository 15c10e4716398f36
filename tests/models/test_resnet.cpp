#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "models/registry.h"

namespace acm::models {

void PrintTo(Stem s, std::ostream* os) { *os << to_string(s); }  // readable test parameters

namespace {

struct Count {
  const char* name;
  std::int64_t params;
};

// torchvision's figures for the ImageNet models with 1000 classes (every family of the paper's tables).
class ResNetParams : public ::testing::TestWithParam<Count> {};

TEST_P(ResNetParams, EqualTorchvision) {
  torch::NoGradGuard no_grad;
  EXPECT_EQ(parameter_count(*create(GetParam().name, ModelSpec{})), GetParam().params);
}

// DenseNet-264 is not in torchvision: its figure is torchvision.models.densenet.DenseNet(32, (6, 12, 64, 48), 64).
INSTANTIATE_TEST_SUITE_P(ImageNet, ResNetParams,
                         ::testing::Values(Count{"resnet18", 11'689'512}, Count{"resnet34", 21'797'672},
                                           Count{"resnet50", 25'557'032}, Count{"resnet101", 44'549'160},
                                           Count{"resnet152", 60'192'808}, Count{"densenet121", 7'978'856},
                                           Count{"densenet169", 14'149'480}, Count{"densenet201", 20'013'928},
                                           Count{"densenet264", 33'337'704}, Count{"efficientnet_b0", 5'288'548},
                                           Count{"efficientnet_b1", 7'794'184}, Count{"efficientnet_b2", 9'109'994},
                                           Count{"efficientnet_b3", 12'233'232}, Count{"efficientnet_b4", 19'341'616},
                                           Count{"efficientnet_b5", 30'389'784}, Count{"efficientnet_b6", 43'040'704},
                                           Count{"efficientnet_b7", 66'347'960}),
                         [](const auto& info) { return std::string(info.param.name); });

// Every registry model, both stems: logits and feature-map shapes for odd channel and class counts.
class EveryModel : public ::testing::TestWithParam<std::tuple<std::string, Stem>> {};

TEST_P(EveryModel, ForwardAndFeatureShapes) {
  const auto& [name, stem] = GetParam();
  ModelSpec spec;
  spec.num_classes = 7;
  spec.in_channels = 1;
  spec.stem = stem;
  spec.width = 8;  // small, fast; shapes scale with width
  Classifier m = create(name, spec);
  m->eval();
  torch::NoGradGuard no_grad;
  const std::int64_t size = stem == Stem::kCifar ? 32 : 64;
  auto x = torch::randn({2, 1, size, size});
  EXPECT_EQ(m->forward(x).sizes(), (std::vector<std::int64_t>{2, 7}));
  if (name.rfind("resnet", 0) == 0) {
    const std::int64_t expansion = (name == "resnet18" || name == "resnet34") ? 1 : 4;
    EXPECT_EQ(m->feature_channels(), 8 * 8 * expansion);
  }
  // ImageNet stem: stride 32 overall; CIFAR stem: stride 8.
  const std::int64_t side = stem == Stem::kCifar ? 4 : 2;
  EXPECT_EQ(m->features(x).sizes(), (std::vector<std::int64_t>{2, m->feature_channels(), side, side}));
  EXPECT_EQ(m->architecture(), name);
}

// The logits are the linear head applied to the globally pooled features() (in eval mode: no dropout), so the
// map Attentive CutMix reads is the one the classifier sees.
TEST_P(EveryModel, FeaturesFeedTheLinearHead) {
  const auto& [name, stem] = GetParam();
  ModelSpec spec;
  spec.num_classes = 5;
  spec.stem = stem;
  spec.width = 8;
  Classifier m = create(name, spec);
  m->eval();
  torch::NoGradGuard no_grad;
  std::shared_ptr<torch::nn::LinearImpl> head;
  for (const auto& child : m->named_children()) {
    if (auto l = std::dynamic_pointer_cast<torch::nn::LinearImpl>(child.value())) head = l;
  }
  ASSERT_TRUE(head);
  auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(m->forward(x), head->forward(m->features(x).mean({2, 3})), 1e-4, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryModel,
                         ::testing::Combine(::testing::ValuesIn(list_models("*")),
                                            ::testing::Values(Stem::kImageNet, Stem::kCifar)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + to_string(std::get<1>(info.param));
                         });

// EfficientNet's stochastic depth and dropout act in training mode only.
TEST(EfficientNet, StochasticDepthAndDropoutOnlyWhileTraining) {
  ModelSpec spec;
  spec.num_classes = 4;
  spec.width = 8;
  spec.stem = Stem::kCifar;
  Classifier m = create("efficientnet_b0", spec);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 3, 32, 32});
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(x), m->forward(x)));
  m->train();
  torch::manual_seed(1);
  auto a = m->forward(x);
  torch::manual_seed(2);
  auto b = m->forward(x);
  EXPECT_FALSE(torch::allclose(a, b));
}

TEST(ResNet, FeaturesFeedTheClassifierHead) {
  ModelSpec spec;
  spec.num_classes = 5;
  spec.width = 8;
  spec.stem = Stem::kCifar;
  Classifier m = create("resnet18", spec);
  m->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 3, 16, 16});
  auto fc = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m->named_children()["fc"]);
  ASSERT_TRUE(fc);
  auto pooled = m->features(x).mean({2, 3});
  EXPECT_TRUE(torch::allclose(m->forward(x), fc->forward(pooled), 1e-5, 1e-6));
}

// last_stride 1 keeps the third stage's resolution: a 28-pixel image with the CIFAR stem ends at 7×7, not
// 4×4, with the same parameters (a stride holds no weights); the head still reads the pooled map.
TEST(ResNet, LastStrideOneKeepsASevenBySevenMap) {
  torch::NoGradGuard no_grad;
  ModelSpec spec;
  spec.num_classes = 10;
  spec.in_channels = 1;
  spec.width = 4;
  spec.stem = Stem::kCifar;
  const auto x = torch::randn({2, 1, 28, 28});
  Classifier plain = create("resnet18", spec);
  spec.last_stride = 1;
  Classifier kept = create("resnet18", spec);
  EXPECT_EQ(plain->features(x).sizes(), (std::vector<std::int64_t>{2, 32, 4, 4}));
  EXPECT_EQ(kept->features(x).sizes(), (std::vector<std::int64_t>{2, 32, 7, 7}));
  EXPECT_EQ(parameter_count(*kept), parameter_count(*plain));
  EXPECT_EQ(kept->forward(x).sizes(), (std::vector<std::int64_t>{2, 10}));
  spec.last_stride = 3;
  EXPECT_THROW(create("resnet18", spec), std::invalid_argument);
  spec.last_stride = 1;
  EXPECT_THROW(create("densenet121", spec), std::invalid_argument);  // no such stage to keep
}

TEST(ResNet, BottleneckStrideSitsOnThe3x3Conv) {
  Classifier m = create("resnet50", ModelSpec{});
  auto params = m->named_modules();
  auto conv1 = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(params["layer2.0.conv1"]);
  auto conv2 = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(params["layer2.0.conv2"]);
  ASSERT_TRUE(conv1 && conv2);
  EXPECT_EQ(conv1->options.stride()->at(0), 1);
  EXPECT_EQ(conv2->options.stride()->at(0), 2);  // v1.5
}

double std_of(const torch::Tensor& t) { return t.std().item<double>(); }

TEST(ResNet, KaimingFanOutAndXavierNormalInit) {
  torch::manual_seed(0);
  ModelSpec spec;
  Classifier kaiming = create("resnet18", spec);
  spec.init = Init::kXavierNormal;
  Classifier xavier = create("resnet18", spec);
  // layer3.0.conv2: 256 -> 256, 3x3: fan_in = fan_out = 2304.
  const auto wk = kaiming->named_parameters()["layer3.0.conv2.weight"];
  const auto wx = xavier->named_parameters()["layer3.0.conv2.weight"];
  EXPECT_NEAR(std_of(wk), std::sqrt(2.0 / 2304), 0.02 * std::sqrt(2.0 / 2304));
  EXPECT_NEAR(std_of(wx), std::sqrt(2.0 / (2304 + 2304)), 0.02 * std::sqrt(1.0 / 2304));
  EXPECT_EQ(xavier->named_parameters()["fc.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(kaiming->named_parameters()["bn1.weight"].mean().item<double>(), 1.0);
}

}  // namespace
}  // namespace acm::models
