#include "harness/data/resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace acm::data {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's PRECISION_BITS for 8-bit images
double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

}  // namespace

ResampleTaps resample_taps(const ResampleAxis& a) {
  const double scale = (a.box1 - a.box0) / static_cast<double>(a.total);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's radius is 1 at unit scale
  const double inv_scale = 1.0 / filter_scale;  // multiplied, not divided, as PIL does: the same doubles
  const std::int64_t n = a.clip1 - a.clip0;
  // PIL's window [xmin, xmax) of each output sample, relative to clip0 (as PIL sees a crop).
  auto window = [&](std::int64_t k, double* center) {
    *center = a.box0 - static_cast<double>(a.clip0) + (static_cast<double>(a.first + k) + 0.5) * scale;
    const std::int64_t xmin = std::max<std::int64_t>(0, static_cast<std::int64_t>(*center - support + 0.5));
    const std::int64_t xmax = std::min<std::int64_t>(n, static_cast<std::int64_t>(*center + support + 0.5));
    return std::pair<std::int64_t, std::int64_t>{xmin, std::max(xmin, xmax)};
  };
  std::int64_t width = 1;
  for (std::int64_t k = 0; k < a.count; ++k) {
    double center = 0;
    const auto [lo, hi] = window(k, &center);
    width = std::max(width, hi - lo);
  }
  width = std::min(width, std::max<std::int64_t>(n, 1));
  ResampleTaps t;
  t.width = width;
  t.start.resize(static_cast<std::size_t>(a.count));
  t.weight.assign(static_cast<std::size_t>(a.count * width), 0);
  t.lo = a.clip1;
  t.hi = a.clip0;
  double w[64];  // a window is at most 2·support + 1 wide; wider ones (shrinking over 31×) take the slow path
  std::vector<double> wide;
  for (std::int64_t k = 0; k < a.count; ++k) {
    double center = 0;
    const auto [xmin, xmax] = window(k, &center);
    double* wk = xmax - xmin <= 64 ? w : (wide.resize(static_cast<std::size_t>(xmax - xmin)), wide.data());
    double total = 0;
    for (std::int64_t x = xmin; x < xmax; ++x) {
      wk[x - xmin] = triangle((static_cast<double>(x) - center + 0.5) * inv_scale);
      total += wk[x - xmin];
    }
    // A window near the end is shifted left so all `width` taps stay in range; its leading taps weigh 0.
    const std::int64_t start = std::max<std::int64_t>(0, std::min(xmin, n - width));
    const std::int64_t shift = xmin - start;
    for (std::int64_t x = 0; x < xmax - xmin; ++x) {
      const double v = (total != 0.0 ? wk[x] / total : wk[x]) * (1 << kPrecisionBits);
      t.weight[static_cast<std::size_t>(k * width + shift + x)] = static_cast<std::int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
    }
    t.start[static_cast<std::size_t>(k)] = start + a.clip0;
    t.lo = std::min(t.lo, start + a.clip0);
    t.hi = std::max(t.hi, start + a.clip0 + width);
  }
  return t;
}

ResampleAxis scale_axis(const ResampleAxis& a, std::int64_t n, std::int64_t scaled_n) {
  if (scaled_n == n) return a;
  const double f = static_cast<double>(scaled_n) / static_cast<double>(n);
  ResampleAxis s = a;
  s.box0 = a.box0 * f;
  s.box1 = a.box1 * f;
  s.clip0 = static_cast<std::int64_t>(std::floor(static_cast<double>(a.clip0) * f));
  s.clip1 = std::min<std::int64_t>(scaled_n, static_cast<std::int64_t>(std::ceil(static_cast<double>(a.clip1) * f)));
  s.clip1 = std::max(s.clip1, s.clip0 + 1);
  return s;
}

namespace {

using v4f = float __attribute__((vector_size(16)));

// Float weights of one axis, PIL's fixed-point values scaled back (so rounding stays PIL's up to float error).
void float_weights(const ResampleTaps& t, std::vector<float>& w) {
  w.resize(t.weight.size());
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = static_cast<float>(t.weight[k]) / static_cast<float>(1 << kPrecisionBits);
}

// One intermediate row: output pixel x = sum over the taps of source pixel start[x] - lo + k times weight k. The
// tap count is a compile-time constant for the common widths (2 when enlarging, 3-9 when shrinking up to 4x).
template <int K>
__attribute__((always_inline)) inline void horizontal_fixed(const v4f* src, const ResampleTaps& t, const v4f* w, v4f* dst) {
  const std::int64_t n = static_cast<std::int64_t>(t.start.size());
  for (std::int64_t x = 0; x < n; ++x) {
    const v4f* p = src + (t.start[static_cast<std::size_t>(x)] - t.lo);
    const v4f* wk = w + x * K;
    v4f a = p[0] * wk[0];
    for (int k = 1; k < K; ++k) a += p[k] * wk[k];
    dst[x] = a;
  }
}

__attribute__((always_inline)) inline void horizontal_row(const v4f* src, const ResampleTaps& t, const v4f* w, v4f* dst) {
  switch (t.width) {
    case 1: return horizontal_fixed<1>(src, t, w, dst);
    case 2: return horizontal_fixed<2>(src, t, w, dst);
    case 3: return horizontal_fixed<3>(src, t, w, dst);
    case 4: return horizontal_fixed<4>(src, t, w, dst);
    case 5: return horizontal_fixed<5>(src, t, w, dst);
    case 6: return horizontal_fixed<6>(src, t, w, dst);
    case 7: return horizontal_fixed<7>(src, t, w, dst);
    case 8: return horizontal_fixed<8>(src, t, w, dst);
    case 9: return horizontal_fixed<9>(src, t, w, dst);
    default: break;
  }
  const std::int64_t n = static_cast<std::int64_t>(t.start.size()), kw = t.width;
  for (std::int64_t x = 0; x < n; ++x) {
    const v4f* p = src + (t.start[static_cast<std::size_t>(x)] - t.lo);
    const v4f* wk = w + x * kw;
    v4f a = p[0] * wk[0];
    for (std::int64_t k = 1; k < kw; ++k) a += p[k] * wk[k];
    dst[x] = a;
  }
}

inline std::uint8_t to_byte(float v) {
  v += 0.5f;  // PIL rounds halves up
  return static_cast<std::uint8_t>(v <= 0.f ? 0 : (v >= 255.f ? 255 : static_cast<int>(v)));
}

}  // namespace

// On x86-64 a second copy for AVX2 + FMA (chosen at load time by the CPU, so the binary still runs anywhere):
// the vertical pass then works on 8 floats at a time with fused multiply-adds.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ACM_RESAMPLE_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ACM_RESAMPLE_CLONES
#endif

ACM_RESAMPLE_CLONES
void resample_rgbx(const std::uint8_t* rows, std::int64_t stride, std::int64_t col0, const ResampleTaps& tx,
                   const ResampleTaps& ty, std::uint8_t* out, std::vector<std::uint8_t>& scratch) {
  const std::int64_t out_w = static_cast<std::int64_t>(tx.start.size());
  const std::int64_t out_h = static_cast<std::int64_t>(ty.start.size());
  const std::int64_t n_rows = ty.hi - ty.lo, line = out_w * 4;
  // Intermediate rows in float (4 lanes a pixel), then one accumulator row; 16-byte aligned.
  const std::size_t need = static_cast<std::size_t>((n_rows + 1) * line) * sizeof(float) + 16;
  if (scratch.size() < need) scratch.resize(need);
  auto* mid = reinterpret_cast<float*>((reinterpret_cast<std::uintptr_t>(scratch.data()) + 15) & ~std::uintptr_t{15});
  float* acc = mid + n_rows * line;
  thread_local std::vector<float> wy;
  float_weights(ty, wy);
  // Horizontal weights broadcast to 4 lanes, and one source row in float: the inner loop is then a load, a
  // multiply and an add per tap (converting bytes inside it cost more than the arithmetic).
  const std::int64_t cols = tx.hi - tx.lo;
  thread_local std::vector<v4f> wx, src_row;  // reused: no allocation per image once grown
  wx.resize(tx.weight.size());
  src_row.resize(static_cast<std::size_t>(cols));
  for (std::size_t k = 0; k < wx.size(); ++k) {
    const float v = static_cast<float>(tx.weight[k]) / static_cast<float>(1 << kPrecisionBits);
    wx[k] = v4f{v, v, v, v};
  }
  std::int64_t done = 0;  // intermediate rows computed so far: made in order, as the vertical taps reach them
  const std::int64_t plane = out_w * out_h;
  for (std::int64_t y = 0; y < out_h; ++y) {
    const std::int64_t first = ty.start[static_cast<std::size_t>(y)] - ty.lo;
    for (; done < std::min(n_rows, first + ty.width); ++done) {
      const std::uint8_t* src = rows + done * stride + (tx.lo - col0) * 4;
      auto* f = reinterpret_cast<float*>(src_row.data());
      for (std::int64_t i = 0; i < cols * 4; ++i) f[i] = static_cast<float>(src[i]);
      horizontal_row(src_row.data(), tx, wx.data(), reinterpret_cast<v4f*>(mid + done * line));
    }
    // Vertical: a sum of `width` whole intermediate rows (contiguous, vectorised).
    const float* w = wy.data() + y * ty.width;
    std::fill(acc, acc + line, 0.f);
    for (std::int64_t k = 0; k < ty.width; ++k) {
      const float wk = w[k];
      if (wk == 0.f) continue;
      const float* r = mid + (first + k) * line;
      for (std::int64_t i = 0; i < line; ++i) acc[i] += wk * r[i];
    }
    std::uint8_t* o = out + y * out_w;
    for (std::int64_t x = 0; x < out_w; ++x) {
      o[x] = to_byte(acc[4 * x]);
      o[plane + x] = to_byte(acc[4 * x + 1]);
      o[2 * plane + x] = to_byte(acc[4 * x + 2]);
    }
  }
}

}  // namespace acm::data
