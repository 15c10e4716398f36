#include "harness/data/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>

namespace acm::data {
namespace {

TEST(Synthetic, IsDeterministicForASeed) {
  SyntheticSpec s;
  s.train_size = 64;
  s.test_size = 16;
  const DatasetSplits a = make_synthetic(s), b = make_synthetic(s);
  EXPECT_EQ(a.train.images, b.train.images);
  EXPECT_EQ(a.train.labels, b.train.labels);
  s.seed = 1;
  EXPECT_NE(make_synthetic(s).train.images, a.train.images);
}

TEST(Synthetic, AnySizeChannelsAndClasses) {
  SyntheticSpec s;
  s.train_size = 50;
  s.test_size = 7;
  s.channels = 5;
  s.height = 9;
  s.width = 13;
  s.num_classes = 3;
  const DatasetSplits d = make_synthetic(s);
  EXPECT_EQ(d.train.size(), 50);
  EXPECT_EQ(d.test.size(), 7);
  EXPECT_EQ(d.train.images.size(), 50u * 5 * 9 * 13);
  for (auto y : d.train.labels) EXPECT_LT(y, 3);
  EXPECT_THROW(make_synthetic(SyntheticSpec{0}), std::invalid_argument);
}

TEST(Synthetic, SplitsDiffer) {
  SyntheticSpec s;
  s.train_size = s.test_size = 8;
  const DatasetSplits d = make_synthetic(s);
  EXPECT_NE(d.train.images, d.test.images);
}

// Classes must be learnable: a nearest-class-mean classifier on raw pixels of the class-mean of squared
// gradients is too weak for gratings with random phase, so use the orientation energy a CNN can see: the mean
// product of horizontal and vertical differences separates orientations. Here: a class-conditional feature
// (mean |dx| - mean |dy|) must differ between class 0 (vertical stripes: large |dx|) and class 5 of 10
// (horizontal).
TEST(Synthetic, ClassesCarryASignal) {
  SyntheticSpec s;
  s.train_size = 400;
  s.channels = 1;
  s.noise = 0.1;
  const DatasetSplits d = make_synthetic(s);
  double feat[10] = {0};
  std::int64_t count[10] = {0};
  for (std::int64_t i = 0; i < d.train.size(); ++i) {
    const std::uint8_t* p = d.train.image(i);
    double dx = 0, dy = 0;
    for (int y = 0; y < 31; ++y) {
      for (int x = 0; x < 31; ++x) {
        dx += std::abs(p[y * 32 + x + 1] - p[y * 32 + x]);
        dy += std::abs(p[(y + 1) * 32 + x] - p[y * 32 + x]);
      }
    }
    feat[d.train.labels[i]] += (dx - dy) / (31.0 * 31.0);
    ++count[d.train.labels[i]];
  }
  for (int c = 0; c < 10; ++c) ASSERT_GT(count[c], 10) << "class " << c << " under-represented";
  EXPECT_GT(feat[0] / count[0], 2.0);   // stripes across x
  EXPECT_LT(feat[5] / count[5], -2.0);  // stripes across y
}

}  // namespace
}  // namespace acm::data
