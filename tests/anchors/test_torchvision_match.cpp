// The architectures are torchvision's, not just the parameter counts: torchvision models exported by the
// venv's Python, converted by scripts/convert_torchvision.py and loaded here give the same eval-mode logits
// and feature maps — the ResNets, DenseNet-121/169/201 and EfficientNet-B0, B1 and B5 (the first with
// BatchNorm eps 1e-3) of the paper's Tables 1–2. DenseNet-264 has no torchvision counterpart: its structure
// is checked against the DenseNet paper's Table 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "acm/config.h"
#include "models/registry.h"
#include "models/weights.h"
#include "tests/test_util.h"

namespace acm::models {
namespace {

class TorchvisionMatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new acm::testing::TempDir;
    status_ = acm::testing::run_venv_python(
        "tests/models/export_torchvision_reference.py",
        {dir_->path(), std::string(ACM_SOURCE_DIR) + "/scripts/convert_torchvision.py", "resnet18",
         "resnet50", "densenet121", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1",
         "efficientnet_b5"},
        &output_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void check(const std::string& arch) {
    ASSERT_EQ(status_, 0) << "reference export failed:\n" << output_;
    const TensorFile weights = read_safetensors(dir_->file(arch + ".safetensors"));
    EXPECT_EQ(weights.metadata.at("arch"), arch);
    Classifier m = create(arch, ModelSpec{});
    load_module_state(*m, weights, arch + ".safetensors");
    m->eval();
    std::map<std::string, torch::Tensor> io;
    for (auto& [k, v] : read_safetensors(dir_->file(arch + "-io.safetensors")).tensors) io[k] = v;
    torch::NoGradGuard no_grad;
    const auto logits = m->forward(io["input"]);
    const auto feats = m->features(io["input"]);
    const double scale = io["logits"].abs().max().item<double>();
    const double err = (logits - io["logits"]).abs().max().item<double>();
    EXPECT_LE(err, 1e-4 * scale) << arch << ": max |Δlogit| " << err << " vs max |logit| " << scale;
    std::printf("[ measured ] %s: max |Δlogit| / max |logit| = %.2e\n", arch.c_str(), err / scale);
    EXPECT_EQ(feats.sizes(), io["features"].sizes());
    EXPECT_LE((feats - io["features"]).abs().max().item<double>(),
              1e-4 * io["features"].abs().max().item<double>());
    EXPECT_TRUE(torch::equal(logits.argmax(1), io["logits"].argmax(1))) << "same predictions";
  }

  static acm::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
};

acm::testing::TempDir* TorchvisionMatch::dir_ = nullptr;
int TorchvisionMatch::status_ = -1;
std::string TorchvisionMatch::output_;

TEST_F(TorchvisionMatch, ResNet18LogitsWithin1e4Relative) { check("resnet18"); }
TEST_F(TorchvisionMatch, ResNet50LogitsWithin1e4Relative) { check("resnet50"); }
TEST_F(TorchvisionMatch, DenseNet121LogitsWithin1e4Relative) { check("densenet121"); }
TEST_F(TorchvisionMatch, DenseNet169LogitsWithin1e4Relative) { check("densenet169"); }
TEST_F(TorchvisionMatch, DenseNet201LogitsWithin1e4Relative) { check("densenet201"); }
TEST_F(TorchvisionMatch, EfficientNetB0LogitsWithin1e4Relative) { check("efficientnet_b0"); }
TEST_F(TorchvisionMatch, EfficientNetB1LogitsWithin1e4Relative) { check("efficientnet_b1"); }
TEST_F(TorchvisionMatch, EfficientNetB5LogitsWithin1e4Relative) { check("efficientnet_b5"); }

// DenseNet-264 (Huang et al. 2017, Table 1): 6, 12, 64 and 48 bottleneck layers (BN-ReLU-1×1 conv to 4k,
// BN-ReLU-3×3 conv to k, k = 32) in its four blocks, a 7×7/2 convolution and a 3×3/2 max pool before them,
// transitions (1×1 conv, compression 0.5, 2×2 average pool) between them, global pooling and a 1000-way
// linear layer after. The channels follow: 64 + 6k = 256 → 128, + 12k = 512 → 256, + 64k = 2304 → 1152, + 48k
// = 2688.
TEST(DenseNetStructure, DenseNet264IsThePapersTableOne) {
  Classifier m = create("densenet264", ModelSpec{});
  std::map<std::string, int> layers_per_block;
  int convs = 0, linears = 0;
  for (const auto& item : m->named_modules()) {
    const std::string& name = item.key();
    const std::shared_ptr<torch::nn::Module>& module = item.value();
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      ++convs;
      const auto block = name.find("denseblock");
      if (block != std::string::npos && name.find(".conv2") != std::string::npos) {
        ++layers_per_block[name.substr(block, 11)];
        EXPECT_EQ(conv->options.out_channels(), 32) << name;  // k
        EXPECT_EQ(conv->options.kernel_size()->at(0), 3) << name;
      }
      if (name.find(".conv1") != std::string::npos) {
        EXPECT_EQ(conv->options.out_channels(), 128) << name;  // 4k
      }
    }
    if (module->as<torch::nn::Linear>()) ++linears;
  }
  EXPECT_EQ(layers_per_block,
            (std::map<std::string, int>{
                {"denseblock1", 6}, {"denseblock2", 12}, {"denseblock3", 64}, {"denseblock4", 48}}));
  // 1 stem convolution, 2 per dense layer and 3 transitions: 264. With the linear layer that is 265, where
  // the same count gives DenseNet-121, 169 and 201 exactly their names: the paper's "264" is one short of its
  // own Table 1 (its layers are Table 1's, which is what matters).
  EXPECT_EQ(convs, 1 + 2 * (6 + 12 + 64 + 48) + 3);
  EXPECT_EQ(linears, 1);
  EXPECT_EQ(m->feature_channels(), 2688);
  torch::NoGradGuard no_grad;
  m->eval();
  const auto f = m->features(torch::zeros({1, 3, 64, 64}));  // overall stride 32
  EXPECT_EQ(f.sizes(), (std::vector<std::int64_t>{1, 2688, 2, 2}));
}

}  // namespace
}  // namespace acm::models
