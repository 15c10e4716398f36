// The gradient reducer, SyncBN and the error vote under real mpirun (1, 2 and 3 ranks). Each rank computes
// the single-process answer itself — the same model on the whole global batch — and checks its reduced result
// against it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <thread>

#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/nccl_communicator.h"
#include "harness/dist/reducer.h"
#include "harness/dist/world.h"
#include "models/norm.h"
#include "models/registry.h"

namespace acm::dist {
namespace {

namespace nn = torch::nn;

// The global batch of a test: 12 samples (divisible by 1, 2, 3), the same on every rank.
struct GlobalBatch {
  at::Tensor x, y;
};
GlobalBatch global_batch(std::int64_t n, std::int64_t c, std::int64_t hw, std::int64_t classes) {
  at::Generator g = at::detail::createCPUGenerator(1234);
  return {at::randn({n, c, hw, hw}, g), at::randint(classes, {n}, g)};
}

std::pair<at::Tensor, at::Tensor> local_part(const GlobalBatch& b, const World& w) {
  const std::int64_t local = b.x.size(0) / w.size();
  return {b.x.narrow(0, w.rank() * local, local), b.y.narrow(0, w.rank() * local, local)};
}

models::Classifier tiny_resnet(models::Norm norm, std::uint64_t seed) {
  torch::manual_seed(seed);
  models::ModelSpec spec;
  spec.num_classes = 5;
  spec.in_channels = 3;
  spec.stem = models::Stem::kCifar;
  spec.width = 8;
  spec.norm = norm;
  return models::create("resnet18", spec);
}

std::vector<at::Tensor> grads(nn::Module& m) {
  std::vector<at::Tensor> g;
  for (auto& p : m.parameters()) g.push_back(p.grad().clone());
  return g;
}

void expect_close(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, double tol,
                  const char* what) {
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double scale = std::max(1.0, b[i].abs().max().item<double>());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  EXPECT_LT(worst, tol) << what;
  if (World::init().rank() == 0) std::printf("  %s: worst relative difference %.3g\n", what, worst);
}

TEST(Reducer, BucketsCoverEveryParameterOnceInReverseOrderWithASmallFirstBucket) {
  World& w = World::init();
  MpiCommunicator comm(w);
  auto model = tiny_resnet(models::Norm::kGroup, 1);
  std::vector<at::Tensor> params = model->parameters();
  Reducer r(params, comm, {/*bucket_bytes=*/64 << 10, /*first_bucket_bytes=*/8 << 10});
  ASSERT_GE(r.bucket_count(), 3);
  std::vector<int> seen;
  for (int b = 0; b < r.bucket_count(); ++b) {
    const auto& ps = r.bucket_params(b);
    ASSERT_FALSE(ps.empty());
    const std::int64_t cap = b == 0 ? 8 << 10 : 64 << 10;
    // A bucket over its cap holds a single parameter larger than the cap.
    if (r.bucket_bytes(b) > cap) {
      EXPECT_EQ(ps.size(), 1u) << "bucket " << b;
    }
    seen.insert(seen.end(), ps.begin(), ps.end());
    // The gradient of each parameter is a view into its bucket.
    for (int i : ps) EXPECT_TRUE(params[static_cast<std::size_t>(i)].grad().defined());
  }
  std::vector<int> want(params.size());
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int>(params.size() - 1 - i);
  EXPECT_EQ(seen, want);  // reverse registration order, each once
  EXPECT_LE(r.bucket_bytes(0), 8 << 10);
}

// The bucketed, overlapped path gives every rank the gradient of the mean loss over the global batch.
TEST(Reducer, AveragedGradientsEqualTheGlobalBatchGradient) {
  World& w = World::init();
  MpiCommunicator comm(w);
  const GlobalBatch b = global_batch(12, 3, 16, 5);
  auto ref = tiny_resnet(models::Norm::kGroup, 7);
  nn::functional::cross_entropy(ref->forward(b.x), b.y).backward();
  const std::vector<at::Tensor> want = grads(*ref);

  auto [x, y] = local_part(b, w);
  for (bool average : {true, false}) {  // dividing each bucket, or the loss scaled by 1/P (harness train)
    auto model = tiny_resnet(models::Norm::kGroup, 7);
    Reducer r(model->parameters(), comm, {32 << 10, 4 << 10, average});
    ASSERT_GE(r.bucket_count(), 3);
    for (int step = 0; step < 2; ++step) {  // twice: the per-step state resets, zeroing keeps the views
      for (auto& p : model->parameters()) p.mutable_grad().zero_();
      at::Tensor loss = nn::functional::cross_entropy(model->forward(x), y);
      (average ? loss : loss * (1.0 / w.size())).backward();
      r.finish();
      expect_close(grads(*model), want, 2e-5,
                   average ? "reduced (divided) vs global-batch gradient"
                           : "reduced (loss scaled) vs global-batch gradient");
    }
  }
}

// On a GPU node, the same with the model on CUDA and the buckets all-reduced by NCCL on its own stream while
// backward runs (the communication thread sets the device itself). TF32 off, so that the CPU answer is the
// reference to float32 rounding.
TEST(Reducer, NcclOnCudaGivesTheGlobalBatchGradient) {
  World& w = World::init();
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) GTEST_SKIP() << "no GPU: the NCCL path runs on GPU nodes (scripts/gpu-check)";
  if (w.size() > gpus) GTEST_SKIP() << w.size() << " ranks on " << gpus << " GPU(s): NCCL needs one GPU per rank";
  at::globalContext().setAllowTF32CuDNN(false);
  NcclCommunicator comm(w);
  const c10::Device gpu(c10::kCUDA, static_cast<c10::DeviceIndex>(comm.device()));
  const GlobalBatch b = global_batch(12, 3, 16, 5);
  auto ref = tiny_resnet(models::Norm::kGroup, 7);
  nn::functional::cross_entropy(ref->forward(b.x), b.y).backward();
  const std::vector<at::Tensor> want = grads(*ref);

  auto [x, y] = local_part(b, w);
  x = x.to(gpu);
  y = y.to(gpu);
  auto model = tiny_resnet(models::Norm::kGroup, 7);
  model->to(gpu);
  Reducer r(model->parameters(), comm, {32 << 10, 4 << 10, /*average=*/false});
  ASSERT_GE(r.bucket_count(), 3);
  for (int step = 0; step < 2; ++step) {
    for (auto& p : model->parameters()) p.mutable_grad().zero_();
    (nn::functional::cross_entropy(model->forward(x), y) * (1.0 / w.size())).backward();
    r.finish();
    std::vector<at::Tensor> got;
    for (const at::Tensor& g : grads(*model)) {
      EXPECT_TRUE(g.is_cuda());
      got.push_back(g.cpu());
    }
    expect_close(got, want, 1e-4, "NCCL-reduced (CUDA) vs global-batch gradient (CPU)");
  }
  at::globalContext().setAllowTF32CuDNN(true);
}

// Overlap is real: the communication thread starts bucket 0's all-reduce while backward is still producing
// gradients of later buckets.
TEST(Reducer, FirstBucketAllReduceStartsBeforeTheLastGradientOfTheStep) {
  World& w = World::init();
  MpiCommunicator comm(w);
  const GlobalBatch b = global_batch(12, 3, 32, 5);
  auto model = tiny_resnet(models::Norm::kGroup, 3);
  EventLog log;
  Reducer r(model->parameters(), comm, {64 << 10, 8 << 10}, &log);
  ASSERT_GE(r.bucket_count(), 3);
  auto [x, y] = local_part(b, w);
  for (int step = 0; step < 3; ++step) {
    log.clear();
    for (auto& p : model->parameters()) p.mutable_grad().zero_();
    nn::functional::cross_entropy(model->forward(x), y).backward();
    r.finish();
    std::int64_t first_start = -1, last_grad = -1, grads_seen = 0;
    for (const auto& e : log.events()) {
      if (e.kind == EventLog::Kind::kAllReduceStart && e.index == 0 && first_start < 0) first_start = e.seq;
      if (e.kind == EventLog::Kind::kGradReady) {
        last_grad = e.seq;
        ++grads_seen;
      }
    }
    EXPECT_EQ(grads_seen, static_cast<std::int64_t>(model->parameters().size()));
    ASSERT_GE(first_start, 0);
    EXPECT_LT(first_start, last_grad) << "step " << step << ": bucket 0 was not reduced during backward";
  }
}

// A parameter outside the graph (on some ranks only) must not leave its bucket waiting: finish() reduces
// zeros for it, and the ranks that used it get the average.
TEST(Reducer, UnusedParametersDoNotHangABucket) {
  World& w = World::init();
  MpiCommunicator comm(w);
  torch::manual_seed(5);
  nn::Linear used(4, 3), spare(4, 3);
  std::vector<at::Tensor> params = used->parameters();
  for (auto& p : spare->parameters()) params.push_back(p);
  Reducer r(params, comm, {1 << 20, 64});  // spare's weight is in bucket 0, reduced first
  const at::Tensor x = at::ones({2, 4});
  at::Tensor loss = used(x).sum();
  if (w.rank() == 0) loss = loss + spare(x).sum();  // only rank 0 uses `spare`
  loss.backward();
  r.finish();
  // spare's bias gradient on rank 0 is 2 per element (two rows); averaged over the ranks.
  EXPECT_TRUE(at::allclose(spare->bias.grad(), at::full({3}, 2.0 / w.size())));
  EXPECT_TRUE(at::allclose(used->bias.grad(), at::full({3}, 2.0)));
  // Next step nobody uses it: zeros, not last step's values.
  for (auto& p : params) p.mutable_grad().zero_();
  used(x).sum().backward();
  r.finish();
  EXPECT_TRUE(at::equal(spare->bias.grad(), at::zeros({3})));
}

// A gradient replaced behind the reducer's back (set to undefined) is brought back into its bucket.
TEST(Reducer, ReplacedGradientReturnsToItsBucket) {
  World& w = World::init();
  MpiCommunicator comm(w);
  nn::Linear lin(3, 2);
  Reducer r(lin->parameters(), comm);
  lin->weight.mutable_grad() = at::Tensor();
  lin(at::ones({1, 3})).sum().backward();
  r.finish();
  EXPECT_TRUE(at::allclose(lin->weight.grad(), at::ones({2, 3})));
  EXPECT_EQ(lin->weight.grad().data_ptr(), lin->bias.grad().data_ptr<float>() + 2)
      << "weight's gradient is no longer a view into the bucket";  // [bias(2), weight(6)] in reverse order
}

TEST(Reducer, BroadcastGivesEveryRankRootsParametersAndBuffers) {
  World& w = World::init();
  MpiCommunicator comm(w);
  auto model = tiny_resnet(models::Norm::kBatch, 100 + static_cast<std::uint64_t>(w.rank()));
  auto want = tiny_resnet(models::Norm::kBatch, 100);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : model->buffers()) b.fill_(w.rank());
    for (auto& b : want->buffers()) b.fill_(0);
  }
  std::vector<at::Tensor> state = model->parameters();
  for (auto& b : model->buffers()) state.push_back(b);
  broadcast_tensors(state, comm, 0);
  std::vector<at::Tensor> expected = want->parameters();
  for (auto& b : want->buffers()) expected.push_back(b);
  ASSERT_EQ(state.size(), expected.size());
  for (std::size_t i = 0; i < state.size(); ++i) EXPECT_TRUE(at::equal(state[i], expected[i])) << i;
}

// SyncBN over P local batches computes what BatchNorm computes over the global batch: outputs, gradients
// (after averaging) and running statistics.
TEST(SyncBatchNorm, EqualsBatchNormOnTheGlobalBatch) {
  World& w = World::init();
  ASSERT_TRUE(World::thread_multiple());
  auto norm_world = w.split(0, w.rank());
  MpiCommunicator grad_comm(w), norm_comm(*norm_world);
  models::set_sync_batch_norm_reduce([&](at::Tensor& t) { norm_comm.all_reduce(t); });
  const GlobalBatch b = global_batch(12, 3, 8, 5);

  auto ref = tiny_resnet(models::Norm::kBatch, 11);
  const at::Tensor ref_loss = nn::functional::cross_entropy(ref->forward(b.x), b.y);
  ref_loss.backward();
  auto model = tiny_resnet(models::Norm::kSyncBatch, 11);
  Reducer r(model->parameters(), grad_comm, {16 << 10, 4 << 10});
  auto [x, y] = local_part(b, w);
  at::Tensor loss = nn::functional::cross_entropy(model->forward(x), y);
  loss.backward();
  r.finish();
  models::set_sync_batch_norm_reduce(nullptr);
  at::Tensor mean_loss = loss.detach().clone();
  grad_comm.all_reduce(mean_loss);
  EXPECT_NEAR(mean_loss.item<double>() / w.size(), ref_loss.item<double>(), 1e-5);
  expect_close(grads(*model), grads(*ref), 1e-4, "SyncBN gradients vs BatchNorm on the global batch");
  std::vector<at::Tensor> got_buf, want_buf;
  for (auto& t : model->buffers()) got_buf.push_back(t.to(at::kDouble));
  for (auto& t : ref->buffers()) want_buf.push_back(t.to(at::kDouble));
  expect_close(got_buf, want_buf, 1e-5, "running statistics");
}

// SyncBN's collectives (forward on this thread, backward from autograd) and the gradient buckets go through
// the reducer's one queue: a single thread issues all of them, SyncBN's backward reductions fall between the
// buckets, and the sequence is the same on every rank, step after step. (With NCCL, two communicators fed
// from two threads in orders that differ between ranks can hang a shared GPU; this is what rules it out.)
TEST(Reducer, SyncBnAndBucketsAreIssuedByOneThreadInOneOrderOnEveryRank) {
  World& w = World::init();
  MpiCommunicator comm(w);
  EventLog log;
  auto model = tiny_resnet(models::Norm::kSyncBatch, 11);
  Reducer r(model->parameters(), comm, {16 << 10, 4 << 10}, &log);
  ASSERT_GE(r.bucket_count(), 2);
  models::set_sync_batch_norm_reduce(
      [&](at::Tensor& t) { r.run_in_order([&t](Communicator& c) { c.all_reduce(t); }); });
  const GlobalBatch b = global_batch(12, 3, 8, 5);
  auto [x, y] = local_part(b, w);
  std::vector<std::string> steps;
  for (int step = 0; step < 3; ++step) {
    log.clear();
    nn::functional::cross_entropy(model->forward(x), y).backward();
    r.finish();
    std::string seq;
    std::set<std::thread::id> issuers;
    int first_bucket = -1, last_bucket = -1, pos = 0, calls_between = 0;
    std::vector<char> kinds;
    for (const auto& e : log.events()) {
      if (e.kind != EventLog::Kind::kAllReduceStart && e.kind != EventLog::Kind::kCallStart) continue;
      const bool bucket = e.kind == EventLog::Kind::kAllReduceStart;
      seq += bucket ? "b" + std::to_string(e.index) + " " : std::string("s ");  // calls are numbered across steps
      issuers.insert(e.thread);
      kinds.push_back(bucket ? 'b' : 's');
      if (bucket) {
        if (first_bucket < 0) first_bucket = pos;
        last_bucket = pos;
      }
      ++pos;
    }
    for (int k = first_bucket; k >= 0 && k < last_bucket; ++k) calls_between += kinds[static_cast<std::size_t>(k)] == 's';
    EXPECT_EQ(issuers.size(), 1u) << seq;
    EXPECT_EQ(issuers.count(std::this_thread::get_id()), 0u) << "the communication thread issues them";
    EXPECT_GT(calls_between, 0) << "SyncBN's backward reductions between the buckets: " << seq;
    steps.push_back(seq);
    for (auto& p : model->parameters()) p.mutable_grad().zero_();
  }
  models::set_sync_batch_norm_reduce(nullptr);
  std::string mine;
  for (const auto& s : steps) mine += s + "| ";
  const std::vector<std::string> all = w.all_gather(mine);
  for (std::size_t k = 1; k < all.size(); ++k) EXPECT_EQ(all[k], all[0]) << "rank " << k;
  EXPECT_EQ(steps[1], steps[0]);
  EXPECT_EQ(steps[2], steps[0]);
}

TEST(Agree, EveryRankStopsWithTheFailingRanksMessageAndCode) {
  World& w = World::init();
  MpiCommunicator comm(w);
  const int bad = w.size() - 1;
  auto code = [](std::exception_ptr) { return 7; };
  try {
    agree(
        comm,
        [&] {
          if (w.rank() == bad) throw std::runtime_error("disk full on this rank");
        },
        code);
    FAIL() << "no rank may go on";
  } catch (const PeerError& e) {
    EXPECT_NE(w.rank(), bad);
    EXPECT_EQ(e.rank(), bad);
    EXPECT_EQ(e.exit_code(), 7);
    EXPECT_NE(std::string(e.what()).find("disk full on this rank"), std::string::npos) << e.what();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(w.rank(), bad);
    EXPECT_STREQ(e.what(), "disk full on this rank");
  }
  EXPECT_NO_THROW(agree(
      comm, [] {}, code));  // and the next vote is clean
}

}  // namespace
}  // namespace acm::dist
