// How well a classifier's confidence matches its accuracy on the test set, as the mixup/CutMix literature
// measures it (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017):
//   ECE    Σ_b (n_b / N) · |accuracy_b − confidence_b| over B equal-width bins of the top-1 confidence, each bin
//          (lower, upper] as in Guo et al.'s code (B = 15 by default);
//   NLL    the mean negative log-likelihood of the true class;
//   Brier  the mean over images of Σ_k (p_k − 1[k = y])² (Brier, 1950; the multi-class form);
// and each bin's count, mean confidence and accuracy: a reliability diagram. Softmax in float32 from the
// logits, sums in float64 on the logits' device (no host synchronisation per batch); the sums add across
// batches and ranks, so a sharded evaluation gives the whole test set's figures.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::train {

inline constexpr int kCalibrationBins = 15;

struct Calibration {
  struct Bin {
    double lower = 0, upper = 0, count = 0, confidence = 0, accuracy = 0;  // means over the bin's images
  };
  double ece = 0, nll = 0, brier = 0, images = 0;
  std::vector<Bin> bins;
  nlohmann::json to_json() const;
};

class CalibrationSums {
 public:
  explicit CalibrationSums(int bins = kCalibrationBins);
  // Adds a batch: `logits` B×K (any float type and device), `labels` B int64.
  void add(const at::Tensor& logits, const at::Tensor& labels);
  // The sums as one float64 tensor on the CPU ([nll, brier, images, counts..., confidences..., hits...]), to
  // all-reduce over ranks; finish() takes it back.
  at::Tensor sums() const;
  int bins() const { return bins_; }
  static Calibration finish(const at::Tensor& sums, int bins);

 private:
  int bins_;
  at::Tensor sums_;  // on the first batch's device
};

}  // namespace acm::train
