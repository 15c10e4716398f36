// Contract tests of the batch mixers: λ is the donor's share of the pixels (or blend weight), targets are
// λ·y_donor + (1−λ)·y_recipient and sum to 1, pasted pixels come from the partner at the same place, and the
// same generator seed gives the same mixed batch.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/mixup.h"
#include "augment/none.h"
#include "tests/augment/mix_contract.h"

namespace acm::augment {
namespace {

TEST(NoneMixer, LeavesTheBatchAlone) {
  const Batch in = batch();
  at::Generator g = gen(1);
  const MixedBatch m = NoneMixer().mix(in.images, in.labels, kClasses, g);
  expect_contract(in, m, /*blend=*/true);
  EXPECT_TRUE(at::equal(m.images, in.images));
  EXPECT_EQ(m.lambda.sum().item<double>(), 0.0);
}

TEST(Mixup, BlendsWithTheDonorWeightLambda) {
  const Batch in = batch();
  for (bool per_sample : {false, true}) {
    at::Generator g = gen(2);
    const MixedBatch m = MixupMixer(0.4, per_sample).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/true);
    const at::Tensor lam = m.lambda.to(at::kFloat).view({-1, 1, 1, 1});
    EXPECT_TRUE(at::allclose(m.images, (1 - lam) * in.images + lam * in.images.index_select(0, m.partner),
                             1e-6, 1e-6));
    EXPECT_TRUE(((m.lambda >= 0) & (m.lambda <= 1)).all().item<bool>());
    const bool all_equal = at::allclose(m.lambda, m.lambda[0].expand_as(m.lambda));
    EXPECT_EQ(all_equal, !per_sample) << "one λ per batch, or one per sample";
  }
}

TEST(Mixup, LambdaFollowsBetaAlphaAlpha) {
  at::Generator g = gen(3);
  double sum = 0, sum_sq = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const double x = sample_beta(0.4, 0.4, g);
    sum += x;
    sum_sq += x * x;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.02);
  EXPECT_NEAR(var, 0.25 / (2 * 0.4 + 1), 0.01);  // Var Beta(a, a) = 1 / (4 (2a + 1))
}

TEST(CutMix, PastesTheDonorBoxAtTheSamePlaceAndLambdaIsItsArea) {
  const Batch in = batch(6, 10, 12);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    at::Generator g = gen(seed);
    const MixedBatch m = CutMixMixer(1.0, 1.0).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/false);
  }
}

TEST(CutMix, BoxesAtTheBordersAreClippedAndLambdaIsTheClippedArea) {
  const Batch in = batch(4, 10, 12);
  const at::Tensor partner = at::tensor({1, 2, 3, 0}, at::kLong);
  // κ = 0.75: sides 10·0.5 = 5 and 12·0.5 = 6, centred at the top-left corner: only [0, 2) × [0, 3) remains.
  const Box corner = CutMixMixer::paper_box(0.75, 0, 0, 10, 12);
  EXPECT_EQ(corner.y0, 0);
  EXPECT_EQ(corner.y1, 2);
  EXPECT_EQ(corner.x0, 0);
  EXPECT_EQ(corner.x1, 3);
  const MixedBatch m = CutMixMixer::apply(in.images, in.labels, kClasses, partner, corner);
  expect_contract(in, m, false);
  EXPECT_DOUBLE_EQ(m.lambda[0].item<double>(), 6.0 / 120.0);
  // Bottom-right corner: the centre at (9, 11) keeps [7, 10) × [8, 12).
  const Box far = CutMixMixer::paper_box(0.75, 9, 11, 10, 12);
  EXPECT_EQ(far.area(), 3 * 4);
  expect_contract(in, CutMixMixer::apply(in.images, in.labels, kClasses, partner, far), false);
  // κ = 1 cuts nothing: λ = 0 and the batch is unchanged.
  const MixedBatch none =
      CutMixMixer::apply(in.images, in.labels, kClasses, partner, CutMixMixer::paper_box(1.0, 5, 6, 10, 12));
  EXPECT_EQ(none.lambda.sum().item<double>(), 0.0);
  EXPECT_TRUE(at::equal(none.images, in.images));
}

TEST(CutMix, ProbabilityZeroNeverMixes) {
  const Batch in = batch();
  at::Generator g = gen(4);
  const MixedBatch m = CutMixMixer(1.0, 0.0).mix(in.images, in.labels, kClasses, g);
  EXPECT_TRUE(at::equal(m.images, in.images));
  EXPECT_EQ(m.lambda.sum().item<double>(), 0.0);
}

TEST(Cutout, ErasesSquaresAndKeepsLabels) {
  const Batch in = batch(5, 20, 20);
  at::Generator g = gen(6);
  const MixedBatch m = CutoutMixer(8, 2).mix(in.images, in.labels, kClasses, g);
  EXPECT_TRUE(at::equal(m.targets, one_hot_targets(in.labels, kClasses)));
  EXPECT_EQ(m.lambda.sum().item<double>(), 0.0);
  const at::Tensor erased = m.mask.expand_as(in.images).to(at::kBool);
  EXPECT_TRUE((m.images.masked_select(erased) == 0).all().item<bool>());
  EXPECT_TRUE(at::equal(m.images.masked_select(~erased), in.images.masked_select(~erased)));
  for (std::int64_t i = 0; i < 5; ++i) {
    const double area = m.mask[i].sum().item<double>();
    EXPECT_GT(area, 0);
    EXPECT_LE(area, 2 * 64);  // two holes of at most 8×8
  }
}

TEST(Mixers, SameSeedSameMixedBatch) {
  const Batch in = batch();
  const MixupMixer mixup(1.0, true);
  const CutMixMixer cutmix(1.0, 0.5);
  const CutoutMixer cutout(4, 1);
  for (const Mixer* mixer : std::vector<const Mixer*>{&mixup, &cutmix, &cutout}) {
    at::Generator a = gen(9), b = gen(9), c = gen(10);
    const MixedBatch x = mixer->mix(in.images, in.labels, kClasses, a),
                     y = mixer->mix(in.images, in.labels, kClasses, b);
    EXPECT_TRUE(at::equal(x.images, y.images)) << mixer->name();
    EXPECT_TRUE(at::equal(x.targets, y.targets)) << mixer->name();
    bool differs = false;
    for (int k = 0; k < 5 && !differs; ++k)
      differs = !at::equal(mixer->mix(in.images, in.labels, kClasses, c).images, x.images);
    EXPECT_TRUE(differs) << mixer->name() << ": another seed gives another batch";
  }
}

TEST(SoftCrossEntropy, EqualsHardCrossEntropyOnOneHotTargets) {
  at::Generator g = gen(11);
  const at::Tensor logits = at::randn({8, kClasses}, g);
  const at::Tensor labels = at::randint(0, kClasses, {8}, g, at::kLong);
  EXPECT_TRUE(at::allclose(soft_cross_entropy(logits, one_hot_targets(labels, kClasses)),
                           at::cross_entropy_loss(logits, labels)));
  // Linear in the targets: a mixed target's loss is the λ-weighted mix of the two hard losses.
  const at::Tensor other = (labels + 1) % kClasses;
  const at::Tensor t = 0.3 * one_hot_targets(other, kClasses) + 0.7 * one_hot_targets(labels, kClasses);
  const at::Tensor expect =
      0.3 * at::cross_entropy_loss(logits, other) + 0.7 * at::cross_entropy_loss(logits, labels);
  EXPECT_TRUE(at::allclose(soft_cross_entropy(logits, t), expect, 1e-6, 1e-6));
}

}  // namespace
}  // namespace acm::augment
