// The ImageNet reader's crops against torchvision (label anchor): the RandomResizedCrop geometry against
// get_params fed the same draws, and the pixels of both crops against torchvision's transforms on PIL's decode.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "harness/data/crop.h"
#include "harness/data/image_decode.h"
#include "tests/test_util.h"

namespace {

using acm::data::CropBox;
using acm::data::CropPlan;
using acm::testing::Bytes;
using acm::testing::TempDir;

// A photo-like test image: smooth gradients, fine stripes and hard edges, so that the DCT scale, chroma
// upsampling and the filter's support all show in the result.
Bytes test_pixels(int w, int h) {
  Bytes px(static_cast<std::size_t>(w * h * 3));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = px.data() + (y * w + x) * 3;
      p[0] = static_cast<std::uint8_t>(128 + 100 * std::sin(x / 9.0));
      p[1] = static_cast<std::uint8_t>(128 + 100 * std::cos(y / 7.0 + x / 23.0));
      p[2] = static_cast<std::uint8_t>(((x / 20) + (y / 20)) % 2 ? 220 : 30);
    }
  }
  return px;
}

struct Diff {
  double mean = 0;
  int worst = 0;
};

Diff diff(const std::vector<std::uint8_t>& a, const std::string& b) {
  Diff d;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const int e = std::abs(a[k] - static_cast<std::uint8_t>(b[k]));
    d.mean += e;
    d.worst = std::max(d.worst, e);
  }
  d.mean /= static_cast<double>(a.size());
  return d;
}

// torchvision on PIL (tests/data/pil_reference.py): one crop of `file` per job ("center R S" or
// "box T L H W S"), all in one Python process.
std::vector<std::string> pil_references(const TempDir& tmp, const std::string& file,
                                        const std::vector<std::string>& jobs, std::size_t bytes) {
  std::string lines;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    lines += file + " " + tmp.file("ref" + std::to_string(k) + ".bin") + " " + jobs[k] + "\n";
  }
  acm::testing::write_bytes(tmp.file("jobs.txt"), Bytes(lines.begin(), lines.end()));
  std::string out;
  EXPECT_EQ(acm::testing::run_venv_python("tests/data/pil_reference.py", {tmp.file("jobs.txt")}, &out), 0) << out;
  std::vector<std::string> refs;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    refs.push_back(acm::testing::read_text(tmp.file("ref" + std::to_string(k) + ".bin")));
    EXPECT_EQ(refs.back().size(), bytes) << jobs[k];
  }
  return refs;
}

std::vector<std::uint8_t> ours(const Bytes& jpeg, const CropPlan& plan, double oversample,
                               acm::data::DecodeStats* stats = nullptr) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(3 * plan.x.count * plan.y.count));
  const auto st = acm::data::decode_resampled("mem.JPEG", jpeg.data(), jpeg.size(),
                                              [&](std::int64_t, std::int64_t) { return plan; }, out.data(), oversample);
  if (stats) *stats = st;
  return out;
}

// The DCT-scaled decodes: at the default oversampling (2 decoded pixels per output pixel) within the bounds
// the full-size reader kept before it decoded at reduced scale; at 1 a little further (what the speed costs).
void expect_close_at_scales(const Bytes& jpeg, const CropPlan& plan, const std::string& ref, const std::string& what) {
  acm::data::DecodeStats st;
  for (const auto& [oversample, mean_bound, max_bound] :
       std::vector<std::tuple<double, double, int>>{{2.0, 1.5, 24}, {1.0, 3.0, 40}}) {
    const Diff d = diff(ours(jpeg, plan, oversample, &st), ref);
    EXPECT_LT(d.mean, mean_bound) << what << ", oversample " << oversample;
    EXPECT_LE(d.worst, max_bound) << what << ", oversample " << oversample;
    std::printf("%s, oversample %.0f: decoded at %lld/8, mean |diff| %.3f, max %d\n", what.c_str(), oversample,
                static_cast<long long>(st.scale_eighths), d.mean, d.worst);
  }
}

// Resize(64) + CenterCrop(56) of a 300×200 image, 4:4:4 and 4:2:0. At full size the reader decodes only the
// rows and columns the crop needs and resamples with PIL's weights: within one grey level of PIL's bytes
// (float sums where PIL rounds 22-bit fixed point; about one byte in nine differs).
TEST(ResizeCrop, CentreCropMatchesTorchvisionOnPil) {
  TempDir tmp;
  const int w = 300, h = 200;
  for (bool subsampled : {false, true}) {
    const Bytes jpeg = acm::testing::jpeg_bytes(test_pixels(w, h), w, h, 3, 95, subsampled);
    acm::testing::write_bytes(tmp.file("a.JPEG"), jpeg);
    const std::string ref = pil_references(tmp, tmp.file("a.JPEG"), {"center 64 56"}, 3u * 56 * 56).at(0);
    const CropPlan plan = acm::data::center_crop_plan(w, h, 64, 56);
    acm::data::DecodeStats st;
    const Diff full = diff(ours(jpeg, plan, 0, &st), ref);
    EXPECT_LE(full.worst, 1) << "4:2:0 " << subsampled;
    EXPECT_LT(full.mean, 0.2) << "4:2:0 " << subsampled;
    EXPECT_LT(st.decoded_rows, h);  // rows 8..192 of 200 feed the crop
    expect_close_at_scales(jpeg, plan, ref, subsampled ? "centre 4:2:0" : "centre 4:4:4");
  }
}

// resized_crop(box) to 48×48 for boxes inside, at the edges of and across the whole 300×200 image.
TEST(ResizeCrop, RandomResizedCropPixelsMatchTorchvisionOnPil) {
  TempDir tmp;
  const int w = 300, h = 200;
  const Bytes jpeg = acm::testing::jpeg_bytes(test_pixels(w, h), w, h, 3, 95, true);
  acm::testing::write_bytes(tmp.file("a.JPEG"), jpeg);
  const std::vector<CropBox> boxes = {{17, 80, 120, 150}, {0, 0, 200, 300}, {150, 251, 50, 49}, {3, 5, 30, 40},
                                      {0, 199, 200, 101}};
  std::vector<std::string> jobs;
  for (const CropBox& b : boxes) {
    jobs.push_back("box " + std::to_string(b.top) + " " + std::to_string(b.left) + " " + std::to_string(b.height) +
                   " " + std::to_string(b.width) + " 48");
  }
  const std::vector<std::string> refs = pil_references(tmp, tmp.file("a.JPEG"), jobs, 3u * 48 * 48);
  for (std::size_t k = 0; k < boxes.size(); ++k) {
    const CropBox& box = boxes[k];
    const std::string& ref = refs.at(k);
    const CropPlan plan = acm::data::resized_crop_plan(box, 48);
    acm::data::DecodeStats st;
    const Diff full = diff(ours(jpeg, plan, 0, &st), ref);
    const std::string what = "box " + std::to_string(box.top) + "," + std::to_string(box.left) + " " +
                             std::to_string(box.height) + "x" + std::to_string(box.width);
    EXPECT_LE(full.worst, 1) << what;
    EXPECT_LT(full.mean, 0.2) << what;
    EXPECT_LE(st.decoded_rows, box.height + 16) << what;
    expect_close_at_scales(jpeg, plan, ref, what);
  }
}

// The geometry: RandomResizedCrop.get_params fed the draws torch made (tests/data/rrc_draws.py) returns the
// box torchvision returned, for sizes where the first try succeeds, where several fail, and where all ten
// fail and the centre fallback decides (1200×90, 8×8).
TEST(ResizeCrop, RandomResizedCropGeometryIsTorchvisions) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(acm::testing::run_venv_python("tests/data/rrc_draws.py", {tmp.file("draws.txt")}, &out), 0) << out;
  std::ifstream in(tmp.file("draws.txt"));
  std::string line;
  int cases = 0, fallbacks = 0;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::int64_t width = 0, height = 0, n = 0;
    ss >> width >> height >> n;
    std::vector<double> draws(static_cast<std::size_t>(n));
    for (double& d : draws) ss >> d;
    CropBox expected;
    ss >> expected.top >> expected.left >> expected.height >> expected.width;
    std::size_t next = 0;
    const acm::data::CropDraws feed{[&](double, double) { return draws.at(next++); },
                                    [&](std::int64_t bound) {
                                      const auto v = static_cast<std::int64_t>(draws.at(next++));
                                      EXPECT_LT(v, bound);
                                      return v;
                                    }};
    const CropBox got = acm::data::random_resized_crop_box(width, height, {}, feed);
    EXPECT_EQ(next, draws.size()) << line;
    EXPECT_EQ(got.top, expected.top) << line;
    EXPECT_EQ(got.left, expected.left) << line;
    EXPECT_EQ(got.height, expected.height) << line;
    EXPECT_EQ(got.width, expected.width) << line;
    ++cases;
    fallbacks += n == 20;
  }
  EXPECT_EQ(cases, 8 * 60);
  EXPECT_GT(fallbacks, 50);
}

}  // namespace
