#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "harness/data/loader.h"
#include "harness/data/synthetic.h"
#include "harness/data/transforms.h"

namespace acm::data {
namespace {

Dataset small_dataset(std::int64_t n = 37, std::int64_t c = 3, std::int64_t h = 8, std::int64_t w = 10) {
  SyntheticSpec s;
  s.train_size = n;
  s.test_size = 1;
  s.channels = c;
  s.height = h;
  s.width = w;
  s.num_classes = 4;
  return make_synthetic(s).train;
}

// Reference for the documented semantics: out(c, y, x) = in(c, y + oy, (flip ? W-1-x : x) + ox), zero
// outside.
float reference_pixel(const Dataset& d, std::int64_t i, const TransformSpec& t, const Geometry& g,
                      std::int64_t c, std::int64_t y, std::int64_t x) {
  const std::int64_t sy = y + g.offset_y, sx = (g.flip ? d.width - 1 - x : x) + g.offset_x;
  const int v = (sy < 0 || sy >= d.height || sx < 0 || sx >= d.width)
                    ? 0
                    : d.image(i)[(c * d.height + sy) * d.width + sx];
  const double mean = t.mean.empty() ? 0.0 : t.mean[c], sd = t.std.empty() ? 1.0 : t.std[c];
  return static_cast<float>((v / 255.0 - mean) / sd);
}

TEST(Transforms, IdentityWithoutCropFlipOrNormalisation) {
  const Dataset d = small_dataset();
  SampleTransform t(TransformSpec{}, d.channels, d.height, d.width);
  std::vector<float> out(static_cast<std::size_t>(d.image_bytes()));
  t.apply(d.image(3), Geometry{}, out.data());
  for (std::int64_t k = 0; k < d.image_bytes(); ++k) EXPECT_FLOAT_EQ(out[k], d.image(3)[k] / 255.0f);
}

TEST(Transforms, CropFlipAndNormaliseMatchTheReferenceForEveryGeometry) {
  const Dataset d = small_dataset();
  TransformSpec spec;
  spec.crop_padding = 3;
  spec.horizontal_flip = true;
  spec.mean = {0.1, 0.5, 0.9};
  spec.std = {0.2, 0.3, 0.4};
  SampleTransform t(spec, d.channels, d.height, d.width);
  std::vector<float> out(static_cast<std::size_t>(d.image_bytes()));
  for (int oy = -3; oy <= 3; ++oy) {
    for (int ox = -3; ox <= 3; ++ox) {
      for (int flip = 0; flip < 2; ++flip) {
        const Geometry g{oy, ox, flip};
        t.apply(d.image(5), g, out.data());
        for (std::int64_t c = 0; c < d.channels; ++c)
          for (std::int64_t y = 0; y < d.height; ++y)
            for (std::int64_t x = 0; x < d.width; ++x)
              ASSERT_FLOAT_EQ(out[(c * d.height + y) * d.width + x], reference_pixel(d, 5, spec, g, c, y, x))
                  << "oy " << oy << " ox " << ox << " flip " << flip << " at " << c << "," << y << "," << x;
      }
    }
  }
}

TEST(Transforms, DrawsAreKeyedAndCoverTheRange) {
  TransformSpec spec;
  spec.crop_padding = 2;
  spec.horizontal_flip = true;
  std::set<int> offsets;
  int flips = 0, epoch_changes = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const Geometry a = draw_geometry(spec, 7, 1, i), b = draw_geometry(spec, 7, 1, i),
                   c = draw_geometry(spec, 7, 2, i);
    ASSERT_EQ(a.offset_y, b.offset_y);
    ASSERT_EQ(a.offset_x, b.offset_x);
    ASSERT_EQ(a.flip, b.flip);
    ASSERT_GE(a.offset_x, -2);
    ASSERT_LE(a.offset_x, 2);
    offsets.insert(a.offset_y);
    flips += a.flip;
    epoch_changes += (a.offset_y != c.offset_y || a.offset_x != c.offset_x || a.flip != c.flip);
  }
  EXPECT_EQ(offsets.size(), 5u);
  EXPECT_NEAR(flips, 1000, 120);
  EXPECT_GT(epoch_changes, 1500);
  spec.horizontal_flip = false;
  spec.crop_padding = 0;
  const Geometry none = draw_geometry(spec, 7, 1, 3);
  EXPECT_EQ(none.offset_x, 0);
  EXPECT_EQ(none.flip, 0);
}

TEST(Transforms, RejectsBadSpecs) {
  TransformSpec spec;
  spec.mean = {0.5};
  spec.std = {0.5};
  EXPECT_THROW(SampleTransform(spec, 3, 8, 8), std::invalid_argument);
  spec.mean = {0.5, 0.5, 0.5};
  spec.std = {0.5, 0.0, 0.5};
  EXPECT_THROW(SampleTransform(spec, 3, 8, 8), std::invalid_argument);
}

TEST(EpochOrder, IsAPermutationKeyedOnSeedAndEpoch) {
  const auto a = epoch_order(1000, 3, 0, true), b = epoch_order(1000, 3, 0, true),
             c = epoch_order(1000, 3, 1, true);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  const auto plain = epoch_order(5, 3, 0, false);
  EXPECT_EQ(plain, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

std::vector<Batch> drain(Loader& loader, std::int64_t epoch, const std::vector<std::int64_t>& ids) {
  loader.start_epoch(epoch, ids);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

LoaderOptions options(int threads) {
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = threads;
  o.prefetch = 3;
  o.seed = 11;
  o.transform.crop_padding = 2;
  o.transform.horizontal_flip = true;
  o.transform.mean = {0.5, 0.5, 0.5};
  o.transform.std = {0.25, 0.25, 0.25};
  return o;
}

TEST(Loader, SameBatchesWhateverTheThreadCount) {
  const Dataset d = small_dataset();
  const auto ids = epoch_order(d.size(), 11, 4, true);
  Loader sync(d, options(0)), one(d, options(1)), three(d, options(3));
  const auto a = drain(sync, 4, ids), b = drain(one, 4, ids), c = drain(three, 4, ids);
  ASSERT_EQ(a.size(), 5u);  // 37 samples in batches of 8, last one partial
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(c.size(), a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].number, static_cast<std::int64_t>(k));
    EXPECT_TRUE(at::equal(a[k].images, b[k].images));
    EXPECT_TRUE(at::equal(a[k].images, c[k].images));
    EXPECT_TRUE(at::equal(a[k].geometry, c[k].geometry));
    EXPECT_TRUE(at::equal(a[k].labels, c[k].labels));
  }
}

TEST(Loader, BatchesFollowTheOrderAndKeepGeometry) {
  const Dataset d = small_dataset();
  const auto ids = epoch_order(d.size(), 1, 0, true);
  LoaderOptions o = options(2);
  Loader loader(d, o);
  const auto batches = drain(loader, 2, ids);
  std::size_t pos = 0;
  SampleTransform t(o.transform, d.channels, d.height, d.width);
  std::vector<float> expect(static_cast<std::size_t>(d.image_bytes()));
  for (const auto& b : batches) {
    for (std::int64_t i = 0; i < b.indices.size(0); ++i, ++pos) {
      const std::int64_t id = b.indices[i].item<std::int64_t>();
      ASSERT_EQ(id, ids[pos]);
      EXPECT_EQ(b.labels[i].item<std::int64_t>(), d.labels[id]);
      const Geometry g = draw_geometry(o.transform, o.seed, 2, static_cast<std::uint64_t>(id));
      EXPECT_EQ(b.geometry[i][0].item<int>(), g.offset_y);
      EXPECT_EQ(b.geometry[i][1].item<int>(), g.offset_x);
      EXPECT_EQ(b.geometry[i][2].item<int>(), g.flip);
      t.apply(d.image(id), g, expect.data());
      EXPECT_TRUE(
          at::equal(b.images[i].flatten(), at::from_blob(expect.data(), {d.image_bytes()}, at::kFloat)));
    }
  }
  EXPECT_EQ(pos, ids.size());
}

TEST(Loader, DropLastAndRestartingEpochs) {
  const Dataset d = small_dataset();
  LoaderOptions o = options(2);
  o.drop_last = true;
  Loader loader(d, o);
  const auto ids = epoch_order(d.size(), 0, 0, false);
  EXPECT_EQ(drain(loader, 0, ids).size(), 4u);
  // Abandon an epoch half way and start the next: nothing of the old one leaks into it.
  loader.start_epoch(1, ids);
  ASSERT_TRUE(loader.next().has_value());
  const auto again = drain(loader, 2, ids);
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[0].epoch, 2);
  EXPECT_EQ(again[0].indices[0].item<std::int64_t>(), 0);
}

// Batches live in host buffers the loader reuses: over five epochs (25 batches) of a consumer that drops each
// batch after its step the pool never holds more sets than can be in flight (prefetched + assembling + the one
// in use), and a batch still held is never written over.
TEST(Loader, HostBuffersAreReusedAndNeverOverwrittenWhileHeld) {
  const Dataset d = small_dataset();
  LoaderOptions o = options(2);
  Loader loader(d, o);
  const auto ids = epoch_order(d.size(), 0, 0, false);
  std::set<const void*> seen;
  std::vector<std::size_t> pool_after_epoch;
  for (std::int64_t epoch = 0; epoch < 5; ++epoch) {
    loader.start_epoch(epoch, ids);
    while (auto b = loader.next()) seen.insert(b->images.data_ptr());
    pool_after_epoch.push_back(loader.buffer_count());
  }
  // How many sets the threads need depends on their timing, but never more than are in flight at once.
  const std::size_t bound = static_cast<std::size_t>(o.prefetch + o.threads + 2);
  for (std::size_t n : pool_after_epoch) EXPECT_LE(n, bound);
  EXPECT_EQ(seen.size(), pool_after_epoch.back()) << "25 batches, every one in a pooled buffer";
  EXPECT_LT(seen.size(), 25u);
  // Hold the first batch of an epoch while the rest are made: it keeps its values and its own buffer.
  loader.start_epoch(7, ids);
  const auto held = loader.next();
  ASSERT_TRUE(held.has_value());
  const at::Tensor copy = held->images.clone();
  while (auto b = loader.next()) EXPECT_NE(b->images.data_ptr(), held->images.data_ptr());
  EXPECT_TRUE(at::equal(held->images, copy));
}

TEST(Loader, RejectsSampleIdsOutsideTheDataset) {
  const Dataset d = small_dataset();
  Loader loader(d, options(1));
  EXPECT_THROW(loader.start_epoch(0, {0, 1, 37}), std::out_of_range);
}

}  // namespace
}  // namespace acm::data
