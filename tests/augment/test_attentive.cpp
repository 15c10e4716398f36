// Attentive CutMix, step by step and whole: the grid resize rule, top-N with ties, cell boundaries on grids
// that do not divide the image, the mixed batch's contracts, a hand-built extractor whose heatmap is known,
// every bad-extractor case, torchvision's ResNet-18 through TorchScript against Python, and the attention
// cache against fresh passes on cropped and flipped images.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>

#include <torch/torch.h>

#include "acm/config.h"
#include "augment/attention.h"
#include "augment/attention_cache.h"
#include "augment/attentive_cutmix.h"
#include "augment/extractor.h"
#include "augment/gallery.h"
#include "harness/data/loader.h"
#include "harness/data/synthetic.h"
#include "models/registry.h"
#include "models/weights.h"
#include "tests/augment/mix_contract.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::augment {
namespace {

using acm::testing::expect_error;

// A fixed set of heatmaps, the hand-built source of the contract tests.
class FixedHeatmaps : public HeatmapSource {
 public:
  explicit FixedHeatmaps(at::Tensor maps) : maps_(std::move(maps)) {}
  at::Tensor grid_maps(const at::Tensor&, const BatchInfo&, std::int64_t grid) const override {
    return resize_to_grid(maps_, grid);
  }
  std::string describe() const override { return "fixed"; }

 private:
  at::Tensor maps_;
};

// ---- the resize rule ------------------------------------------------------------------------------------

// Adaptive average pooling of one side, by its definition: output k averages inputs [⌊k·n/m⌋, ⌈(k+1)·n/m⌉).
std::vector<std::pair<std::int64_t, std::int64_t>> pool_ranges(std::int64_t n, std::int64_t m) {
  std::vector<std::pair<std::int64_t, std::int64_t>> r;
  for (std::int64_t k = 0; k < m; ++k) r.emplace_back(k * n / m, ((k + 1) * n + m - 1) / m);
  return r;
}

// Bilinear weights of one side, align_corners = false: source = (k + 0.5)·n/m − 0.5, clamped at 0.
std::vector<std::tuple<std::int64_t, std::int64_t, double>> lerp_taps(std::int64_t n, std::int64_t m) {
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> t;
  for (std::int64_t k = 0; k < m; ++k) {
    const double src = std::max(0.0, (k + 0.5) * static_cast<double>(n) / static_cast<double>(m) - 0.5);
    const std::int64_t lo = std::min<std::int64_t>(static_cast<std::int64_t>(src), n - 1);
    t.emplace_back(lo, std::min(lo + 1, n - 1), src - static_cast<double>(lo));
  }
  return t;
}

TEST(AttentionGrid, EqualSizeIsTheIdentity) {
  const at::Tensor m = at::randn({3, 7, 7});
  EXPECT_TRUE(at::equal(resize_to_grid(m, 7), m));
}

TEST(AttentionGrid, LargerMapIsAdaptiveAveragePooled) {
  for (std::int64_t n : {14, 10, 9}) {
    const at::Tensor m = at::randn({2, n, n}, at::kDouble);
    const at::Tensor g = resize_to_grid(m, 7);
    const auto r = pool_ranges(n, 7);
    for (std::int64_t i = 0; i < 7; ++i) {
      for (std::int64_t j = 0; j < 7; ++j) {
        const double want =
            m[1].slice(0, r[i].first, r[i].second).slice(1, r[j].first, r[j].second).mean().item<double>();
        EXPECT_NEAR(g[1][i][j].item<double>(), want, 1e-5) << n << " cell " << i << "," << j;
      }
    }
  }
}

TEST(AttentionGrid, SmallerMapIsBilinearlyInterpolated) {
  for (std::int64_t n : {2, 4, 5}) {
    const at::Tensor m = at::randn({1, n, n}, at::kDouble);
    const at::Tensor g = resize_to_grid(m, 7);
    const auto t = lerp_taps(n, 7);
    for (std::int64_t i = 0; i < 7; ++i) {
      for (std::int64_t j = 0; j < 7; ++j) {
        const auto [y0, y1, fy] = t[i];
        const auto [x0, x1, fx] = t[j];
        auto v = [&](std::int64_t y, std::int64_t x) { return m[0][y][x].item<double>(); };
        const double want =
            (1 - fy) * ((1 - fx) * v(y0, x0) + fx * v(y0, x1)) + fy * ((1 - fx) * v(y1, x0) + fx * v(y1, x1));
        EXPECT_NEAR(g[0][i][j].item<double>(), want, 1e-5) << n << " cell " << i << "," << j;
      }
    }
  }
}

TEST(AttentionGrid, MixedSidesPoolTheLongerAndInterpolateTheShorter) {
  const at::Tensor m = at::randn({1, 14, 3}, at::kDouble);
  const at::Tensor g = resize_to_grid(m, 7);
  const auto r = pool_ranges(14, 7);
  const auto t = lerp_taps(3, 7);
  for (std::int64_t i = 0; i < 7; ++i) {
    for (std::int64_t j = 0; j < 7; ++j) {
      const auto [x0, x1, fx] = t[j];
      auto pooled = [&](std::int64_t x) {
        return m[0].slice(0, r[i].first, r[i].second).select(1, x).mean().item<double>();
      };
      EXPECT_NEAR(g[0][i][j].item<double>(), (1 - fx) * pooled(x0) + fx * pooled(x1), 1e-5);
    }
  }
}

// ---- top-N cells ----------------------------------------------------------------------------------------

// The reference: cells sorted by value, descending, ties to the lower index; the first n.
std::vector<std::int64_t> reference_top(const at::Tensor& map, std::int64_t n) {
  const at::Tensor flat = map.reshape({-1}).to(at::kDouble).contiguous();
  std::vector<std::int64_t> idx(static_cast<std::size_t>(flat.numel()));
  std::iota(idx.begin(), idx.end(), 0);
  const double* v = flat.data_ptr<double>();
  std::sort(idx.begin(), idx.end(),
            [&](std::int64_t a, std::int64_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(static_cast<std::size_t>(n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::vector<std::int64_t> selected(const at::Tensor& sel) {
  std::vector<std::int64_t> out;
  const at::Tensor flat = sel.reshape({-1}).to(at::kLong).contiguous();
  for (std::int64_t k = 0; k < flat.numel(); ++k) {
    if (flat[k].item<std::int64_t>()) out.push_back(k);
  }
  return out;
}

TEST(TopCells, TakesTheHighestNAndBreaksTiesByLowerIndex) {
  at::Generator g = gen(3);
  const at::Tensor distinct = at::randn({4, 7, 7}, g);
  // Ties everywhere: values from {0, 1, 2} only.
  const at::Tensor ties = at::randint(0, 3, {4, 7, 7}, g, at::kLong).to(at::kFloat);
  for (const at::Tensor& maps : {distinct, ties, at::zeros({4, 7, 7})}) {
    for (std::int64_t n : {1, 6, 17, 48, 49}) {
      const at::Tensor sel = top_cells(maps, at::full({4}, n, at::kLong));
      for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(selected(sel[i]), reference_top(maps[i], n)) << n;
    }
  }
  // All equal: the first N cells in row-major order.
  EXPECT_EQ(selected(top_cells(at::zeros({1, 7, 7}), at::full({1}, 3, at::kLong))[0]),
            (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(TopCells, RejectsNonFiniteHeatmapsAndNOutOfRange) {
  at::Tensor m = at::zeros({2, 3, 3});
  m[1][2][2] = std::nan("");
  expect_error<std::invalid_argument>([&] { top_cells(m, at::full({2}, 1, at::kLong)); }, {"non-finite"});
  expect_error<std::invalid_argument>(
      [&] {
        top_cells(at::zeros({2, 3, 3}), at::full({2}, 10, at::kLong));
      },
      {"N must be in 1..9"});
  expect_error<std::invalid_argument>(
      [&] {
        top_cells(at::zeros({2, 3, 3}), at::full({2}, 0, at::kLong));
      },
      {"N must be in 1..9"});
}

TEST(PixelCells, BoundariesAreFloorKTimesSizeOverGrid) {
  EXPECT_EQ(pixel_cells(10, 3), (std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(pixel_cells(28, 7)[3], 0);
  EXPECT_EQ(pixel_cells(28, 7)[4], 1);
  const auto c = pixel_cells(32, 7);  // 0,4,9,13,18,22,27,32
  EXPECT_EQ(c[3], 0);
  EXPECT_EQ(c[4], 1);
  EXPECT_EQ(c[8], 1);
  EXPECT_EQ(c[9], 2);
  EXPECT_EQ(c[26], 5);
  EXPECT_EQ(c[27], 6);
  EXPECT_EQ(c[31], 6);
}

// ---- the mixed batch ------------------------------------------------------------------------------------

// The mask the donor's top-N cells make, built pixel by pixel from the cell rule.
at::Tensor reference_mask(const at::Tensor& donor_map, std::int64_t n, std::int64_t H, std::int64_t W) {
  const std::int64_t grid = donor_map.size(0);
  at::Tensor mask = at::zeros({1, H, W});
  for (std::int64_t k : reference_top(donor_map, n)) {
    const std::int64_t r = k / grid, c = k % grid;
    mask.slice(1, r * H / grid, (r + 1) * H / grid).slice(2, c * W / grid, (c + 1) * W / grid).fill_(1);
  }
  return mask;
}

TEST(AttentiveCutMix, PastesTheDonorsTopCellsAtTheirOwnPositions) {
  struct Case {
    std::int64_t h, w, grid, n;
  };
  for (const Case& k : {Case{28, 28, 7, 6}, Case{30, 26, 7, 6}, Case{32, 32, 7, 1}, Case{32, 32, 7, 49},
                        Case{10, 12, 3, 4}, Case{9, 9, 4, 16}}) {
    const Batch in = batch(6, k.h, k.w);
    at::Generator g = gen(4);
    const at::Tensor maps = at::randn({6, k.grid, k.grid}, g);
    const at::Tensor partner = random_pairing(6, g);
    const MixedBatch m = AttentiveCutMixMixer::apply(in.images, in.labels, kClasses, partner, maps,
                                                     at::full({6}, k.n, at::kLong));
    expect_contract(in, m, /*blend=*/false);
    for (std::int64_t i = 0; i < 6; ++i) {
      const std::int64_t d = partner[i].item<std::int64_t>();
      EXPECT_TRUE(at::equal(m.mask[i], reference_mask(maps[d], k.n, k.h, k.w)))
          << k.h << "×" << k.w << " grid " << k.grid << " N " << k.n << " sample " << i;
    }
    if (k.h % k.grid == 0 && k.w % k.grid == 0) {
      EXPECT_DOUBLE_EQ(m.lambda[0].item<double>(),
                       static_cast<double>(k.n) / static_cast<double>(k.grid * k.grid));
    }
    if (k.n == k.grid * k.grid) {
      EXPECT_TRUE(at::equal(m.images, in.images.index_select(0, partner))) << "N = grid²: the whole donor";
    }
  }
}

TEST(AttentiveCutMix, HeatmapsSmallerEqualAndLargerThanTheGrid) {
  const Batch in = batch(4, 28, 28);
  for (std::int64_t side : {3, 7, 14}) {
    at::Generator g = gen(5);
    const at::Tensor maps = at::randn({4, side, side}, g);
    AttentiveOptions o;
    o.top_n = 5;
    const AttentiveCutMixMixer mixer(o, std::make_shared<FixedHeatmaps>(maps));
    at::Generator mg = gen(6);
    const MixedBatch m = mixer.mix(in.images, in.labels, kClasses, mg);
    expect_contract(in, m, false);
    const at::Tensor grid_maps = resize_to_grid(maps, 7);
    for (std::int64_t i = 0; i < 4; ++i) {
      EXPECT_TRUE(
          at::equal(m.mask[i], reference_mask(grid_maps[m.partner[i].item<std::int64_t>()], 5, 28, 28)))
          << side;
    }
    EXPECT_DOUBLE_EQ(m.lambda[0].item<double>(), 5.0 / 49.0);
  }
}

TEST(AttentiveCutMix, SameSeedSameBatchAndBetaLambdaDrawsN) {
  const Batch in = batch(8, 14, 14);
  const auto maps = std::make_shared<FixedHeatmaps>(at::randn({8, 7, 7}));
  AttentiveOptions o;
  const AttentiveCutMixMixer fixed(o, maps);
  o.lambda = "beta";
  const AttentiveCutMixMixer beta(o, maps);
  for (const Mixer* mixer : {static_cast<const Mixer*>(&fixed), static_cast<const Mixer*>(&beta)}) {
    at::Generator a = gen(9), b = gen(9);
    const MixedBatch x = mixer->mix(in.images, in.labels, kClasses, a),
                     y = mixer->mix(in.images, in.labels, kClasses, b);
    EXPECT_TRUE(at::equal(x.images, y.images));
    EXPECT_TRUE(at::equal(x.targets, y.targets));
  }
  std::set<double> lambdas;
  for (std::uint64_t s = 0; s < 20; ++s) {
    at::Generator g = gen(s);
    const MixedBatch m = beta.mix(in.images, in.labels, kClasses, g);
    expect_contract(in, m, false);
    const double cells = m.lambda[0].item<double>() * 49;  // 14×14 on a 7×7 grid: 4 pixels a cell
    EXPECT_NEAR(cells, std::round(cells), 1e-9);
    EXPECT_GE(cells, 1);
    lambdas.insert(m.lambda[0].item<double>());
  }
  EXPECT_GT(lambdas.size(), 5u) << "λ ~ Beta varies N";
  o.lambda = "fixed";
  o.prob = 0;
  at::Generator g = gen(1);
  EXPECT_TRUE(
      at::equal(AttentiveCutMixMixer(o, maps).mix(in.images, in.labels, kClasses, g).images, in.images));
}

// The single-pass CPU kernels against their ATen forms (which CUDA and channels-last tensors take), bit for
// bit.
TEST(Kernels, FastPathsEqualTheirAtenForms) {
  at::Generator g = gen(7);
  const at::Tensor mask = at::randint(0, 2, {5, 1, 9, 13}, g, at::kLong).to(at::kFloat);
  const at::Tensor partner = random_pairing(5, g);
  const at::Tensor lambda = at::rand({5}, g, at::kDouble);
  const std::vector<std::vector<Box>> boxes = {
      {Box{0, 3, 2, 9}}, {}, {Box{4, 9, 0, 13}, Box{1, 2, 1, 2}}, {}, {Box{8, 9, 12, 13}}};
  for (auto dtype : {at::kFloat, at::kDouble}) {
    const at::Tensor x = at::randn({5, 3, 9, 13}, g).to(dtype);
    const at::Tensor cl = x.contiguous(at::MemoryFormat::ChannelsLast);  // takes the ATen path
    EXPECT_TRUE(at::equal(paste_masked(x, partner, mask), paste_masked_reference(x, partner, mask)));
    EXPECT_TRUE(at::equal(paste_masked(cl, partner, mask), paste_masked_reference(x, partner, mask)));
    const at::Tensor lam = lambda.to(dtype).view({-1, 1, 1, 1});
    const at::Tensor blend = x * (1 - lam) + x.index_select(0, partner) * lam;
    EXPECT_TRUE(at::equal(blend_pairs(x, partner, lambda), blend));
    EXPECT_TRUE(at::equal(blend_pairs(cl, partner, lambda), blend));
    at::Tensor erased = x.clone();
    erased[0].slice(1, 0, 3).slice(2, 2, 9).zero_();
    erased[2].slice(1, 4, 9).zero_();
    erased[2].slice(1, 1, 2).slice(2, 1, 2).zero_();
    erased[4].slice(1, 8, 9).slice(2, 12, 13).zero_();
    EXPECT_TRUE(at::equal(erase_boxes(x, boxes), erased));
    EXPECT_TRUE(at::equal(erase_boxes(cl, boxes), erased));
  }
  expect_error<std::invalid_argument>(
      [&] {
        blend_pairs(at::zeros({2, 1, 2, 2}), at::full({2}, 2, at::kLong), at::zeros({2}, at::kDouble));
      },
      {"partner index out of range"});
}

// ---- the attention cache --------------------------------------------------------------------------------

TEST(AttentionCacheFile, LoadsOnlyForItsOwnKey) {
  acm::testing::TempDir dir;
  const AttentionCache c(at::randn({10, 4, 4}), 0.25f, 16, 16, "test extractor");
  c.save(dir.file("cache.safetensors"), {{"extractor_hash", "abc"}, {"images", "10"}});
  std::string why;
  auto same = AttentionCache::load(dir.file("cache.safetensors"),
                                   {{"extractor_hash", "abc"}, {"images", "10"}}, 16, 16, &why);
  ASSERT_TRUE(same.has_value()) << why;
  EXPECT_TRUE(at::equal(same->maps(), c.maps()));
  EXPECT_FLOAT_EQ(same->fill(), 0.25f);
  EXPECT_FALSE(
      AttentionCache::load(dir.file("cache.safetensors"), {{"extractor_hash", "def"}}, 16, 16, &why));
  EXPECT_NE(why.find("another extractor_hash (abc, now def)"), std::string::npos) << why;
  EXPECT_FALSE(AttentionCache::load(dir.file("none.safetensors"), {}, 16, 16, &why));
  EXPECT_EQ(why, "none yet");
  expect_error<std::invalid_argument>(
      [&] {
        c.grid_maps(at::zeros({1, 1, 16, 16}), BatchInfo{}, 7);
      },
      {"no sample indices"});
  expect_error<std::invalid_argument>(
      [&] {
        c.transformed_maps(at::full({1}, 10, at::kLong), at::zeros({1, 3}, at::kInt));
      },
      {"outside the 10"});
}

// ---- the gallery ----------------------------------------------------------------------------------------

// Reads an 8-bit RGB PNG back with libpng.
Canvas read_png(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    std::fclose(f);
    throw std::runtime_error(path + ": not a PNG");
  }
  png_init_io(png, f);
  png_read_info(png, info);
  Canvas c(png_get_image_width(png, info), png_get_image_height(png, info));
  EXPECT_EQ(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
  for (std::int64_t y = 0; y < c.height; ++y)
    png_read_row(png, &c.rgb[static_cast<std::size_t>(y * c.width * 3)], nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(f);
  return c;
}

TEST(Gallery, DrawsEachTileFromItsImageAndWritesAPng) {
  acm::testing::TempDir dir;
  at::Generator g = gen(21);
  const at::Tensor images = at::rand({4, 3, 16, 16}, g);  // [0, 1], no normalisation
  const at::Tensor maps = at::randn({4, 4, 4}, g);
  GalleryOptions o;
  o.attentive.grid = 4;
  o.attentive.top_n = 3;
  o.cutout_size = 6;
  at::Generator rg = gen(22);
  const Canvas c = render_gallery(images, maps, o, rg);
  write_png(dir.file("g.png"), c);
  const Canvas back = read_png(dir.file("g.png"));
  ASSERT_EQ(back.width, c.width);
  ASSERT_EQ(back.height, c.height);
  EXPECT_EQ(back.rgb, c.rgb);
  // Layout: 16×16 images at scale 6 (96 px), 11 columns (donor, heatmap, recipient, then the 8 methods), 4 rows.
  const std::int64_t scale = 6, pad = 10, fs = 1, line = 7 * fs + 8, col_w = 96;
  EXPECT_EQ(c.width, pad + 11 * (col_w + pad));
  auto pixel = [&](std::int64_t col, std::int64_t row, std::int64_t y, std::int64_t x, int k) {
    const std::int64_t px = pad + col * (col_w + pad) + x * scale,
                       py = pad + line + row * (96 + line + pad) + y * scale;
    return c.rgb[static_cast<std::size_t>((py * c.width + px) * 3 + k)];
  };
  // Row 1: donor 1 in column 0, recipient 2 in column 2; the attentive column (the last) is recipient 2 with
  // donor 1's top cells.
  const at::Tensor partner = (at::arange(4, at::kLong) + 3).remainder(4);
  const MixedBatch att = AttentiveCutMixMixer::apply(images, at::zeros({4}, at::kLong), 1, partner, maps,
                                                     at::full({4}, 3, at::kLong));
  for (std::int64_t y : {0, 5, 15}) {
    for (std::int64_t x : {0, 7, 15}) {
      for (int k = 0; k < 3; ++k) {
        auto byte = [](const at::Tensor& t) {
          return static_cast<std::uint8_t>(std::lround(t.item<float>() * 255.0f));
        };
        EXPECT_EQ(pixel(0, 1, y, x, k), byte(images[1][k][y][x]));
        EXPECT_EQ(pixel(2, 1, y, x, k), byte(images[2][k][y][x]));
        EXPECT_EQ(pixel(10, 1, y, x, k), byte(att.images[2][k][y][x]));
      }
    }
  }
}

}  // namespace
}  // namespace acm::augment
