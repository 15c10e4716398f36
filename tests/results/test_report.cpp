// `harness report`: aggregation over seeds checked against hand-computed numbers, Welch p-values against
// scipy, and the rendered tables and plot against expected files (tests/results/expected).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "results/files.h"
#include "results/render.h"
#include "results/stats.h"
#include "results/summary.h"
#include "acm/config.h"
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

void write_run(const std::string& root, const std::string& folder, const json& cfg, double best, double last = -1) {
  acm::results::make_dirs(root + "/" + folder);
  const json r = {{"status", "completed"},
                  {"config", cfg},
                  {"final", {{"best_test_top1", best}, {"last_test_top1", last < 0 ? best - 0.5 : last},
                             {"median5_test_top1", best - 1}}}};
  acm::results::write_text_atomic(root + "/" + folder + "/result.json", r.dump());
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
                config("cifar10", "resnet18", "attentive_cutmix", static_cast<int>(s), 80, n), values[s]);
    }
  }
  write_run(root, "cifar10/resnet34/baseline/seed0", config("cifar10", "resnet34", "none", 0, 10), 70.0);
  write_run(root, "cifar10/resnet34/baseline/seed1", config("cifar10", "resnet34", "none", 1, 10), 71.0);
  write_run(root, "fashion-mnist/resnet18/baseline/seed0", config("fashion-mnist", "resnet18", "none", 0, 5), 90.1);
  write_run(root, "fashion-mnist/resnet18/cutmix/seed0", config("fashion-mnist", "resnet18", "cutmix", 0, 5), 90.4);
  write_run(root, "fashion-mnist/resnet18/cutmix/seed1", config("fashion-mnist", "resnet18", "cutmix", 1, 5), 90.8);
  acm::results::make_dirs(root + "/fashion-mnist/resnet18/mixup/seed0");
  acm::results::write_text_atomic(root + "/fashion-mnist/resnet18/mixup/seed0/result.json",
                                  json{{"status", "failed"}, {"error", "non-finite loss at epoch 1 step 3"},
                                       {"config", config("fashion-mnist", "resnet18", "mixup", 0, 5)}}
                                      .dump());
  acm::results::make_dirs(root + "/fashion-mnist/resnet18/mixup/seed1");
  acm::results::write_text_atomic(root + "/fashion-mnist/resnet18/mixup/seed1/config.json", "{}");
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

TEST(Stats, WelchMatchesScipy) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> samples = {
      {{89.0, 89.4, 88.8}, {88.1, 87.7, 88.3}},
      {{84.0, 85.0, 86.5}, {87.0, 88.0, 88.6}},
      {{70.0, 71.0}, {90.1, 90.2, 90.9, 91.4, 89.0}},
      {{1.0, 2.0, 3.0, 4.0}, {1.5, 2.5}},
      {{50.0, 50.1}, {50.0, 50.1}}};
  json input = json::array();
  for (const auto& [a, b] : samples) input.push_back({a, b});
  TempDir tmp;
  acm::results::write_text_atomic(tmp.file("in.json"), input.dump());
  std::string out;
  ASSERT_EQ(acm::testing::run_command(std::string(ACM_PYTHON) + " " + ACM_SOURCE_DIR +
                                          "/tests/results/welch_reference.py < " + tmp.file("in.json"),
                                      &out),
            0)
      << out;
  const json ref = json::parse(out);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto w = acm::results::welch_t_test(samples[i].first, samples[i].second);
    EXPECT_NEAR(w.t, ref[i][0].get<double>(), 1e-10) << i;
    EXPECT_NEAR(w.df, ref[i][1].get<double>(), 1e-9) << i;
    EXPECT_NEAR(w.p, ref[i][2].get<double>(), 1e-10) << i;
  }
}

TEST(Report, MeansStdsAndGroupsByHand) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::summarize(tmp.path(), {});
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
  const json s = acm::results::summarize(tmp.path(), {});
  EXPECT_DOUBLE_EQ(group(s, "imagenet", "resnet18", "baseline")["paper"].get<double>(), 73.54);
  EXPECT_DOUBLE_EQ(group(s, "imagenet", "efficientnet_b0", "baseline")["paper"].get<double>(), 76.12);
  EXPECT_EQ(group(s, "imagenet", "efficientnet_b1", "baseline")["paper"], nullptr);  // 100, not 180 epochs
  EXPECT_EQ(group(s, "imagenet", "densenet121", "baseline")["paper"], nullptr);      // batch 32, not 64
}

TEST(Report, TableRowsColumnsBestGainAndAblation) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::summarize(tmp.path(), {});
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
  EXPECT_NEAR(row["gain_over_cutmix"]["attentive_cutmix"]["difference"].get<double>(), (267.2 - 264.1) / 3, 1e-9);
  const auto w = acm::results::welch_t_test({89.0, 89.4, 88.8}, {88.1, 87.7, 88.3});
  EXPECT_NEAR(row["gain_over_cutmix"]["attentive_cutmix"]["p"].get<double>(), w.p, 1e-15);
  // Six pairs of four methods with 3 seeds each for ResNet-18; ResNet-34 has one method; Fashion-MNIST's
  // baseline has one seed, so no test.
  int resnet18_pairs = 0;
  for (const auto& c : s["comparisons"]) {
    if (c["dataset"] == "cifar10" && c["model"] == "resnet18") ++resnet18_pairs;
    EXPECT_NE(c["dataset"], "fashion-mnist");
  }
  EXPECT_EQ(resnet18_pairs, 6);
  ASSERT_EQ(s["ablations"].size(), 1u);
  std::vector<int> ns;
  for (const auto& p : s["ablations"][0]["points"]) ns.push_back(p["n"]);
  EXPECT_EQ(ns, (std::vector<int>{1, 3, 6, 12}));
  EXPECT_NEAR(s["ablations"][0]["points"][0]["mean"].get<double>(), 87.25, 1e-12);
  // --metric last averages each run's last-epoch figure instead.
  acm::results::ReportOptions last;
  last.metric = "last";
  EXPECT_NEAR(group(acm::results::summarize(tmp.path(), last), "cifar10", "resnet18", "baseline")["mean"].get<double>(),
              85.0 - 1.0 / 3, 1e-12);
  EXPECT_THROW(acm::results::metric_field("mean"), std::invalid_argument);
}

TEST(Report, OutputsMatchExpectedFiles) {
  TempDir tmp;
  write_fixture(tmp.path());
  const json s = acm::results::summarize(tmp.path(), {});
  const std::string expected = std::string(ACM_SOURCE_DIR) + "/tests/results/expected/";
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"table.md", acm::results::render_markdown(s)},
      {"table.csv", acm::results::render_csv(s)},
      {"table.tex", acm::results::render_latex(s)},
      {"ablation.svg", acm::results::render_ablation_svg(s)}};
  for (const auto& [name, text] : outputs) {
    if (std::getenv("ACM_UPDATE_EXPECTED")) acm::results::write_text_atomic(expected + name, text);
    EXPECT_EQ(text, acm::results::read_text(expected + name)) << name << " differs from " << expected << name
                                                              << " (ACM_UPDATE_EXPECTED=1 rewrites it)";
  }
  // write_report writes the same files and the summary.
  acm::results::write_report(s, tmp.file("report"));
  EXPECT_EQ(json::parse(acm::results::read_text(tmp.file("report/summary.json"))), s);
  EXPECT_EQ(acm::results::read_text(tmp.file("report/ablation.svg")), outputs[3].second);
}

TEST(Report, PlotMarksPaperNAndDrawsOneLinePerSeries) {
  TempDir tmp;
  write_fixture(tmp.path());
  const std::string svg = acm::results::render_ablation_svg(acm::results::summarize(tmp.path(), {}));
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

TEST(Report, EmptyOrMissingFolder) {
  TempDir tmp;
  const json s = acm::results::summarize(tmp.path(), {});
  EXPECT_TRUE(s["tables"].empty());
  EXPECT_NE(acm::results::render_markdown(s).find("No completed runs"), std::string::npos);
  EXPECT_THROW(acm::results::summarize(tmp.file("nope"), {}), std::runtime_error);
}

}  // namespace
