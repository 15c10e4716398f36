// Run under real mpirun by ctest (tests/CMakeLists.txt: 1, 2 and 3 ranks, one intra-op thread each): every
// rank runs every test; a failure on any rank fails the job. Rank 0 prints everything, the others their failures.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cstdio>

#include "harness/dist/communicator.h"
#include "harness/dist/nccl_communicator.h"
#include "harness/dist/world.h"
#include "tests/expect_error.h"

namespace acm::dist {
namespace {

// A value every rank can compute for (rank, i): the expected sum is the sum over ranks.
at::Tensor pattern(std::int64_t n, at::ScalarType dtype, int rank) {
  const at::Tensor i = at::arange(n, at::kLong);
  return ((i * 7 + rank * 3) % 11).to(dtype);
}

TEST(World, RankSizeLocalRankAndSplit) {
  World& w = World::init();
  ASSERT_GE(w.size(), 1);
  ASSERT_LT(w.rank(), w.size());
  // Every rank of these tests runs on this one node.
  EXPECT_EQ(w.local_rank(), w.rank());
  EXPECT_EQ(w.local_size(), w.size());
  EXPECT_FALSE(w.host().empty());
  const auto sub = w.split(w.rank() % 2, w.rank());
  EXPECT_EQ(sub->size(), (w.size() + 1 - w.rank() % 2) / 2);
  EXPECT_EQ(sub->rank(), w.rank() / 2);
  // The sub-world's collectives stay inside it: the sum of world ranks of one colour.
  MpiCommunicator c(*sub);
  at::Tensor t = at::full({1}, static_cast<std::int64_t>(w.rank()), at::kLong);
  c.all_reduce(t);
  std::int64_t want = 0;
  for (int r = w.rank() % 2; r < w.size(); r += 2) want += r;
  EXPECT_EQ(t.item<std::int64_t>(), want);
}

TEST(MpiCommunicator, AllReduceSumsEverySizeAndDtype) {
  World& w = World::init();
  MpiCommunicator c(w);
  for (auto dtype : {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kByte}) {
    for (std::int64_t n : {0, 1, 7, 1000, 65537, (1 << 20) + 3}) {
      at::Tensor t = pattern(n, dtype, w.rank());
      at::Tensor want = at::zeros({n}, dtype);
      for (int r = 0; r < w.size(); ++r) want += pattern(n, dtype, r);
      c.all_reduce(t);
      EXPECT_TRUE(at::equal(t, want)) << c10::toString(dtype) << " n=" << n;
    }
  }
  at::Tensor m = at::full({3}, static_cast<float>(w.rank()));
  c.all_reduce(m, ReduceOp::kMax);
  EXPECT_TRUE(at::equal(m, at::full({3}, static_cast<float>(w.size() - 1))));
}

TEST(MpiCommunicator, BroadcastFromEveryRoot) {
  World& w = World::init();
  MpiCommunicator c(w);
  for (int root = 0; root < w.size(); ++root) {
    at::Tensor t = pattern(4099, at::kFloat, w.rank());
    c.broadcast(t, root);
    EXPECT_TRUE(at::equal(t, pattern(4099, at::kFloat, root))) << "root " << root;
  }
}

TEST(MpiCommunicator, RefusesWhatItCannotReduce) {
  World& w = World::init();
  MpiCommunicator c(w);
  at::Tensor half = at::zeros({4}, at::kHalf);
  acm::testing::expect_error<std::invalid_argument>([&] { c.all_reduce(half); },
                                                    {"dtype Half is not supported", "float32, float64"});
  at::Tensor strided = at::zeros({4, 4}).t();
  acm::testing::expect_error<std::invalid_argument>([&] { c.all_reduce(strided); }, {"must be contiguous"});
  at::Tensor t = at::zeros({2});
  acm::testing::expect_error<std::invalid_argument>([&] { c.broadcast(t, w.size()); },
                                                    {"is not a rank of this world"});
}

// The NCCL path is compiled and linked into every build; without a GPU, making one says so.
TEST(NcclCommunicator, IsCompiledInAndRefusesWithoutAGpu) {
  EXPECT_GE(NcclCommunicator::version(), 22000);
  if (at::hasCUDA()) GTEST_SKIP() << "a GPU is present: the NCCL path is exercised by the GPU checks";
  World& w = World::init();
  acm::testing::expect_error<std::runtime_error>([&] { NcclCommunicator c(w); },
                                                 {"no CUDA GPU is usable on rank"});
}

// On a GPU node: the NCCL communicator on CUDA tensors gives the same sums, maxima and broadcasts as the MPI
// one, in every dtype it takes, and its result is ordered after the work that wrote the tensor. One rank per
// GPU (NCCL refuses two ranks on one device): at more ranks than GPUs the test is skipped.
TEST(NcclCommunicator, CollectivesOnCudaEqualTheSumsOverRanks) {
  World& w = World::init();
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus == 0) GTEST_SKIP() << "no GPU: the NCCL path runs on GPU nodes (scripts/gpu-check)";
  if (w.size() > gpus) GTEST_SKIP() << w.size() << " ranks on " << gpus << " GPU(s): NCCL needs one GPU per rank";
  NcclCommunicator c(w);
  EXPECT_EQ(c.device(), w.local_rank() % gpus);
  EXPECT_EQ(c.size(), w.size());
  EXPECT_EQ(c.backend(), "nccl");
  const c10::Device gpu(c10::kCUDA, static_cast<c10::DeviceIndex>(c.device()));
  for (auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kLong, at::kInt, at::kByte}) {
    for (std::int64_t n : {0, 1, 7, 65537, (1 << 20) + 3}) {
      at::Tensor t = pattern(n, dtype, w.rank()).to(gpu);
      at::Tensor want = at::zeros({n}, at::kLong);
      for (int r = 0; r < w.size(); ++r) want += pattern(n, at::kLong, r);
      c.all_reduce(t);
      EXPECT_TRUE(at::equal(t.cpu(), want.to(dtype))) << c10::toString(dtype) << " n=" << n;
    }
  }
  at::Tensor m = at::full({3}, static_cast<float>(w.rank()), at::TensorOptions().device(gpu));
  c.all_reduce(m, ReduceOp::kMax);
  EXPECT_TRUE(at::equal(m.cpu(), at::full({3}, static_cast<float>(w.size() - 1))));
  for (int root = 0; root < w.size(); ++root) {
    at::Tensor t = pattern(4099, at::kFloat, w.rank()).to(gpu);
    c.broadcast(t, root);
    EXPECT_TRUE(at::equal(t.cpu(), pattern(4099, at::kFloat, root))) << "root " << root;
  }
  // Stream order: the tensor is the output of a long matrix product still running when all_reduce is called;
  // the sum must see its final value, and the next op on the compute stream must see the sum.
  const at::Tensor a = at::full({2048, 2048}, 1.0f, at::TensorOptions().device(gpu));
  for (int rep = 0; rep < 3; ++rep) {
    // Every entry of a·a is 2048, of (a·a)·a / 2048 again 2048: times (rank + 1).
    at::Tensor t = at::mm(a, a).mm(a).div_(2048.0f).mul_(static_cast<float>(w.rank() + 1));
    c.all_reduce(t);
    const double per_entry = t.sum().item<double>() / (2048.0 * 2048.0);
    EXPECT_EQ(per_entry, 2048.0 * w.size() * (w.size() + 1) / 2) << "rep " << rep;
  }
  // What it cannot reduce, it names.
  at::Tensor cpu = at::zeros({4});
  acm::testing::expect_error<std::invalid_argument>([&] { c.all_reduce(cpu); },
                                                    {"needs a contiguous CUDA tensor", "cpu"});
  at::Tensor complex = at::zeros({4}, at::TensorOptions().dtype(at::kComplexFloat).device(gpu));
  acm::testing::expect_error<std::invalid_argument>([&] { c.all_reduce(complex); },
                                                    {"dtype ComplexFloat is not supported"});
}

}  // namespace
}  // namespace acm::dist

namespace {

// Ranks other than 0 print only their failures, each line prefixed with the rank: a check that fails on one
// rank alone says which and where, instead of only "mpirun: a process exited with code 1".
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "rank %d: %s:%d: failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?", r.line_number(),
                 r.summary());
  }
  void OnTestEnd(const ::testing::TestInfo& t) override {
    if (t.result()->Failed()) std::fprintf(stderr, "rank %d: [  FAILED  ] %s.%s\n", rank_, t.test_suite_name(), t.name());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  acm::dist::World& w = acm::dist::World::init();
  if (w.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(w.rank()));
  }
  return RUN_ALL_TESTS();
}
