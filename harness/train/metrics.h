// Per-epoch metrics and the run's final summary (best — the headline —, last, and median of the last 5
// epochs).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::train {

struct EpochMetrics {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_top1 = 0;
  double test_top1 = 0, test_top5 = 0;
  double lr = 0;  // at the epoch's last step
  double images_per_s = 0, seconds = 0;
  // Calibration on the test set (calibration.h), when the run measures it (results from before have none).
  bool has_calibration = false;
  double test_ece = 0, test_nll = 0, test_brier = 0;
  // Robustness (robustness.h) measured after this epoch: every eval.robustness_every epochs and after the last;
  // null otherwise.
  nlohmann::json robustness;
};

nlohmann::json to_json(const EpochMetrics& m);
EpochMetrics epoch_from_json(const nlohmann::json& j);

// {"headline": {"metric": "best_test_top1", "value": ...}, "best_test_top1", "best_epoch", "best_test_top5",
//  "last_test_top1", "last_test_top5", "median5_test_top1", "median5_test_top5"}, and the last epoch's
//  "last_test_ece", "last_test_nll", "last_test_brier" where it measured them
nlohmann::json final_metrics(const std::vector<EpochMetrics>& epochs);

double median_of_last(const std::vector<double>& values, std::size_t k);

}  // namespace acm::train
