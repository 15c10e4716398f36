// The architectures are torchvision's, not just the parameter counts: torchvision models exported by the
// venv's Python, converted by scripts/convert_torchvision.py and loaded here give the same eval-mode logits.
#include <gtest/gtest.h>
#include <torch/torch.h>

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
         "resnet50"},
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

}  // namespace
}  // namespace acm::models
