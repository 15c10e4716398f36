// Mixed precision in process: autocast's scope, bf16 against fp32 on the same weights and batch, and fp16's
// dynamic loss scale step by step (harness/train/precision.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>

#include <limits>

#include "harness/train/precision.h"
#include "models/registry.h"

namespace acm::train {
namespace {

TEST(Precision, AutocastScopeCoversItsLifetimeOnly) {
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  {
    const AutocastScope scope(at::kCPU, autocast_dtype("bf16"));
    EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));
    EXPECT_EQ(at::mm(at::ones({4, 4}), at::ones({4, 4})).scalar_type(), at::kBFloat16);
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(at::mm(at::ones({4, 4}), at::ones({4, 4})).scalar_type(), at::kFloat);
  {
    const AutocastScope none(at::kCPU, autocast_dtype("fp32"));
    EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  }
  EXPECT_EQ(autocast_dtype("fp16"), at::kHalf);
}

// The same ResNet-18 (width 8) and batch: the loss under bf16 autocast within 2 % of fp32's, and the weight
// gradients (fp32 tensors either way) pointing the same way. bf16 keeps 8 bits of mantissa and, as under
// PyTorch's CPU autocast, BatchNorm runs on the bf16 convolution outputs: through 18 layers the gradient's
// cosine with fp32's is 0.97 on this batch, so the bound is 0.95.
TEST(Precision, Bf16LossAndGradientsTrackFp32OnTheSameBatch) {
  torch::manual_seed(0);
  models::ModelSpec spec;
  spec.width = 8;
  spec.num_classes = 10;
  spec.stem = models::Stem::kCifar;
  auto model = models::create("resnet18", spec);
  const at::Tensor x = torch::randn({16, 3, 32, 32}), y = torch::randint(0, 10, {16});
  auto loss_and_grads = [&](const std::string& precision) {
    model->zero_grad();
    at::Tensor logits;
    {
      const AutocastScope scope(at::kCPU, autocast_dtype(precision));
      logits = model->forward(x);
    }
    EXPECT_EQ(logits.scalar_type(), precision == "bf16" ? at::kBFloat16 : at::kFloat);
    at::Tensor loss = torch::nn::functional::cross_entropy(logits.to(at::kFloat), y);
    loss.backward();
    std::vector<at::Tensor> grads;
    for (auto& p : model->parameters()) grads.push_back(p.grad().flatten().clone());
    return std::make_pair(loss.item<double>(), at::cat(grads));
  };
  const auto [l32, g32] = loss_and_grads("fp32");
  const auto [l16, g16] = loss_and_grads("bf16");
  EXPECT_NEAR(l16, l32, 0.02 * l32);
  EXPECT_NE(l16, l32);
  EXPECT_EQ(g16.scalar_type(), at::kFloat);
  EXPECT_GT(at::cosine_similarity(g16, g32, 0).item<double>(), 0.95);
}

TEST(Precision, LossScaleBacksOffOnOverflowAndGrowsAfter2000GoodSteps) {
  LossScale s;
  EXPECT_EQ(s.scale, 65536.0);
  std::vector<at::Tensor> grads = {at::full({3}, 65536.0), at::full({2}, -131072.0)};
  EXPECT_FALSE(s.unscale_and_check(grads));
  EXPECT_TRUE(at::equal(grads[0], at::ones({3})));
  EXPECT_TRUE(at::equal(grads[1], at::full({2}, -2.0)));
  std::vector<at::Tensor> bad = {at::ones({3}), at::tensor({1.0f, std::numeric_limits<float>::infinity()})};
  EXPECT_TRUE(s.unscale_and_check(bad));
  std::vector<at::Tensor> nan = {at::tensor({std::numeric_limits<float>::quiet_NaN()})};
  EXPECT_TRUE(s.unscale_and_check(nan));
  s.update(true);
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.skipped_steps, 1);
  for (int i = 0; i < 1999; ++i) s.update(false);
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.growth_tracker, 1999);
  s.update(false);
  EXPECT_EQ(s.scale, 65536.0);
  EXPECT_EQ(s.growth_tracker, 0);
  EXPECT_EQ(LossScale::from_json(s.to_json()).to_json(), s.to_json());
  EXPECT_EQ(LossScale::from_json(nlohmann::json::object()).scale, kInitialLossScale);  // an older checkpoint
}

}  // namespace
}  // namespace acm::train
