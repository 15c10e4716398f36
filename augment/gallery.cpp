#include "augment/gallery.h"

#include "common/files.h"

#include <ATen/ATen.h>
#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "augment/attention.h"
#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/fmix.h"
#include "augment/gridmix.h"
#include "augment/mixup.h"
#include "augment/resizemix.h"
#include "augment/saliencymix.h"
#include "models/weights.h"

namespace acm::augment {

namespace {

using Glyph = std::array<const char*, 7>;

// A 5×7 pixel font, drawn for this gallery: upper-case letters (lower case maps to them), digits, . = - : /
// and λ.
const std::map<char32_t, Glyph>& font() {
  static const std::map<char32_t, Glyph> f = {
      {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
      {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
      {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
      {'D', {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."}},
      {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
      {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
      {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
      {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
      {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
      {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
      {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
      {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
      {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
      {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
      {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
      {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
      {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
      {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
      {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
      {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
      {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
      {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
      {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
      {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
      {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
      {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
      {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
      {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
      {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
      {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
      {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
      {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
      {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
      {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
      {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
      {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
      {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
      {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
      {'/', {"....#", "...#.", "...#.", "..#..", ".#...", ".#...", "#...."}},
      {U'\u03bb', {"#....", ".#...", ".#...", "..#..", ".#.#.", "#...#", "#...#"}},
  };
  return f;
}

std::vector<char32_t> decode_utf8(const std::string& s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      out.push_back(static_cast<char32_t>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F)));
      i += 2;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

const std::uint8_t kBlack[3] = {0, 0, 0};
const std::uint8_t kWhite[3] = {255, 255, 255};

// Blue -> cyan -> yellow -> red for t in [0, 1].
std::array<double, 3> colour_map(double t) {
  auto c = [](double v) { return std::clamp(v, 0.0, 1.0); };
  return {c(1.5 - std::abs(4 * t - 3)), c(1.5 - std::abs(4 * t - 2)), c(1.5 - std::abs(4 * t - 1))};
}

}  // namespace

Canvas::Canvas(std::int64_t w, std::int64_t h, std::uint8_t grey)
    : width(w), height(h), rgb(static_cast<std::size_t>(w * h * 3), grey) {}

void Canvas::fill(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h,
                  const std::uint8_t colour[3]) {
  for (std::int64_t yy = std::max<std::int64_t>(0, y); yy < std::min(height, y + h); ++yy) {
    for (std::int64_t xx = std::max<std::int64_t>(0, x); xx < std::min(width, x + w); ++xx) {
      std::uint8_t* p = &rgb[static_cast<std::size_t>((yy * width + xx) * 3)];
      p[0] = colour[0];
      p[1] = colour[1];
      p[2] = colour[2];
    }
  }
}

void Canvas::draw_image(std::int64_t x, std::int64_t y, const at::Tensor& image, std::int64_t scale) {
  const at::Tensor img = image.to(at::kCPU, at::kFloat).clamp(0, 1).contiguous();
  const std::int64_t C = img.size(0), H = img.size(1), W = img.size(2);
  const float* p = img.const_data_ptr<float>();
  for (std::int64_t i = 0; i < H; ++i) {
    for (std::int64_t j = 0; j < W; ++j) {
      std::uint8_t c[3];
      for (int k = 0; k < 3; ++k) {
        const float v = p[((C == 3 ? k : 0) * H + i) * W + j];
        c[k] = static_cast<std::uint8_t>(std::lround(v * 255.0f));
      }
      fill(x + j * scale, y + i * scale, scale, scale, c);
    }
  }
}

std::int64_t Canvas::text_width(const std::string& utf8, std::int64_t scale) {
  const auto n = static_cast<std::int64_t>(decode_utf8(utf8).size());
  return n == 0 ? 0 : (6 * n - 1) * scale;
}

std::int64_t Canvas::text(std::int64_t x, std::int64_t y, const std::string& utf8, std::int64_t scale,
                          const std::uint8_t colour[3]) {
  std::int64_t cx = x;
  for (char32_t ch : decode_utf8(utf8)) {
    if (ch >= 'a' && ch <= 'z') ch = ch - 'a' + 'A';
    auto it = font().find(ch);
    if (it != font().end()) {
      for (int r = 0; r < 7; ++r) {
        for (int c = 0; c < 5; ++c) {
          if (it->second[static_cast<std::size_t>(r)][c] == '#')
            fill(cx + c * scale, y + r * scale, scale, scale, colour);
        }
      }
    }
    cx += 6 * scale;
  }
  return cx - x;
}

void write_png(const std::string& path, const Canvas& canvas) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png) throw std::runtime_error("png: cannot create a writer");
  png_infop info = png_create_info_struct(png);
  std::string bytes;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    throw std::runtime_error(path + ": PNG encoding failed");
  }
  png_set_write_fn(
      png, &bytes,
      [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), n);
      },
      nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(canvas.width), static_cast<png_uint_32>(canvas.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (std::int64_t y = 0; y < canvas.height; ++y) {
    png_write_row(png, const_cast<png_bytep>(&canvas.rgb[static_cast<std::size_t>(y * canvas.width * 3)]));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  fs::write_file_atomic(path, bytes);
}

Canvas render_gallery(const at::Tensor& images, const at::Tensor& grid_maps, const GalleryOptions& o,
                      at::Generator& gen) {
  const std::int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  const std::int64_t grid = grid_maps.size(1);
  if (B < 2) throw std::invalid_argument("gallery: needs at least 2 images");
  const at::Tensor x = images.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor labels = at::zeros({B}, at::kLong);
  // Recipient j receives donor j − 1: row i shows donor i going into recipient i + 1.
  const at::Tensor partner = (at::arange(B, at::kLong) + B - 1).remainder(B);
  const MixedBatch mixup = MixupMixer::apply(
      x, labels, 1, partner, at::full({B}, sample_beta(o.mixup_alpha, o.mixup_alpha, gen), at::kDouble));
  const MixedBatch cutout = CutoutMixer(o.cutout_size, 1).mix(x, labels, 1, gen);
  const double kappa = sample_beta(o.cutmix_alpha, o.cutmix_alpha, gen);
  const std::int64_t cy = sample_below(H, gen), cx = sample_below(W, gen);
  const MixedBatch cutmix =
      CutMixMixer::apply(x, labels, 1, partner, CutMixMixer::paper_box(kappa, cy, cx, H, W));
  const MixedBatch saliency = SaliencyMixMixer::apply(
      x, labels, 1, partner, SaliencyMixMixer::peaks(SaliencyMixMixer::saliency(x)).index_select(0, partner),
      sample_beta(o.cutmix_alpha, o.cutmix_alpha, gen));
  const double tau = 0.1 + 0.7 * sample_uniform(gen);
  const std::int64_t rh = std::max<std::int64_t>(1, static_cast<std::int64_t>(tau * H)),
                     rw = std::max<std::int64_t>(1, static_cast<std::int64_t>(tau * W));
  const std::int64_t ry = sample_below(H - rh + 1, gen), rx = sample_below(W - rw + 1, gen);
  const MixedBatch resize = ResizeMixMixer::apply(x, labels, 1, partner, Box{ry, ry + rh, rx, rx + rw});
  const at::Tensor noise = at::normal(0.0, 1.0, FMixMixer::param_shape(H, W), gen, at::kDouble);
  const auto keep = static_cast<std::int64_t>(sample_beta(1.0, 1.0, gen) * static_cast<double>(H * W));
  const MixedBatch fmix = paste_mask(x, labels, 1, partner,
                                     FMixMixer::donor_mask(FMixMixer::low_freq_image(noise, 3.0, H, W), keep));
  const at::Tensor cells = at::empty({B, 4, 4}, at::kDouble).uniform_(0, 1, gen) < 0.5;
  const MixedBatch grid_mix = paste_mask(x, labels, 1, partner, GridMixMixer::cell_mask(cells, H, W));
  const MixedBatch attentive = AttentiveCutMixMixer::apply(x, labels, 1, partner, grid_maps.to(at::kCPU),
                                                           at::full({B}, o.attentive.top_n, at::kLong));
  // The mixing columns after donor, heatmap and recipient, in the method table's order.
  const std::vector<std::pair<std::string, const MixedBatch*>> mixed = {
      {"mixup", &mixup}, {"cutout", &cutout}, {"cutmix", &cutmix}, {"saliency", &saliency},
      {"resize", &resize}, {"fmix", &fmix},   {"grid", &grid_mix}, {"attentive", &attentive}};
  const at::Tensor chosen = top_cells(grid_maps.to(at::kCPU), at::full({B}, o.attentive.top_n, at::kLong));

  auto display = [&](const at::Tensor& img) {
    at::Tensor d = img.to(at::kFloat);
    if (!o.mean.empty()) {
      d = d * at::tensor(o.std, at::kDouble).to(at::kFloat).view({-1, 1, 1}) +
          at::tensor(o.mean, at::kDouble).to(at::kFloat).view({-1, 1, 1});
    }
    return d.clamp(0, 1);
  };

  const std::int64_t scale = std::max<std::int64_t>(1, (96 + std::max(H, W) - 1) / std::max(H, W));
  const std::int64_t tw = W * scale, th = H * scale, pad = 10;
  const std::int64_t fs = tw >= 100 ? 2 : 1, line = 7 * fs + 8;
  std::vector<std::string> titles = {"donor", "heatmap", "recipient"};
  for (const auto& [title, batch] : mixed) titles.push_back(title);
  const auto cols = static_cast<std::int64_t>(titles.size());
  const std::int64_t col_w = std::max(tw, Canvas::text_width("attentive", fs));
  Canvas canvas(pad + cols * (col_w + pad), pad + line + B * (th + line + pad));
  for (std::int64_t c = 0; c < cols; ++c) {
    canvas.text(pad + c * (col_w + pad), pad, titles[static_cast<std::size_t>(c)], fs, kBlack);
  }
  const std::vector<std::int64_t> rows_of = pixel_cells(H, grid), cols_of = pixel_cells(W, grid);
  for (std::int64_t i = 0; i < B; ++i) {
    const std::int64_t r = (i + 1) % B;  // the recipient of donor i
    const std::int64_t y = pad + line + i * (th + line + pad);
    auto at_col = [&](std::int64_t c) { return pad + c * (col_w + pad); };
    auto caption = [&](std::int64_t c, const std::string& s) {
      canvas.text(at_col(c), y + th + 4, s, fs, kBlack);
    };
    auto lambda_of = [&](const MixedBatch& m) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "\u03bb=%.3f", m.lambda[r].item<double>());
      return std::string(buf);
    };
    canvas.draw_image(at_col(0), y, display(x[i]), scale);
    // The donor's heatmap over its grey image, its top-N cells outlined.
    {
      const at::Tensor grey = display(x[i]).mean(0).to(at::kDouble).contiguous();
      const at::Tensor heat = grid_maps[i].to(at::kCPU, at::kDouble).contiguous();
      const double lo = heat.min().item<double>(), hi = heat.max().item<double>();
      at::Tensor tile = at::empty({3, H, W}, at::kDouble);
      const auto hv = heat.accessor<double, 2>();
      const auto gv = grey.accessor<double, 2>();
      auto tv = tile.accessor<double, 3>();
      for (std::int64_t yy = 0; yy < H; ++yy) {
        for (std::int64_t xx = 0; xx < W; ++xx) {
          const double v = hv[rows_of[static_cast<std::size_t>(yy)]][cols_of[static_cast<std::size_t>(xx)]];
          const auto rgb = colour_map(hi > lo ? (v - lo) / (hi - lo) : 0.5);
          for (int k = 0; k < 3; ++k)
            tv[k][yy][xx] = 0.45 * gv[yy][xx] + 0.55 * rgb[static_cast<std::size_t>(k)];
        }
      }
      canvas.draw_image(at_col(1), y, tile, scale);
      const std::int64_t t = std::max<std::int64_t>(1, scale / 2);
      for (std::int64_t k = 0; k < grid * grid; ++k) {
        if (!chosen[i][k / grid][k % grid].item<std::uint8_t>()) continue;
        const std::int64_t x0 = at_col(1) + ((k % grid) * W / grid) * scale,
                           x1 = at_col(1) + ((k % grid + 1) * W / grid) * scale;
        const std::int64_t y0 = y + ((k / grid) * H / grid) * scale,
                           y1 = y + ((k / grid + 1) * H / grid) * scale;
        canvas.fill(x0, y0, x1 - x0, t, kWhite);
        canvas.fill(x0, y1 - t, x1 - x0, t, kWhite);
        canvas.fill(x0, y0, t, y1 - y0, kWhite);
        canvas.fill(x1 - t, y0, t, y1 - y0, kWhite);
      }
      caption(1, "N=" + std::to_string(o.attentive.top_n));
    }
    canvas.draw_image(at_col(2), y, display(x[r]), scale);
    for (std::size_t k = 0; k < mixed.size(); ++k) {
      const auto c = static_cast<std::int64_t>(3 + k);
      canvas.draw_image(at_col(c), y, display(mixed[k].second->images[r]), scale);
      caption(c, lambda_of(*mixed[k].second));
    }
  }
  (void)C;
  return canvas;
}

}  // namespace acm::augment
