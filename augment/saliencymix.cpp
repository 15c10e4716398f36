#include "augment/saliencymix.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "augment/box.h"
#include "augment/none.h"
#include "common/json_reader.h"

namespace acm::augment {
namespace {

// OpenCV's BORDER_DEFAULT (reflect without repeating the edge) is torch's "reflect" padding.
at::Tensor pad_reflect(const at::Tensor& x, std::int64_t r) { return at::pad(x, {r, r, r, r}, "reflect"); }

// A separable normalised Gaussian of `size` taps and σ, as cv::getGaussianKernel for float64.
at::Tensor gaussian_blur(const at::Tensor& x, std::int64_t size, double sigma) {
  std::vector<double> taps(static_cast<std::size_t>(size));
  double sum = 0;
  for (std::int64_t i = 0; i < size; ++i) {
    const double d = static_cast<double>(i - (size - 1) / 2);
    taps[static_cast<std::size_t>(i)] = std::exp(-d * d / (2 * sigma * sigma));
    sum += taps[static_cast<std::size_t>(i)];
  }
  for (double& t : taps) t /= sum;
  const at::Tensor k = at::tensor(taps, at::kDouble).to(x.device());
  const std::int64_t r = size / 2;
  const at::Tensor padded = pad_reflect(x.unsqueeze(1), r);
  const at::Tensor rows = at::conv2d(padded, k.view({1, 1, size, 1}));
  return at::conv2d(rows, k.view({1, 1, 1, size})).squeeze(1);
}

}  // namespace

SaliencyMixMixer::SaliencyMixMixer(double alpha, double prob) : alpha_(alpha), prob_(prob) {
  if (!(alpha > 0)) throw std::invalid_argument("saliencymix: alpha must be > 0");
  if (!(prob >= 0 && prob <= 1)) throw std::invalid_argument("saliencymix: prob must be in [0, 1]");
}

at::Tensor SaliencyMixMixer::saliency(const at::Tensor& images, std::int64_t work_size) {
  const std::int64_t H = images.size(2), W = images.size(3);
  at::Tensor x = images.to(at::kDouble);
  at::Tensor grey = x.size(1) == 3 ? 0.114 * x.select(1, 0) + 0.587 * x.select(1, 1) + 0.299 * x.select(1, 2)
                                   : x.select(1, 0);
  grey = at::upsample_bilinear2d(grey.unsqueeze(1), {work_size, work_size}, false).squeeze(1);
  const at::Tensor spectrum = at::fft_fft2(grey);
  // A zero coefficient would give log 0; clamp it far below any real image's.
  const at::Tensor log_amp = at::log(at::abs(spectrum).clamp_min(1e-300));
  const at::Tensor blurred = at::avg_pool2d(pad_reflect(log_amp.unsqueeze(1), 1), {3, 3}, {1, 1}).squeeze(1);
  const at::Tensor residual = at::polar(at::exp(log_amp - blurred), at::angle(spectrum));
  at::Tensor map = gaussian_blur(at::abs(at::fft_ifft2(residual)), 5, 8.0).square();
  map = map / std::get<0>(map.flatten(1).max(1)).view({-1, 1, 1});
  return at::upsample_bilinear2d(map.unsqueeze(1), {H, W}, false).squeeze(1);
}

at::Tensor SaliencyMixMixer::peaks(const at::Tensor& maps) {
  const std::int64_t W = maps.size(2);
  const at::Tensor flat = maps.flatten(1).argmax(1).to(at::kCPU);
  return at::stack({flat.div(W, "floor"), flat.remainder(W)}, 1);
}

MixedBatch SaliencyMixMixer::apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                                   const at::Tensor& partner, const at::Tensor& peak, double kappa) {
  const std::int64_t b = images.size(0), H = images.size(2), W = images.size(3);
  const double ratio = std::sqrt(1.0 - kappa);
  const std::int64_t h = static_cast<std::int64_t>(H * ratio), w = static_cast<std::int64_t>(W * ratio);
  at::Tensor mask = at::zeros({b, 1, H, W}, at::kFloat);
  const at::Tensor p = peak.contiguous();
  for (std::int64_t i = 0; i < b; ++i) {
    const Box box = centred_box(p[i][0].item<std::int64_t>(), p[i][1].item<std::int64_t>(), h, w, H, W);
    if (box.area() > 0) mask[i].slice(1, box.y0, box.y1).slice(2, box.x0, box.x1).fill_(1.0);
  }
  return paste_mask(images, labels, num_classes, partner, mask);
}

MixedBatch SaliencyMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                                    at::Generator& gen, const BatchInfo&) const {
  // Draw order fixed whatever the outcome, so one batch's draws never shift the next batch's.
  const double u = sample_uniform(gen);
  const double kappa = sample_beta(alpha_, alpha_, gen);
  const at::Tensor partner = random_pairing(images.size(0), gen);
  if (u >= prob_) return NoneMixer().mix(images, labels, num_classes, gen);
  const at::Tensor donor_peaks = peaks(saliency(images)).index_select(0, partner);
  return apply(images, labels, num_classes, partner, donor_peaks, kappa);
}

Method saliencymix_method() {
  Method m;
  m.name = m.label = "saliencymix";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.params["alpha"] = r.get_double("alpha", 1.0, 1e-6, 1e6);
    s.params["prob"] = r.get_double("prob", 0.5, 0, 1);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) {
    j.update({{"alpha", s.params.at("alpha")}, {"prob", s.params.at("prob")}});
  };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<SaliencyMixMixer>(s.params.at("alpha").get<double>(),
                                              s.params.at("prob").get<double>());
  };
  return m;
}

}  // namespace acm::augment
