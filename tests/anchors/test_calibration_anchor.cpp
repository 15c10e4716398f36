// Calibration metrics (harness/train/calibration.h) against their definitions written with PyTorch
// (tests/anchors/calibration_reference.py) on fixed logits (label anchor).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "harness/train/calibration.h"
#include "tests/test_util.h"

namespace acm::train {
namespace {

using nlohmann::json;

// 1 000 images of 10 classes, logits of three sharpness levels (over- and under-confident regions), summed in
// uneven batches of 128: every bin's count exactly; ECE, NLL, Brier and each bin's mean confidence and accuracy
// to 1e-7 (both sides take the softmax in float32, by different kernels; a wrong definition is off by far more).
TEST(Calibration, EceNllAndBrierMatchTheirDefinitions) {
  at::Generator g = at::detail::createCPUGenerator(2026);
  const at::Tensor scale = at::tensor({0.5f, 2.0f, 6.0f}).repeat_interleave(334).narrow(0, 0, 1000).unsqueeze(1);
  const at::Tensor logits = at::randn({1000, 10}, g) * scale;
  const at::Tensor labels = at::randint(10, {1000}, g);
  for (int bins : {15, 7}) {
    CalibrationSums sums(bins);
    for (std::int64_t start = 0; start < 1000; start += 128) {
      const std::int64_t n = std::min<std::int64_t>(128, 1000 - start);
      sums.add(logits.narrow(0, start, n), labels.narrow(0, start, n));
    }
    const Calibration got = CalibrationSums::finish(sums.sums(), bins);
    testing::TempDir dir;
    json in = {{"bins", bins}, {"labels", json::array()}, {"logits", json::array()}};
    for (std::int64_t i = 0; i < 1000; ++i) {
      in["labels"].push_back(labels[i].item<std::int64_t>());
      const at::Tensor row = logits[i].contiguous();
      in["logits"].push_back(std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + 10));
    }
    std::ofstream(dir.file("in.json")) << in.dump();
    std::string out;
    ASSERT_EQ(testing::run_venv_python("tests/anchors/calibration_reference.py", {dir.file("in.json")}, &out), 0) << out;
    const json want = json::parse(out);
    EXPECT_NEAR(got.ece, want["ece"].get<double>(), 1e-7) << bins;
    EXPECT_NEAR(got.nll, want["nll"].get<double>(), 1e-7) << bins;
    EXPECT_NEAR(got.brier, want["brier"].get<double>(), 1e-7) << bins;
    EXPECT_EQ(got.images, 1000);
    ASSERT_EQ(got.bins.size(), static_cast<std::size_t>(bins));
    for (int b = 0; b < bins; ++b) {
      EXPECT_EQ(got.bins[b].count, want["counts"][b].get<double>()) << "bin " << b;
      EXPECT_NEAR(got.bins[b].confidence, want["confidence"][b].get<double>(), 1e-7) << "bin " << b;
      EXPECT_NEAR(got.bins[b].accuracy, want["accuracy"][b].get<double>(), 1e-7) << "bin " << b;
    }
    std::printf("  %d bins: ECE %.6f NLL %.6f Brier %.6f (reference %.6f %.6f %.6f)\n", bins, got.ece, got.nll,
                got.brier, want["ece"].get<double>(), want["nll"].get<double>(), want["brier"].get<double>());
  }
  // A perfectly confident, always right classifier: ECE 0, Brier 0; one always wrong at confidence 1: ECE 1.
  CalibrationSums right(15), wrong(15);
  const at::Tensor sure = at::full({4, 3}, -1e4f).index_put_({at::arange(4), at::zeros({4}, at::kLong)}, 1e4f);
  right.add(sure, at::zeros({4}, at::kLong));
  wrong.add(sure, at::ones({4}, at::kLong));
  EXPECT_NEAR(CalibrationSums::finish(right.sums(), 15).ece, 0.0, 1e-12);
  EXPECT_NEAR(CalibrationSums::finish(right.sums(), 15).brier, 0.0, 1e-12);
  EXPECT_NEAR(CalibrationSums::finish(wrong.sums(), 15).ece, 1.0, 1e-12);
  EXPECT_NEAR(CalibrationSums::finish(wrong.sums(), 15).brier, 2.0, 1e-12);
  // A diverged model: NaN logits give NaN figures, counted in the first bin, not an index out of range.
  CalibrationSums diverged(15);
  diverged.add(at::full({3, 4}, std::nanf("")), at::zeros({3}, at::kLong));
  const Calibration d = CalibrationSums::finish(diverged.sums(), 15);
  EXPECT_TRUE(std::isnan(d.nll));
  EXPECT_EQ(d.bins[0].count, 3);
}

}  // namespace
}  // namespace acm::train
