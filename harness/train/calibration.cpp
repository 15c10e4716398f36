#include "harness/train/calibration.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>

namespace acm::train {

CalibrationSums::CalibrationSums(int bins) : bins_(bins) {
  if (bins < 1) throw std::invalid_argument("calibration: at least one bin");
}

void CalibrationSums::add(const at::Tensor& logits, const at::Tensor& labels) {
  const at::Tensor log_p = at::log_softmax(logits.to(at::kFloat), 1);
  const at::Tensor p = log_p.exp();
  const auto [confidence, predicted] = p.max(1);
  const at::Tensor y = labels.to(logits.device()).reshape({-1, 1});
  const at::Tensor nll = -log_p.gather(1, y).to(at::kDouble).sum();
  const at::Tensor brier = (p - at::zeros_like(p).scatter_(1, y, 1.0)).to(at::kDouble).pow(2).sum();
  // Bin b holds confidences in (b/B, (b+1)/B]: ceil(c·B) − 1.
  // A diverged model's NaN confidence goes to the first bin (its sums then say NaN), never to an index
  // outside the bins.
  const at::Tensor bin =
      (at::nan_to_num(confidence.to(at::kDouble), 0.0, 1.0, 0.0) * bins_).ceil().sub(1).clamp(0, bins_ - 1).to(at::kLong);
  const at::Tensor hit = predicted.eq(y.reshape({-1})).to(at::kDouble);
  at::Tensor batch = at::zeros({3 + 3 * bins_}, logits.options().dtype(at::kDouble));
  batch.narrow(0, 0, 1).copy_(nll.reshape({1}));
  batch.narrow(0, 1, 1).copy_(brier.reshape({1}));
  batch.narrow(0, 2, 1).fill_(static_cast<double>(labels.size(0)));
  batch.narrow(0, 3, bins_).index_add_(0, bin, at::ones_like(hit));
  batch.narrow(0, 3 + bins_, bins_).index_add_(0, bin, confidence.to(at::kDouble));
  batch.narrow(0, 3 + 2 * bins_, bins_).index_add_(0, bin, hit);
  if (sums_.defined()) {
    sums_.add_(batch);
  } else {
    sums_ = batch;
  }
}

at::Tensor CalibrationSums::sums() const {
  return sums_.defined() ? sums_.to(at::kCPU).contiguous().clone() : at::zeros({3 + 3 * bins_}, at::kDouble);
}

Calibration CalibrationSums::finish(const at::Tensor& sums, int bins) {
  const at::Tensor s = sums.to(at::kCPU).to(at::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  Calibration c;
  c.images = v[2];
  const double n = std::max(v[2], 1.0);
  c.nll = v[0] / n;
  c.brier = v[1] / n;
  for (int b = 0; b < bins; ++b) {
    Calibration::Bin bin;
    bin.lower = static_cast<double>(b) / bins;
    bin.upper = static_cast<double>(b + 1) / bins;
    bin.count = v[3 + b];
    if (bin.count > 0) {
      bin.confidence = v[3 + bins + b] / bin.count;
      bin.accuracy = v[3 + 2 * bins + b] / bin.count;
      c.ece += bin.count / n * std::abs(bin.accuracy - bin.confidence);
    }
    c.bins.push_back(bin);
  }
  return c;
}

nlohmann::json Calibration::to_json() const {
  nlohmann::json bins_json = nlohmann::json::array();
  for (const Bin& b : bins) {
    bins_json.push_back({{"lower", b.lower}, {"upper", b.upper}, {"count", b.count}, {"confidence", b.confidence},
                         {"accuracy", b.accuracy}});
  }
  return {{"ece", ece}, {"nll", nll}, {"brier", brier}, {"images", images}, {"bins", bins_json}};
}

}  // namespace acm::train
