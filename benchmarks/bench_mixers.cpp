// Each batch mixer against a plain copy of the same batch, in one run: bytes/s of the batch (B·C·H·W·4 bytes)
// mixed per second. Goal: every mixer at least half the speed of the copy. Attentive CutMix is timed with its
// heatmaps given (the mixing alone); the extractor's pass is a network forward and is measured as step time
// in docs/benchmarks.md, and the attention cache's look-up (crop/flip mapping and grid resize) has its own line.
//
//   build/benchmarks/bench_mixers --benchmark_min_time=1
//   .venv/bin/python benchmarks/bench_mixers_vs_python.py   (adds timm's and torchvision's times as ratios)
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <benchmark/benchmark.h>

#include <memory>

#include "augment/attention.h"
#include "augment/attention_cache.h"
#include "augment/attentive_cutmix.h"
#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/mixup.h"
#include "augment/none.h"

namespace {

using namespace acm::augment;

constexpr std::int64_t kClasses = 10;

struct Input {
  at::Tensor images, labels, grid_maps, indices, geometry;
};

const Input& input(std::int64_t b, std::int64_t size) {
  static std::map<std::pair<std::int64_t, std::int64_t>, Input> cache;
  Input& in = cache[{b, size}];
  if (!in.images.defined()) {
    at::Generator g = at::detail::createCPUGenerator(1);
    in.images = at::randn({b, 3, size, size}, g);
    in.labels = at::randint(0, kClasses, {b}, g, at::kLong);
    in.grid_maps = at::randn({b, 7, 7}, g);
    in.indices = at::arange(b, at::kLong);
    in.geometry = at::stack({at::randint(-4, 5, {b}, g, at::kLong), at::randint(-4, 5, {b}, g, at::kLong),
                             at::randint(0, 2, {b}, g, at::kLong)},
                            1)
                      .to(at::kInt);
  }
  return in;
}

class Given : public HeatmapSource {
 public:
  explicit Given(at::Tensor m) : m_(std::move(m)) {}
  at::Tensor grid_maps(const at::Tensor&, const BatchInfo&, std::int64_t) const override { return m_; }
  std::string describe() const override { return "given"; }

 private:
  at::Tensor m_;
};

void report(benchmark::State& state, const at::Tensor& images) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * images.numel() *
                          static_cast<std::int64_t>(images.element_size()));
}

void BM_Copy(benchmark::State& state) {
  const Input& in = input(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(in.images.clone());
  report(state, in.images);
}

void run_mixer(benchmark::State& state, const Mixer& mixer) {
  const Input& in = input(state.range(0), state.range(1));
  at::Generator g = at::detail::createCPUGenerator(2);
  const BatchInfo info{in.indices, in.geometry};
  for (auto _ : state) benchmark::DoNotOptimize(mixer.mix(in.images, in.labels, kClasses, g, info));
  report(state, in.images);
}

void BM_None(benchmark::State& state) { run_mixer(state, NoneMixer()); }
void BM_Mixup(benchmark::State& state) { run_mixer(state, MixupMixer(1.0, false)); }
void BM_Cutout(benchmark::State& state) { run_mixer(state, CutoutMixer(16, 1)); }
void BM_CutMix(benchmark::State& state) { run_mixer(state, CutMixMixer(1.0, 1.0)); }
void BM_AttentiveCutMix(benchmark::State& state) {
  const Input& in = input(state.range(0), state.range(1));
  run_mixer(state, AttentiveCutMixMixer(AttentiveOptions{}, std::make_shared<Given>(in.grid_maps)));
}
// The cache's per-batch work: up-sample each cached 7×7 map, map it through crop and flip, pool to the grid.
void BM_AttentionCacheLookup(benchmark::State& state) {
  const Input& in = input(state.range(0), state.range(1));
  const AttentionCache cache(at::randn({in.images.size(0), 7, 7}), 0.f, state.range(1), state.range(1),
                             "bench");
  const BatchInfo info{in.indices, in.geometry};
  for (auto _ : state) benchmark::DoNotOptimize(cache.grid_maps(in.images, info, 7));
  report(state, in.images);
}

#define SHAPES Args({128, 32})->Args({64, 224})->Unit(benchmark::kMicrosecond)->UseRealTime()
BENCHMARK(BM_Copy)->SHAPES;
BENCHMARK(BM_None)->SHAPES;
BENCHMARK(BM_Mixup)->SHAPES;
BENCHMARK(BM_Cutout)->SHAPES;
BENCHMARK(BM_CutMix)->SHAPES;
BENCHMARK(BM_AttentiveCutMix)->SHAPES;
BENCHMARK(BM_AttentionCacheLookup)->SHAPES;

}  // namespace

BENCHMARK_MAIN();
