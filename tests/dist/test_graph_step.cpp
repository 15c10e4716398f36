// The step a CUDA graph captures (harness/train/graph_step.h) under real mpirun (1, 2 and 3 ranks): on the CPU
// its body runs eagerly on the static buffers — the learning rate and momentum read from device scalars, the
// buckets all-reduced inline on the training thread — and must train as the eager step does (Run's path:
// hooks, the communication thread, Optimizer::step). On a GPU node the captured, replayed graph must train as
// the same body run eagerly on the GPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "augment/mixer.h"
#include "harness/dist/communicator.h"
#include "harness/dist/nccl_communicator.h"
#include "harness/dist/reducer.h"
#include "harness/dist/world.h"
#include "harness/train/graph_step.h"
#include "harness/train/optimizer.h"
#include "models/registry.h"

namespace acm::train {
namespace {

namespace F = torch::nn::functional;

models::Classifier tiny_model(std::uint64_t seed, c10::Device device) {
  torch::manual_seed(seed);
  models::ModelSpec spec;
  spec.num_classes = 5;
  spec.in_channels = 3;
  spec.stem = models::Stem::kCifar;
  spec.width = 8;
  spec.norm = models::Norm::kBatch;
  auto m = models::create("resnet18", spec);
  m->to(device);
  m->train();
  return m;
}

std::vector<std::pair<std::string, at::Tensor>> named(const models::Classifier& m) {
  std::vector<std::pair<std::string, at::Tensor>> n;
  for (auto& p : m->named_parameters()) n.emplace_back(p.key(), p.value());
  return n;
}

// Step k's local batch on this rank: a global batch of 12 drawn from (k), this rank's slice of it.
struct Batch {
  at::Tensor x, y, targets;
};
Batch batch_at(int step, const dist::World& w, bool soft, c10::Device device) {
  at::Generator g = at::detail::createCPUGenerator(100 + step);
  const at::Tensor x = at::randn({12, 3, 16, 16}, g), y = at::randint(5, {12}, g);
  const at::Tensor t = at::softmax(at::randn({12, 5}, g) * 3, 1);
  const std::int64_t local = 12 / w.size();
  Batch b{x.narrow(0, w.rank() * local, local).to(device), y.narrow(0, w.rank() * local, local).to(device), at::Tensor()};
  if (soft) b.targets = t.narrow(0, w.rank() * local, local).to(device);
  return b;
}

double worst_relative(const models::Classifier& a, const models::Classifier& b) {
  double worst = 0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    const double scale = std::max(1.0, pb[i].abs().max().item<double>());
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>() / scale);
  }
  for (std::size_t i = 0; i < a->buffers().size(); ++i) {  // BatchNorm's running statistics move the same way
    const at::Tensor ba = a->buffers()[i].to(at::kDouble), bb = b->buffers()[i].to(at::kDouble);
    worst = std::max(worst, (ba - bb).abs().max().item<double>() / std::max(1.0, bb.abs().max().item<double>()));
  }
  return worst;
}

// Rates of a real schedule's scale: float rounding (a·b + c fused or not) leaves 3e-8 after a step and under
// 5e-7 after five here. At 0.1 with momentum 0.95 on six-image batches this tiny network is chaotic enough to
// grow the same rounding to 2e-4 by the fifth step, in either path.
const double kLrs[] = {0.02, 0.01, 0.005, 0.015, 0.01}, kMoms[] = {0.95, 0.9, 0.85, 0.9, 0.92};

TEST(GraphedStep, TheBodyTrainsAsTheEagerStepAtEveryRankCount) {
  dist::World& w = dist::World::init();
  const c10::Device cpu(c10::kCPU);
  struct Case {
    const char* optimizer;
    bool soft;
  };
  for (const Case& k : {Case{"sgd", false}, Case{"adamw", true}}) {
    OptimizerConfig oc;
    oc.name = k.optimizer;
    if (oc.name == "adamw") oc.weight_decay = 0.01, oc.lr = 1e-2;
    // The eager step, as Run takes it: hooks hand buckets to the communication thread, finish() waits.
    auto eager = tiny_model(7, cpu);
    dist::MpiCommunicator comm_a(w);
    Optimizer opt_a(oc, named(eager));
    std::vector<at::Tensor> params_a = eager->parameters();
    dist::Reducer red_a(params_a, comm_a, {32 << 10, 4 << 10, /*average=*/false});
    // The graph's body, eager on the CPU, on a communicator of its own.
    auto graphed = tiny_model(7, cpu);
    auto w2 = w.split(0, w.rank());
    dist::MpiCommunicator comm_b(*w2);
    Optimizer opt_b(oc, named(graphed));
    std::vector<at::Tensor> params_b = graphed->parameters();
    dist::Reducer red_b(params_b, comm_b, {32 << 10, 4 << 10, /*average=*/false});
    GraphedStepOptions go;
    go.soft_targets = k.soft;
    go.ranks = w.size();
    go.label_smoothing = k.soft ? 0.0 : 0.1;
    GraphedStep step(graphed, opt_b, red_b, cpu, go, /*sgd_momentum=*/true);

    for (int s = 0; s < 5; ++s) {
      const Batch b = batch_at(s, w, k.soft, cpu);
      opt_a.zero_grad();
      const at::Tensor logits = eager->forward(b.x);
      const at::Tensor loss = k.soft ? augment::soft_cross_entropy(logits, b.targets)
                                     : F::cross_entropy(logits, b.y, F::CrossEntropyFuncOptions().label_smoothing(0.1));
      (loss * (1.0 / w.size())).backward();
      red_a.finish();
      opt_a.step(kLrs[s], kMoms[s]);

      const GraphedStep::Output out = step.run(b.x, b.y, b.targets, kLrs[s], kMoms[s]);
      EXPECT_NEAR(out.loss.item<double>(), loss.item<double>(), 1e-5) << k.optimizer << " step " << s;
      EXPECT_EQ(out.logits.sizes(), logits.sizes());
    }
    const double worst = worst_relative(graphed, eager);
    EXPECT_LT(worst, 1e-5) << k.optimizer;
    EXPECT_EQ(opt_b.steps(), opt_a.steps());
    EXPECT_FALSE(step.captured());  // the CPU never captures
    if (w.rank() == 0) std::printf("  %s: graph body vs eager step after 5 steps, worst relative %.3g\n", k.optimizer, worst);
  }
}

TEST(GraphedStep, ABatchOfAnotherShapeIsAnErrorNotAStaleReplay) {
  dist::World& w = dist::World::init();
  const c10::Device cpu(c10::kCPU);
  auto model = tiny_model(3, cpu);
  auto w2 = w.split(0, w.rank());
  dist::MpiCommunicator comm(*w2);
  Optimizer opt(OptimizerConfig{}, named(model));
  std::vector<at::Tensor> params = model->parameters();
  dist::Reducer red(params, comm, {32 << 10, 4 << 10, false});
  GraphedStepOptions go;
  go.ranks = w.size();
  GraphedStep step(model, opt, red, cpu, go, true);
  const Batch b = batch_at(0, w, false, cpu);
  step.run(b.x, b.y, at::Tensor(), 0.1, 0.9);
  try {
    step.run(b.x.narrow(0, 0, 1), b.y.narrow(0, 0, 1), at::Tensor(), 0.1, 0.9);
    ADD_FAILURE() << "a smaller batch was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a replayed graph needs every batch the same shape"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(step.run(b.x, b.y, at::ones({b.x.size(0), 5}) / 5, 0.1, 0.9), std::logic_error);
}

// On a GPU: the graph captured after two warm-up steps and replayed trains as the same body run eagerly on the
// GPU, at one rank per GPU with NCCL's all-reduce inside the graph.
TEST(GraphedStep, TheCapturedGraphTrainsAsTheEagerBodyOnTheGpu) {
  dist::World& w = dist::World::init();
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) GTEST_SKIP() << "no GPU: the capture runs on GPU nodes (scripts/gpu-check)";
  if (w.size() > gpus) GTEST_SKIP() << w.size() << " ranks on " << gpus << " GPU(s): NCCL needs one GPU per rank";
  dist::NcclCommunicator comm_a(w);
  auto w2 = w.split(0, w.rank());
  dist::NcclCommunicator comm_b(*w2);
  const c10::Device gpu(c10::kCUDA, static_cast<c10::DeviceIndex>(comm_a.device()));
  OptimizerConfig oc;
  auto eager = tiny_model(7, gpu), graphed = tiny_model(7, gpu);
  Optimizer opt_a(oc, named(eager)), opt_b(oc, named(graphed));
  std::vector<at::Tensor> pa = eager->parameters(), pb = graphed->parameters();
  dist::Reducer red_a(pa, comm_a, {32 << 10, 4 << 10, false}), red_b(pb, comm_b, {32 << 10, 4 << 10, false});
  GraphedStepOptions go;
  go.ranks = w.size();
  go.warmup_steps = 2;
  GraphedStepOptions eager_go = go;
  eager_go.capture = false;
  GraphedStep ref(eager, opt_a, red_a, gpu, eager_go, true), step(graphed, opt_b, red_b, gpu, go, true);
  for (int s = 0; s < 5; ++s) {
    const Batch b = batch_at(s, w, false, gpu);
    const double want = ref.run(b.x, b.y, at::Tensor(), kLrs[s], kMoms[s]).loss.item<double>();
    const double got = step.run(b.x, b.y, at::Tensor(), kLrs[s], kMoms[s]).loss.item<double>();
    EXPECT_NEAR(got, want, 1e-4) << "step " << s;
  }
  EXPECT_TRUE(step.captured());
  EXPECT_LT(worst_relative(graphed, eager), 1e-4);
  const Batch b = batch_at(0, w, false, gpu);
  EXPECT_THROW(step.run(b.x.narrow(0, 0, 1), b.y.narrow(0, 0, 1), at::Tensor(), 0.1, 0.9), std::runtime_error);
}

}  // namespace
}  // namespace acm::train
