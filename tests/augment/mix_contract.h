// The contracts every mixed batch keeps, shared by the mixer tests: targets are λ·y_donor + (1−λ)·y_recipient
// and sum to 1; for pasting methods λ is the exact fraction of pixels from the donor, the masked pixels are
// the donor's at the same place and the others the recipient's.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <vector>

#include "augment/mixer.h"

namespace acm::augment {
namespace {

constexpr std::int64_t kClasses = 7;

struct Batch {
  at::Tensor images, labels;
};

inline Batch batch(std::int64_t b = 6, std::int64_t h = 10, std::int64_t w = 12) {
  at::Generator g = at::detail::createCPUGenerator(5);
  return {at::randn({b, 3, h, w}, g), at::randint(0, kClasses, {b}, g, at::kLong)};
}

inline at::Generator gen(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// Checks every contract a mixed batch must keep.
inline void expect_contract(const Batch& in, const MixedBatch& m, bool blend) {
  const std::int64_t b = in.images.size(0);
  ASSERT_EQ(m.images.sizes(), in.images.sizes());
  ASSERT_EQ(m.targets.sizes(), (std::vector<std::int64_t>{b, kClasses}));
  EXPECT_TRUE(at::allclose(m.targets.sum(1), at::ones({b}), 1e-6, 1e-6)) << "targets sum to 1";
  const at::Tensor expect_targets =
      m.lambda.to(at::kFloat).unsqueeze(1) * one_hot_targets(in.labels.index_select(0, m.partner), kClasses) +
      (1 - m.lambda.to(at::kFloat).unsqueeze(1)) * one_hot_targets(in.labels, kClasses);
  EXPECT_TRUE(at::allclose(m.targets, expect_targets, 1e-6, 1e-6))
      << "target = λ·y_donor + (1−λ)·y_recipient";
  if (blend) return;
  ASSERT_TRUE(m.mask.defined());
  const at::Tensor donor = in.images.index_select(0, m.partner);
  const at::Tensor from_donor = m.mask.expand_as(in.images).to(at::kBool);
  for (std::int64_t i = 0; i < b; ++i) {
    // λ is the exact fraction of the image's pixels that came from the partner.
    EXPECT_DOUBLE_EQ(m.lambda[i].item<double>(), m.mask[i].to(at::kDouble).mean().item<double>())
        << "sample " << i;
  }
  EXPECT_TRUE(at::equal(m.images.masked_select(from_donor), donor.masked_select(from_donor)))
      << "donor pixels";
  EXPECT_TRUE(at::equal(m.images.masked_select(~from_donor), in.images.masked_select(~from_donor)))
      << "recipient";
}

}  // namespace
}  // namespace acm::augment
