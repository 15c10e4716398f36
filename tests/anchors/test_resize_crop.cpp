// The resize + centre crop of ImageNet-style folders against torchvision on PIL images (label anchor).
#include <gtest/gtest.h>
#include <png.h>

#include <cmath>
#include <cstring>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"
#include "harness/data/image_folder.h"
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

RgbImage decode(const Bytes& b, std::int64_t min_side = 0) {
  return acm::data::decode_image("mem.JPEG", b.data(), b.size(), min_side);
}

// Adobe-inverted CMYK as Photoshop writes it (ImageNet has 22 such files): R = C·K/255 on the stored values.
// ImageNet's train split holds a PNG named .JPEG: files are told apart by their bytes.
// The resize + centre crop, against pixels computed by hand.
// The anchor: torchvision's Resize + CenterCrop on PIL's decode of the same JPEG. At full-size decode the two
// differ only by rounding (PIL rounds to bytes between its two passes); the DCT-scaled decode the reader uses
// for images over twice the size it needs stays within a level or two on average.
TEST(ResizeCrop, MatchesTorchvisionOnPil) {
  TempDir tmp;
  const int w = 300, h = 200;
  Bytes px(static_cast<std::size_t>(w * h * 3));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = px.data() + (y * w + x) * 3;
      p[0] = static_cast<std::uint8_t>(128 + 100 * std::sin(x / 9.0));
      p[1] = static_cast<std::uint8_t>(128 + 100 * std::cos(y / 7.0 + x / 23.0));
      p[2] = static_cast<std::uint8_t>(((x / 20) + (y / 20)) % 2 ? 220 : 30);
    }
  }
  const Bytes jpeg = acm::testing::jpeg_bytes(px, w, h, 3, 95);
  acm::testing::write_bytes(tmp.file("a.JPEG"), jpeg);
  const ImageGeometry g{56, 64};
  std::string out;
  ASSERT_EQ(acm::testing::run_venv_python("tests/data/pil_reference.py",
                                          {tmp.file("a.JPEG"), "64", "56", tmp.file("ref.bin")}, &out),
            0)
      << out;
  const std::string ref = acm::testing::read_text(tmp.file("ref.bin"));
  ASSERT_EQ(ref.size(), 3u * 56 * 56);
  auto compare = [&](std::int64_t min_side, double mean_tol, int max_tol) {
    std::vector<std::uint8_t> ours(ref.size());
    acm::data::resize_center_crop(decode(jpeg, min_side), g, ours.data());
    double sum = 0;
    int worst = 0;
    for (std::size_t k = 0; k < ours.size(); ++k) {
      const int d = std::abs(ours[k] - static_cast<std::uint8_t>(ref[k]));
      sum += d;
      worst = std::max(worst, d);
    }
    EXPECT_LT(sum / static_cast<double>(ours.size()), mean_tol) << "min_side " << min_side;
    EXPECT_LE(worst, max_tol) << "min_side " << min_side;
  };
  compare(0, 0.6, 2);
  compare(2 * g.resize, 1.5, 24);  // 300×200 decoded at 3/4 scale: 225×150
}

}  // namespace
