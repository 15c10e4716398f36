// `harness report`: aggregation over seeds checked against hand-computed numbers, Welch p-values against
// scipy, and the rendered tables and plot against expected files (tests/results/expected).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "acm/config.h"
#include "common/errors.h"
#include "common/files.h"
#include "results/identity.h"
#include "results/render.h"
#include "results/stats.h"
#include "results/summary.h"
#include "tests/test_util.h"

namespace {

using nlohmann::json;
using acm::testing::TempDir;

json config(const std::string& dataset, const std::string& model, const std::string& method, int seed,
            int epochs = 80, int top_n = 6) {
  json mix = {{"method", method}};
  if (method == "attentive_cutmix") {
    mix.update({{"top_n", top_n}, {"grid", 7}, {"extractor", {{"path", "/x/baseline/seed" + std::to_string(seed)}}}});
  }
  return {{"dataset", {{"name", dataset}}},
          {"model", model},
          {"model_options", {{"init", "xavier_normal"}}},
          {"epochs", epochs},
          {"batch_size", 32},
          {"optimizer", {{"lr", 0.001}, {"weight_decay", 1e-5}}},
          {"mix", mix},
          {"seed", seed},
          {"threads", 2}};
}

// A completed result as the trainer writes it (the fields the report reads), `extra` merged in.
void write_run(const std::string& root, const std::string& folder, const json& cfg, double best,
               double last = -1, const json& extra = json::object()) {
  acm::fs::make_dirs(root + "/" + folder);
  json r = {{"status", "completed"},
            {"config", cfg},
            {"distributed", {{"world_size", 1}}},
            {"final",
             {{"best_test_top1", best},
              {"last_test_top1", last < 0 ? best - 0.5 : last},
              {"median5_test_top1", best - 1}}}};
  r.update(extra);
  acm::fs::write_file_atomic(root + "/" + folder + "/result.json", r.dump());
}

// An Attentive CutMix run whose extractor a sweep made per seed: the baseline run of its seed.
json per_seed_extractor(const std::string& baseline_folder) {
  return {{"sweep", {{"extractor_from", baseline_folder}}}};
}

// The fixture: CIFAR-10 with the paper's setting (ResNet-18: four methods, three seeds, and Attentive CutMix
// at N = 1, 3, 6, 12), ResNet-34 with another epoch count, Fashion-MNIST with one and two seeds, a failed run
// and an interrupted one.
void write_fixture(const std::string& root) {
  const std::vector<std::pair<std::string, std::vector<double>>> methods = {
      {"baseline", {84.0, 85.0, 86.5}}, {"mixup", {87.0, 88.0, 88.6}}, {"cutmix", {88.1, 87.7, 88.3}}};
  for (const auto& [m, values] : methods) {
    for (int s = 0; s < 3; ++s) {
      write_run(root, "cifar10/resnet18/" + m + "/seed" + std::to_string(s), config("cifar10", "resnet18", m == "baseline" ? "none" : m, s),
                values[static_cast<std::size_t>(s)]);
    }
  }
  const std::vector<std::pair<int, std::vector<double>>> ablation = {
      {1, {87.0, 87.5}}, {3, {88.0, 88.4}}, {6, {89.0, 89.4, 88.8}}, {12, {88.2, 87.6}}};
  for (const auto& [n, values] : ablation) {
    for (std::size_t s = 0; s < values.size(); ++s) {
      write_run(root, "cifar10/resnet18/attentive_cutmix-n" + std::to_string(n) + "/seed" + std::to_string(s),
                config("cifar10", "resnet18", "attentive_cutmix", static_cast<int>(s), 80, n), values[s], -1,
                per_seed_extractor("cifar10/resnet18/baseline/seed" + std::to_string(s)));
    }
  }
  write_run(root, "cifar10/resnet34/baseline/seed0", config("cifar10", "resnet34", "none", 0, 10), 70.0);
  write_run(root, "cifar10/resnet34/baseline/seed1", config("cifar10", "resnet34", "none", 1, 10), 71.0);
  write_run(root, "fashion-mnist/resnet18/baseline/seed0", config("fashion-mnist", "resnet18", "none", 0, 5), 90.1);
  write_run(root, "fashion-mnist/resnet18/cutmix/seed0", config("fashion-mnist", "resnet18", "cutmix", 0, 5), 90.4);
  write_run(root, "fashion-mnist/resnet18/cutmix/seed1", config("fashion-mnist", "resnet18", "cutmix", 1, 5), 90.8);
  acm::fs::make_dirs(root + "/fashion-mnist/resnet18/mixup/seed0");
  acm::fs::write_file_atomic(root + "/fashion-mnist/resnet18/mixup/seed0/result.json",
                                  json{{"status", "failed"}, {"error", "non-finite loss at epoch 1 step 3"},
                                       {"config", config("fashion-mnist", "resnet18", "mixup", 0, 5)}}
                                      .dump());
  acm::fs::make_dirs(root + "/fashion-mnist/resnet18/mixup/seed1");
  acm::fs::write_file_atomic(root + "/fashion-mnist/resnet18/mixup/seed1/config.json", "{}");
}

const json& group(const json& s, const std::string& dataset, const std::string& model, const std::string& method,
                  int n = 0) {
  for (const auto& g : s["groups"]) {
    if (g["dataset"] == dataset && g["model"] == model && g["method"] == method &&
        g["params"].value("n", 0) == n) {
      return g;
    }
  }
  throw std::runtime_error("no group " + dataset + "/" + model + "/" + method);
}

TEST(Stats, MeanAndSampleStdByHand) {
  EXPECT_DOUBLE_EQ(acm::results::mean({84.0, 85.0, 86.5}), 85.5 - 1.0 / 3);
  // deviations -7/6, -1/6, 4/3: sum of squares 19/6, over n-1 = 2
  EXPECT_NEAR(acm::results::sample_std({84.0, 85.0, 86.5}), std::sqrt(19.0 / 12), 1e-12);
  EXPECT_TRUE(std::isnan(acm::results::sample_std({1.0})));
}

TEST(Stats, IncompleteBetaKnownValues) {
  EXPECT_NEAR(acm::results::incomplete_beta(1, 1, 0.3), 0.3, 1e-14);             // uniform
  EXPECT_NEAR(acm::results::incomplete_beta(2, 3, 0.4), 0.5248, 1e-12);          // 1 - (1-x)^4 - 4x(1-x)^3
  EXPECT_NEAR(acm::results::student_t_two_sided_p(2.0, 1), 0.29516723530086, 1e-12);  // 1 - 2 atan(2)/π
}

TEST(Stats, HolmByHand) {
  // Sorted 0.01, 0.02, 0.04 over m = 3: 0.03, 0.04, max(0.04, 0.04) — back in input order; NaN stays out.
  const auto h = acm::results::holm_adjust({0.04, 0.01, std::nan(""), 0.02});
  EXPECT_NEAR(h[0], 0.04, 1e-15);
  EXPECT_NEAR(h[1], 0.03, 1e-15);
  EXPECT_TRUE(std::isnan(h[2]));
  EXPECT_NEAR(h[3], 0.04, 1e-15);
  // The step-down maximum: a later p that would fall below an earlier adjusted one is raised to it.
  const auto m = acm::results::holm_adjust({0.02, 0.021, 0.9});
  EXPECT_NEAR(m[0], 0.06, 1e-15);
  EXPECT_NEAR(m[1], 0.06, 1e-15);  // 2 · 0.021 = 0.042 < 0.06
  EXPECT_NEAR(m[2], 0.9, 1e-15);
  EXPECT_NEAR(acm::results::student_t_quantile(0.975, 1), 12.706204736174698, 1e-9);  // tan(0.475 π)
}

// Every figure a report cites, against scipy (Welch's t, df, p and the CI of the difference; the CI of a
// mean; t quantiles) and statsmodels (Holm), to 1e-9.
TEST(Report, MeansStdsAndGroupsByHand) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  EXPECT_EQ(s["runs_completed"], 9 + 9 + 2 + 3);
  const json& base = group(s, "cifar10", "resnet18", "baseline");
  EXPECT_EQ(base["count"], 3);
  EXPECT_NEAR(base["mean"].get<double>(), 85.5 - 1.0 / 3, 1e-12);
  EXPECT_NEAR(base["std"].get<double>(), std::sqrt(19.0 / 12), 1e-12);
  // Seeds of Attentive CutMix group although each took its own seed's extractor.
  const json& acm6 = group(s, "cifar10", "resnet18", "attentive_cutmix", 6);
  EXPECT_EQ(acm6["count"], 3);
  EXPECT_NEAR(acm6["mean"].get<double>(), (89.0 + 89.4 + 88.8) / 3, 1e-12);
  EXPECT_EQ(group(s, "fashion-mnist", "resnet18", "baseline")["std"], nullptr);  // one seed: no spread
  // The paper's value appears where the setting is the paper's (ResNet-18, 80 epochs), not for ResNet-34 at
  // 10 epochs, and not for Fashion-MNIST.
  EXPECT_DOUBLE_EQ(base["paper"].get<double>(), 84.67);
  EXPECT_DOUBLE_EQ(acm6["paper"].get<double>(), 88.94);
  EXPECT_EQ(group(s, "cifar10", "resnet18", "attentive_cutmix", 3)["paper"], nullptr);
  EXPECT_EQ(group(s, "cifar10", "resnet34", "baseline")["paper"], nullptr);
  // The failed and the interrupted run are listed and never averaged in.
  ASSERT_EQ(s["failed"].size(), 1u);
  EXPECT_EQ(s["failed"][0]["folder"], "fashion-mnist/resnet18/mixup/seed0");
  EXPECT_NE(s["failed"][0]["error"].get<std::string>().find("non-finite loss"), std::string::npos);
  ASSERT_EQ(s["incomplete"].size(), 1u);
  EXPECT_EQ(s["incomplete"][0]["folder"], "fashion-mnist/resnet18/mixup/seed1");
  for (const auto& g : s["groups"]) {
    EXPECT_FALSE(g["dataset"] == "fashion-mnist" && g["method"] == "mixup") << g.dump();
  }
}

// Table 3's setting is per family (ResNet and DenseNet 100 epochs, EfficientNet 180), batch 64, lr 0.001; it
// states no weight decay or init, so those do not decide.
TEST(Report, ImageNetPaperValueByFamilyEpochs) {
  TempDir tmp;
  auto imagenet = [](const std::string& model, int epochs, int batch) {
    json c = config("imagenet", model, "none", 0, epochs);
    c["batch_size"] = batch;
    c["optimizer"]["weight_decay"] = 1e-4;
    c["model_options"]["init"] = "kaiming";
    return c;
  };
  write_run(tmp.path(), "imagenet/resnet18/baseline/seed0", imagenet("resnet18", 100, 64), 70.0);
  write_run(tmp.path(), "imagenet/efficientnet_b0/baseline/seed0", imagenet("efficientnet_b0", 180, 64), 71.0);
  write_run(tmp.path(), "imagenet/efficientnet_b1/baseline/seed0", imagenet("efficientnet_b1", 100, 64), 72.0);
  write_run(tmp.path(), "imagenet/densenet121/baseline/seed0", imagenet("densenet121", 100, 32), 73.0);
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  EXPECT_DOUBLE_EQ(group(s, "imagenet", "resnet18", "baseline")["paper"].get<double>(), 73.54);
  EXPECT_DOUBLE_EQ(group(s, "imagenet", "efficientnet_b0", "baseline")["paper"].get<double>(), 76.12);
  EXPECT_EQ(group(s, "imagenet", "efficientnet_b1", "baseline")["paper"], nullptr);  // 100, not 180 epochs
  EXPECT_EQ(group(s, "imagenet", "densenet121", "baseline")["paper"], nullptr);      // batch 32, not 64
}

TEST(Report, TableRowsColumnsBestGainAndAblation) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  ASSERT_EQ(s["tables"].size(), 2u);
  const json& t = s["tables"][0];
  EXPECT_EQ(t["dataset"], "cifar10");
  std::vector<std::string> labels;
  for (const auto& c : t["columns"]) labels.push_back(c["label"]);
  // The ablation contributes its N = 6 point (the paper's) to the table.
  EXPECT_EQ(labels, (std::vector<std::string>{"baseline", "mixup", "cutmix", "attentive_cutmix"}));
  const json& row = t["rows"][0];
  EXPECT_EQ(row["model"], "resnet18");
  EXPECT_TRUE(row["cells"]["attentive_cutmix"]["best"].get<bool>());
  EXPECT_FALSE(row["cells"]["cutmix"]["best"].get<bool>());
  const json& gain = row["gain_over_cutmix"]["attentive_cutmix − cutmix"];
  EXPECT_NEAR(gain["difference"].get<double>(), (267.2 - 264.1) / 3, 1e-9);
  const auto w = acm::results::welch_t_test({89.0, 89.4, 88.8}, {88.1, 87.7, 88.3});
  EXPECT_NEAR(gain["p"].get<double>(), w.p, 1e-15);
  EXPECT_NEAR(gain["ci95"][0].get<double>(), w.ci.low, 1e-12);
  EXPECT_NEAR(gain["ci95"][1].get<double>(), w.ci.high, 1e-12);
  // Six pairs of four methods with 3 seeds each for ResNet-18; ResNet-34 has one method; Fashion-MNIST's
  // baseline has one seed, so no test.
  int resnet18_pairs = 0;
  for (const auto& c : s["comparisons"]) {
    if (c["dataset"] == "cifar10" && c["model"] == "resnet18") ++resnet18_pairs;
    EXPECT_NE(c["dataset"], "fashion-mnist");
  }
  EXPECT_EQ(resnet18_pairs, 6);
  // Holm over the table's six comparisons, the raw p beside it.
  std::vector<double> raw;
  for (const auto& c : s["comparisons"]) raw.push_back(c["p"].get<double>());
  const auto holm = acm::results::holm_adjust(raw);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    EXPECT_DOUBLE_EQ(s["comparisons"][i]["p_holm"].get<double>(), holm[i]);
    EXPECT_EQ(s["comparisons"][i]["family"], 6);
    EXPECT_EQ(s["comparisons"][i]["beyond_seed_spread"].get<bool>(), holm[i] < 0.05);
  }
  EXPECT_NEAR(gain["p_holm"].get<double>(), holm[5], 1e-15);  // attentive_cutmix vs cutmix: the last pair
  ASSERT_EQ(s["ablations"].size(), 1u);
  std::vector<int> ns;
  for (const auto& p : s["ablations"][0]["points"]) ns.push_back(p["n"]);
  EXPECT_EQ(ns, (std::vector<int>{1, 3, 6, 12}));
  EXPECT_NEAR(s["ablations"][0]["points"][0]["mean"].get<double>(), 87.25, 1e-12);
  // --metric last averages each run's last-epoch figure instead.
  acm::results::ReportOptions last;
  last.metric = "last";
  EXPECT_NEAR(group(acm::results::to_json(acm::results::summarize(tmp.path(), last)), "cifar10", "resnet18", "baseline")["mean"].get<double>(),
              85.0 - 1.0 / 3, 1e-12);
  EXPECT_THROW(acm::results::metric_title("mean"), acm::config::ConfigError);
}

// What the trainer records beyond top-1, for a run whose numbers are `k`: calibration at the last evaluation
// (ECE k/100, NLL k, Brier k/10, two reliability bins), occlusion (sizes 0, 0.25, 0.5), FGSM (2 ε), corruptions
// (2 × 2).
json beyond(double k) {
  json r = {{"final", {{"last_test_ece", k / 100}, {"last_test_nll", k}, {"last_test_brier", k / 10}}},
            {"calibration",
             {{"bins",
               {{{"lower", 0.0}, {"upper", 0.5}, {"count", 10}, {"confidence", 0.4}, {"accuracy", 0.3}},
                {{"lower", 0.5}, {"upper", 1.0}, {"count", 30 + k}, {"confidence", 0.8}, {"accuracy", 0.7 + k / 100}}}}}},
            {"robustness",
             {{"occlusion", {{"sizes", {0.0, 0.25, 0.5}}, {"center_top1", {90.0, 80 + k, 60 + k}}, {"random_top1", {90.0, 85.0, 70.0}}}},
              {"fgsm", {{"epsilons", {1.0 / 255, 8.0 / 255}}, {"top1", {50 + k, 10 + k}}}},
              {"corruption", {{"names", {"jpeg", "contrast"}}, {"severities", {1, 5}}, {"top1", {{80 + k, 70 + k}, {60.0, 50.0}}},
                              {"mean_top1", (80 + k + 70 + k + 60 + 50) / 4}}}}}};
  return r;
}

void write_beyond_fixture(const std::string& root) {
  const std::map<std::string, std::vector<double>> ks = {{"none", {1, 2, 3}}, {"cutmix", {4, 6, 5}}, {"fmix", {8, 9}}};
  for (const auto& [method, values] : ks) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int seed = static_cast<int>(i);
      json r = beyond(values[i]);
      json cfg = config("fashion-mnist", "resnet18", method, seed, 5);
      const json final_extra = r["final"];
      r.erase("final");
      write_run(root, "fm/" + method + "/seed" + std::to_string(seed), cfg, 80 + values[i], -1, r);
      // write_run's "final" holds the top-1s: merge the calibration figures into it.
      json written = json::parse(acm::fs::read_text(root + "/fm/" + method + "/seed" + std::to_string(seed) + "/result.json"));
      written["final"].update(final_extra);
      acm::fs::write_file_atomic(root + "/fm/" + method + "/seed" + std::to_string(seed) + "/result.json", written.dump());
    }
  }
}

// Calibration and robustness per group: mean ± std over seeds, Welch against the row's CutMix, curves averaged
// at each x, reliability bins pooled (counts summed, accuracy weighted by them).
TEST(Report, BeyondTop1MetricsAndCurvesAreAveragedOverSeeds) {
  TempDir tmp;
  write_beyond_fixture(tmp.path());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  const json& none = group(s, "fashion-mnist", "resnet18", "baseline");
  EXPECT_NEAR(none["metrics"]["ece"]["mean"].get<double>(), 2.0, 1e-12);  // ECE in %: k/100 → k
  EXPECT_NEAR(none["metrics"]["ece"]["std"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(none["metrics"]["nll"]["mean"].get<double>(), 2.0, 1e-12);
  EXPECT_NEAR(none["metrics"]["occlusion"]["mean"].get<double>(), (81 + 61 + 82 + 62 + 83 + 63) / 6.0, 1e-12)
      << "sizes above 0 only";
  EXPECT_NEAR(none["metrics"]["fgsm"]["mean"].get<double>(), (52 + 12) / 2.0, 1e-12);
  EXPECT_NEAR(none["metrics"]["mca"]["mean"].get<double>(), (82 + 72 + 110) / 4.0, 1e-12);
  // Welch against CutMix (k = 4, 6, 5): scipy.stats.ttest_ind([1,2,3], [4,6,5], equal_var=False) p = 0.0213.
  EXPECT_NEAR(none["metrics"]["nll"]["vs_cutmix"]["difference"].get<double>(), -3.0, 1e-12);
  EXPECT_NEAR(none["metrics"]["nll"]["vs_cutmix"]["p"].get<double>(), 0.0213116, 1e-6);
  const json& cutmix = group(s, "fashion-mnist", "resnet18", "cutmix");
  EXPECT_FALSE(cutmix["metrics"]["nll"].contains("vs_cutmix")) << "not against itself";
  // Curves: the centred occlusion curve's mean and std at each size; corruption per name over severities.
  EXPECT_EQ(none["curves"]["occlusion_center"]["x"], json({0.0, 0.25, 0.5}));
  EXPECT_NEAR(none["curves"]["occlusion_center"]["mean"][1].get<double>(), 82.0, 1e-12);
  EXPECT_NEAR(none["curves"]["occlusion_center"]["std"][1].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(none["curves"]["corruption"]["x"], json({"jpeg", "contrast"}));
  EXPECT_NEAR(none["curves"]["corruption"]["mean"][0].get<double>(), 77.0, 1e-12);
  const json& bins = none["curves"]["reliability"];
  EXPECT_EQ(bins[1]["count"].get<double>(), 31 + 32 + 33);
  EXPECT_NEAR(bins[1]["accuracy"].get<double>(), (31 * 0.71 + 32 * 0.72 + 33 * 0.73) / 96, 1e-12);
  EXPECT_NEAR(bins[0]["accuracy"].get<double>(), 0.3, 1e-12);
  // The Markdown table and every plot.
  const std::string md = acm::results::render_markdown(s);
  EXPECT_NE(md.find("### Beyond top-1"), std::string::npos) << md;
  EXPECT_NE(md.find("| fashion-mnist | resnet18 | baseline | 2.00 ± 1.00 (3) Δ -3.00 p 0.021 |"), std::string::npos) << md;
  for (const std::string& svg : {acm::results::render_occlusion_svg(s), acm::results::render_fgsm_svg(s)}) {
    std::size_t lines = 0;
    for (auto p = svg.find("class=\"series\""); p != std::string::npos; p = svg.find("class=\"series\"", p + 1)) ++lines;
    EXPECT_EQ(lines, 3u) << "one line per method";
  }
  const std::string rel = acm::results::render_reliability_svg(s);
  std::size_t panels = 0;
  for (auto p = rel.find("class=\"reliability\""); p != std::string::npos; p = rel.find("class=\"reliability\"", p + 1)) ++panels;
  EXPECT_EQ(panels, 3u);
}

// --metric takes any recorded metric: lower-is-better ones mark the lowest mean best and show no paper value;
// a JSON pointer reads any number; anything else is refused naming the choices.
TEST(Report, MetricAcceptsAnyRecordedMetric) {
  TempDir tmp;
  write_beyond_fixture(tmp.path());
  acm::results::ReportOptions o;
  o.metric = "ece";
  json s = acm::results::to_json(acm::results::summarize(tmp.path(), o));
  EXPECT_TRUE(s["lower_is_better"].get<bool>());
  const json& row = s["tables"][0]["rows"][0];
  EXPECT_TRUE(row["cells"]["baseline"]["best"].get<bool>()) << "the lowest ECE is the best";
  EXPECT_FALSE(row["cells"]["fmix"]["best"].get<bool>());
  o.metric = "/robustness/fgsm/top1/1";
  s = acm::results::to_json(acm::results::summarize(tmp.path(), o));
  EXPECT_NEAR(group(s, "fashion-mnist", "resnet18", "fmix")["mean"].get<double>(), 18.5, 1e-12);
  o.metric = "/robustness/nothing";
  s = acm::results::to_json(acm::results::summarize(tmp.path(), o));
  EXPECT_TRUE(s["failed"].empty()) << "a completed run without the metric has not failed";
  ASSERT_EQ(s["not_counted"].size(), 8u) << "every run lacks it";
  EXPECT_NE(s["not_counted"][0]["reason"].get<std::string>().find("completed, but its result.json records no "
                                                                   "/robustness/nothing"),
            std::string::npos);
  try {
    acm::results::metric_title("accuracy");
    ADD_FAILURE() << "accepted";
  } catch (const acm::config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of best, last, median5, ece, nll, brier, occlusion, "
                                         "occlusion_random, fgsm, mca, or a JSON pointer"),
              std::string::npos)
        << e.what();
  }
}

// Seeds of one experiment that ran with different eval settings (an execution field, so they group together):
// their top-1 averages, their robustness figures are not merged.
TEST(Report, SecondaryMetricsOfMixedEvalSettingsAreNotMerged) {
  TempDir tmp;
  write_beyond_fixture(tmp.path());
  json r = json::parse(acm::fs::read_text(tmp.file("fm/fmix/seed1/result.json")));
  r["config"]["eval"] = {{"robustness_images", 0}};
  acm::fs::write_file_atomic(tmp.file("fm/fmix/seed1/result.json"), r.dump());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  const json& fmix = group(s, "fashion-mnist", "resnet18", "fmix");
  EXPECT_EQ(fmix["count"], 2);
  EXPECT_TRUE(fmix["eval_settings_differ"].get<bool>());
  EXPECT_TRUE(fmix["metrics"].empty());
  EXPECT_TRUE(fmix["curves"].empty());
  EXPECT_NE(acm::results::render_markdown(s).find("different `eval` settings are left out"), std::string::npos);
}

// report.html: every Markdown table as a <table>, every plot inline, the gallery as a data URI; nothing fetched.
TEST(Report, HtmlHoldsEveryTableAndPlotAndFetchesNothing) {
  TempDir tmp;
  write_fixture(tmp.path());
  write_beyond_fixture(tmp.path());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  acm::fs::write_file_atomic(tmp.file("gallery.png"), std::string("\x89PNG\r\n\x1a\n", 8) + "abc");
  const std::string html = acm::results::render_html(s, tmp.file("gallery.png"));
  auto count = [&](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  };
  const std::string md = acm::results::render_markdown(s);
  EXPECT_EQ(count(html, "<table>"), count(md, "\n| ---"));
  EXPECT_EQ(count(html, "<svg "), 4u) << "ablation, occlusion, FGSM, reliability";
  EXPECT_NE(html.find("src=\"data:image/png;base64,iVBORw0KGgphYmM=\""), std::string::npos);
  EXPECT_EQ(count(html, "http://"), count(html, "http://www.w3.org/2000/svg")) << "no link but the SVG namespace";
  EXPECT_EQ(html.find("https://"), std::string::npos);
  acm::results::write_report(s, tmp.file("report"), tmp.file("gallery.png"));
  for (const char* f : {"report.html", "occlusion.svg", "fgsm.svg", "reliability.svg", "ablation.svg"})
    EXPECT_TRUE(acm::fs::path_exists(tmp.file(std::string("report/") + f))) << f;
  EXPECT_EQ(acm::results::report_files(s),
            "{summary.json,table.md,table.csv,table.tex,ablation.svg,occlusion.svg,fgsm.svg,reliability.svg,report.html}");
}

TEST(Report, OutputsMatchExpectedFiles) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  const std::string expected = std::string(ACM_SOURCE_DIR) + "/tests/results/expected/";
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"table.md", acm::results::render_markdown(s)},
      {"table.csv", acm::results::render_csv(s)},
      {"table.tex", acm::results::render_latex(s)},
      {"ablation.svg", acm::results::render_ablation_svg(s)}};
  for (const auto& [name, text] : outputs) {
    if (std::getenv("ACM_UPDATE_EXPECTED")) acm::fs::write_file_atomic(expected + name, text);
    EXPECT_EQ(text, acm::fs::read_text(expected + name)) << name << " differs from " << expected << name
                                                              << " (ACM_UPDATE_EXPECTED=1 rewrites it)";
  }
  // write_report writes the same files and the summary.
  acm::results::write_report(s, tmp.file("report"));
  EXPECT_EQ(json::parse(acm::fs::read_text(tmp.file("report/summary.json"))), s);
  EXPECT_EQ(acm::fs::read_text(tmp.file("report/ablation.svg")), outputs[3].second);
}

TEST(Report, PlotMarksPaperNAndDrawsOneLinePerSeries) {
  TempDir tmp;
  write_fixture(tmp.path());
  const std::string svg = acm::results::render_ablation_svg(acm::results::to_json(acm::results::summarize(tmp.path(), {})));
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto p = svg.find(what); p != std::string::npos; p = svg.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"series\""), 1u);
  EXPECT_EQ(count("class=\"paper-n\""), 1u);
  EXPECT_EQ(count("<circle"), 4u);
  EXPECT_EQ(count("class=\"error-bar\""), 4u);
  EXPECT_NE(svg.find("paper: N = 6"), std::string::npos);
}

// ---- What is one experiment (results/identity.h) --------------------------------------------------------

TEST(Identity, RolesOfFields) {
  using acm::results::Role;
  using acm::results::role_of;
  EXPECT_EQ(role_of("/seed"), Role::kSeed);
  for (const char* p : {"/threads", "/loader_threads", "/eval_batch_size", "/device", "/channels_last",
                        "/distributed/bucket_mb", "/mix/extractor/path", "/sync_every", "/cudnn_benchmark"}) {
    EXPECT_EQ(role_of(p), Role::kExecution) << p;
  }
  for (const char* p :
       {"/mix/method", "/mix/top_n", "/mix/cache", "/mix/extractor/reduce", "/mix/extractor/identity"}) {
    EXPECT_EQ(role_of(p), Role::kMethod) << p;
  }
  for (const char* p :
       {"/epochs", "/optimizer/lr", "/dataset/path", "/model", "/world_size", "/threadsafe"}) {
    EXPECT_EQ(role_of(p), Role::kSetting) << p;
  }
  EXPECT_EQ(acm::results::describe("/epochs", 10), "epochs 10");
  EXPECT_EQ(acm::results::describe("/mix/cache", false), "cache off");
  EXPECT_EQ(acm::results::describe("/mix/top_n", 6), "N=6");
  EXPECT_EQ(acm::results::describe("/world_size", 8), "8 ranks");
  EXPECT_EQ(acm::results::describe("/optimizer/lr", 0.05), "lr 0.05");
  EXPECT_EQ(acm::results::describe("/schedule/pct_start", 0.3), "schedule.pct_start 0.3");
  EXPECT_EQ(acm::results::describe("/mix/extractor/identity", "file 20ed5e6e4b994843"),
            "extractor file 20ed5e6e");
  EXPECT_EQ(acm::results::describe("/mix/extractor/identity", "run 46d8196a (resnet18 baseline, seed 0 for every seed)"),
            "extractor 46d8196a (baseline, seed 0 for every seed)");
  // A setting the resolved config omits at its default is labelled with that default, not "—": an fp32 run
  // beside a bf16 one reads "precision fp32".
  const acm::results::Fields fp32 = {{"/epochs", 10}}, bf16 = {{"/epochs", 10}, {"/precision", "bf16"}};
  EXPECT_EQ(acm::results::describe_fields(fp32, {"/precision", "/dataset/train_crop"}),
            "precision fp32, dataset.train_crop center");
  EXPECT_EQ(acm::results::describe_fields(bf16, {"/precision"}), "precision bf16");
  EXPECT_EQ(acm::results::describe_fields(fp32, {"/mix/top_n"}), "N=—");
}

TEST(Identity, WorldSizeMattersWithPerRankBatchNormOrPairsInTheLocalBatch) {
  auto cfg = [](const std::string& norm, const std::string& method) {
    return json{{"model_options", {{"norm", norm}}}, {"mix", {{"method", method}}}};
  };
  EXPECT_TRUE(acm::results::world_size_matters(cfg("batch", "none")));
  EXPECT_FALSE(acm::results::world_size_matters(cfg("group", "none")));
  EXPECT_FALSE(acm::results::world_size_matters(cfg("sync_batch", "cutout")));
  for (const char* m : {"mixup", "cutmix", "attentive_cutmix"}) {
    EXPECT_TRUE(acm::results::world_size_matters(cfg("group", m))) << m;
  }
}

std::vector<std::string> row_labels(const json& table) {
  std::vector<std::string> labels;
  for (const auto& r : table["rows"]) labels.push_back(r["label"]);
  return labels;
}

std::vector<std::string> column_labels(const json& table) {
  std::vector<std::string> labels;
  for (const auto& c : table["columns"]) labels.push_back(c["label"]);
  return labels;
}

// CutMix at 2 epochs and Attentive CutMix at 3: two rows, each named by its epochs, and nothing compared
// across them — no Welch test, no gain column.
TEST(Report, SettingsThatDifferAreSeparateLabelledRowsNeverCompared) {
  TempDir tmp;
  for (int s = 0; s < 2; ++s) {
    write_run(tmp.path(), "cutmix/seed" + std::to_string(s), config("cifar10", "resnet18", "cutmix", s, 2),
              80.0 + s);
    write_run(tmp.path(), "acm/seed" + std::to_string(s),
              config("cifar10", "resnet18", "attentive_cutmix", s, 3), 81.0 + s, -1,
              {{"attention", {{"extractor_hash", "aaaaaaaaaaaaaaaa"}}}});
  }
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  ASSERT_EQ(s["tables"].size(), 1u);
  EXPECT_EQ(row_labels(s["tables"][0]),
            (std::vector<std::string>{"resnet18 (epochs 2)", "resnet18 (epochs 3)"}));
  EXPECT_EQ(s["tables"][0]["rows"][0]["cells"].size(), 1u);
  EXPECT_TRUE(s["tables"][0]["rows"][0]["cells"].contains("cutmix"));
  EXPECT_TRUE(s["tables"][0]["rows"][1]["cells"].contains("attentive_cutmix"));
  EXPECT_TRUE(s["comparisons"].empty()) << s["comparisons"].dump();
  for (const auto& row : s["tables"][0]["rows"]) EXPECT_FALSE(row.contains("gain_over_cutmix")) << row.dump();
  EXPECT_NE(acm::results::render_markdown(s).find("| resnet18 (epochs 2) | **80.50 ± 0.71 (2)** | — |"),
            std::string::npos)
      << acm::results::render_markdown(s);
}

// Two fixed extractor files: two groups (two columns of one row, named by the files' hashes), never one
// average; a sweep's per-seed extractors (the fixture) are one group.
TEST(Report, TwoExtractorFilesAreTwoGroups) {
  TempDir tmp;
  for (int s = 0; s < 2; ++s) {
    for (const std::string h : {"aaaaaaaa11111111", "bbbbbbbb22222222"}) {
      json c = config("cifar10", "resnet18", "attentive_cutmix", s);
      c["mix"]["extractor"]["path"] = "/weights/" + h.substr(0, 1) + ".safetensors";
      write_run(tmp.path(), h.substr(0, 1) + "/seed" + std::to_string(s), c,
                h[0] == 'a' ? 85.0 + s : 70.0 + s, -1, {{"attention", {{"extractor_hash", h}}}});
    }
  }
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  EXPECT_EQ(s["groups"].size(), 2u);
  for (const auto& g : s["groups"]) EXPECT_EQ(g["count"], 2) << g.dump();
  EXPECT_EQ(column_labels(s["tables"][0]),
            (std::vector<std::string>{"attentive_cutmix [extractor file aaaaaaaa]",
                                      "attentive_cutmix [extractor file bbbbbbbb]"}));
  ASSERT_EQ(s["comparisons"].size(), 1u);  // one row: the two extractors are compared
  EXPECT_NEAR(s["comparisons"][0]["difference"].get<double>(), -15.0, 1e-12);
}

// Only seeds average: threads, loader threads, device, layout and bucket sizes do not split a group; a seed
// counts once, whatever folders repeat it.
TEST(Report, ExecutionFieldsDoNotSplitAndASeedCountsOnce) {
  TempDir tmp;
  json a = config("cifar10", "resnet18", "none", 0);
  json b = config("cifar10", "resnet18", "none", 1);
  b.update({{"threads", 8},
            {"loader_threads", 4},
            {"device", "cuda:0"},
            {"channels_last", true},
            {"eval_batch_size", 99},
            {"distributed", {{"bucket_mb", 5}}}});
  write_run(tmp.path(), "a/seed0", a, 80.0);
  write_run(tmp.path(), "b/seed1", b, 82.0);
  write_run(tmp.path(), "c/seed0-again", a, 90.0);  // seed 0 again
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  ASSERT_EQ(s["groups"].size(), 1u);
  const json& g = s["groups"][0];
  EXPECT_EQ(g["count"], 2);
  EXPECT_EQ(g["seeds"], (json{0, 1}));
  EXPECT_NEAR(g["mean"].get<double>(), 81.0, 1e-12);
  EXPECT_EQ(s["runs_completed"], 2);
  ASSERT_EQ(s["not_counted"].size(), 1u);
  EXPECT_EQ(s["not_counted"][0]["folder"], "c/seed0-again");
  EXPECT_EQ(s["not_counted"][0]["reason"], "the same experiment and seed as a/seed0 (a seed counts once)");
}

// 1 and 2 ranks: separate rows with per-rank BatchNorm ("1 rank" / "2 ranks"), one group with GroupNorm.
TEST(Report, WorldSizeSplitsOnlyWhereItChangesTheComputation) {
  TempDir tmp;
  for (const std::string norm : {"batch", "group"}) {
    for (int world : {1, 2}) {
      json c = config("cifar10", "resnet18", "none", world);
      c["model_options"]["norm"] = norm;
      write_run(tmp.path(), norm + "/ranks" + std::to_string(world), c, 80.0 + world, -1,
                {{"distributed", {{"world_size", world}}}});
    }
  }
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  ASSERT_EQ(s["groups"].size(), 3u);
  std::vector<std::string> rows = row_labels(s["tables"][0]);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{"resnet18 (norm batch, 1 rank)", "resnet18 (norm batch, 2 ranks)",
                                            "resnet18 (norm group, any rank count)"}));
}

// A sweep folder counts its plan's runs only: a folder moved aside by --allow-spec-change, another plan's
// result in a planned folder and a folder outside the plan are listed as not counted, with the reason; a
// planned run without a result is incomplete.
TEST(Report, OnlyThePlansRunsCount) {
  TempDir tmp;
  const json plan = {{"name", "tiny"},
                     {"runs",
                      {{{"id", "1111"}, {"folder", "base/seed0"}},
                       {{"id", "2222"}, {"folder", "base/seed1"}},
                       {{"id", "3333"}, {"folder", "base/seed2"}},
                       {{"id", "4444"}, {"folder", "base/seed3"}}}}};
  acm::fs::write_file_atomic(tmp.file("sweep.json"), plan.dump());
  auto sweep_block = [](const std::string& id) { return json{{"sweep", {{"id", id}}}}; };
  write_run(tmp.path(), "base/seed0", config("cifar10", "resnet18", "none", 0), 80.0, -1,
            sweep_block("1111"));
  write_run(tmp.path(), "base/seed1", config("cifar10", "resnet18", "none", 1), 82.0, -1,
            sweep_block("2222"));
  write_run(tmp.path(), "base/seed2", config("cifar10", "resnet18", "none", 2), 99.0, -1,
            sweep_block("9999"));
  write_run(tmp.path(), "base/seed0.superseded-0000", config("cifar10", "resnet18", "none", 0), 60.0, -1,
            sweep_block("0000"));
  write_run(tmp.path(), "stray/seed7", config("cifar10", "resnet18", "none", 7), 50.0, -1,
            sweep_block("7777"));
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  ASSERT_EQ(s["groups"].size(), 1u);
  EXPECT_EQ(s["groups"][0]["seeds"], (json{0, 1}));
  EXPECT_NEAR(s["groups"][0]["mean"].get<double>(), 81.0, 1e-12);
  std::map<std::string, std::string> reasons;
  for (const auto& n : s["not_counted"]) reasons[n["folder"]] = n["reason"];
  ASSERT_EQ(reasons.size(), 3u) << s["not_counted"].dump();
  EXPECT_EQ(reasons["base/seed2"],
            "written by another plan (run id 9999; the current plan's run here is 3333)");
  EXPECT_EQ(reasons["base/seed0.superseded-0000"],
            "moved aside when the plan changed (--allow-spec-change): run id 0000 of an earlier plan");
  EXPECT_EQ(reasons["stray/seed7"], "not in this folder's plan (sweep.json)");
  std::set<std::string> incomplete;
  for (const auto& i : s["incomplete"]) incomplete.insert(i["folder"]);
  EXPECT_EQ(incomplete, (std::set<std::string>{"base/seed2", "base/seed3"}));
  const std::string md = acm::results::render_markdown(s);
  EXPECT_NE(md.find("Runs counted: 2 of the 4 planned by sweep 'tiny' (sweep.json). Not counted: 3"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Not counted"), std::string::npos);
  // Without a plan, the report says so and counts what it finds.
  TempDir loose;
  write_run(loose.path(), "x/seed0", config("cifar10", "resnet18", "none", 0), 80.0);
  EXPECT_NE(acm::results::render_markdown(acm::results::to_json(acm::results::summarize(loose.path(), {})))
                .find("No sweep plan (sweep.json)"),
            std::string::npos);
}

TEST(Report, EmptyOrMissingFolder) {
  TempDir tmp;
  const json s = acm::results::to_json(acm::results::summarize(tmp.path(), {}));
  EXPECT_TRUE(s["tables"].empty());
  EXPECT_NE(acm::results::render_markdown(s).find("No completed runs"), std::string::npos);
  EXPECT_THROW(acm::results::to_json(acm::results::summarize(tmp.file("nope"), {})), std::runtime_error);
}

}  // namespace

namespace {

// The committed studies, as `harness report` counts them.
acm::results::Summary committed(const std::string& study) {
  return acm::results::summarize(std::string(ACM_SOURCE_DIR) + "/results/" + study + "/runs", {});
}

}  // namespace

// Study 2 reused the first study's runs of the same identity: every reused run's numbers are its source's, and
// the report groups them under the same identity with the same values. The only groups the two studies share
// that were trained again are the extractors (the first study committed no checkpoints to read them from).
TEST(CommittedStudies, OverlappingArmsOfTheTwoFashionMnistStudiesAgree) {
  const std::string dir2 = std::string(ACM_SOURCE_DIR) + "/results/fashion-mnist-study2/runs";
  const auto s1 = committed("fashion-mnist"), s2 = committed("fashion-mnist-study2");
  std::map<std::string, const acm::results::Group*> first;
  for (const auto& g : s1.groups) first[g.id.key()] = &g;
  std::size_t same = 0, retrained = 0;
  for (const auto& g : s2.groups) {
    const auto it = first.find(g.id.key());
    if (it == first.end()) continue;
    const json any = json::parse(acm::fs::read_text(dir2 + "/" + g.folders[0] + "/result.json"));
    if (!any.contains("reused")) {  // trained here: an extractor of other runs
      EXPECT_EQ(g.id.method, "baseline") << g.folders[0] << " shares the first study's identity but was trained again";
      ++retrained;
      continue;
    }
    ASSERT_EQ(g.seeds, it->second->seeds) << g.folders[0];
    EXPECT_EQ(g.values, it->second->values) << g.folders[0] << ": same identity, other numbers";
    for (const auto& folder : g.folders) {
      const json r = json::parse(acm::fs::read_text(dir2 + "/" + folder + "/result.json"));
      ASSERT_TRUE(r.contains("reused")) << folder;
      const std::string from = r["reused"]["sweep"]["folder"];
      const json source = json::parse(
          acm::fs::read_text(std::string(ACM_SOURCE_DIR) + "/results/fashion-mnist/runs/" + from + "/result.json"));
      EXPECT_EQ(r["final"], source["final"]) << folder;
      EXPECT_EQ(r["epochs"], source["epochs"]) << folder;
    }
    ++same;
  }
  EXPECT_EQ(same, 2u) << "CutMix p 0.5 and Attentive CutMix p 1 with the study's extractor";
  EXPECT_EQ(retrained, 1u) << "the 10-epoch baseline, the study's extractors";
}
