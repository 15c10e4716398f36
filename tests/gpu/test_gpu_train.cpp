// The CUDA path of `harness train` and `harness sweep`, through the real binary, on a GPU node: a run on the GPU
// (NCCL reducing its gradients) follows the CPU run of the same config, for every mixing method; a run
// interrupted on the GPU resumes there; two sweep groups share the GPUs; a GPU that is not there is an error
// that says so. Without a GPU every test here is skipped (CI has none): scripts/gpu-check runs them on one.
// ctest passes the binaries as --harness=PATH --mpirun=PATH and runs these tests one at a time.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "models/weights.h"
#include "tests/test_util.h"

namespace acm {

std::string g_harness, g_mpirun;

namespace {

using nlohmann::json;
using testing::TempDir;

json read_json(const std::string& path) { return json::parse(testing::read_text(path)); }

// The GPUs the binary sees (`harness info --json`), asked once.
int gpu_count() {
  static const int n = [] {
    std::string out;
    if (testing::run_command(g_harness + " info --json 2>/dev/null", &out) != 0) return 0;
    const json info = json::parse(out, nullptr, /*allow_exceptions=*/false);
    return info.is_object() && info.contains("gpus") ? static_cast<int>(info["gpus"].size()) : 0;
  }();
  return n;
}

#define SKIP_WITHOUT_GPU()                                                                       \
  do {                                                                                           \
    if (g_harness.empty()) FAIL() << "run with --harness=PATH --mpirun=PATH (ctest passes them)"; \
    if (gpu_count() == 0) GTEST_SKIP() << "no GPU here: scripts/gpu-check runs these on a GPU node"; \
  } while (0)

struct Job {
  int code = -1;
  std::string output;
};

Job run(const std::string& args, int ranks = 0) {
  std::string cmd = "timeout -s KILL 170 env OMP_NUM_THREADS=1 ";
  if (ranks > 0) {
    cmd += g_mpirun + " --allow-run-as-root --oversubscribe --bind-to none -np " + std::to_string(ranks) +
           " -x OMP_NUM_THREADS ";
  }
  Job j;
  j.code = testing::run_command(cmd + g_harness + " " + args + " 2>&1", &j.output);
  return j;
}

// A tiny batch-norm ResNet on synthetic 3×16×16 images of 4 classes: one step of 32 per epoch, 3 epochs, crop
// and flip off so that the batches are a function of the seed alone. Mixing draws come from a CPU generator
// keyed on the step, so the CPU and the GPU run see the same batches, pairs, λ and boxes. Few steps on purpose:
// over tens of steps this net on these data is chaotic (on the CPU alone, channels_last against NCHW ends 0.1
// apart in loss after 20 steps), while over 3 steps the CPU's own layouts and thread counts agree to 1e-6 and a
// learning rate 10 % off moves the parameters by 3e-2 — so a tolerance of 1e-2 separates rounding from error.
std::string write_config(const TempDir& dir, const std::string& name, const json& overrides) {
  json c = {{"dataset",
             {{"name", "synthetic"},
              {"train_size", 32},
              {"test_size", 64},
              {"channels", 3},
              {"height", 16},
              {"width", 16},
              {"classes", 4}}},
            {"model", "resnet18"},
            {"model_options", {{"width", 8}, {"norm", "batch"}}},
            {"epochs", 3},
            {"batch_size", 32},
            {"eval_batch_size", 32},
            {"optimizer", {{"lr", 0.05}}},
            {"schedule", {{"name", "constant"}}},
            {"mix", {{"method", "none"}}},
            {"augment", {{"crop_padding", 0}, {"horizontal_flip", false}}},
            {"threads", 1},
            {"loader_threads", 0}};
  c.merge_patch(overrides);
  const std::string path = dir.file(name);
  std::ofstream(path) << c.dump(2);
  return path;
}

std::vector<double> train_losses(const json& result) {
  std::vector<double> v;
  for (const auto& e : result["epochs"]) v.push_back(e["train_loss"].get<double>());
  return v;
}

// Worst |a − b| / max(1, |b|) over the two runs' per-epoch training losses.
double worst_loss_difference(const json& a, const json& b) {
  const auto la = train_losses(a), lb = train_losses(b);
  EXPECT_EQ(la.size(), lb.size());
  double worst = 0;
  for (std::size_t i = 0; i < std::min(la.size(), lb.size()); ++i) {
    worst = std::max(worst, std::abs(la[i] - lb[i]) / std::max(1.0, std::abs(lb[i])));
  }
  return worst;
}

// Worst absolute difference between the model tensors of two checkpoints, over the largest magnitude.
double worst_parameter_difference(const std::string& a, const std::string& b) {
  std::map<std::string, at::Tensor> ta, tb;
  for (auto& [name, t] : models::read_safetensors(a).tensors) ta[name] = t;
  for (auto& [name, t] : models::read_safetensors(b).tensors) tb[name] = t;
  double worst = 0;
  for (const auto& [name, t] : ta) {
    if (name.rfind("model/", 0) != 0 || !t.is_floating_point()) continue;
    auto it = tb.find(name);
    if (it == tb.end()) {
      ADD_FAILURE() << name << " missing from " << b;
      continue;
    }
    EXPECT_TRUE(it->second.device().is_cpu()) << name << ": checkpoints hold CPU tensors";
    const double scale = std::max(1.0, t.abs().max().item<double>());
    worst = std::max(worst, (t - it->second).abs().max().item<double>() / scale);
  }
  return worst;
}

void expect_gpu_run(const json& r, const std::string& what) {
  EXPECT_EQ(r["status"], "completed") << what;
  EXPECT_EQ(r["device"], "cuda:0") << what;
  EXPECT_EQ(r["distributed"]["backend"], "nccl") << what;
  EXPECT_EQ(r["distributed"]["devices"], json::array({"cuda:0"})) << what;
  EXPECT_FALSE(r["environment"]["gpus"].empty()) << what;
}

// Every method on the GPU against the same config on the CPU. The tolerance covers cuDNN's other summation
// orders and TF32 convolutions (PyTorch's defaults); a mixer that draws differently, a wrong or missing update,
// or gradients not reduced would be off by far more.
TEST(GpuTrain, EveryMethodOnTheGpuFollowsTheCpuRun) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  // The baseline first: its GPU checkpoint is Attentive CutMix's extractor on both devices.
  const std::vector<std::pair<std::string, json>> methods = {
      {"none", {{"mix", {{"method", "none"}}}}},
      {"mixup", {{"mix", {{"method", "mixup"}, {"alpha", 1.0}}}}},
      {"cutmix", {{"mix", {{"method", "cutmix"}, {"prob", 1.0}}}}},
      {"cutmix-channels-last", {{"mix", {{"method", "cutmix"}, {"prob", 1.0}}}, {"channels_last", true}}},
      {"attentive_cutmix",
       {{"mix",
         {{"method", "attentive_cutmix"},
          {"top_n", 6},
          {"extractor", {{"path", dir.file("none-cuda")}, {"input_size", 32}}}}}}},
      {"attentive_cutmix-cached",
       {{"mix",
         {{"method", "attentive_cutmix"},
          {"top_n", 6},
          {"cache", true},
          {"extractor", {{"path", dir.file("none-cuda")}, {"input_size", 32}}}}}}}};
  for (const auto& [tag, overrides] : methods) {
    std::map<std::string, json> results;
    for (const char* device : {"cpu", "cuda"}) {
      json o = overrides;
      o["device"] = device;
      const std::string out = dir.file(tag + "-" + device);
      const Job j = run("train --quiet --config " + write_config(dir, tag + "-" + device + ".json", o) +
                        " --out " + out);
      ASSERT_EQ(j.code, 0) << tag << " on " << device << ":\n" << j.output;
      results[device] = read_json(out + "/result.json");
    }
    expect_gpu_run(results["cuda"], tag);
    EXPECT_EQ(results["cpu"]["device"], "cpu") << tag;
    const double loss = worst_loss_difference(results["cuda"], results["cpu"]);
    const double params = worst_parameter_difference(dir.file(tag + "-cuda/checkpoint.safetensors"),
                                                     dir.file(tag + "-cpu/checkpoint.safetensors"));
    std::printf("  %-24s GPU vs CPU: training loss %.2e, parameters %.2e (relative, worst)\n", tag.c_str(), loss,
                params);
    // Attentive CutMix picks its N cells from heatmaps the extractor computes on each device; TF32 rounding
    // can swap two cells that tie to 1e-3 (one cell of one image), which the looser bound allows.
    const bool attentive = tag.rfind("attentive", 0) == 0;
    EXPECT_LT(loss, attentive ? 1e-2 : 5e-3) << tag;
    EXPECT_LT(params, attentive ? 2e-2 : 1e-2) << tag;
    EXPECT_NEAR(results["cuda"]["final"]["best_test_top1"].get<double>(),
                results["cpu"]["final"]["best_test_top1"].get<double>(), 10.0)
        << tag;
    if (tag.rfind("attentive", 0) == 0) {
      EXPECT_EQ(results["cuda"]["attention"]["extractor_hash"], results["cpu"]["attention"]["extractor_hash"]);
    }
  }
}

// Interrupted on the GPU after 3 of 8 steps (mid-epoch), resumed on the GPU: the same end as the run that was
// never stopped, to GPU run-to-run noise.
TEST(GpuTrain, ARunInterruptedOnTheGpuResumesThere) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  const std::string config =
      write_config(dir, "run.json",
                   {{"device", "cuda"},
                    {"dataset", {{"train_size", 64}}},
                    {"epochs", 4},
                    {"mix", {{"method", "cutmix"}, {"prob", 1.0}}}});
  ASSERT_EQ(run("train --quiet --config " + config + " --out " + dir.file("whole")).code, 0);
  const Job part = run("train --quiet --config " + config + " --out " + dir.file("split") + " --stop-after 3");
  ASSERT_EQ(part.code, 75) << part.output;
  EXPECT_FALSE(testing::exists(dir.file("split/result.json")));
  const Job rest = run("train --quiet --resume --out " + dir.file("split"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  const json whole = read_json(dir.file("whole/result.json")), split = read_json(dir.file("split/result.json"));
  expect_gpu_run(split, "resumed");
  EXPECT_LT(worst_loss_difference(split, whole), 1e-3);
  EXPECT_LT(worst_parameter_difference(dir.file("split/checkpoint.safetensors"),
                                       dir.file("whole/checkpoint.safetensors")),
            1e-3);
}

// A step as one CUDA graph (3 warm-up steps, captured at the 4th, replayed after) trains as the eager step on
// the same GPU, with a mixer (soft targets in a static buffer) and a one-cycle schedule (the learning rate and
// momentum read from device scalars each replay); a sitting that stops and resumes captures again. A small
// rate keeps 16 steps of this net out of its chaotic regime; a graph replaying stale inputs or a baked-in rate
// would be off by far more than the bound.
TEST(GpuTrain, AStepAsOneCudaGraphTrainsAsTheEagerStep) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  const json base = {{"device", "cuda"},
                     {"dataset", {{"train_size", 256}}},
                     {"epochs", 2},
                     {"optimizer", {{"lr", 0.01}}},
                     {"schedule", {{"name", "onecycle"}}},
                     {"mix", {{"method", "cutmix"}, {"prob", 1.0}}}};
  json graphed = base;
  graphed["cuda_graph"] = true;
  const std::string eager_cfg = write_config(dir, "eager.json", base), graph_cfg = write_config(dir, "graph.json", graphed);
  ASSERT_EQ(run("train --quiet --config " + eager_cfg + " --out " + dir.file("eager")).code, 0);
  const Job g = run("train --quiet --config " + graph_cfg + " --out " + dir.file("graph"));
  ASSERT_EQ(g.code, 0) << g.output;
  const json e = read_json(dir.file("eager/result.json")), r = read_json(dir.file("graph/result.json"));
  expect_gpu_run(r, "cuda_graph");
  EXPECT_EQ(r["cuda_graph"]["captured"], true);
  EXPECT_EQ(r["cuda_graph"]["steps_this_sitting"], 16);
  EXPECT_LT(worst_loss_difference(r, e), 1e-2);
  EXPECT_LT(worst_parameter_difference(dir.file("graph/checkpoint.safetensors"), dir.file("eager/checkpoint.safetensors")),
            1e-2);
  const Job part = run("train --quiet --config " + graph_cfg + " --out " + dir.file("split") + " --stop-after 6");
  ASSERT_EQ(part.code, 75) << part.output;
  const Job rest = run("train --quiet --resume --out " + dir.file("split"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  const json split = read_json(dir.file("split/result.json"));
  EXPECT_EQ(split["cuda_graph"]["captured"], true);
  EXPECT_EQ(split["cuda_graph"]["steps_this_sitting"], 10);
  EXPECT_LT(worst_loss_difference(split, r), 1e-2);
}

// Stochastic depth and dropout on the GPU draw from the CUDA generator: its state is in the checkpoint and
// put back on resume, so the resumed run's generator ends exactly where the uninterrupted run's does (without
// the restore it would restart from the seed and repeat the first steps' masks), and the run ends alike.
TEST(GpuTrain, TheCudaGeneratorResumesWhereItStopped) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  const std::string config = write_config(dir, "run.json",
                                          {{"device", "cuda"},
                                           {"model", "efficientnet_b0"},
                                           {"model_options", {{"width", 8}, {"stem", "cifar"}}},
                                           {"dataset", {{"train_size", 64}}},
                                           {"epochs", 4}});
  ASSERT_EQ(run("train --quiet --config " + config + " --out " + dir.file("whole")).code, 0);
  const Job part =
      run("train --quiet --config " + config + " --out " + dir.file("split") + " --stop-after 3");
  ASSERT_EQ(part.code, 75) << part.output;
  const auto stopped = models::read_safetensors(dir.file("split/checkpoint.safetensors"));
  EXPECT_NE(json::parse(stopped.metadata.at("generators")).value("cuda", ""), "")
      << "the CUDA generator is saved";
  const Job rest = run("train --quiet --resume --out " + dir.file("split"));
  ASSERT_EQ(rest.code, 0) << rest.output;
  auto cuda_state = [](const std::string& ckpt) {
    for (auto& [name, t] : models::read_safetensors(ckpt).tensors) {
      if (name == "rng/cuda") return t;
    }
    return at::Tensor();
  };
  const at::Tensor a = cuda_state(dir.file("whole/checkpoint.safetensors"));
  const at::Tensor b = cuda_state(dir.file("split/checkpoint.safetensors"));
  ASSERT_TRUE(a.defined() && b.defined());
  EXPECT_TRUE(at::equal(a, b))
      << "the resumed run's CUDA generator ends elsewhere than the uninterrupted run's";
  const json whole = read_json(dir.file("whole/result.json")),
             split = read_json(dir.file("split/result.json"));
  expect_gpu_run(split, "resumed");
  EXPECT_LT(worst_loss_difference(split, whole), 1e-3);
}

// A sweep under mpirun with two groups of one rank: each group's rank takes GPU (local rank mod GPUs), so
// on a one-GPU node both share it, and every run completes on a GPU with NCCL.
TEST(GpuTrain, TwoSweepGroupsTrainOnTheGpus) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  json spec = {{"name", "gpu"},
               {"description", "two groups on the GPUs"},
               {"base", read_json(write_config(dir, "base.json", {{"device", "cuda"}, {"epochs", 1}}))},
               {"axes", json::array({{{"name", "seed"}, {"path", "seed"}, {"values", {0, 1, 2, 3}}}})}};
  std::ofstream(dir.file("spec.json")) << spec.dump(2);
  const std::string out = dir.file("out");
  const Job j = run("sweep " + dir.file("spec.json") + " --out " + out + " --no-report", 2);
  ASSERT_EQ(j.code, 0) << j.output;
  std::set<std::string> devices;
  for (int seed = 0; seed < 4; ++seed) {
    const json r = read_json(out + "/synthetic/resnet18/baseline/seed" + std::to_string(seed) + "/result.json");
    EXPECT_EQ(r["status"], "completed") << seed;
    EXPECT_EQ(r["distributed"]["backend"], "nccl") << seed;
    devices.insert(r["device"].get<std::string>());
  }
  for (const auto& d : devices) EXPECT_EQ(d.rfind("cuda:", 0), 0u) << d;
  if (gpu_count() >= 2) {
    EXPECT_EQ(devices.size(), 2u) << "two groups, two GPUs";
  }
}

// Two ranks on two GPUs end where one rank on one GPU ends (the NCCL reducer averages the gradients of the
// global batch). Needs a node with two GPUs.
TEST(GpuTrain, TwoRanksOnTwoGpusEndWhereOneRankEnds) {
  SKIP_WITHOUT_GPU();
  if (gpu_count() < 2) GTEST_SKIP() << "needs two GPUs, " << gpu_count() << " here";
  TempDir dir;
  // Group norm: a rank's local batch then gives the same activations as the global batch.
  const std::string config = write_config(
      dir, "run.json", {{"device", "cuda"}, {"model_options", {{"norm", "group"}}}, {"epochs", 1}});
  ASSERT_EQ(run("train --quiet --config " + config + " --out " + dir.file("np1"), 1).code, 0);
  const Job two = run("train --quiet --config " + config + " --out " + dir.file("np2"), 2);
  ASSERT_EQ(two.code, 0) << two.output;
  const json r = read_json(dir.file("np2/result.json"));
  EXPECT_EQ(r["distributed"]["devices"], json::array({"cuda:0", "cuda:1"}));
  EXPECT_LT(worst_parameter_difference(dir.file("np2/checkpoint.safetensors"),
                                       dir.file("np1/checkpoint.safetensors")),
            1e-2);
}

// A GPU index past the visible ones: the run stops before training with a message that says how many there
// are, and writes no result.
TEST(GpuTrain, AGpuThatIsNotThereIsAnErrorThatSaysSo) {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  const std::string device = "cuda:" + std::to_string(gpu_count());
  const std::string config = write_config(dir, "run.json", {{"device", device}});
  const Job j = run("train --quiet --config " + config + " --out " + dir.file("out"));
  EXPECT_NE(j.code, 0) << j.output;
  EXPECT_NE(j.output.find("device '" + device + "' requested but only " + std::to_string(gpu_count()) +
                          " GPU(s) are visible"),
            std::string::npos)
      << j.output;
  EXPECT_FALSE(testing::exists(dir.file("out/result.json")));
}

}  // namespace
}  // namespace acm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::testing::read_binary_flags(argc, argv, &acm::g_harness, &acm::g_mpirun);
  return RUN_ALL_TESTS();
}
