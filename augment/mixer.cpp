#include "augment/mixer.h"

#include <ATen/ATen.h>

namespace acm::augment {

at::Tensor one_hot_targets(const at::Tensor& labels, std::int64_t num_classes) {
  return at::zeros({labels.size(0), num_classes}, labels.options().dtype(at::kFloat))
      .scatter_(1, labels.unsqueeze(1), 1.0);
}

at::Tensor soft_targets(const at::Tensor& labels, const at::Tensor& partner, const at::Tensor& lambda,
                        std::int64_t num_classes) {
  const at::Tensor own = one_hot_targets(labels, num_classes);
  const at::Tensor donor = own.index_select(0, partner.to(own.device()));
  const at::Tensor lam = lambda.to(own.options()).unsqueeze(1);
  return lam * donor + (1 - lam) * own;
}

MixedBatch paste_mask(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                      const at::Tensor& partner, const at::Tensor& mask) {
  const std::int64_t b = images.size(0);
  MixedBatch out;
  out.partner = partner;
  out.lambda = mask.to(at::kDouble).mean({1, 2, 3}).expand({b}).contiguous();
  out.mask = mask.expand({b, 1, images.size(2), images.size(3)}).to(images.device()).contiguous();
  const at::Tensor donor = images.index_select(0, partner.to(images.device()));
  // where(), not a blend: every pixel is exactly the donor's or the recipient's.
  out.images = at::where(out.mask.to(at::kBool), donor, images);
  out.targets = soft_targets(labels, partner, out.lambda, num_classes);
  return out;
}

at::Tensor random_pairing(std::int64_t n, at::Generator& gen) {
  return at::randperm(n, gen, at::TensorOptions().dtype(at::kLong));
}

double sample_uniform(at::Generator& gen) {
  return at::empty({1}, at::kDouble).uniform_(0, 1, gen).item<double>();
}

std::int64_t sample_below(std::int64_t n, at::Generator& gen) {
  return at::empty({1}, at::kLong).random_(0, n, gen).item<std::int64_t>();
}

double sample_beta(double a, double b, at::Generator& gen) {
  const at::Tensor ga = at::_standard_gamma(at::full({1}, a, at::kDouble), gen);
  const at::Tensor gb = at::_standard_gamma(at::full({1}, b, at::kDouble), gen);
  const double x = ga.item<double>(), y = gb.item<double>();
  return x + y > 0 ? x / (x + y) : 0.5;
}

at::Tensor soft_cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  return -(targets * at::log_softmax(logits, 1)).sum(1).mean();
}

}  // namespace acm::augment
