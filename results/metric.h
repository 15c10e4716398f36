// The numbers a report can average per run (`harness report --metric`): the named metrics below, or any number
// in result.json named by a JSON pointer ("/robustness/occlusion/center_top1/5"). The "beyond top-1" table
// shows the secondary ones next to the chosen metric; the plots read the curves.
//
//   best, last, median5   test top-1 (%): best over epochs, last epoch's, median of the last 5 epochs
//   ece, nll, brier       calibration at the last evaluation (lower is better)
//   occlusion             mean top-1 (%) over the centred occlusion sizes above 0 (the curve's area)
//   occlusion_random      the same with the square at a random place
//   fgsm                  mean top-1 (%) over the FGSM ε
//   mca                   mean top-1 (%) over the corruptions and severities
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::results {

struct Metric {
  std::string name;   // as --metric takes it
  std::string title;  // in table headings
  std::string short_title;  // in table columns
  bool lower_is_better = false;
  bool top1 = false;  // a test top-1: the paper's published values compare with it
};

// Every named metric, in the order the report shows them.
const std::vector<Metric>& named_metrics();
// A named metric or a JSON pointer ("/a/b/0", its title the pointer itself); config::ConfigError naming the
// allowed values otherwise.
Metric find_metric(const std::string& name);
// The metric's value in one run's result.json; nothing where the run did not record it.
std::optional<double> metric_value(const Metric& metric, const nlohmann::json& result);
// The secondary metrics of the "beyond top-1" table, by name.
const std::vector<std::string>& secondary_metrics();

}  // namespace acm::results
