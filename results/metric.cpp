#include "results/metric.h"

#include <cmath>

#include "common/errors.h"
#include "common/json_reader.h"

namespace acm::results {

using nlohmann::json;

namespace {

std::optional<double> number_at(const json& j, const json::json_pointer& p) {
  if (!j.contains(p)) return std::nullopt;
  const json& v = j.at(p);
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  if (std::isnan(d)) return std::nullopt;
  return d;
}

// Mean of a curve's values, skipping the points whose x (in `xs`) is 0 when asked (occlusion of size 0 is the
// clean image).
std::optional<double> curve_mean(const json& r, const char* xs, const char* ys, bool skip_zero) {
  const json::json_pointer px(xs), py(ys);
  if (!r.contains(px) || !r.contains(py) || !r.at(py).is_array()) return std::nullopt;
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < r.at(py).size() && i < r.at(px).size(); ++i) {
    if (skip_zero && r.at(px)[i].get<double>() == 0) continue;
    sum += r.at(py)[i].get<double>();
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

}  // namespace

const std::vector<Metric>& named_metrics() {
  static const std::vector<Metric> table = {
      {"best", "best test top-1 over epochs (%)", "top-1 (best)", false, true},
      {"last", "last-epoch test top-1 (%)", "top-1 (last)", false, true},
      {"median5", "median test top-1 of the last 5 epochs (%)", "top-1 (median 5)", false, true},
      {"ece", "expected calibration error at the last evaluation (%)", "ECE (%)", true, false},
      {"nll", "negative log-likelihood at the last evaluation", "NLL", true, false},
      {"brier", "Brier score at the last evaluation", "Brier", true, false},
      {"occlusion", "top-1 under centred occlusion, mean over sizes (%)", "occlusion", false, false},
      {"occlusion_random", "top-1 under occlusion at random places, mean over sizes (%)", "occlusion (random)",
       false, false},
      {"fgsm", "top-1 under FGSM, mean over ε (%)", "FGSM", false, false},
      {"mca", "mean top-1 under corruptions, mCA (%)", "mCA", false, false},
  };
  return table;
}

Metric find_metric(const std::string& name) {
  for (const auto& m : named_metrics()) {
    if (m.name == name) return m;
  }
  if (!name.empty() && name[0] == '/') {
    try {
      (void)json::json_pointer(name);
    } catch (const std::exception& e) {
      throw config::ConfigError("--metric: '" + name + "' is not a JSON pointer: " + e.what());
    }
    return {name, name, name, false, false};
  }
  std::vector<std::string> names;
  for (const auto& m : named_metrics()) names.push_back(m.name);
  throw config::ConfigError("--metric: expected one of " + config::join(names) +
                            ", or a JSON pointer into result.json such as /robustness/clean_top1, found '" + name + "'");
}

std::optional<double> metric_value(const Metric& m, const json& r) {
  if (m.name == "best") return number_at(r, json::json_pointer("/final/best_test_top1"));
  if (m.name == "last") return number_at(r, json::json_pointer("/final/last_test_top1"));
  if (m.name == "median5") return number_at(r, json::json_pointer("/final/median5_test_top1"));
  if (m.name == "ece") {
    const auto v = number_at(r, json::json_pointer("/final/last_test_ece"));
    if (v) return 100.0 * *v;
    return v;
  }
  if (m.name == "nll") return number_at(r, json::json_pointer("/final/last_test_nll"));
  if (m.name == "brier") return number_at(r, json::json_pointer("/final/last_test_brier"));
  if (m.name == "occlusion")
    return curve_mean(r, "/robustness/occlusion/sizes", "/robustness/occlusion/center_top1", true);
  if (m.name == "occlusion_random")
    return curve_mean(r, "/robustness/occlusion/sizes", "/robustness/occlusion/random_top1", true);
  if (m.name == "fgsm") return curve_mean(r, "/robustness/fgsm/epsilons", "/robustness/fgsm/top1", false);
  if (m.name == "mca") return number_at(r, json::json_pointer("/robustness/corruption/mean_top1"));
  return number_at(r, json::json_pointer(m.name));
}

const std::vector<std::string>& secondary_metrics() {
  static const std::vector<std::string> names = {"ece", "nll", "brier", "occlusion", "fgsm", "mca"};
  return names;
}

}  // namespace acm::results
