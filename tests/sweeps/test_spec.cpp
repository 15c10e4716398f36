// Sweep specs: grid expansion (lists, ranges, a method's own axes, include/exclude), dependencies, stable run
// ids and readable folders, spec errors, and every shipped spec.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "acm/config.h"
#include "common/json_reader.h"
#include "common/files.h"
#include "sweeps/spec.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

// The call throws a ConfigError whose message holds `text`.
#define EXPECT_SPEC_ERROR(call, text) \
  acm::testing::expect_error<acm::config::ConfigError>([&] { call; }, {text})

namespace {

using nlohmann::json;
using acm::sweeps::expand_sweep;

json small_spec() {
  return json::parse(R"({
    "name": "t",
    "base": {"dataset": {"name": "synthetic", "train_size": 64, "test_size": 16, "channels": 1, "height": 8,
                         "width": 8, "classes": 4},
             "model_options": {"width": 4}, "epochs": 1, "batch_size": 16},
    "axes": [
      {"name": "model", "path": "model", "values": ["resnet18", "resnet34"]},
      {"name": "method", "values": [
        {"label": "baseline", "set": {"mix": {"method": "none"}}},
        {"label": "cutmix", "set": {"mix": {"method": "cutmix"}}},
        {"label": "attentive_cutmix", "set": {"mix": {"method": "attentive_cutmix"}},
         "extractor_from": {"method": "baseline"},
         "axes": [{"name": "n", "path": "mix.top_n", "values": "1..15"}]}]},
      {"name": "seed", "path": "seed", "values": [0, 1, 2]}]
  })");
}

acm::sweeps::ExpandOptions opts() {
  acm::sweeps::ExpandOptions o;
  o.out_dir = "/sweeps/out";
  return o;
}

TEST(SweepSpec, ExpandsListsRangesAndAMethodsOwnAxes) {
  const auto sw = expand_sweep(small_spec(), "t.json", opts());
  // 2 models × 3 seeds × (baseline + cutmix + 15 values of N)
  EXPECT_EQ(sw.runs.size(), 2u * 3 * (1 + 1 + 15));
  std::set<std::string> folders;
  for (const auto& r : sw.runs) folders.insert(r.folder);
  EXPECT_EQ(folders.size(), sw.runs.size());
  EXPECT_TRUE(folders.count("synthetic/resnet34/attentive_cutmix-n15/seed2"));
  EXPECT_TRUE(folders.count("synthetic/resnet18/baseline/seed0"));
  for (const auto& r : sw.runs) {
    if (r.labels["method"] == "baseline") {
      EXPECT_FALSE(r.labels.contains("n"));
    }
    if (r.labels["method"] == "attentive_cutmix") {
      EXPECT_EQ(r.config["mix"]["top_n"], r.labels["n"]);
    }
  }
}

TEST(SweepSpec, IncludeAndExcludeFilters) {
  json spec = small_spec();
  spec["exclude"] = json::parse(R"([{"n": "7..15"}, {"model": "resnet34", "method": "cutmix"}])");
  // 2 × 3 × (1 + 1 + 6) − 3 (resnet34 cutmix)
  EXPECT_EQ(expand_sweep(spec, "t.json", opts()).runs.size(), 2u * 3 * 8 - 3);
  spec.erase("exclude");
  spec["include"] = json::parse(R"([{"method": "baseline"}, {"method": "attentive_cutmix", "n": [1, 6], "seed": 0}])");
  // baselines: 2 × 3; attentive: 2 models × N ∈ {1, 6} × seed 0
  EXPECT_EQ(expand_sweep(spec, "t.json", opts()).runs.size(), 6u + 4);
}

TEST(SweepSpec, DependencyIsTheSameCoordinatesBaselineRun) {
  const auto sw = expand_sweep(small_spec(), "t.json", opts());
  for (const auto& r : sw.runs) {
    if (r.labels["method"] != "attentive_cutmix") {
      EXPECT_FALSE(r.extractor_from.has_value());
      continue;
    }
    ASSERT_TRUE(r.extractor_from.has_value());
    const auto& dep = sw.runs[*r.extractor_from];
    EXPECT_EQ(dep.labels, (json{{"model", r.labels["model"]}, {"method", "baseline"}, {"seed", r.labels["seed"]}}));
    EXPECT_EQ(r.config["mix"]["extractor"]["path"], "/sweeps/out/" + dep.folder);
  }
}

// An extractor_from that names the seed axis makes one extractor run serve every seed (as one pretrained
// network would): the dependents' seeds stay one experiment, their extractor named "seed 0 for every seed".
// Without it each seed has its own extractor ("same seed"), also one experiment.
TEST(SweepSpec, AnExtractorSharedByEverySeedKeepsTheSeedsOneGroup) {
  json spec = small_spec();
  spec["axes"][0]["values"] = {"resnet18"};
  spec["axes"][1]["values"][2]["axes"][0]["values"] = {6};
  spec["axes"][1]["values"][2]["extractor_from"] = {{"method", "baseline"}, {"seed", 0}};
  const auto shared = expand_sweep(spec, "t.json", opts());
  const auto per_seed = expand_sweep(small_spec(), "t.json", opts());
  for (const auto* sw : {&shared, &per_seed}) {
    std::set<std::string> keys;
    for (std::size_t i = 0; i < sw->runs.size(); ++i) {
      const auto& r = sw->runs[i];
      if (r.labels["method"] != "attentive_cutmix" || r.labels["model"] != "resnet18" || r.labels["n"] != 6) continue;
      const auto id = acm::sweeps::planned_identity(*sw, i);
      keys.insert(id.key());
      const std::string extractor = id.method_fields.at("/mix/extractor/identity").get<std::string>();
      EXPECT_NE(extractor.find(sw == &shared ? "seed 0 for every seed" : "same seed"), std::string::npos) << extractor;
      EXPECT_EQ(r.extractor_shared, sw == &shared);
      if (sw == &shared) {
        EXPECT_EQ(sw->runs[*r.extractor_from].labels["seed"], 0);
      }
    }
    EXPECT_EQ(keys.size(), 1u) << "the three seeds are one experiment";
  }
}

TEST(SweepSpec, RunIdsAreStable) {
  const auto a = expand_sweep(small_spec(), "t.json", opts());
  // Field order in the spec and the sweep folder's location do not change an id...
  json reordered = json::parse(small_spec().dump());
  auto o = opts();
  o.out_dir = "/elsewhere";
  const auto b = expand_sweep(reordered, "u.json", o);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) EXPECT_EQ(a.runs[i].id, b.runs[i].id) << a.runs[i].folder;
  // ...nor does this build: the id of a fixed config is pinned (a change here orphans every sweep folder).
  EXPECT_EQ(a.runs[0].folder, "synthetic/resnet18/baseline/seed0");
  EXPECT_EQ(a.runs[0].id, "e4b4d3e03a211023");
  // A changed value changes the ids of the runs it touches, and of the runs that depend on them, only.
  json changed = small_spec();
  changed["axes"][2]["values"] = {0, 1, 3};
  const auto c = expand_sweep(changed, "t.json", opts());
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    EXPECT_EQ(a.runs[i].id == c.runs[i].id, a.runs[i].labels["seed"] != 2) << a.runs[i].folder;
  }
  json other_base = small_spec();
  other_base["base"]["epochs"] = 2;
  EXPECT_NE(expand_sweep(other_base, "t.json", opts()).runs[0].id, a.runs[0].id);
}

TEST(SweepSpec, InputsAndTheirIdentity) {
  acm::testing::TempDir tmp;
  acm::testing::make_dir(tmp.file("data"));
  acm::testing::write_mnist_dir(tmp.file("data"), 20, 10, false);
  json spec = small_spec();
  spec["inputs"] = {{"data", {{"description", "an MNIST folder"}}}};
  spec["base"]["dataset"] = {{"name", "mnist"}, {"path", "${data}"}};
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "t.json: input 'data' is required: pass --input data=VALUE (an MNIST folder)");
  auto o = opts();
  o.inputs["data"] = tmp.file("data");
  const auto a = expand_sweep(spec, "t.json", o);
  EXPECT_EQ(a.runs[0].config["dataset"]["path"], tmp.file("data"));
  // The data's bytes are part of the identity: a changed file changes every id.
  acm::testing::write_mnist_dir(tmp.file("data"), 21, 10, false);
  const auto b = expand_sweep(spec, "t.json", o);
  EXPECT_NE(a.runs[0].id, b.runs[0].id);
  o.inputs["typo"] = "x";
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", o), "--input typo: the spec declares no such input");
}

// An ImageNet folder's identity is its listing: an added image changes every id, a broken layout is a spec
// error naming the dataset path.
TEST(SweepSpec, ImageFolderIdentityIsItsListing) {
  acm::testing::TempDir tmp;
  acm::testing::write_image_folder(tmp.file("in"), 2, 2, 1, 8, 8);
  json spec = small_spec();
  spec["base"]["dataset"] = {{"name", "imagenet"}, {"path", tmp.file("in")}, {"image_size", 8}, {"resize", 8}};
  const auto a = expand_sweep(spec, "t.json", opts());
  EXPECT_EQ(expand_sweep(spec, "t.json", opts()).runs[0].id, a.runs[0].id);
  acm::testing::write_bytes(tmp.file("in/train/c001/extra.JPEG"), {0xFF, 0xD8, 0xFF});
  const auto b = expand_sweep(spec, "t.json", opts());
  EXPECT_NE(a.runs[0].id, b.runs[0].id);
  acm::testing::remove_tree(tmp.file("in/val"));
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "$.dataset.path: " + tmp.file("in/val") + ": no such folder");
}

TEST(SweepSpec, ErrorsNameTheSpecAndPath) {
  json spec = small_spec();
  spec["axes"][2]["values"] = "5..1";
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "t.json:$.axes[2].values: expected a list or a range \"A..B\" with A <= B, found \"5..1\"");
  spec = small_spec();
  spec["exclude"] = json::parse(R"([{"lr": 1}])");
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "t.json:$.exclude[0].lr: no axis is named 'lr'");
  spec = small_spec();
  spec["exclude"] = json::parse(R"([{"method": "baseline"}])");
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "which the axes and filters do not produce");
  spec = small_spec();
  spec["axes"][0]["values"] = {"resnet18", "resnet9000"};
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "$.model: ");
  spec = small_spec();
  spec["base"]["epochz"] = 3;
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "epochz");
  spec = small_spec();
  spec["axes"][2]["name"] = "model";
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "axis 'model' appears twice");
  // "reuse": folders, resolved against the spec's folder.
  spec = small_spec();
  spec["reuse"] = "runs";
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", opts()), "t.json:$.reuse: expected a list of folders");
  spec["reuse"] = {"old-runs"};
  auto o = opts();
  o.spec_dir = "/no/such/specs";
  EXPECT_SPEC_ERROR(expand_sweep(spec, "t.json", o),
                    "t.json:$.reuse: 'old-runs' is not a folder (resolved against the spec's folder as "
                    "/no/such/specs/old-runs)");
}

// Folders follow the report's rule (results/identity.h): an axis that sets only the method's own fields goes
// into the method part, one that changes the setting into the rest, wherever the spec declares it.
TEST(SweepSpec, FolderPartsFollowTheGroupingRule) {
  json spec = small_spec();
  spec["axes"] = json::parse(R"([
    {"name": "method", "values": [{"label": "cutmix", "set": {"mix": {"method": "cutmix"}}}]},
    {"name": "p", "path": "mix.prob", "values": [0.5, 1.0]},
    {"name": "epochs", "path": "epochs", "values": [1, 2]},
    {"name": "seed", "path": "seed", "values": [0]}])");
  std::set<std::string> folders;
  for (const auto& r : expand_sweep(spec, "t.json", opts()).runs) folders.insert(r.folder);
  EXPECT_EQ(folders, (std::set<std::string>{"synthetic/resnet18/cutmix-p0.5/epochs1-seed0",
                                            "synthetic/resnet18/cutmix-p0.5/epochs2-seed0",
                                            "synthetic/resnet18/cutmix-p1.0/epochs1-seed0",
                                            "synthetic/resnet18/cutmix-p1.0/epochs2-seed0"}));
}

// Runs that differ only in fields that do not change what is computed (here threads) are one experiment and
// one seed: the second would only repeat the first, and the spec says so.
TEST(SweepSpec, AnAxisThatChangesNothingComputedIsAnError) {
  json spec = small_spec();
  spec["axes"] = json::parse(R"([{"name": "threads", "path": "threads", "values": [1, 2]},
                                 {"name": "seed", "path": "seed", "values": [0]}])");
  EXPECT_SPEC_ERROR(
      expand_sweep(spec, "t.json", opts()),
      "t.json: runs synthetic/resnet18/baseline/threads1-seed0 and "
      "synthetic/resnet18/baseline/threads2-seed0 "
      "are one experiment with one seed (they differ only in threads, which does not change what is "
      "computed)");
  // A seed axis, or one that changes the setting, is fine.
  spec["axes"][0] = json::parse(R"({"name": "lr", "path": "optimizer.lr", "values": [0.1, 0.2]})");
  EXPECT_EQ(expand_sweep(spec, "t.json", opts()).runs.size(), 2u);
}

// Every shipped spec validates and expands to its documented count (paper specs with their inputs given).
TEST(SweepSpec, ShippedSpecsExpandToTheirCounts) {
  acm::testing::TempDir tmp;
  acm::testing::make_dir(tmp.file("data"));
  acm::testing::write_image_folder(tmp.file("imagenet"), 2, 1, 1, 8, 8);
  acm::fs::write_file_atomic(tmp.file("extractor.pt"), "not read by the expansion, only hashed");
  const std::string specs = std::string(ACM_SOURCE_DIR) + "/sweeps/specs/";
  const std::vector<std::pair<std::string, std::size_t>> expected = {
      {"quickstart.json", 11},
      {"paper-cifar10.json", 48},
      {"paper-cifar100.json", 48},
      {"paper-imagenet.json", 48},
      {"ablation-n-cifar10.json", 15 * 3},
      {"fashion-mnist-study.json", 3 * 5 + 14 * 2},  // four methods and the no-cache arm; N = 1..15 but 6
      {"mixers-fashion-mnist.json", 9 * 3},
      // Block A: 3 extractors, the strong one, CutMix and Attentive CutMix (2 extractors) at 2 probabilities ×
      // 3 seeds; Block B: baseline, CutMix and Attentive CutMix × 3 seeds; N 1, 3, 9, 12 × 2 seeds.
      {"fashion-mnist-study2.json", 3 + 1 + 2 * 3 + 4 * 3 + 3 * 3 + 4 * 2}};
  std::set<std::string> listed;
  for (const auto& [name, count] : expected) {
    listed.insert(name);
    auto o = opts();
    const json spec = json::parse(acm::fs::read_text(specs + name));
    if (spec.contains("inputs")) {  // the paper specs: a data folder and an extractor file
      o.inputs = {{"data", tmp.file(name == "paper-imagenet.json" ? "imagenet" : "data")},
                  {"extractor", tmp.file("extractor.pt")}};
    }
    const auto sw = acm::sweeps::load_sweep(specs + name, o);
    EXPECT_EQ(sw.runs.size(), count) << name;
    EXPECT_FALSE(sw.description.empty()) << name;
  }
  for (const auto& f : acm::fs::list_dir(specs)) EXPECT_TRUE(listed.count(f)) << f << " is not checked here";
}

}  // namespace
