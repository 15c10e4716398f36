#include "augment/fmix.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "augment/none.h"
#include "common/json_reader.h"

namespace acm::augment {

FMixMixer::FMixMixer(double alpha, double decay, double prob) : alpha_(alpha), decay_(decay), prob_(prob) {
  if (!(alpha > 0)) throw std::invalid_argument("fmix: alpha must be > 0");
  if (!(decay > 0)) throw std::invalid_argument("fmix: decay must be > 0");
  if (!(prob >= 0 && prob <= 1)) throw std::invalid_argument("fmix: prob must be in [0, 1]");
}

std::vector<std::int64_t> FMixMixer::param_shape(std::int64_t h, std::int64_t w) {
  return {h, w / 2 + (w % 2 == 1 ? 2 : 1), 2};
}

at::Tensor FMixMixer::low_freq_image(const at::Tensor& param, double decay, std::int64_t h, std::int64_t w) {
  const std::int64_t f = param.size(1);
  // numpy.fft.fftfreq: 0, 1, .., then the negative frequencies, over n.
  const auto fftfreq = [](std::int64_t n, std::int64_t keep) {
    at::Tensor k = at::arange(n, at::kDouble);
    k = at::where(k < (n + 1) / 2, k, k - n) / static_cast<double>(n);
    return k.slice(0, 0, keep);
  };
  const at::Tensor fy = fftfreq(h, h).unsqueeze(1), fx = fftfreq(w, f).unsqueeze(0);
  const at::Tensor freqs = at::sqrt(fx * fx + fy * fy);
  const at::Tensor scale =
      1.0 / at::pow(at::clamp_min(freqs, 1.0 / static_cast<double>(std::max(w, h))), decay);
  const at::Tensor spectrum = at::complex(scale * param.select(2, 0), scale * param.select(2, 1));
  at::Tensor mask = at::fft_irfftn(spectrum, at::IntArrayRef{h, w}, at::IntArrayRef{0, 1});
  mask = mask - mask.min();
  return mask / mask.max();
}

at::Tensor FMixMixer::donor_mask(const at::Tensor& grey, std::int64_t keep) {
  const std::int64_t h = grey.size(0), w = grey.size(1);
  at::Tensor mask = at::ones({h * w}, at::kFloat);
  if (keep > 0) {
    const at::Tensor top = std::get<1>(grey.reshape({-1}).topk(keep));
    mask.index_fill_(0, top, 0.0);
  }
  return mask.view({1, 1, h, w});
}

MixedBatch FMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                             at::Generator& gen, const BatchInfo&) const {
  const std::int64_t H = images.size(2), W = images.size(3);
  // Draw order fixed whatever the outcome.
  const double u = sample_uniform(gen);
  const double kappa = sample_beta(alpha_, alpha_, gen);
  const at::Tensor param = at::normal(0.0, 1.0, param_shape(H, W), gen, at::kDouble);
  const bool round_up = sample_uniform(gen) > 0.5;
  const at::Tensor partner = random_pairing(images.size(0), gen);
  if (u >= prob_) return NoneMixer().mix(images, labels, num_classes, gen);
  const double kept = kappa * static_cast<double>(H * W);
  const auto keep = static_cast<std::int64_t>(round_up ? std::ceil(kept) : std::floor(kept));
  return paste_mask(images, labels, num_classes, partner, donor_mask(low_freq_image(param, decay_, H, W), keep));
}

Method fmix_method() {
  Method m;
  m.name = m.label = "fmix";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.params["alpha"] = r.get_double("alpha", 1.0, 1e-6, 1e6);
    s.params["decay"] = r.get_double("decay", 3.0, 1e-3, 100);
    s.params["prob"] = r.get_double("prob", 1.0, 0, 1);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) {
    for (const char* k : {"alpha", "decay", "prob"}) j[k] = s.params.at(k);
  };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<FMixMixer>(s.params.at("alpha").get<double>(), s.params.at("decay").get<double>(),
                                       s.params.at("prob").get<double>());
  };
  return m;
}

}  // namespace acm::augment
