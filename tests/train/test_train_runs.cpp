// Whole runs of the real `harness train` binary: determinism, resume equivalence (after an epoch and
// mid-epoch by SIGTERM), atomic results under SIGKILL, and a non-finite loss.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "acm/config.h"
#include "harness/train/precision.h"
#include "models/weights.h"
#include "tests/test_util.h"

namespace acm::train {
namespace {

using acm::testing::TempDir;
using nlohmann::json;


// A tiny run: 1×16×16 synthetic images, 4 classes, ResNet-18 of width 4.
json tiny_config(std::int64_t train_size, std::int64_t epochs) {
  return {{"dataset",
           {{"name", "synthetic"},
            {"train_size", train_size},
            {"test_size", 128},
            {"channels", 1},
            {"height", 16},
            {"width", 16},
            {"classes", 4},
            {"noise", 0.6}}},
          {"model_options", {{"width", 4}}},
          {"epochs", epochs},
          {"batch_size", 32},
          {"augment", {{"crop_padding", 2}}},
          {"threads", 1},
          {"loader_threads", 1},
          // The end-of-run corruptions (35 more passes over the test set; bf16 on the CPU makes them slow) are
          // tested where they are the point (RobustnessCurves..., BadCorruption...); here they would only add time.
          {"eval", {{"corruption_severities", json::array()}}}};
}

std::string write_config(const TempDir& dir, const json& j, const std::string& name = "run.json") {
  std::ofstream(dir.file(name)) << j.dump(2);
  return dir.file(name);
}

int train(const std::vector<std::string>& extra, const std::string& log) {
  std::vector<std::string> argv = {acm::testing::harness_path(), "train", "--quiet"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return acm::testing::wait_exit(acm::testing::spawn(argv, log));
}

json read_json(const std::string& path) { return json::parse(acm::testing::read_text(path)); }

// Model and optimizer tensors of a checkpoint are bit-identical.
void expect_same_state(const std::string& a, const std::string& b) {
  const auto fa = models::read_safetensors(a), fb = models::read_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (std::size_t i = 0; i < fa.tensors.size(); ++i) {
    ASSERT_EQ(fa.tensors[i].first, fb.tensors[i].first);
    EXPECT_TRUE(torch::equal(fa.tensors[i].second, fb.tensors[i].second))
        << fa.tensors[i].first << " differs";
  }
}

// Per-epoch metrics without the wall-clock fields.
json metrics_of(const json& result) {
  json out = json::array();
  for (auto e : result.at("epochs")) {
    e.erase("images_per_s");
    e.erase("seconds");
    out.push_back(e);
  }
  return out;
}

std::string state_of(const std::string& ckpt, const char* key) {
  return json::parse(models::read_safetensors(ckpt).metadata.at("state")).at(key).dump();
}

// Trains the config at `path` whole (DIR/TAG-whole) and in two sittings (DIR/TAG-split: stopped after 21 steps
// — mid-epoch at 16 steps per epoch — then --resume), and expects the same final checkpoint, tensor for tensor,
// and the same per-epoch metrics. `after_stop` looks at the stopped sitting's checkpoint.
void expect_resume_bit_identical(const TempDir& dir, const std::string& path, const std::string& tag,
                                 const std::function<void(const std::string&)>& after_stop = nullptr) {
  ASSERT_EQ(train({"--config", path, "--out", dir.file(tag + "-whole")}, dir.file(tag + "-w.log")), 0)
      << acm::testing::read_text(dir.file(tag + "-w.log"));
  ASSERT_EQ(train({"--config", path, "--out", dir.file(tag + "-split"), "--stop-after", "21"},
                  dir.file(tag + "-s1.log")),
            75)
      << acm::testing::read_text(dir.file(tag + "-s1.log"));
  if (after_stop) after_stop(dir.file(tag + "-split/checkpoint.safetensors"));
  ASSERT_EQ(train({"--out", dir.file(tag + "-split"), "--resume"}, dir.file(tag + "-s2.log")), 0)
      << acm::testing::read_text(dir.file(tag + "-s2.log"));
  expect_same_state(dir.file(tag + "-whole/checkpoint.safetensors"), dir.file(tag + "-split/checkpoint.safetensors"));
  EXPECT_EQ(metrics_of(read_json(dir.file(tag + "-whole/result.json"))),
            metrics_of(read_json(dir.file(tag + "-split/result.json"))))
      << tag;
}

// A tiny run whose checkpoint (DIR/ex) serves as an Attentive CutMix extractor: the CIFAR stem gives a 2×2 map
// for 16×16 images (the ImageNet stem's 1×1 would be refused).
void train_extractor(const TempDir& dir) {
  json ex = tiny_config(256, 1);
  ex["model_options"]["stem"] = "cifar";
  ASSERT_EQ(train({"--config", write_config(dir, ex, "ex.json"), "--out", dir.file("ex")}, dir.file("ex.log")), 0)
      << acm::testing::read_text(dir.file("ex.log"));
}

TEST(TrainRun, SameSeedGivesTheSameNumbers) {
  TempDir dir;
  const std::string cfg = write_config(dir, tiny_config(512, 2));
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("a")}, dir.file("a.log")), 0)
      << acm::testing::read_text(dir.file("a.log"));
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("b")}, dir.file("b.log")), 0);
  ASSERT_EQ(train({"--config", cfg, "--set", "seed=1", "--out", dir.file("c")}, dir.file("c.log")), 0);
  const json a = read_json(dir.file("a/result.json")), b = read_json(dir.file("b/result.json"));
  EXPECT_EQ(a.at("status"), "completed");
  EXPECT_EQ(metrics_of(a), metrics_of(b));
  EXPECT_EQ(a.at("final"), b.at("final"));
  expect_same_state(dir.file("a/checkpoint.safetensors"), dir.file("b/checkpoint.safetensors"));
  EXPECT_NE(metrics_of(a), metrics_of(read_json(dir.file("c/result.json")))) << "another seed, other numbers";
}

TEST(TrainRun, ResultRecordsConfigEnvironmentMetricsAndTiming) {
  TempDir dir;
  const std::string cfg = write_config(dir, tiny_config(256, 3));
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("r")}, dir.file("r.log")), 0);
  const json r = read_json(dir.file("r/result.json"));
  EXPECT_EQ(r.at("schema_version"), 1);
  EXPECT_EQ(r.at("config").at("epochs"), 3);
  EXPECT_EQ(r.at("config"), read_json(dir.file("r/config.json")));
  EXPECT_EQ(r.at("environment").at("libtorch").get<std::string>().substr(0, 4), "2.11");
  EXPECT_TRUE(r.at("environment").contains("git_commit"));
  ASSERT_EQ(r.at("epochs").size(), 3u);
  double best = 0;
  for (const auto& e : r.at("epochs")) {
    best = std::max(best, e.at("test_top1").get<double>());
    EXPECT_GE(e.at("test_top5").get<double>(), e.at("test_top1").get<double>());
    EXPECT_GT(e.at("images_per_s").get<double>(), 0);
  }
  const json f = r.at("final");
  EXPECT_EQ(f.at("headline").at("metric"), "best_test_top1");
  EXPECT_EQ(f.at("best_test_top1").get<double>(), best);
  EXPECT_EQ(f.at("last_test_top1"), r.at("epochs").back().at("test_top1"));
  for (const char* part : {"data", "augment", "forward_backward", "communication", "optimizer", "eval"}) {
    EXPECT_TRUE(r.at("timing").contains(part)) << part;
  }
  EXPECT_GT(r.at("timing").at("forward_backward").get<double>(), 0);
}

TEST(TrainRun, ResumeAfterEpochOneEndsBitIdentical) {
  TempDir dir;
  const std::string cfg = write_config(dir, tiny_config(512, 2));  // 16 steps per epoch
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("whole")}, dir.file("w.log")), 0);
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("split"), "--stop-after", "16"}, dir.file("s1.log")),
            75)
      << acm::testing::read_text(dir.file("s1.log"));
  EXPECT_FALSE(acm::testing::exists(dir.file("split/result.json")));
  EXPECT_EQ(state_of(dir.file("split/checkpoint.safetensors"), "epoch"), "1");
  EXPECT_EQ(state_of(dir.file("split/checkpoint.safetensors"), "step_in_epoch"), "0");
  ASSERT_EQ(train({"--out", dir.file("split"), "--resume"}, dir.file("s2.log")), 0)
      << acm::testing::read_text(dir.file("s2.log"));
  expect_same_state(dir.file("whole/checkpoint.safetensors"), dir.file("split/checkpoint.safetensors"));
  EXPECT_EQ(metrics_of(read_json(dir.file("whole/result.json"))),
            metrics_of(read_json(dir.file("split/result.json"))));
}

TEST(TrainRun, ResumeMidEpochAfterSigtermEndsBitIdentical) {
  TempDir dir;
  const std::string cfg = write_config(dir, tiny_config(4096, 1));  // 128 steps in one epoch
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("whole")}, dir.file("w.log")), 0);
  const int pid = acm::testing::spawn({acm::testing::harness_path(), "train", "--config", cfg, "--out", dir.file("split")},
                                      dir.file("s1.log"));
  ASSERT_TRUE(acm::testing::wait_for_text(dir.file("s1.log"), "data  synthetic", 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGTERM);
  ASSERT_EQ(acm::testing::wait_exit(pid), 75) << acm::testing::read_text(dir.file("s1.log"));
  EXPECT_NE(acm::testing::read_text(dir.file("s1.log")).find("signal 15: checkpoint at epoch 1"),
            std::string::npos);
  EXPECT_FALSE(acm::testing::exists(dir.file("split/result.json")));
  const std::string step = state_of(dir.file("split/checkpoint.safetensors"), "step_in_epoch");
  EXPECT_NE(step, "0");
  EXPECT_NE(step, "128") << "the signal should land mid-epoch";
  ASSERT_EQ(train({"--out", dir.file("split"), "--resume"}, dir.file("s2.log")), 0)
      << acm::testing::read_text(dir.file("s2.log"));
  expect_same_state(dir.file("whole/checkpoint.safetensors"), dir.file("split/checkpoint.safetensors"));
  EXPECT_EQ(metrics_of(read_json(dir.file("whole/result.json"))),
            metrics_of(read_json(dir.file("split/result.json"))));
}

// Mixed batches come from a generator keyed on (seed, step): an interrupted run resumed mid-epoch draws
// exactly what the uninterrupted one drew.
TEST(TrainRun, MixedRunsResumeMidEpochBitIdentical) {
  for (const json& mix :
       {json{{"method", "mixup"}, {"alpha", 0.4}, {"per_sample", true}},
        json{{"method", "cutmix"}, {"prob", 1.0}}, json{{"method", "cutout"}, {"size", 6}}}) {
    TempDir dir;
    json cfg = tiny_config(512, 2);  // 16 steps per epoch
    cfg["mix"] = mix;
    const std::string method = mix.at("method");
    expect_resume_bit_identical(dir, write_config(dir, cfg), method, [&](const std::string& ckpt) {
      EXPECT_EQ(state_of(ckpt, "step_in_epoch"), "5") << method;
    });
    const json whole = read_json(dir.file(method + "-whole/result.json"));
    EXPECT_EQ(whole.at("config").at("mix").at("method"), method);
    EXPECT_GT(whole.at("timing").at("augment").get<double>(), 0) << method;
  }
}

// The four later methods keep the same contract; their resolved fields are written back into the result.
TEST(TrainRun, LaterMixersResumeMidEpochBitIdentical) {
  for (const json& mix : {json{{"method", "saliencymix"}, {"prob", 1.0}}, json{{"method", "resizemix"}},
                          json{{"method", "fmix"}, {"decay", 2.5}}, json{{"method", "gridmix"}, {"grid", 3}}}) {
    TempDir dir;
    json cfg = tiny_config(512, 2);
    cfg["mix"] = mix;
    const std::string method = mix.at("method");
    expect_resume_bit_identical(dir, write_config(dir, cfg), method, [&](const std::string& ckpt) {
      EXPECT_EQ(state_of(ckpt, "step_in_epoch"), "5") << method;
    });
    const json resolved = read_json(dir.file(method + "-whole/result.json")).at("config").at("mix");
    for (const auto& [k, v] : mix.items()) EXPECT_EQ(resolved.at(k), v) << method << " " << k;
    EXPECT_GT(resolved.size(), mix.size()) << method << ": its defaults are resolved too: " << resolved;
  }
}

TEST(TrainRun, SigkillLeavesNoResultClaimingCompletion) {
  TempDir dir;
  // 512 steps: still training when the last kill comes.
  const std::string cfg = write_config(dir, tiny_config(16384, 1));
  for (int delay_ms : {0, 400, 900}) {
    const std::string out = dir.file("k" + std::to_string(delay_ms));
    const int pid = acm::testing::spawn({acm::testing::harness_path(), "train", "--config", cfg, "--out", out}, out + ".log");
    ASSERT_TRUE(acm::testing::wait_for_text(out + ".log", "run ", 60));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(acm::testing::wait_exit(pid), 128 + SIGKILL);
    EXPECT_FALSE(acm::testing::exists(out + "/result.json")) << "killed after " << delay_ms << " ms";
  }
}

TEST(TrainRun, NonFiniteLossStopsWithAFailedResult) {
  TempDir dir;
  json cfg = tiny_config(256, 2);
  // Normalising by a vanishing std turns pixels into infinities: the first loss is NaN.
  cfg["augment"] = {{"normalize", "given"}, {"mean", {0.0}}, {"std", {1e-300}}};
  ASSERT_EQ(train({"--config", write_config(dir, cfg), "--out", dir.file("nan")}, dir.file("nan.log")), 1);
  const json r = read_json(dir.file("nan/result.json"));
  EXPECT_EQ(r.at("status"), "failed");
  EXPECT_NE(r.at("error").get<std::string>().find("non-finite loss"), std::string::npos) << r.at("error");
  EXPECT_NE(r.at("error").get<std::string>().find("epoch 1 step 1"), std::string::npos) << r.at("error");
  EXPECT_FALSE(r.contains("final")) << "a failed run has no final metrics";
  EXPECT_NE(acm::testing::read_text(dir.file("nan.log")).find("non-finite loss"), std::string::npos);
}

TEST(TrainRun, RefusesToOverwriteOrToResumeNothing) {
  TempDir dir;
  const std::string cfg = write_config(dir, tiny_config(256, 1));
  ASSERT_EQ(train({"--config", cfg, "--out", dir.file("r")}, dir.file("1.log")), 0);
  EXPECT_EQ(train({"--config", cfg, "--out", dir.file("r")}, dir.file("2.log")), 1);
  EXPECT_NE(acm::testing::read_text(dir.file("2.log")).find("already exists (status completed)"),
            std::string::npos);
  EXPECT_EQ(train({"--config", cfg, "--out", dir.file("none"), "--resume"}, dir.file("3.log")), 1);
  EXPECT_NE(acm::testing::read_text(dir.file("3.log")).find("--resume: no checkpoint"), std::string::npos);
}

TEST(TrainRun, BadConfigExitsTwoNamingThePath) {
  TempDir dir;
  json cfg = tiny_config(256, 1);
  cfg["optimizer"] = {{"name", "lamb"}};
  EXPECT_EQ(train({"--config", write_config(dir, cfg), "--out", dir.file("x")}, dir.file("x.log")), 2);
  const std::string log = acm::testing::read_text(dir.file("x.log"));
  EXPECT_NE(log.find("$.optimizer.name: expected one of sgd, adam, adamw, found \"lamb\""), std::string::npos)
      << log;
  EXPECT_FALSE(acm::testing::exists(dir.file("x"))) << "nothing written for a config that does not parse";
}

// Attentive CutMix with a previous run's checkpoint as the extractor, exact per-batch pass and cache: a
// resumed run ends bit-identical to an uninterrupted one, and the resumed sitting reads the cache instead of
// rebuilding.
TEST(TrainRun, AttentiveRunsResumeBitIdenticalAndReuseTheCache) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(train_extractor(dir));
  for (bool cache : {false, true}) {
    json cfg = tiny_config(512, 2);
    cfg["mix"] = {{"method", "attentive_cutmix"},
                  {"top_n", 5},
                  {"cache", cache},
                  {"extractor", {{"path", dir.file("ex")}}}};
    const std::string tag = cache ? "cache" : "exact";
    expect_resume_bit_identical(dir, write_config(dir, cfg, tag + ".json"), tag);
    const json whole = read_json(dir.file(tag + "-whole/result.json"));
    const json split = read_json(dir.file(tag + "-split/result.json"));
    EXPECT_EQ(whole.at("attention").at("cache"), cache);
    EXPECT_EQ(whole.at("attention").at("map"), json::array({32, 2, 2}));
    EXPECT_NE(whole.at("attention").at("extractor").get<std::string>().find("resnet18 (harness checkpoint"),
              std::string::npos);
    EXPECT_EQ(acm::testing::exists(dir.file(tag + "-whole/attention_cache.safetensors")), cache);
    if (cache) {
      EXPECT_TRUE(whole.at("attention").at("cache_built").get<bool>());
      EXPECT_FALSE(split.at("attention").at("cache_built").get<bool>())
          << "the resumed sitting reads the cache";
    }
  }
}

// Dropout and stochastic depth draw from the CPU generator at every step: the checkpoint carries its state
// and the resumed sitting puts it back once setup (model init, the extractor) is done, so a run resumed
// mid-epoch ends bit-identical — with and without a mixer and an extractor. EfficientNet-B0 at width 8 has
// both. (Without the restore, every tensor of the final checkpoint differs.)
TEST(TrainRun, DropoutAndStochasticDepthResumeMidEpochBitIdentical) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(train_extractor(dir));
  for (const std::string method : {"none", "attentive_cutmix"}) {
    json cfg = tiny_config(512, 2);  // 16 steps per epoch
    cfg["model"] = "efficientnet_b0";
    cfg["model_options"] = {{"width", 8}, {"stem", "cifar"}};
    cfg["mix"] = {{"method", method}};
    if (method != "none") cfg["mix"].update({{"top_n", 3}, {"extractor", {{"path", dir.file("ex")}}}});
    expect_resume_bit_identical(dir, write_config(dir, cfg, method + ".json"), method, [](const std::string& ckpt) {
      const json generators = json::parse(models::read_safetensors(ckpt).metadata.at("generators"));
      EXPECT_EQ(generators.at("cpu"), "rng/cpu");
      EXPECT_TRUE(generators.contains("loader") && generators.contains("mixer")) << generators.dump();
    });
  }
}

TEST(TrainRun, BadExtractorOrGridExitsTwoBeforeTraining) {
  TempDir dir;
  json cfg = tiny_config(256, 1);
  cfg["mix"] = {{"method", "attentive_cutmix"}, {"extractor", {{"path", dir.file("missing")}}}};
  EXPECT_EQ(train({"--config", write_config(dir, cfg), "--out", dir.file("x")}, dir.file("x.log")), 2);
  std::string log = acm::testing::read_text(dir.file("x.log"));
  EXPECT_NE(log.find("$.mix.extractor.path: extractor " + dir.file("missing") + ": no such file"),
            std::string::npos)
      << log;
  EXPECT_FALSE(acm::testing::exists(dir.file("x/checkpoint.safetensors")));
  EXPECT_FALSE(acm::testing::exists(dir.file("x/result.json")));
  cfg["mix"]["grid"] = 20;
  EXPECT_EQ(train({"--config", write_config(dir, cfg), "--out", dir.file("y")}, dir.file("y.log")), 2);
  log = acm::testing::read_text(dir.file("y.log"));
  EXPECT_NE(log.find("$.mix.grid: a 20×20 grid does not fit 16×16 images"), std::string::npos) << log;
  cfg["mix"] = {{"method", "attentive_cutmix"}, {"top_n", 50}, {"extractor", {{"path", "x"}}}};
  EXPECT_EQ(train({"--config", write_config(dir, cfg), "--out", dir.file("z")}, dir.file("z.log")), 2);
  log = acm::testing::read_text(dir.file("z.log"));
  EXPECT_NE(log.find("$.mix.top_n"), std::string::npos) << log;
}

TEST(TrainRun, GalleryDrawsTheConfigsDataAndRefusesOtherMethods) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(train_extractor(dir));
  json cfg = tiny_config(256, 1);
  cfg["mix"] = {{"method", "attentive_cutmix"}, {"extractor", {{"path", dir.file("ex")}}}};
  const std::string path = write_config(dir, cfg, "att.json");
  EXPECT_EQ(acm::testing::wait_exit(acm::testing::spawn(
                {acm::testing::harness_path(), "gallery", "--config", path, "--out", dir.file("g.png"), "--count", "5"},
                dir.file("g.log"))),
            0)
      << acm::testing::read_text(dir.file("g.log"));
  const std::string png = acm::testing::read_text(dir.file("g.png"));
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) | (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  // 16×16 images at scale 6: 11 columns of 96 px (donor, heatmap, recipient, 8 methods) and 5 rows, with 10 px
  // gaps and 15 px text lines.
  EXPECT_EQ(be32(16), 10u + 11u * 106u);
  EXPECT_EQ(be32(20), 10u + 15u + 5u * (96u + 15u + 10u));
  EXPECT_NE(acm::testing::read_text(dir.file("g.log")).find("5 donors of synthetic/train"),
            std::string::npos);
  cfg["mix"] = {{"method", "cutmix"}};
  EXPECT_EQ(
      acm::testing::wait_exit(acm::testing::spawn(
          {acm::testing::harness_path(), "gallery", "--config", write_config(dir, cfg, "cm.json"), "--out", dir.file("h.png")},
          dir.file("h.log"))),
      2);
  EXPECT_NE(
      acm::testing::read_text(dir.file("h.log")).find("$.mix.method: the gallery shows Attentive CutMix"),
      std::string::npos);
  EXPECT_FALSE(acm::testing::exists(dir.file("h.png")));
}

// ---- precision -------------------------------------------------------------------------------------------

// bf16 autocast on the CPU through the program: a short run learns, and a run stopped mid-epoch and resumed is
// bit-identical to the uninterrupted one. fp32 configs keep their resolved form (no
// precision field), so their hashes and sweep run ids do not move.
TEST(Precision, Bf16RunLearnsAndResumesBitIdentical) {
  TempDir dir;
  json base = tiny_config(2048, 2);  // 64 steps per epoch; stopped at 21 and resumed
  base["dataset"].erase("noise");
  base["model_options"]["width"] = 8;
  base["augment"]["crop_padding"] = 0;
  base["optimizer"] = {{"lr", 0.05}};
  base["schedule"] = {{"name", "constant"}};
  json bf16 = base;
  bf16["precision"] = "bf16";
  ASSERT_EQ(train({"--config", write_config(dir, base, "fp32.json"), "--out", dir.file("fp32")}, dir.file("fp32.log")), 0)
      << acm::testing::read_text(dir.file("fp32.log"));
  const std::string bf16_path = write_config(dir, bf16, "bf16.json");
  expect_resume_bit_identical(dir, bf16_path, "bf16");
  const json a = read_json(dir.file("fp32/result.json")), b = read_json(dir.file("bf16-whole/result.json"));
  EXPECT_FALSE(a["config"].contains("precision"));
  EXPECT_EQ(a["precision"]["dtype"], "fp32");
  EXPECT_EQ(b["config"]["precision"], "bf16");
  EXPECT_EQ(b["precision"]["dtype"], "bf16");
  // The step-by-step agreement with fp32 on the same batch is a unit test (unit test Precision.Bf16LossAndGradientsTrackFp32OnTheSameBatch);
  // here: autocast took effect in the run, and it learns the 4 classes.
  EXPECT_NE(b["epochs"][0]["train_loss"], a["epochs"][0]["train_loss"]) << "bf16 computed exactly what fp32 did";
  EXPECT_GE(b["final"]["best_test_top1"].get<double>(), 90.0) << b["epochs"].dump();
}

// fp16 with an injected overflow at step 3: that step is skipped, the scale halves, the count is in the
// result and the checkpoint, and the run goes on to complete.
TEST(Precision, Fp16OverflowSkipsTheStepAndBacksOffTheScale) {
  TempDir dir;
  json c = tiny_config(256, 1);
  c["precision"] = "fp16";
  const std::string path = write_config(dir, c, "fp16.json");
  ::setenv("ACM_FAULT_INJECT", "overflow:0:3", 1);
  const int code = train({"--config", path, "--out", dir.file("o")}, dir.file("o.log"));
  ::unsetenv("ACM_FAULT_INJECT");
  ASSERT_EQ(code, 0) << acm::testing::read_text(dir.file("o.log"));
  const json r = read_json(dir.file("o/result.json"));
  ASSERT_EQ(train({"--config", path, "--out", dir.file("clean")}, dir.file("clean.log")), 0)
      << acm::testing::read_text(dir.file("clean.log"));
  const json clean = read_json(dir.file("clean/result.json"));
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["precision"]["dtype"], "fp16");
  // At 65536 this tiny network's fp16 gradients overflow by themselves at first (as GradScaler's do): the
  // clean run skips those; the fault adds exactly one skip and one halving, and the count of good steps
  // restarts at it (8 steps: the injected skip at step 3, then 4 good ones).
  EXPECT_EQ(r["precision"]["skipped_steps"].get<int>(), clean["precision"]["skipped_steps"].get<int>() + 1);
  EXPECT_EQ(r["precision"]["loss_scale"].get<double>(), clean["precision"]["loss_scale"].get<double>() / 2);
  EXPECT_LT(r["precision"]["loss_scale"].get<double>(), kInitialLossScale);
  EXPECT_EQ(r["precision"]["growth_tracker"], 4);
  json in_checkpoint = r["precision"];
  in_checkpoint.erase("dtype");
  EXPECT_EQ(json::parse(state_of(dir.file("o/checkpoint.safetensors"), "loss_scale")), in_checkpoint);
}

// The ranks vote (the step's one host synchronisation) every `sync_every` steps: the same training, a quarter of
// the votes, a stop between votes still resumes bit-identically, and a non-finite loss between votes is
// reported at the step it happened.
TEST(TrainRun, VotingEveryFourStepsTrainsTheSameWithAQuarterOfTheSyncs) {
  TempDir dir;
  json c = tiny_config(512, 2);  // 16 steps per epoch
  ASSERT_EQ(train({"--config", write_config(dir, c, "every1.json"), "--out", dir.file("k1")}, dir.file("k1.log")), 0);
  c["sync_every"] = 4;
  const std::string every4 = write_config(dir, c, "every4.json");
  expect_resume_bit_identical(dir, every4, "k4");
  expect_same_state(dir.file("k1/checkpoint.safetensors"), dir.file("k4-whole/checkpoint.safetensors"));
  const json r1 = read_json(dir.file("k1/result.json")), r4 = read_json(dir.file("k4-whole/result.json"));
  EXPECT_EQ(r1["host_sync"]["every"], 1);  // the CPU's default
  EXPECT_EQ(r1["host_sync"]["votes_this_sitting"], 32);
  EXPECT_EQ(r4["host_sync"]["every"], 4);
  EXPECT_EQ(r4["host_sync"]["votes_this_sitting"], 8);
  EXPECT_EQ(r4["config"]["sync_every"], 4);
  EXPECT_FALSE(r1["config"].contains("sync_every"));
  for (std::size_t e = 0; e < 2; ++e) {
    const json &a = r1["epochs"][e], &b = r4["epochs"][e];
    EXPECT_EQ(a["test_top1"], b["test_top1"]);
    EXPECT_EQ(a["train_top1"], b["train_top1"]);
    EXPECT_NEAR(a["train_loss"].get<double>(), b["train_loss"].get<double>(), 1e-12);  // summed in another order
  }
  ::setenv("ACM_FAULT_INJECT", "nan:0:5", 1);
  const int code = train({"--config", every4, "--out", dir.file("nan")}, dir.file("nan.log"));
  ::unsetenv("ACM_FAULT_INJECT");
  EXPECT_EQ(code, 1);
  const std::string error = read_json(dir.file("nan/result.json")).at("error");
  EXPECT_NE(error.find("non-finite loss at epoch 1 step 6 (global step 6"), std::string::npos) << error;
  EXPECT_NE(error.find("found at the vote of global step 8"), std::string::npos) << error;
}

// Robustness at the end of a run that has learned 4 classes: occlusion of size 0 (centred and random, through
// the occlusion path) and FGSM at ε = 0 equal the clean top-1, which equals the last evaluation's on the whole
// test set; an attack never raises accuracy beyond one image of noise and, strong enough, lowers it; the
// figures and their time are in the result.
TEST(TrainRun, RobustnessCurvesStartAtTheCleanTop1AndAttacksDoNotHelp) {
  TempDir dir;
  json c = tiny_config(2048, 2);
  c["dataset"].erase("noise");
  c["model_options"]["width"] = 8;
  c["augment"]["crop_padding"] = 0;
  c["optimizer"] = {{"lr", 0.05}};
  c["schedule"] = {{"name", "constant"}};
  c["eval"] = {{"fgsm", {0.0, 0.01, 0.05, 0.3}},
               {"robustness_images", 0},
               {"corruption_severities", {1, 5}},
               {"corruption_images", 64},
               {"robustness_every", 1}};
  ASSERT_EQ(train({"--config", write_config(dir, c), "--out", dir.file("out")}, dir.file("log")), 0)
      << acm::testing::read_text(dir.file("log"));
  const json r = read_json(dir.file("out/result.json"));
  const json& rb = r["robustness"];
  const double clean = rb["clean_top1"].get<double>(), one_image = 100.0 / 128;
  EXPECT_EQ(rb["images"], 128);
  EXPECT_GE(clean, 90.0);
  EXPECT_DOUBLE_EQ(clean, r["final"]["last_test_top1"].get<double>());
  EXPECT_EQ(rb["occlusion"]["sizes"], json({0.0, 0.1, 0.2, 0.3, 0.4, 0.5}));
  EXPECT_DOUBLE_EQ(rb["occlusion"]["center_top1"][0].get<double>(), clean);
  EXPECT_DOUBLE_EQ(rb["occlusion"]["random_top1"][0].get<double>(), clean);
  EXPECT_DOUBLE_EQ(rb["fgsm"]["top1"][0].get<double>(), clean);
  for (std::size_t e = 1; e < 4; ++e) EXPECT_LE(rb["fgsm"]["top1"][e].get<double>(), clean + one_image) << e;
  EXPECT_LT(rb["fgsm"]["top1"][3].get<double>(), clean - 20) << "an ε of 0.3 did not hurt: " << rb.dump();
  EXPECT_LT(rb["occlusion"]["center_top1"][5].get<double>(), clean + one_image);
  EXPECT_GT(r["timing"]["robustness"].get<double>(), 0);
  EXPECT_EQ(r["config"]["eval"]["robustness_images"], 0);
  // Corruptions: 7 × the severities asked for, on the images asked for, their mean the mCA; the clean
  // figure on those images is the clean top-1 (all of them here); the strongest noise hurts.
  const json& cr = rb["corruption"];
  EXPECT_EQ(cr["images"], 64);
  EXPECT_EQ(cr["severities"], json({1, 5}));
  ASSERT_EQ(cr["names"].size(), 7u);
  ASSERT_EQ(cr["top1"].size(), 7u);
  double sum = 0;
  for (const auto& row : cr["top1"]) {
    ASSERT_EQ(row.size(), 2u);
    for (const auto& v : row) sum += v.get<double>();
  }
  EXPECT_NEAR(cr["mean_top1"].get<double>(), sum / 14, 1e-9);
  EXPECT_GE(cr["clean_top1"].get<double>(), 90.0);
  double worst = 100;
  for (const auto& row : cr["top1"]) worst = std::min(worst, row[1].get<double>());
  EXPECT_LT(worst, cr["clean_top1"].get<double>() - 10) << "no corruption at severity 5 hurt: " << cr.dump();
  // robustness_every 1: after each epoch too, in that epoch's entry; the last one is the result's.
  ASSERT_TRUE(r["epochs"][0].contains("robustness"));
  EXPECT_EQ(r["epochs"][0]["robustness"]["images"], 128);
  EXPECT_EQ(r["epochs"][1]["robustness"], rb);
}

TEST(TrainRun, BadCorruptionSettingsAreConfigErrorsNamingThePath) {
  TempDir dir;
  json c = tiny_config(64, 1);
  c["eval"] = {{"corruptions", {"jpeg", "fog"}}};
  EXPECT_EQ(train({"--config", write_config(dir, c), "--out", dir.file("x")}, dir.file("x.log")), 2);
  EXPECT_NE(acm::testing::read_text(dir.file("x.log"))
                .find("$.eval.corruptions[1]: expected one of gaussian_noise, shot_noise, gaussian_blur, contrast, "
                      "brightness, jpeg, pixelate, found \"fog\""),
            std::string::npos)
      << acm::testing::read_text(dir.file("x.log"));
  c["eval"] = {{"corruption_severities", {3, 6}}};
  EXPECT_EQ(train({"--config", write_config(dir, c), "--out", dir.file("y")}, dir.file("y.log")), 2);
  EXPECT_NE(acm::testing::read_text(dir.file("y.log"))
                .find("$.eval.corruption_severities[1]: expected one of 1, 2, 3, 4, 5 (each once), found 6"),
            std::string::npos)
      << acm::testing::read_text(dir.file("y.log"));
}

TEST(Precision, AnUnknownPrecisionIsAConfigError) {
  TempDir dir;
  json c = tiny_config(64, 1);
  c["precision"] = "fp8";
  EXPECT_EQ(train({"--config", write_config(dir, c), "--out", dir.file("x")}, dir.file("x.log")), 2);
  EXPECT_NE(acm::testing::read_text(dir.file("x.log")).find("$.precision: expected one of fp32, bf16, fp16, found \"fp8\""),
            std::string::npos)
      << acm::testing::read_text(dir.file("x.log"));
}

}  // namespace
}  // namespace acm::train
