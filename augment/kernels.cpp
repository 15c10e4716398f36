#include "augment/kernels.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace acm::augment {

namespace {

bool fast_path(const at::Tensor& images) {
  return images.device().is_cpu() && images.is_contiguous() && images.dim() == 4 &&
         (images.scalar_type() == at::kFloat || images.scalar_type() == at::kDouble);
}

at::Tensor checked_partner(const at::Tensor& partner, std::int64_t b) {
  const at::Tensor p = partner.to(at::kCPU, at::kLong).contiguous();
  if (p.dim() != 1 || p.size(0) != b)
    throw std::invalid_argument("mixing: partner must hold one index per sample");
  const std::int64_t* pp = p.const_data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < b; ++i) {
    if (pp[i] < 0 || pp[i] >= b) throw std::invalid_argument("mixing: partner index out of range");
  }
  return p;
}

// A bitwise select, so that the compiler vectorises it: out = donor where the row's word is all ones.
template <typename T, typename U>
void paste_kernel(const T* src, const std::uint8_t* mask, const std::int64_t* partner, T* dst, std::int64_t B,
                  std::int64_t C, std::int64_t H, std::int64_t W) {
  static_assert(sizeof(T) == sizeof(U));
  at::parallel_for(0, B, 8, [&](std::int64_t b0, std::int64_t b1) {
    std::vector<U> sel(static_cast<std::size_t>(W));
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t d = partner[b];
      for (std::int64_t y = 0; y < H; ++y) {
        const std::uint8_t* m = mask + (b * H + y) * W;
        std::int64_t set = 0;
        U* sp = sel.data();
        for (std::int64_t x = 0; x < W; ++x) {  // branch-free, so that it vectorises
          const U bit = static_cast<U>(m[x] != 0);
          sp[x] = U(0) - bit;
          set += static_cast<std::int64_t>(bit);
        }
        const bool any = set > 0, all = set == W;
        for (std::int64_t c = 0; c < C; ++c) {
          const std::int64_t off = ((b * C + c) * H + y) * W;
          const T* rec = src + off;
          const T* don = src + ((d * C + c) * H + y) * W;
          T* out = dst + off;
          if (!any || all) {
            std::memcpy(out, all ? don : rec, static_cast<std::size_t>(W) * sizeof(T));
            continue;
          }
          const U* r = reinterpret_cast<const U*>(rec);
          const U* dn = reinterpret_cast<const U*>(don);
          U* o = reinterpret_cast<U*>(out);
          const U* s = sel.data();
          for (std::int64_t x = 0; x < W; ++x) o[x] = (dn[x] & s[x]) | (r[x] & ~s[x]);
        }
      }
    }
  });
}

template <typename T>
void blend_kernel(const T* src, const double* lambda, const std::int64_t* partner, T* dst, std::int64_t B,
                  std::int64_t n) {
  at::parallel_for(0, B, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      // λ rounded to T first, then 1 − λ in T: what images·(1 − λ) does with λ as a T tensor.
      const T take = static_cast<T>(lambda[b]), keep = static_cast<T>(1) - take;
      const T* rec = src + b * n;
      const T* don = src + partner[b] * n;
      T* out = dst + b * n;
      for (std::int64_t k = 0; k < n; ++k) {
        const T a = rec[k] * keep;  // two rounded products, then a rounded sum: no fused multiply-add
        const T e = don[k] * take;
        out[k] = a + e;
      }
    }
  });
}

}  // namespace

at::Tensor paste_masked_reference(const at::Tensor& images, const at::Tensor& partner,
                                  const at::Tensor& mask) {
  const at::Tensor donors = images.index_select(0, partner.to(images.device()));
  return at::where(mask.to(images.device()).ne(0), donors, images);
}

at::Tensor paste_masked(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& mask) {
  if (images.dim() != 4 || mask.dim() != 4 || mask.size(0) != images.size(0) || mask.size(1) != 1 ||
      mask.size(2) != images.size(2) || mask.size(3) != images.size(3) || partner.size(0) != images.size(0)) {
    throw std::invalid_argument("paste_masked: need images B×C×H×W, mask B×1×H×W and partner B");
  }
  if (!fast_path(images)) return paste_masked_reference(images, partner, mask);
  const std::int64_t B = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  const at::Tensor p = checked_partner(partner, B);
  const at::Tensor m = mask.scalar_type() == at::kByte ? mask.to(at::kCPU).contiguous()
                                                       : mask.to(at::kCPU).ne(0).view(at::kByte).contiguous();
  at::Tensor out = at::empty_like(images);
  if (images.scalar_type() == at::kFloat) {
    paste_kernel<float, std::uint32_t>(images.const_data_ptr<float>(), m.const_data_ptr<std::uint8_t>(),
                                       p.const_data_ptr<std::int64_t>(), out.data_ptr<float>(), B, C, H, W);
  } else {
    paste_kernel<double, std::uint64_t>(images.const_data_ptr<double>(), m.const_data_ptr<std::uint8_t>(),
                                        p.const_data_ptr<std::int64_t>(), out.data_ptr<double>(), B, C, H, W);
  }
  return out;
}

at::Tensor blend_pairs(const at::Tensor& images, const at::Tensor& partner, const at::Tensor& lambda) {
  const std::int64_t B = images.size(0);
  if (!fast_path(images)) {
    const at::Tensor lam = lambda.to(images.options()).view({-1, 1, 1, 1});
    return images * (1 - lam) + images.index_select(0, partner.to(images.device())) * lam;
  }
  const at::Tensor p = checked_partner(partner, B);
  const at::Tensor l = lambda.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor out = at::empty_like(images);
  const std::int64_t n = images.numel() / std::max<std::int64_t>(B, 1);
  if (images.scalar_type() == at::kFloat) {
    blend_kernel(images.const_data_ptr<float>(), l.const_data_ptr<double>(), p.const_data_ptr<std::int64_t>(),
                 out.data_ptr<float>(), B, n);
  } else {
    blend_kernel(images.const_data_ptr<double>(), l.const_data_ptr<double>(),
                 p.const_data_ptr<std::int64_t>(), out.data_ptr<double>(), B, n);
  }
  return out;
}

at::Tensor erase_boxes(const at::Tensor& images, const std::vector<std::vector<Box>>& boxes) {
  at::Tensor out = images.clone();
  if (fast_path(images)) {
    const std::int64_t C = images.size(1), H = images.size(2), W = images.size(3);
    const std::size_t esz = images.element_size();
    char* base = static_cast<char*>(out.data_ptr());
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      for (const Box& b : boxes[i]) {
        if (b.area() <= 0) continue;
        for (std::int64_t c = 0; c < C; ++c) {
          for (std::int64_t y = b.y0; y < b.y1; ++y) {
            const std::int64_t row = ((static_cast<std::int64_t>(i) * C + c) * H + y) * W;
            std::memset(base + static_cast<std::size_t>(row + b.x0) * esz, 0,
                        static_cast<std::size_t>(b.x1 - b.x0) * esz);
          }
        }
      }
    }
    return out;  // all-bits-zero is +0.0 in IEEE float and double
  }
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    for (const Box& b : boxes[i]) {
      if (b.area() > 0) {
        out[static_cast<std::int64_t>(i)].slice(1, b.y0, b.y1).slice(2, b.x0, b.x1).zero_();
      }
    }
  }
  return out;
}

}  // namespace acm::augment
