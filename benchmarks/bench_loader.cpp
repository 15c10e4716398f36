// Loader throughput: images/s delivered to the training loop for Fashion-MNIST-sized (1×28×28) and
// CIFAR-sized (3×32×32) batches of 128 with the standard transforms (random crop with padding 4, horizontal
// flip, per-channel normalisation), by background-thread count. threads=0 assembles on the calling thread:
// the single-thread cost with no hand-off. `per_thread` divides the rate by the threads doing the work.
//
//   build/benchmarks/bench_loader --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "harness/data/loader.h"
#include "harness/data/synthetic.h"

namespace {

using namespace acm::data;

const Dataset& dataset(std::int64_t channels, std::int64_t size) {
  static Dataset fmnist, cifar;
  Dataset& d = channels == 1 ? fmnist : cifar;
  if (d.size() == 0) {
    SyntheticSpec s;
    s.train_size = 8192;
    s.test_size = 1;
    s.channels = channels;
    s.height = s.width = size;
    d = make_synthetic(s).train;
  }
  return d;
}

void BM_Loader(benchmark::State& state) {
  const std::int64_t channels = state.range(0), size = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const Dataset& d = dataset(channels, size);
  LoaderOptions o;
  o.batch_size = 128;
  o.threads = threads;
  o.prefetch = 2 * std::max(threads, 1);
  o.transform.crop_padding = 4;
  o.transform.horizontal_flip = true;
  const ChannelStats st = channel_stats(d);
  o.transform.mean = st.mean;
  o.transform.std = st.std;
  Loader loader(d, o);
  std::int64_t epoch = 0, images = 0;
  loader.start_epoch(epoch, epoch_order(d.size(), 0, epoch, true));
  for (auto _ : state) {
    auto batch = loader.next();
    if (!batch) {
      ++epoch;
      loader.start_epoch(epoch, epoch_order(d.size(), 0, epoch, true));
      batch = loader.next();
    }
    images += batch->images.size(0);
    benchmark::DoNotOptimize(batch->images.data_ptr());
  }
  state.SetItemsProcessed(images);
  state.counters["per_thread"] =
      benchmark::Counter(static_cast<double>(images) / std::max(threads, 1), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Loader)
    ->ArgNames({"channels", "size", "threads"})
    ->Args({1, 28, 0})
    ->Args({1, 28, 1})
    ->Args({1, 28, 2})
    ->Args({3, 32, 0})
    ->Args({3, 32, 1})
    ->Args({3, 32, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
