#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <sstream>

#include "acm/config.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "harness/train/config.h"
#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::train {
namespace {

using config::ConfigError;
using nlohmann::json;

template <typename Fn>
void expect_config_error(Fn fn, std::initializer_list<std::string> parts) {
  acm::testing::expect_error<ConfigError>(fn, parts);
}

TEST(RunConfig, DefaultsResolveAndRoundTrip) {
  const RunConfig c = parse_run_config(json::object(), "run.json");
  EXPECT_EQ(c.dataset.name, "fashion-mnist");
  EXPECT_EQ(c.optimizer.name, "sgd");
  EXPECT_EQ(c.schedule.name, "onecycle");
  const json resolved = to_json(c);
  EXPECT_EQ(to_json(parse_run_config(resolved, "resolved")), resolved);
  EXPECT_EQ(acm::hash::of_json(resolved), acm::hash::of_json(to_json(parse_run_config(resolved, "again"))));
  json other = resolved;
  other["seed"] = 1;
  EXPECT_NE(acm::hash::of_json(resolved), acm::hash::of_json(other));
}

TEST(RunConfig, EveryWrongFieldNamesItsPathAndTheAllowedValues) {
  expect_config_error(
      [] {
        parse_run_config({{"epoch", 3}}, "run.json");
      },
      {"run.json:$.epoch: unknown field", "epochs"});
  expect_config_error(
      [] {
        parse_run_config({{"epochs", 0}}, "run.json");
      },
      {"run.json:$.epochs: expected an integer in [1, 100000], found 0"});
  expect_config_error(
      [] {
        parse_run_config({{"model", "resnet19"}}, "f");
      },
      {"f:$.model", "unknown model 'resnet19'", "resnet18"});
  expect_config_error(
      [] {
        parse_run_config({{"optimizer", {{"name", "lamb"}}}}, "f");
      },
      {"f:$.optimizer.name: expected one of sgd, adam, adamw"});
  expect_config_error(
      [] {
        parse_run_config({{"optimizer", {{"name", "adam"}, {"momentum", 0.9}}}}, "f");
      },
      {"f:$.optimizer.momentum: unknown field"});
  expect_config_error(
      [] {
        parse_run_config({{"optimizer", {{"momentum", 0}, {"nesterov", true}}}}, "f");
      },
      {"f:$.optimizer.nesterov", "momentum > 0"});
  expect_config_error(
      [] {
        parse_run_config({{"schedule", {{"name", "poly"}}}}, "f");
      },
      {"f:$.schedule.name: expected one of constant, step, cosine, onecycle"});
  expect_config_error(
      [] {
        parse_run_config({{"schedule", {{"name", "step"}}}}, "f");
      },
      {"f:$.schedule.milestones", "needs milestones"});
  expect_config_error(
      [] {
        parse_run_config({{"schedule", {{"warmup_epochs", 1}}}}, "f");
      },
      {"f:$.schedule.warmup_epochs: unknown field"});  // one-cycle has its own warm-up
  expect_config_error(
      [] {
        parse_run_config({{"optimizer", {{"name", "adamw"}}}, {"schedule", {{"cycle_momentum", true}}}}, "f");
      },
      {"f:$.schedule.cycle_momentum", "needs optimizer sgd"});
  expect_config_error(
      [] {
        parse_run_config({{"augment", {{"normalize", "given"}}}}, "f");
      },
      {"f:$.augment", "mean and std"});
  expect_config_error(
      [] {
        parse_run_config({{"label_smoothing", "0.1"}}, "f");
      },
      {"f:$.label_smoothing: expected a number in [0, 1], found \"0.1\""});
  expect_config_error(
      [] {
        parse_run_config({{"dataset", {{"name", "svhn"}}}}, "f");
      },
      {"f:$.dataset.name: expected one of"});
  expect_config_error(
      [] {
        parse_run_config({{"device", "gpu0"}}, "f");
      },
      {"f:$.device: expected one of auto, cpu, cuda, cuda:N, found \"gpu0\""});
  EXPECT_EQ(parse_run_config({{"device", "cuda:1"}}, "f").device, "cuda:1");
  expect_config_error(
      [] {
        parse_run_config({{"model_options", {{"stem", "deep"}}}}, "f");
      },
      {"f:$.model_options.stem: expected one of imagenet, cifar"});
}

// Fields valid one by one that cannot hold together are refused before anything runs, naming both.
TEST(RunConfig, CombinationsThatCannotHoldAreRefused) {
  const json rrc_cache = {
      {"dataset", {{"name", "imagenet"}, {"path", "/data/imagenet"}, {"train_crop", "random_resized"}}},
      {"mix", {{"method", "attentive_cutmix"}, {"cache", true}, {"extractor", {{"path", "x.pt"}}}}}};
  expect_config_error([&] { parse_run_config(rrc_cache, "f"); },
                      {"f:$.mix.cache: the attention cache holds one heatmap per centre-cropped training image",
                       "f:$.dataset.train_crop \"random_resized\"", "set mix.cache false"});
  json ok = rrc_cache;
  ok["mix"]["cache"] = false;
  EXPECT_EQ(parse_run_config(ok, "f").dataset.image.train_crop, "random_resized");
  expect_config_error([] { parse_run_config({{"precision", "fp16"}, {"sync_every", 8}}, "f"); },
                      {"f:$.sync_every: 8 with f:$.precision \"fp16\"", "use 0 or 1, or bf16"});
  EXPECT_EQ(parse_run_config({{"precision", "fp16"}, {"sync_every", 1}}, "f").sync_every, 1);
}

// A step as one CUDA graph cannot hold what the host decides per step or computes itself: each refusal names
// cuda_graph and the field that stops it, and says what would work.
TEST(RunConfig, EveryCudaGraphRefusalNamesBothFields) {
  expect_config_error([] { parse_run_config({{"cuda_graph", true}, {"device", "cpu"}}, "f"); },
                      {"f:$.cuda_graph: a CUDA graph needs a CUDA device; f:$.device is \"cpu\""});
  expect_config_error([] { parse_run_config({{"cuda_graph", true}, {"precision", "fp16"}}, "f"); },
                      {"f:$.cuda_graph: not with f:$.precision \"fp16\"", "dynamic loss scale", "use bf16 or fp32"});
  expect_config_error(
      [] { parse_run_config({{"cuda_graph", true}, {"model_options", {{"norm", "sync_batch"}}}}, "f"); },
      {"f:$.cuda_graph: not with f:$.model_options.norm \"sync_batch\"", "use batch or group"});
  expect_config_error(
      [] { parse_run_config({{"cuda_graph", true}, {"distributed", {{"backend", "mpi"}}}}, "f"); },
      {"f:$.cuda_graph: not with f:$.distributed.backend \"mpi\"", "use nccl or auto"});
  // What it can hold parses: bf16, channels_last, a mixer, group norm, NCCL on a named GPU.
  const RunConfig ok = parse_run_config({{"cuda_graph", true},
                                         {"device", "cuda:1"},
                                         {"precision", "bf16"},
                                         {"channels_last", true},
                                         {"mix", {{"method", "cutmix"}}},
                                         {"model_options", {{"norm", "group"}}},
                                         {"distributed", {{"backend", "nccl"}}}},
                                        "f");
  EXPECT_TRUE(ok.cuda_graph);
}

// Options that change no result of a default run stay out of the resolved config (and so out of run ids)
// until they are set.
TEST(RunConfig, NewOptionsAreRecordedOnlyWhenSet) {
  const json plain = to_json(parse_run_config(json::object(), "f"));
  EXPECT_FALSE(plain.contains("cudnn_benchmark"));
  EXPECT_FALSE(plain.contains("sync_every"));
  EXPECT_FALSE(plain.contains("cuda_graph"));
  EXPECT_FALSE(plain.contains("eval"));
  EXPECT_EQ(to_json(parse_run_config({{"eval", {{"calibration_bins", 0}}}}, "f"))["eval"]["calibration_bins"], 0);
  expect_config_error([] { parse_run_config({{"eval", {{"calibration_bins", -1}}}}, "f"); },
                      {"f:$.eval.calibration_bins"});
  expect_config_error([] { parse_run_config({{"eval", {{"ece", 15}}}}, "f"); }, {"f:$.eval", "ece"});
  expect_config_error([] { parse_run_config({{"eval", {{"fgsm", {0.01, 8}}}}}, "f"); },
                      {"f:$.eval.fgsm[1]: 8", "outside [0, 1]", "8/255 is 0.0314"});
  expect_config_error([] { parse_run_config({{"eval", {{"occlusion", {-0.1}}}}}, "f"); },
                      {"f:$.eval.occlusion[0]", "a fraction of the image side"});
  const json set =
      to_json(parse_run_config({{"cudnn_benchmark", true}, {"sync_every", 16}, {"cuda_graph", true}}, "f"));
  EXPECT_EQ(set["cudnn_benchmark"], true);
  EXPECT_EQ(set["sync_every"], 16);
  EXPECT_EQ(set["cuda_graph"], true);
  // model_options.last_stride: absent at its default (2), so configs from before it keep their run ids.
  EXPECT_FALSE(plain["model_options"].contains("last_stride"));
  EXPECT_EQ(to_json(parse_run_config({{"model_options", {{"last_stride", 1}}}}, "f"))["model_options"]["last_stride"], 1);
  expect_config_error([] { parse_run_config({{"model_options", {{"last_stride", 3}}}}, "f"); },
                      {"f:$.model_options.last_stride"});
  expect_config_error(
      [] { parse_run_config({{"model", "densenet121"}, {"model_options", {{"last_stride", 1}}}}, "f"); },
      {"f:$.model_options.last_stride: a ResNet option", "'densenet121'"});
}

TEST(RunConfig, OverridesSetNestedFieldsWithJsonValues) {
  json j = json::object();
  apply_override(j, "optimizer.lr=0.05");
  apply_override(j, "model=resnet50");
  apply_override(j, "schedule.milestones=[1,2]");
  apply_override(j, "augment.horizontal_flip=false");
  EXPECT_EQ(j["optimizer"]["lr"], 0.05);
  EXPECT_EQ(j["model"], "resnet50");
  EXPECT_EQ(j["schedule"]["milestones"], json({1, 2}));
  EXPECT_EQ(j["augment"]["horizontal_flip"], false);
  expect_config_error([&] { apply_override(j, "lr"); }, {"expected PATH=VALUE"});
  expect_config_error([&] { apply_override(j, "model.x=1"); }, {"'x' is inside a non-object"});
}

// The schedules against PyTorch's own schedulers, run by the venv's Python.
TEST(Schedule, LinearWarmupReachesTheRateAtItsEnd) {
  OptimizerConfig o;
  o.lr = 0.4;
  ScheduleConfig s;
  s.name = "constant";
  s.warmup_epochs = 2;
  const Schedule sch(s, o, 5, 10);
  EXPECT_DOUBLE_EQ(sch.at(0).lr, 0.04);
  EXPECT_DOUBLE_EQ(sch.at(4).lr, 0.2);
  EXPECT_DOUBLE_EQ(sch.at(9).lr, 0.4);
  EXPECT_DOUBLE_EQ(sch.at(30).lr, 0.4);
  EXPECT_DOUBLE_EQ(sch.at(30).momentum, 0.9);
}

// Our foreach optimizers against LibTorch's own torch::optim over several steps.
void compare(const OptimizerConfig& cfg, torch::optim::Optimizer& ref, std::vector<torch::Tensor>& theirs,
             std::vector<torch::Tensor>& ours) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (std::size_t i = 0; i < ours.size(); ++i) named.emplace_back("p" + std::to_string(i), ours[i]);
  Optimizer opt(cfg, named);
  torch::manual_seed(3);
  for (int step = 0; step < 6; ++step) {
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto g = torch::randn_like(ours[i]);
      ours[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    opt.step(cfg.lr, cfg.momentum);
    ref.step();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-6, 1e-7)) << cfg.name << " parameter " << i;
  }
}

std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> twin_params() {
  torch::manual_seed(1);
  std::vector<torch::Tensor> a = {torch::randn({7, 5}), torch::randn({3}), torch::randn({2, 3, 3, 3})}, b;
  for (auto& t : a) {
    t.set_requires_grad(true);
    b.push_back(t.detach().clone().set_requires_grad(true));
  }
  return {a, b};
}

TEST(Optimizer, SgdNesterovWithWeightDecayEqualsTorchOptim) {
  auto [theirs, ours] = twin_params();
  OptimizerConfig c;
  c.lr = 0.05;
  c.momentum = 0.9;
  c.nesterov = true;
  c.weight_decay = 5e-4;
  torch::optim::SGD ref(theirs,
                        torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(5e-4));
  compare(c, ref, theirs, ours);
}

TEST(Optimizer, PlainMomentumEqualsTorchOptim) {
  auto [theirs, ours] = twin_params();
  OptimizerConfig c;
  c.lr = 0.1;
  c.nesterov = false;
  c.weight_decay = 0;
  torch::optim::SGD ref(theirs, torch::optim::SGDOptions(0.1).momentum(0.9));
  compare(c, ref, theirs, ours);
}

TEST(Optimizer, AdamAndAdamWEqualTorchOptim) {
  {
    auto [theirs, ours] = twin_params();
    OptimizerConfig c;
    c.name = "adam";
    c.lr = 1e-2;
    c.weight_decay = 1e-3;
    torch::optim::Adam ref(theirs, torch::optim::AdamOptions(1e-2).weight_decay(1e-3));
    compare(c, ref, theirs, ours);
  }
  {
    auto [theirs, ours] = twin_params();
    OptimizerConfig c;
    c.name = "adamw";
    c.lr = 1e-2;
    c.weight_decay = 0.05;
    torch::optim::AdamW ref(theirs, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
    compare(c, ref, theirs, ours);
  }
}

// The update a CUDA graph captures reads the learning rate, momentum and Adam's bias corrections from a
// device tensor written before each step: over steps whose values all change, it must give what step() gives
// with the same values as arguments (within float rounding: a·b + c fused or not), for every optimizer.
TEST(Optimizer, TheStepFromDeviceScalarsEqualsTheStepFromArguments) {
  struct Case {
    const char* name;
    bool nesterov;
    double momentum, weight_decay;
  };
  for (const Case& k : {Case{"sgd", true, 0.9, 5e-4}, Case{"sgd", false, 0.9, 0}, Case{"sgd", false, 0, 1e-3},
                        Case{"adam", false, 0, 1e-3}, Case{"adamw", false, 0, 0.05}}) {
    auto [a, b] = twin_params();
    OptimizerConfig c;
    c.name = k.name;
    c.nesterov = k.nesterov;
    c.momentum = k.momentum;
    c.weight_decay = k.weight_decay;
    auto named = [](std::vector<torch::Tensor>& ps) {
      std::vector<std::pair<std::string, at::Tensor>> n;
      for (std::size_t i = 0; i < ps.size(); ++i) n.emplace_back("p" + std::to_string(i), ps[i]);
      return n;
    };
    Optimizer eager(c, named(a)), graphed(c, named(b));
    graphed.prepare_static(/*sgd_momentum=*/k.momentum != 0);
    torch::manual_seed(5);
    const double lrs[] = {0.1, 0.03, 0.07, 0.01, 0.05, 0.002}, moms[] = {0.95, 0.9, 0.85, 0.88, 0.93, 0.9};
    for (int step = 0; step < 6; ++step) {
      const double m = k.momentum != 0 ? moms[step] : 0.0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        const auto g = torch::randn_like(a[i]);
        a[i].mutable_grad() = g.clone();
        b[i].mutable_grad() = g.clone();
      }
      eager.step(lrs[step], m);
      graphed.set_scalars(lrs[step], m);
      graphed.step_from_scalars();
    }
    EXPECT_EQ(graphed.steps(), eager.steps());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::allclose(b[i], a[i], 1e-6, 1e-7))
          << k.name << (k.nesterov ? " nesterov" : "") << " parameter " << i << ": max difference "
          << (b[i] - a[i]).abs().max().item<double>();
    }
    // A moved learning rate moves the result: the scalars are read, not baked in.
    graphed.set_scalars(0.5, k.momentum != 0 ? 0.9 : 0.0);
    const auto before = b[0].detach().clone();
    graphed.step_from_scalars();
    EXPECT_FALSE(torch::equal(before, b[0])) << k.name;
  }
  // Every parameter needs a gradient in a replayed step: refused, never skipped silently.
  auto [a, b] = twin_params();
  std::vector<std::pair<std::string, at::Tensor>> one = {{"w", a[0]}};
  Optimizer opt(OptimizerConfig{}, one);
  opt.prepare_static(true);
  opt.set_scalars(0.1, 0.9);
  EXPECT_THROW(opt.step_from_scalars(), std::logic_error);
}

TEST(Optimizer, ZeroGradKeepsTheGradientTensors) {
  auto [theirs, ours] = twin_params();
  std::vector<std::pair<std::string, at::Tensor>> named = {{"a", ours[0]}};
  Optimizer opt(OptimizerConfig{}, named);
  ours[0].mutable_grad() = torch::ones_like(ours[0]);
  const void* before = ours[0].grad().data_ptr();
  opt.zero_grad();
  EXPECT_EQ(ours[0].grad().data_ptr(), before);
  EXPECT_EQ(ours[0].grad().abs().sum().item<double>(), 0.0);
}

TEST(FinalMetrics, BestLastAndMedianOfLastFive) {
  std::vector<EpochMetrics> e;
  const double top1[] = {50, 70, 90, 60, 80, 85, 75};
  for (int i = 0; i < 7; ++i) {
    EpochMetrics m;
    m.epoch = i + 1;
    m.test_top1 = top1[i];
    m.test_top5 = top1[i] + 5;
    e.push_back(m);
  }
  const json f = final_metrics(e);
  EXPECT_EQ(f["headline"]["metric"], "best_test_top1");
  EXPECT_EQ(f["best_test_top1"], 90.0);
  EXPECT_EQ(f["best_epoch"], 3);
  EXPECT_EQ(f["last_test_top1"], 75.0);
  EXPECT_EQ(f["median5_test_top1"], 80.0);  // median of 90, 60, 80, 85, 75
  EXPECT_EQ(f["median5_test_top5"], 85.0);
  EXPECT_DOUBLE_EQ(median_of_last({1, 2, 3, 4}, 5), 2.5);
}

}  // namespace
}  // namespace acm::train
