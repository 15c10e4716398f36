// The seven corruptions (harness/train/corruptions.h) against NumPy/PIL/SciPy references written from the
// CIFAR-10-C definitions (tests/anchors/corruption_reference.py), at severity 3 on a colour and a grey image:
// every pixel within one grey level (1/255), the random ones fed the reference's own draws.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <map>

#include "acm/config.h"
#include "harness/train/corruptions.h"
#include "models/weights.h"
#include "tests/test_util.h"

namespace acm::train {
namespace {

TEST(Corruptions, EachMatchesItsReferenceWithinOneGreyLevelAtSeverityThree) {
  testing::TempDir dir;
  std::string output;
  ASSERT_EQ(testing::run_venv_python("tests/anchors/corruption_reference.py",
                                     {dir.path(), std::string(ACM_SOURCE_DIR) + "/scripts"}, &output),
            0)
      << output;
  std::map<std::string, at::Tensor> t;
  for (auto& [k, v] : models::read_safetensors(dir.file("corruptions.safetensors")).tensors) t[k] = v;
  for (const char* image : {"colour", "grey"}) {
    const std::string p = image;
    const at::Tensor x = t.at(p + "/input");
    for (const std::string& name : corruption_names()) {
      const auto draws = t.find(p + "/draws/" + name);
      const at::Tensor ours = apply_corruption(name, 3, x.unsqueeze(0), draws == t.end() ? at::Tensor() : draws->second.unsqueeze(0))[0];
      const at::Tensor ref = t.at(p + "/" + name);
      const double diff = (ours - ref).abs().max().item<double>();
      EXPECT_LE(diff, 1.0 / 255 + 1e-6) << image << " " << name << ": " << diff * 255 << " grey levels";
      // The corruption changed the image (a reference equal to its input would prove nothing).
      EXPECT_GT((ref - x).abs().max().item<double>(), 2.0 / 255) << image << " " << name;
    }
  }
}

// Our own draws: Gaussian noise of the severity's σ, Poisson counts of mean x·c, keyed by the generator.
TEST(Corruptions, RandomOnesDrawTheirDistributionAndRepeatWithTheSeed) {
  const at::Tensor x = at::full({4, 3, 32, 32}, 0.5f);
  at::Generator a = at::detail::createCPUGenerator(7), b = at::detail::createCPUGenerator(7);
  const at::Tensor g = corrupt("gaussian_noise", 3, x, a);
  EXPECT_TRUE(at::equal(g, corrupt("gaussian_noise", 3, x, b)));
  EXPECT_NEAR((g - x).std().item<double>(), 0.08, 0.004);
  const at::Tensor s = corrupt("shot_noise", 5, x, a);  // c = 50: variance x/c = 0.01
  EXPECT_NEAR(s.mean().item<double>(), 0.5, 0.005);
  EXPECT_NEAR(s.var().item<double>(), 0.01, 0.001);
  EXPECT_THROW(corruption_parameter("fog", 1), std::invalid_argument);
  EXPECT_THROW(corruption_parameter("jpeg", 6), std::invalid_argument);
}

}  // namespace
}  // namespace acm::train
