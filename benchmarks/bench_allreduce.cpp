// All-reduce over MPI as the gradient reducer uses it, run under mpirun:
//
//   mpirun -np 2 build/benchmarks/bench_allreduce [--max-bytes N] [--model resnet18] [--width 64]
//                                                 [--bucket-mb 25] [--first-bucket-mb 1]
//
// 1. nccl-tests' table for the MPI communicator (in place, float32 sum): size, count, time, algbw = size /
//    time and busbw = algbw · 2(n−1)/n, the bandwidth a ring would need on each link — comparable across rank
//    counts. Time is the slowest rank's mean over the iterations.
// 2. The reducer on a real model's gradients (buckets as training's defaults: 1 MiB first, 25 MiB after)
// against one raw
//    MPI_Allreduce over a buffer of the same total size: every parameter is marked ready in backward order
//    with no compute in between, so the ratio is what bucketing and the communication thread cost. Averaging
//    as harness train does it (loss scaled by 1/n before backward: no pass), and by dividing each bucket.
// 3. One training step (forward + backward + finish) with and without the reducer's communication: how much
//    of it backward hides.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "harness/dist/communicator.h"
#include "harness/dist/reducer.h"
#include "harness/dist/world.h"
#include "models/registry.h"

namespace {

using clock_type = std::chrono::steady_clock;
using acm::dist::World;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The slowest rank's value: a collective is as fast as its last rank.
double slowest(const World& w, double v) { return w.max(v); }

template <class Fn>
double mean_time(const World& w, int warmup, int iters, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  w.barrier();
  const auto t = clock_type::now();
  for (int i = 0; i < iters; ++i) fn();
  return slowest(w, seconds_since(t) / iters);
}

int iterations_for(std::int64_t bytes) {
  return static_cast<int>(
      std::clamp<std::int64_t>((256ll << 20) / std::max<std::int64_t>(bytes, 1), 5, 1000));
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t max_bytes = 64ll << 20, width = 64;
  std::string model_name = "resnet18";
  double bucket_mb = 25, first_bucket_mb = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--max-bytes")
      max_bytes = std::stoll(argv[i + 1]);
    else if (a == "--model")
      model_name = argv[i + 1];
    else if (a == "--width")
      width = std::stoll(argv[i + 1]);
    else if (a == "--bucket-mb")
      bucket_mb = std::stod(argv[i + 1]);
    else if (a == "--first-bucket-mb")
      first_bucket_mb = std::stod(argv[i + 1]);
    else {
      std::fprintf(stderr,
                   "unknown option %s; allowed: --max-bytes N, --model NAME, --width N, --bucket-mb MB, "
                   "--first-bucket-mb MB\n",
                   a.c_str());
      return 2;
    }
  }
  World& world = World::init();
  const int n = world.size();
  const bool lead = world.rank() == 0;
  acm::dist::MpiCommunicator comm(world);
  const auto grad_world = world.split(0, world.rank());
  acm::dist::MpiCommunicator grad_comm(*grad_world);
  const double bus = n > 1 ? 2.0 * (n - 1) / n : 0.0;

  if (lead) {
    std::printf("# MPI all-reduce, in place, float32 sum, %d ranks (%d per node), thread level %s\n", n,
                world.local_size(), World::thread_multiple() ? "MULTIPLE" : "SERIALIZED");
    std::printf("# %12s %12s %6s %6s %10s %9s %9s\n", "size", "count", "type", "redop", "time(us)", "algbw",
                "busbw");
    std::printf("# %12s %12s %6s %6s %10s %9s %9s\n", "(B)", "(elements)", "", "", "", "(GB/s)", "(GB/s)");
  }
  for (std::int64_t bytes = 8; bytes <= max_bytes; bytes *= 4) {
    at::Tensor t = at::ones({bytes / 4}, at::kFloat);
    const double s = mean_time(world, 3, iterations_for(bytes), [&] { comm.all_reduce(t); });
    const double algbw = static_cast<double>(bytes) / s / 1e9;
    if (lead) {
      std::printf("  %12lld %12lld %6s %6s %10.1f %9.3f %9.3f\n", static_cast<long long>(bytes),
                  static_cast<long long>(bytes / 4), "float", "sum", s * 1e6, algbw, algbw * bus);
    }
  }

  // A real model's gradients.
  torch::manual_seed(0);
  acm::models::ModelSpec spec;
  spec.num_classes = 10;
  spec.in_channels = 3;
  spec.stem = acm::models::Stem::kCifar;
  spec.width = width;
  auto model = acm::models::create(model_name, spec);
  std::vector<at::Tensor> params = model->parameters();
  const acm::dist::ReducerOptions options{static_cast<std::int64_t>(bucket_mb * (1 << 20)),
                                          static_cast<std::int64_t>(first_bucket_mb * (1 << 20)),
                                          /*average=*/false};
  auto reducer = std::make_unique<acm::dist::Reducer>(params, grad_comm, options);
  const std::int64_t total = reducer->total_bytes();
  at::Tensor flat = at::ones({total / 4}, at::kFloat);
  const int iters = std::max(5, iterations_for(total));
  auto reduce_all = [&] {
    for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) reducer->mark_ready(i);
    reducer->finish();
  };
  const double raw = mean_time(world, 2, iters, [&] { comm.all_reduce(flat); });
  const double summed = mean_time(world, 2, iters, reduce_all);
  acm::dist::ReducerOptions dividing = options;
  dividing.average = true;
  reducer.reset();
  reducer = std::make_unique<acm::dist::Reducer>(params, grad_comm, dividing);
  const double divided = mean_time(world, 2, iters, reduce_all);
  if (lead) {
    std::printf("\n# reducer on %s (width %lld) gradients: %zu tensors, %.1f MiB in %d buckets\n",
                model_name.c_str(), static_cast<long long>(width), params.size(),
                static_cast<double>(total) / (1 << 20), reducer->bucket_count());
    auto line = [&](const char* what, double s) {
      std::printf("  %-40s %9.3f ms  algbw %7.3f GB/s  busbw %7.3f GB/s\n", what, s * 1e3, total / s / 1e9,
                  total / s / 1e9 * bus);
    };
    line("raw MPI_Allreduce, one buffer", raw);
    line("reducer, loss pre-scaled (harness train)", summed);
    line("reducer, dividing each bucket", divided);
    std::printf(
        "  effective bandwidth ratio reducer/raw = %.3f as harness train runs it (goal >= 0.9); %.3f "
        "dividing\n",
        raw / summed, raw / divided);
  }
  // Training's setting for the step below.
  reducer.reset();
  reducer = std::make_unique<acm::dist::Reducer>(params, grad_comm, options);

  // One step on a small batch: backward alone, then backward with the reducer's buckets in flight.
  const at::Tensor x = at::randn({16, 3, 32, 32}), y = at::randint(10, {16});
  auto step = [&] {
    for (auto& p : params) p.mutable_grad().zero_();
    (torch::nn::functional::cross_entropy(model->forward(x), y) * (1.0 / n)).backward();
    reducer->finish();
  };
  // The same network without a reducer: compute only.
  auto bare = acm::models::create(model_name, spec);
  auto bare_step = [&] {
    bare->zero_grad();
    torch::nn::functional::cross_entropy(bare->forward(x), y).backward();
  };
  const double with_reduce = mean_time(world, 1, 5, step);
  const double compute = mean_time(world, 1, 5, bare_step);
  if (lead) {
    std::printf("\n# one step, batch 16×3×32×32 per rank, %d intra-op thread(s)\n", at::get_num_threads());
    std::printf("  forward+backward alone          %9.2f ms\n", compute * 1e3);
    std::printf("  with the reducer (overlapped)   %9.2f ms  -> %.2f ms exposed of %.2f ms raw all-reduce\n",
                with_reduce * 1e3, (with_reduce - compute) * 1e3, raw * 1e3);
  }
  return 0;
}
