// The report's statistics against scipy and statsmodels: Welch's t-test, confidence intervals, Holm (label
// anchor).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "acm/config.h"
#include "common/files.h"
#include "results/identity.h"
#include "results/render.h"
#include "results/stats.h"
#include "results/summary.h"
#include "tests/test_util.h"

namespace {

using nlohmann::json;
using acm::testing::TempDir;

// Every figure a report cites, against scipy (Welch's t, df, p and the CI of the difference; the CI of a
// mean; t quantiles) and statsmodels (Holm), to 1e-9.
TEST(Stats, MatchScipyAndStatsmodels) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> samples = {
      {{89.0, 89.4, 88.8}, {88.1, 87.7, 88.3}},       {{84.0, 85.0, 86.5}, {87.0, 88.0, 88.6}},
      {{70.0, 71.0}, {90.1, 90.2, 90.9, 91.4, 89.0}}, {{1.0, 2.0, 3.0, 4.0}, {1.5, 2.5}},
      {{85.09, 84.3, 85.9}, {87.04, 86.5, 87.6}},     {{50.0, 50.1}, {50.0, 50.1}}};
  const std::vector<std::vector<double>> means = {{84.0, 85.0, 86.5},
                                                  {70.0, 71.0},
                                                  {90.1, 90.2, 90.9, 91.4, 89.0},
                                                  {87.3, 87.47, 86.9, 87.1, 86.2, 85.0, 87.9}};
  const std::vector<std::vector<double>> holm = {{0.005, 0.96, 0.024, 0.005, 0.69, 0.023},
                                                 {0.04, 0.01, 0.02},
                                                 {0.02, 0.021, 0.9, 0.5},
                                                 {0.3},
                                                 {1e-6, 0.5, 0.04999}};
  const std::vector<std::pair<double, double>> quantiles = {
      {0.975, 1}, {0.975, 2},   {0.975, 3.8466583586541057}, {0.025, 7.5}, {0.995, 30},
      {0.6, 0.5}, {0.999, 1000}};
  json input = {{"welch", json::array()}, {"means", means}, {"holm", holm}, {"quantiles", json::array()}};
  for (const auto& [a, b] : samples) input["welch"].push_back({a, b});
  for (const auto& [q, df] : quantiles) input["quantiles"].push_back({q, df});
  TempDir tmp;
  acm::fs::write_file_atomic(tmp.file("in.json"), input.dump());
  std::string out;
  ASSERT_EQ(acm::testing::run_command(std::string(ACM_PYTHON) + " " + ACM_SOURCE_DIR +
                                          "/tests/results/stats_reference.py < " + tmp.file("in.json"),
                                      &out),
            0)
      << out;
  const json ref = json::parse(out);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto w = acm::results::welch_t_test(samples[i].first, samples[i].second);
    const json& r = ref["welch"][i];
    if (r[2].is_null()) {  // scipy: NaN for no spread on either side, as ours
      EXPECT_TRUE(std::isnan(w.p)) << i;
      EXPECT_TRUE(std::isnan(w.ci.low)) << i;
      continue;
    }
    EXPECT_NEAR(w.t, r[0].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.df, r[1].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.p, r[2].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.ci.low, r[3].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.ci.high, r[4].get<double>(), 1e-9) << i;
  }
  for (std::size_t i = 0; i < means.size(); ++i) {
    const auto ci = acm::results::mean_confidence_interval(means[i]);
    EXPECT_NEAR(ci.low, ref["means"][i][0].get<double>(), 1e-9) << i;
    EXPECT_NEAR(ci.high, ref["means"][i][1].get<double>(), 1e-9) << i;
  }
  for (std::size_t i = 0; i < holm.size(); ++i) {
    const auto h = acm::results::holm_adjust(holm[i]);
    for (std::size_t k = 0; k < h.size(); ++k)
      EXPECT_NEAR(h[k], ref["holm"][i][k].get<double>(), 1e-9) << i << "," << k;
  }
  for (std::size_t i = 0; i < quantiles.size(); ++i) {
    EXPECT_NEAR(acm::results::student_t_quantile(quantiles[i].first, quantiles[i].second),
                ref["quantiles"][i].get<double>(), 1e-9)
        << quantiles[i].first << ", df " << quantiles[i].second;
  }
}

}  // namespace
