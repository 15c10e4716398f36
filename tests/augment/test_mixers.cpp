// Contract tests of the batch mixers: λ is the donor's share of the pixels (or blend weight), targets are
// λ·y_donor + (1−λ)·y_recipient and sum to 1, pasted pixels come from the partner at the same place, and the
// same generator seed gives the same mixed batch.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/fmix.h"
#include "augment/gridmix.h"
#include "augment/mixup.h"
#include "augment/none.h"
#include "augment/resizemix.h"
#include "augment/saliencymix.h"
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
  const SaliencyMixMixer saliency(1.0, 1.0);
  const ResizeMixMixer resize;
  const FMixMixer fmix;
  const GridMixMixer grid;
  for (const Mixer* mixer :
       std::vector<const Mixer*>{&mixup, &cutmix, &cutout, &saliency, &resize, &fmix, &grid}) {
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

TEST(SaliencyMix, PastesABoxCentredOnEachDonorsMostSalientPixel) {
  const Batch in = batch(6, 20, 24);
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    at::Generator g = gen(seed);
    const MixedBatch m = SaliencyMixMixer(1.0, 1.0).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/false);
    // Every pasted box holds its donor's peak (unless the box is empty).
    const at::Tensor peaks = SaliencyMixMixer::peaks(SaliencyMixMixer::saliency(in.images));
    for (std::int64_t i = 0; i < 6; ++i) {
      if (m.lambda[i].item<double>() == 0) continue;
      const std::int64_t d = m.partner[i].item<std::int64_t>();
      EXPECT_EQ(m.mask[i][0][peaks[d][0].item<std::int64_t>()][peaks[d][1].item<std::int64_t>()].item<float>(), 1.f)
          << "seed " << seed << " sample " << i;
    }
  }
  // A donor dark but for one bright 2×2 spot (over faint noise: a spotless flat image has no spectral residual to
  // speak of): its peak is on the spot, and κ = 0.75 cuts a 10×12 box around it, clipped at the border.
  at::Generator noise = gen(12);
  at::Tensor spot = 0.01 * at::randn({2, 3, 20, 24}, noise);
  spot[0].slice(1, 3, 5).slice(2, 17, 19).fill_(1.0);
  spot[1].slice(1, 12, 14).slice(2, 8, 10).fill_(1.0);
  const at::Tensor p = SaliencyMixMixer::peaks(SaliencyMixMixer::saliency(spot));
  // On the spot or its ring of neighbours (the map is computed at 64×64 and resized back).
  auto near = [&](std::int64_t i, std::int64_t y, std::int64_t x) {
    return std::abs(p[i][0].item<std::int64_t>() - y) <= 1 && std::abs(p[i][1].item<std::int64_t>() - x) <= 1;
  };
  EXPECT_TRUE(near(0, 3, 17) || near(0, 4, 18)) << p;
  EXPECT_TRUE(near(1, 12, 8) || near(1, 13, 9)) << p;
  const at::Tensor swap = at::tensor({1, 0}, at::kLong);
  const MixedBatch m = SaliencyMixMixer::apply(spot, at::tensor({0, 1}, at::kLong), kClasses, swap,
                                               p.index_select(0, swap), 0.75);
  EXPECT_EQ(m.mask[1].sum().item<double>(),
            m.mask[1].sum(1).amax().item<double>() * m.mask[1].sum(2).amax().item<double>())
      << "a rectangle, clipped at the top-right corner";
  EXPECT_LT(m.mask[1].sum().item<double>(), 10.0 * 12.0);
  EXPECT_EQ(m.mask[0].sum().item<double>(), 10.0 * 12.0) << "centred inside the image: not clipped";
}

TEST(ResizeMix, PastesTheWholeDonorShrunkAndLambdaIsTheBoxArea) {
  const Batch in = batch(6, 20, 24);
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    at::Generator g = gen(seed);
    const MixedBatch m = ResizeMixMixer(0.1, 0.8, 1.0).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/true);  // targets; the pixels are checked here
    const at::Tensor rows = m.mask[0][0].any(1).nonzero(), cols = m.mask[0][0].any(0).nonzero();
    const std::int64_t y0 = rows.min().item<std::int64_t>(), y1 = rows.max().item<std::int64_t>() + 1,
                       x0 = cols.min().item<std::int64_t>(), x1 = cols.max().item<std::int64_t>() + 1;
    const double lam = static_cast<double>((y1 - y0) * (x1 - x0)) / (20.0 * 24.0);
    EXPECT_DOUBLE_EQ(m.lambda[0].item<double>(), lam) << "λ is the box's area";
    EXPECT_GE(y1 - y0, 2);  // ⌊0.1·20⌋
    EXPECT_LE(y1 - y0, 16);  // ⌊0.8·20⌋
    const at::Tensor keep = ~m.mask.expand_as(in.images).to(at::kBool);
    EXPECT_TRUE(at::equal(m.images.masked_select(keep), in.images.masked_select(keep))) << "recipient";
    const at::Tensor donor = in.images.index_select(0, m.partner);
    const at::Tensor small = at::_upsample_bilinear2d_aa(donor, {y1 - y0, x1 - x0}, false);
    EXPECT_TRUE(at::equal(m.images.slice(2, y0, y1).slice(3, x0, x1), small)) << "the whole donor, resized";
  }
}

TEST(FMix, OneLowFrequencyMaskAndLambdaIsTheDonorsExactShare) {
  const Batch in = batch(6, 16, 20);
  double mean_lambda = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    at::Generator g = gen(seed);
    const MixedBatch m = FMixMixer(1.0, 3.0, 1.0).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/false);
    EXPECT_TRUE(at::equal(m.mask[0], m.mask[5])) << "one mask for the batch";
    mean_lambda += m.lambda[0].item<double>() / 40;
  }
  EXPECT_NEAR(mean_lambda, 0.5, 0.12) << "κ ~ Beta(1, 1): the donor's share averages one half";
  // Low frequency: at δ = 3 the donor's region is a few blobs, far fewer edges than random pixels would have.
  const at::Tensor grey = FMixMixer::low_freq_image(at::normal(0.0, 1.0, FMixMixer::param_shape(32, 32),
                                                               gen(3), at::kDouble),
                                                    3.0, 32, 32);
  EXPECT_DOUBLE_EQ(grey.min().item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(grey.max().item<double>(), 1.0);
  const at::Tensor mask = FMixMixer::donor_mask(grey, 512)[0][0];
  EXPECT_EQ(mask.sum().item<double>(), 512.0) << "exactly the pixels not kept";
  const double edges = (mask.slice(0, 1) != mask.slice(0, 0, -1)).sum().item<double>() +
                       (mask.slice(1, 1) != mask.slice(1, 0, -1)).sum().item<double>();
  EXPECT_LT(edges, 200) << "a random half of 32×32 pixels has about 992 edges";
}

TEST(GridMix, CellsComeWholeFromTheDonorAndLambdaIsTheirShare) {
  const Batch in = batch(6, 10, 13);  // 10 and 13 are not multiples of 4: uneven cells
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    at::Generator g = gen(seed);
    const MixedBatch m = GridMixMixer(4, 0.5, 1.0).mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, /*blend=*/false);
  }
  // Cell boundaries at ⌊i·n/g⌋: rows 0,2,5,7 start cells of 10 rows; columns 0,3,6,9 of 13.
  at::Tensor cells = at::zeros({1, 4, 4}, at::kBool);
  cells[0][1][2] = true;
  const at::Tensor mask = GridMixMixer::cell_mask(cells, 10, 13)[0][0];
  EXPECT_EQ(mask.sum().item<double>(), 3.0 * 3.0);
  EXPECT_EQ(mask[2][6].item<float>(), 1.f);
  EXPECT_EQ(mask[4][8].item<float>(), 1.f);
  EXPECT_EQ(mask[5][8].item<float>(), 0.f);
  EXPECT_EQ(mask[2][9].item<float>(), 0.f);
  // p = 0 never takes a cell, p = 1 takes them all.
  at::Generator g = gen(1);
  EXPECT_EQ(GridMixMixer(4, 0.0, 1.0).mix(in.images, in.labels, kClasses, g).lambda.sum().item<double>(), 0.0);
  const MixedBatch all = GridMixMixer(4, 1.0, 1.0).mix(in.images, in.labels, kClasses, g);
  EXPECT_TRUE(at::equal(all.images, in.images.index_select(0, all.partner)));
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
