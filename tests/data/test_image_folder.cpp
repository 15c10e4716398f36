// ImageNet-style folders: JPEG (RGB, grey, CMYK) and PNG decoding, the resize + centre crop against
// hand-computed pixels, the folder layout and its errors, and the lazy data set through subsets and stats.
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstring>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"
#include "harness/data/image_folder.h"
#include "harness/data/keyed_rng.h"
#include "harness/data/spec.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace {

using acm::data::DataError;
using acm::data::ImageGeometry;
using acm::data::RgbImage;
using acm::testing::Bytes;
using acm::testing::TempDir;
using acm::testing::expect_error;

Bytes solid(int w, int h, int channels, std::initializer_list<int> value) {
  Bytes px;
  for (int i = 0; i < w * h; ++i) {
    for (int v : value) px.push_back(static_cast<std::uint8_t>(v));
  }
  EXPECT_EQ(static_cast<int>(value.size()), channels);
  return px;
}

RgbImage decode(const Bytes& b, std::int64_t min_side = 0) {
  return acm::data::decode_image("mem.JPEG", b.data(), b.size(), min_side);
}

int max_abs_diff(const RgbImage& img, const Bytes& rgb) {
  int worst = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(img.pixels[i] - rgb[i]));
  return worst;
}

TEST(ImageDecode, RgbJpegRoundTripsWithinQuantisation) {
  const int w = 40, h = 30;
  Bytes px(static_cast<std::size_t>(w * h * 3));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      px[(y * w + x) * 3] = static_cast<std::uint8_t>(6 * x);
      px[(y * w + x) * 3 + 1] = static_cast<std::uint8_t>(8 * y);
      px[(y * w + x) * 3 + 2] = 128;
    }
  }
  const RgbImage img = decode(acm::testing::jpeg_bytes(px, w, h, 3, 100));
  EXPECT_EQ(img.width, w);
  EXPECT_EQ(img.height, h);
  EXPECT_LE(max_abs_diff(img, px), 4);
}

TEST(ImageDecode, GreyJpegBecomesThreeEqualChannels) {
  const RgbImage img = decode(acm::testing::jpeg_bytes(solid(16, 8, 1, {77}), 16, 8, 1, 100));
  ASSERT_EQ(img.pixels.size(), 16u * 8 * 3);
  EXPECT_LE(max_abs_diff(img, solid(16, 8, 3, {77, 77, 77})), 1);
}

// Adobe-inverted CMYK as Photoshop writes it (ImageNet has 22 such files): R = C·K/255 on the stored values.
TEST(ImageDecode, CmykJpegConvertsAsAdobeInverted) {
  const RgbImage img = decode(acm::testing::jpeg_bytes(solid(16, 16, 4, {255, 128, 0, 255}), 16, 16, 4, 100));
  EXPECT_LE(max_abs_diff(img, solid(16, 16, 3, {255, 128, 0})), 2);
  const RgbImage dark = decode(acm::testing::jpeg_bytes(solid(16, 16, 4, {255, 255, 255, 102}), 16, 16, 4, 100));
  EXPECT_LE(max_abs_diff(dark, solid(16, 16, 3, {102, 102, 102})), 2);
}

// ImageNet's train split holds a PNG named .JPEG: files are told apart by their bytes.
TEST(ImageDecode, PngIsReadWhateverItsName) {
  TempDir tmp;
  const Bytes px = solid(5, 3, 3, {10, 200, 30});
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = 5;
  png.height = 3;
  png.format = PNG_FORMAT_RGB;
  ASSERT_TRUE(png_image_write_to_file(&png, tmp.file("x.JPEG").c_str(), 0, px.data(), 0, nullptr));
  const auto f = acm::data::read_file_bytes(tmp.file("x.JPEG"));
  const RgbImage img = acm::data::decode_image(f.path, f.bytes.data(), f.bytes.size());
  EXPECT_EQ(img.pixels, px);  // lossless
}

TEST(ImageDecode, BadBytesNameTheFileAndWhatIsWrong) {
  const Bytes text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  expect_error<DataError>([&] { acm::data::decode_image("a/b.JPEG", text.data(), text.size()); },
                          {"a/b.JPEG: offset 0: not a JPEG or PNG image", "11 bytes", "68 65 6c 6c 6f",
                           "a JPEG starts ff d8 ff"});
  Bytes noise(64 * 64 * 3);  // noise, so that most of the file is entropy-coded data, not headers
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  const Bytes jpeg = acm::testing::jpeg_bytes(noise, 64, 64, 3, 90);
  const Bytes half(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() / 2));
  expect_error<DataError>([&] { acm::data::decode_image("t.JPEG", half.data(), half.size()); },
                          {"t.JPEG: truncated JPEG", "64x64", "Premature end"});
  Bytes header_only(jpeg.begin(), jpeg.begin() + 20);
  expect_error<DataError>([&] { acm::data::decode_image("h.JPEG", header_only.data(), header_only.size()); },
                          {"h.JPEG: corrupt JPEG"});
  const Bytes png_sig = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0};
  expect_error<DataError>([&] { acm::data::decode_image("p.png", png_sig.data(), png_sig.size()); },
                          {"p.png: corrupt"});
}

// The resize + centre crop, against pixels computed by hand.
TEST(ResizeCrop, ExactSizeIsTheIdentityAndCropIsCentred) {
  // W wide, 4 high, pixel value 10·x + y + c; resize 4 = the shorter side: no resampling. The 4×4 centre crop
  // starts at column round((W - 4) / 2) with Python's rounding (halves to even), as torchvision's CenterCrop:
  // W = 5 -> 0, 6 -> 1, 7 -> 2.
  for (const auto& [w, left] : std::vector<std::pair<int, int>>{{5, 0}, {6, 1}, {7, 2}}) {
    RgbImage in{4, w, {}};
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) in.pixels.push_back(static_cast<std::uint8_t>(10 * x + y + c));
      }
    }
    std::vector<std::uint8_t> out(3 * 4 * 4);
    acm::data::resize_center_crop(in, ImageGeometry{4, 4}, out.data());
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 4; ++x) {
          EXPECT_EQ(out[c * 16 + y * 4 + x], 10 * (x + left) + y + c) << "W " << w << " c" << c << " y" << y << " x" << x;
        }
      }
    }
  }
}

TEST(ResizeCrop, HalvingAveragesTwoByTwoBlocks) {
  // 8×8 of 2×2 blocks; at scale 2 the triangle filter's taps over a block are symmetric: each output pixel
  // is its block's value plus equal-weight neighbours... with weights (1/8, 3/8, 3/8, 1/8) per axis.
  RgbImage in{8, 8, {}};
  auto v = [](int y, int x) { return (y / 2) * 40 + (x / 2) * 10; };
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      for (int c = 0; c < 3; ++c) in.pixels.push_back(static_cast<std::uint8_t>(v(y, x)));
    }
  }
  std::vector<std::uint8_t> out(3 * 4 * 4);
  acm::data::resize_center_crop(in, ImageGeometry{4, 4}, out.data());
  // Interior output (1, 1) covers input rows/cols 1..4 with weights 1/8, 3/8, 3/8, 1/8: rows 1 (block 0),
  // 2, 3 (block 1), 4 (block 2) -> 40·(0/8 + 3/8 + 3/8 + 2/8) = 40; the same for columns -> 10.
  EXPECT_EQ(out[1 * 4 + 1], 40 + 10);
  // The corner (0, 0): taps 0..2 with weights 3/7, 3/7, 1/7 (the left one falls outside and is dropped).
  EXPECT_EQ(out[0], static_cast<int>(std::lround(40.0 / 7 + 10.0 / 7)));
}

TEST(ResizeCrop, PortraitShorterSideDecides) {
  // 10 wide, 20 high, resize 5: 5 × int(5·20/10) = 5 × 10, then the 4×4 crop at top round(6/2) = 3.
  RgbImage in{20, 10, std::vector<std::uint8_t>(20 * 10 * 3, 0)};
  for (int y = 10; y < 20; ++y) {
    for (int x = 0; x < 10; ++x) in.pixels[(y * 10 + x) * 3] = 200;  // bottom half red
  }
  std::vector<std::uint8_t> out(3 * 4 * 4);
  acm::data::resize_center_crop(in, ImageGeometry{4, 5}, out.data());
  // Kept rows 3..6 of the 10: row 3 takes input rows 5..8 (all black), row 4 rows 7..10 with weights
  // 1/8, 3/8, 3/8, 1/8 (row 10 red: 200/8 = 25), row 6 rows 11..14 (all red).
  EXPECT_EQ(out[0 * 4 + 0], 0);
  EXPECT_EQ(out[1 * 4 + 2], 25);
  EXPECT_EQ(out[3 * 4 + 0], 200);
  EXPECT_EQ(out[16 + 3 * 4], 0);  // green stays 0
}

// The anchor: torchvision's Resize + CenterCrop on PIL's decode of the same JPEG. At full-size decode the two
// differ only by rounding (PIL rounds to bytes between its two passes); the DCT-scaled decode the reader uses
// for images over twice the size it needs stays within a level or two on average.
TEST(ImageFolder, ListsClassesSortedAndSkipsOtherFiles) {
  TempDir tmp;
  acm::testing::write_image_folder(tmp.file("in"), 3, 2, 1, 12, 10);
  acm::testing::write_bytes(tmp.file("in/train/c001/notes.txt"), {'x'});
  const auto l = acm::data::list_image_folder(tmp.file("in/train"));
  EXPECT_EQ(l.classes, (std::vector<std::string>{"c000", "c001", "c002"}));
  ASSERT_EQ(l.files.size(), 6u);
  EXPECT_EQ(l.labels, (std::vector<std::int64_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(l.files[2], tmp.file("in/train/c001/c001_0.JPEG"));
}

TEST(ImageFolder, LayoutErrorsSayWhatAndWhere) {
  TempDir tmp;
  const std::string root = tmp.file("in");
  expect_error<DataError>([&] { acm::data::load_image_folder_dir(root, {}, "imagenet"); },
                          {root + ": no such folder", "ROOT/train/CLASS/*.JPEG"});
  acm::testing::write_image_folder(root, 2, 1, 1, 12, 10);
  // A flat validation folder, as ILSVRC2012's val tarball unpacks.
  acm::testing::write_bytes(root + "/val/ILSVRC2012_val_00000001.JPEG", {0xFF, 0xD8, 0xFF});
  expect_error<DataError>([&] { acm::data::load_image_folder_dir(root, {}, "imagenet"); },
                          {root + "/val: holds image files directly (ILSVRC2012_val_00000001.JPEG", "valprep"});
  acm::testing::remove_tree(root + "/val/ILSVRC2012_val_00000001.JPEG");
  acm::testing::make_dir(root + "/val/n99999999");
  expect_error<DataError>([&] { acm::data::load_image_folder_dir(root, {}, "imagenet"); },
                          {root + "/val/n99999999: class folder not among the 2 classes of the training split"});
  acm::testing::remove_tree(root + "/val/n99999999");
  acm::testing::make_dir(root + "/train/c009");
  expect_error<DataError>([&] { acm::data::load_image_folder_dir(root, {}, "imagenet"); },
                          {root + "/train/c009: class folder holds no image files"});
  acm::testing::remove_tree(root + "/train/c009");
  acm::testing::remove_tree(root + "/val");
  expect_error<DataError>([&] { acm::data::load_image_folder_dir(root, {}, "imagenet"); },
                          {root + "/val: no such folder"});
}

// An ImageNet-style folder of synthetic JPEGs (width × height) under TMP/in, and the spec that reads it.
acm::data::DatasetSpec folder_spec(const TempDir& tmp, int classes, int train_per_class, int val_per_class, int width,
                                   int height, const ImageGeometry& geometry) {
  acm::testing::write_image_folder(tmp.file("in"), classes, train_per_class, val_per_class, width, height);
  acm::data::DatasetSpec spec;
  spec.name = "imagenet";
  spec.path = tmp.file("in");
  spec.image = geometry;
  return spec;
}

// The lazy data set: decoded on demand, identical to decoding by hand, through subsets and statistics; a bad
// file fails when it is read, naming it.
TEST(ImageFolder, LazyDatasetDecodesOnDemandThroughSubsetsAndStats) {
  TempDir tmp;
  // One decoded pixel per output pixel: the DCT scale can halve.
  acm::data::DatasetSpec spec = folder_spec(tmp, 4, 5, 2, 40, 30, {12, 13, "center", 1.0});
  spec.subset = {"per_class", 3, 0, 7};
  const auto splits = acm::data::load_dataset(spec);
  const auto& train = splits.train;
  EXPECT_FALSE(train.in_memory());
  EXPECT_TRUE(train.images.empty());
  EXPECT_EQ(train.size(), 12);
  EXPECT_EQ(splits.test.size(), 8);
  EXPECT_EQ(train.num_classes, 4);
  EXPECT_EQ(train.channels * train.height * train.width, 3 * 12 * 12);
  // Image i of the subset is the file the subset kept: decode that file by hand and compare.
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(train.image_bytes())), expected(buffer.size());
  for (std::int64_t i = 0; i < train.size(); ++i) {
    const std::string file = train.lazy->describe(i);
    EXPECT_NE(file.find("/train/c00" + std::to_string(train.labels[static_cast<std::size_t>(i)]) + "/"),
              std::string::npos)
        << file;
    const auto f = acm::data::read_file_bytes(file);
    // The reader decodes at the smallest DCT scale that keeps the shorter side >= resize at oversampling 1
    // (here 1/2: 20×15), and of that only the rows and columns the crop needs: the same bytes as resizing the
    // whole decode.
    const RgbImage scaled = acm::data::decode_image(file, f.bytes.data(), f.bytes.size(), spec.image.resize);
    EXPECT_EQ(scaled.width, 20);
    EXPECT_EQ(scaled.height, 15);
    acm::data::resize_center_crop(scaled, spec.image, expected.data());
    EXPECT_EQ(std::memcmp(train.read_image(i, buffer.data()), expected.data(), expected.size()), 0) << i;
  }
  const auto st = acm::data::channel_stats(splits.test);
  // Red is 20, 60, 100, 140 by class (mean 80) and blue 60, but for the bright squares (250).
  EXPECT_NEAR(st.mean[0], 80 / 255.0, 0.05);
  EXPECT_GE(st.mean[2], 58 / 255.0);
  EXPECT_LT(st.mean[2], 80 / 255.0);
  // A file truncated after loading fails when read, naming itself.
  const std::string victim = train.lazy->describe(0);
  acm::testing::write_bytes(victim, {0xFF, 0xD8, 0xFF, 0xE0});
  expect_error<DataError>([&] { train.read_image(0, buffer.data()); }, {victim + ": corrupt JPEG"});
}

// RandomResizedCrop in training: a pure function of (seed, epoch, sample index) — the crop torchvision's
// get_params makes from the sample's keyed draws — while evaluation and the validation split keep the centre.
TEST(ImageFolder, RandomResizedCropIsKeyedAndOnlyInTraining) {
  TempDir tmp;
  const acm::data::DatasetSpec spec = folder_spec(tmp, 2, 3, 1, 64, 48, {16, 20, "random_resized"});
  const auto splits = acm::data::load_dataset(spec);
  const auto& train = splits.train;
  const std::size_t n = static_cast<std::size_t>(train.image_bytes());
  std::vector<std::uint8_t> a(n), b(n), centre(n), expected(n);
  int differs_by_epoch = 0, differs_from_centre = 0;
  for (std::int64_t i = 0; i < train.size(); ++i) {
    const acm::data::DrawKey k0{7, 0}, k1{7, 1};
    train.read_image(i, a.data(), &k0);
    train.read_image(i, b.data(), &k0);
    EXPECT_EQ(a, b) << i;  // the same key, the same crop
    train.read_image(i, b.data(), &k1);
    differs_by_epoch += a != b;
    train.read_image(i, centre.data());  // no key: the evaluation view
    differs_from_centre += a != centre;
    // The same crop by hand: the box from the sample's keyed draws, resampled from the file.
    acm::data::KeyedRng rng(7, 0, static_cast<std::uint64_t>(i), acm::data::Stream::kResizedCrop);
    const acm::data::CropDraws draws{[&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); },
                                     [&](std::int64_t m) { return rng.below(m); }};
    const auto box = acm::data::random_resized_crop_box(64, 48, {}, draws);
    const auto f = acm::data::read_file_bytes(train.lazy->describe(i));
    acm::data::decode_resampled(f.path, f.bytes.data(), f.bytes.size(),
                                [&](std::int64_t, std::int64_t) { return acm::data::resized_crop_plan(box, 16); },
                                expected.data());
    EXPECT_EQ(a, expected) << i;
  }
  EXPECT_GE(differs_by_epoch, 5);
  EXPECT_GE(differs_from_centre, 5);
  const auto& val = splits.test;
  const acm::data::DrawKey key{7, 3};
  val.read_image(0, a.data(), &key);
  val.read_image(0, b.data());
  EXPECT_EQ(a, b);  // the validation split is centre-cropped whatever the key
}

TEST(ImageFolder, SpecValidatesGeometry) {
  nlohmann::json j = {{"name", "imagenet"}, {"path", "/x"}, {"image_size", 224}, {"resize", 200}};
  acm::config::JsonReader r(j, "$.dataset");
  expect_error<acm::config::ConfigError>([&] { acm::data::parse_dataset_spec(r); }, {"$.dataset.resize"});
  j = {{"name", "imagenet"}, {"path", "/x"}, {"train_crop", "random"}};
  acm::config::JsonReader r2(j, "$.dataset");
  expect_error<acm::config::ConfigError>([&] { acm::data::parse_dataset_spec(r2); },
                                         {"$.dataset.train_crop", "center", "random_resized"});
  j = {{"name", "imagenet"}, {"path", "/x"}, {"decode_oversample", 0.5}};
  acm::config::JsonReader r3(j, "$.dataset");
  expect_error<acm::config::ConfigError>([&] { acm::data::parse_dataset_spec(r3); },
                                         {"$.dataset.decode_oversample", "expected 0 (full-size decode) or a value in [1, 8]"});
  // The defaults stay out of the resolved config (older results keep their identity); others are recorded.
  j = {{"name", "imagenet"}, {"path", "/x"}};
  acm::config::JsonReader r4(j, "$.dataset");
  const auto plain = acm::data::to_json(acm::data::parse_dataset_spec(r4));
  EXPECT_FALSE(plain.contains("train_crop"));
  EXPECT_FALSE(plain.contains("decode_oversample"));
  j = {{"name", "imagenet"}, {"path", "/x"}, {"train_crop", "random_resized"}, {"decode_oversample", 1}};
  acm::config::JsonReader r5(j, "$.dataset");
  const auto set = acm::data::to_json(acm::data::parse_dataset_spec(r5));
  EXPECT_EQ(set["train_crop"], "random_resized");
  EXPECT_EQ(set["decode_oversample"], 1.0);
}

}  // namespace
