#include "harness/train/metrics.h"

#include <algorithm>
#include <cmath>

namespace acm::train {

nlohmann::json to_json(const EpochMetrics& m) {
  nlohmann::json j = {{"epoch", m.epoch},
                      {"train_loss", m.train_loss},
                      {"train_top1", m.train_top1},
                      {"test_top1", m.test_top1},
                      {"test_top5", m.test_top5},
                      {"lr", m.lr},
                      {"images_per_s", m.images_per_s},
                      {"seconds", m.seconds}};
  if (m.has_calibration) j.update({{"test_ece", m.test_ece}, {"test_nll", m.test_nll}, {"test_brier", m.test_brier}});
  if (!m.robustness.is_null()) j["robustness"] = m.robustness;
  return j;
}

EpochMetrics epoch_from_json(const nlohmann::json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<std::int64_t>();
  m.train_loss = j.at("train_loss").get<double>();
  m.train_top1 = j.at("train_top1").get<double>();
  m.test_top1 = j.at("test_top1").get<double>();
  m.test_top5 = j.at("test_top5").get<double>();
  m.lr = j.at("lr").get<double>();
  m.images_per_s = j.at("images_per_s").get<double>();
  m.seconds = j.at("seconds").get<double>();
  if (j.contains("robustness")) m.robustness = j.at("robustness");
  if (j.contains("test_ece")) {
    m.has_calibration = true;
    // A diverged model's figures are NaN, which JSON writes as null.
    auto number = [&](const char* k) { return j.at(k).is_number() ? j.at(k).get<double>() : std::nan(""); };
    m.test_ece = number("test_ece");
    m.test_nll = number("test_nll");
    m.test_brier = number("test_brier");
  }
  return m;
}

double median_of_last(const std::vector<double>& values, std::size_t k) {
  if (values.empty()) return 0;
  std::vector<double> tail(values.end() - static_cast<std::ptrdiff_t>(std::min(k, values.size())),
                           values.end());
  std::sort(tail.begin(), tail.end());
  const std::size_t n = tail.size();
  return n % 2 ? tail[n / 2] : (tail[n / 2 - 1] + tail[n / 2]) / 2;
}

nlohmann::json final_metrics(const std::vector<EpochMetrics>& epochs) {
  if (epochs.empty()) return nlohmann::json::object();
  std::vector<double> top1, top5;
  std::size_t best = 0;
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    top1.push_back(epochs[i].test_top1);
    top5.push_back(epochs[i].test_top5);
    if (epochs[i].test_top1 > epochs[best].test_top1) best = i;  // first epoch reaching the best value
  }
  const double best_top1 = epochs[best].test_top1;
  // The headline is the best test top-1 over epochs, as the CutMix code reports; last and median-of-last-5
  // are the less optimistic figures next to it.
  nlohmann::json f = {{"headline", {{"metric", "best_test_top1"}, {"value", best_top1}}},
                      {"best_test_top1", best_top1},
                      {"best_epoch", epochs[best].epoch},
                      {"best_test_top5", *std::max_element(top5.begin(), top5.end())},
                      {"last_test_top1", top1.back()},
                      {"last_test_top5", top5.back()},
                      {"median5_test_top1", median_of_last(top1, 5)},
                      {"median5_test_top5", median_of_last(top5, 5)}};
  const EpochMetrics& last = epochs.back();
  if (last.has_calibration) {
    f.update({{"last_test_ece", last.test_ece}, {"last_test_nll", last.test_nll}, {"last_test_brier", last.test_brier}});
  }
  return f;
}

}  // namespace acm::train
