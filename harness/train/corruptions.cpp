#include "harness/train/corruptions.h"

#include <ATen/ATen.h>

#include <jpeglib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace acm::train {

namespace {

const std::map<std::string, std::array<double, 5>>& parameters() {
  static const std::map<std::string, std::array<double, 5>> table = {
      {"gaussian_noise", {0.04, 0.06, 0.08, 0.09, 0.10}}, {"shot_noise", {500, 250, 100, 75, 50}},
      {"gaussian_blur", {0.4, 0.6, 0.7, 0.8, 1.0}},       {"contrast", {0.75, 0.5, 0.4, 0.3, 0.15}},
      {"brightness", {0.05, 0.1, 0.15, 0.2, 0.3}},        {"jpeg", {80, 65, 58, 50, 40}},
      {"pixelate", {0.95, 0.9, 0.85, 0.75, 0.65}}};
  return table;
}

// skimage.filters.gaussian (scipy.ndimage.gaussian_filter): a separable kernel of radius ⌊4σ + 0.5⌋, edge
// pixels repeated ("nearest").
at::Tensor gaussian_blur(const at::Tensor& x, double sigma) {
  const auto radius = static_cast<std::int64_t>(4.0 * sigma + 0.5);
  if (radius < 1) return x.clone();
  std::vector<double> taps;
  double sum = 0;
  for (std::int64_t i = -radius; i <= radius; ++i) {
    taps.push_back(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)));
    sum += taps.back();
  }
  for (double& t : taps) t /= sum;
  const std::int64_t k = 2 * radius + 1, c = x.size(1);
  const at::Tensor w = at::tensor(taps, at::kDouble).to(at::kFloat);
  const at::Tensor flat = x.reshape({-1, 1, x.size(2), x.size(3)});
  const at::Tensor rows = at::conv2d(at::pad(flat, {0, 0, radius, radius}, "replicate"), w.view({1, 1, k, 1}));
  const at::Tensor both = at::conv2d(at::pad(rows, {radius, radius, 0, 0}, "replicate"), w.view({1, 1, 1, k}));
  return both.reshape({-1, c, x.size(2), x.size(3)});
}

// PIL's BOX resampling weights along one axis (libImaging/Resample.c, precompute_coeffs): output n of `out`
// reads the source pixels whose centres fall in its box.
at::Tensor box_matrix(std::int64_t in, std::int64_t out) {
  at::Tensor m = at::zeros({out, in}, at::kDouble);
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filterscale = std::max(scale, 1.0), support = 0.5 * filterscale;
  for (std::int64_t o = 0; o < out; ++o) {
    const double centre = (static_cast<double>(o) + 0.5) * scale;
    const auto xmin = std::max<std::int64_t>(static_cast<std::int64_t>(centre - support + 0.5), 0);
    const auto xmax = std::min<std::int64_t>(static_cast<std::int64_t>(centre + support + 0.5), in);
    double total = 0;
    std::vector<double> w;
    for (std::int64_t x = xmin; x < xmax; ++x) {
      const double d = (static_cast<double>(x) - centre + 0.5) / filterscale;
      w.push_back(d > -0.5 && d <= 0.5 ? 1.0 : 0.0);
      total += w.back();
    }
    for (std::int64_t x = xmin; x < xmax; ++x)
      m[o][x] = total > 0 ? w[static_cast<std::size_t>(x - xmin)] / total : 0.0;
  }
  return m.to(at::kFloat);
}

// PIL's resize of an 8-bit image (`x` in grey levels 0..255): the horizontal pass, then the vertical one, each
// rounded to a byte.
at::Tensor box_resize(const at::Tensor& x, std::int64_t h, std::int64_t w) {
  const at::Tensor across = at::matmul(x, box_matrix(x.size(3), w).t()).add(0.5).floor().clamp(0, 255);
  return at::matmul(box_matrix(x.size(2), h), across).add(0.5).floor().clamp(0, 255);
}

// The HSV value (the channel maximum) raised by c and clipped, hue and saturation kept: every channel scales
// with the value, and a black pixel (no hue) becomes grey.
at::Tensor brighten(const at::Tensor& x, double c) {
  const at::Tensor v = std::get<0>(x.max(1, true));
  const at::Tensor raised = (v + c).clamp_max(1.0);
  return at::where(v > 0, x * (raised / v.clamp_min(1e-30)), raised.expand_as(x));
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

void jpeg_fail(j_common_ptr c) { std::longjmp(reinterpret_cast<JpegError*>(c->err)->jump, 1); }

// One image (C×H×W uint8, C = 1 or 3) through a JPEG file at `quality` and back, as PIL's save and open do.
// Only libjpeg calls run between setjmp and a possible longjmp.
bool jpeg_round_trip(const std::uint8_t* chw, int c, int h, int w, int quality, std::uint8_t* out) {
  std::vector<std::uint8_t> hwc(static_cast<std::size_t>(c * h * w)), row(static_cast<std::size_t>(c * w));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) hwc[static_cast<std::size_t>((y * w + x) * c + k)] = chw[(k * h + y) * w + x];
  jpeg_compress_struct enc{};
  jpeg_decompress_struct dec{};
  JpegError err{};
  enc.err = dec.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&enc);
    jpeg_destroy_decompress(&dec);
    std::free(buffer);
    return false;
  }
  jpeg_create_compress(&enc);
  jpeg_mem_dest(&enc, &buffer, &size);
  enc.image_width = static_cast<JDIMENSION>(w);
  enc.image_height = static_cast<JDIMENSION>(h);
  enc.input_components = c;
  enc.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&enc);  // 4:2:0 chroma for colour, as PIL
  jpeg_set_quality(&enc, quality, TRUE);
  jpeg_start_compress(&enc, TRUE);
  while (enc.next_scanline < enc.image_height) {
    JSAMPROW r = &hwc[static_cast<std::size_t>(enc.next_scanline) * static_cast<std::size_t>(c * w)];
    jpeg_write_scanlines(&enc, &r, 1);
  }
  jpeg_finish_compress(&enc);
  jpeg_destroy_compress(&enc);
  jpeg_create_decompress(&dec);
  jpeg_mem_src(&dec, buffer, size);
  jpeg_read_header(&dec, TRUE);
  dec.out_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(&dec);
  while (dec.output_scanline < dec.output_height) {
    const std::size_t y = dec.output_scanline;
    JSAMPROW r = row.data();
    jpeg_read_scanlines(&dec, &r, 1);
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) out[(static_cast<std::size_t>(k) * h + y) * w + x] = row[static_cast<std::size_t>(x * c + k)];
  }
  jpeg_finish_decompress(&dec);
  jpeg_destroy_decompress(&dec);
  std::free(buffer);
  return true;
}

at::Tensor jpeg(const at::Tensor& x, int quality) {
  const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  if (c != 1 && c != 3) throw std::invalid_argument("jpeg corruption: 1 or 3 channels, not " + std::to_string(c));
  const at::Tensor bytes = (x * 255).round().clamp(0, 255).to(at::kByte).contiguous();
  at::Tensor out = at::empty_like(bytes);
  for (std::int64_t i = 0; i < b; ++i) {
    if (!jpeg_round_trip(bytes[i].const_data_ptr<std::uint8_t>(), static_cast<int>(c), static_cast<int>(h),
                         static_cast<int>(w), quality, out[i].data_ptr<std::uint8_t>()))
      throw std::runtime_error("jpeg corruption: libjpeg failed on a " + std::to_string(w) + "x" + std::to_string(h) +
                               " image");
  }
  return out.to(at::kFloat) / 255;
}

}  // namespace

const std::vector<std::string>& corruption_names() {
  static const std::vector<std::string> names = {"gaussian_noise", "shot_noise", "gaussian_blur", "contrast",
                                                 "brightness",     "jpeg",       "pixelate"};
  return names;
}

double corruption_parameter(const std::string& name, int severity) {
  const auto it = parameters().find(name);
  if (it == parameters().end()) throw std::invalid_argument("unknown corruption '" + name + "'");
  if (severity < 1 || severity > 5) throw std::invalid_argument("corruption severity " + std::to_string(severity) + " is not in 1..5");
  return it->second[static_cast<std::size_t>(severity - 1)];
}

at::Tensor corruption_draws(const std::string& name, int severity, const at::Tensor& images, at::Generator& gen) {
  const double c = corruption_parameter(name, severity);
  if (name == "gaussian_noise") return at::empty_like(images).normal_(0, 1, gen);
  if (name == "shot_noise") return at::poisson(images.clamp_min(0) * c, gen);
  return {};
}

at::Tensor apply_corruption(const std::string& name, int severity, const at::Tensor& images, const at::Tensor& draws) {
  const double c = corruption_parameter(name, severity);
  const at::Tensor x = images.to(at::kFloat);
  at::Tensor y;
  if (name == "gaussian_noise") {
    y = x + draws * c;
  } else if (name == "shot_noise") {
    y = draws / c;
  } else if (name == "gaussian_blur") {
    y = gaussian_blur(x, c * static_cast<double>(std::min(x.size(2), x.size(3))) / 32.0);
  } else if (name == "contrast") {
    const at::Tensor m = x.mean({2, 3}, true);
    y = (x - m) * c + m;
  } else if (name == "brightness") {
    y = brighten(x, c);
  } else if (name == "jpeg") {
    y = jpeg(x, static_cast<int>(c));
  } else {  // pixelate
    const std::int64_t h = x.size(2), w = x.size(3);
    const at::Tensor bytes = (x * 255).round();
    const std::int64_t sh = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(h) * c)),
                       sw = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(w) * c));
    y = box_resize(box_resize(bytes, sh, sw), h, w) / 255;
  }
  return y.clamp(0, 1);
}

at::Tensor corrupt(const std::string& name, int severity, const at::Tensor& images, at::Generator& gen) {
  return apply_corruption(name, severity, images, corruption_draws(name, severity, images, gen));
}

}  // namespace acm::train
