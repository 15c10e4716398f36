// A batch loader whose background threads assemble and transform batches ahead of the training loop.
//
// Batches come out in order whatever the thread count; every random draw is keyed on (seed, epoch, sample
// index) (see keyed_rng.h), so the same seed gives the same batches with 0, 1 or 8 threads.
#pragma once

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "harness/data/dataset.h"
#include "harness/data/transforms.h"

namespace acm::data {

struct Batch {
  at::Tensor images;    // float32 B×C×H×W, transformed and normalised
  at::Tensor labels;    // int64 B
  at::Tensor indices;   // int64 B: each sample's index in the data set
  at::Tensor geometry;  // int32 B×3: offset_y, offset_x, flip of each sample (transforms.h)
  std::int64_t epoch = 0;
  std::int64_t number = 0;  // position of the batch in its epoch
};

struct LoaderOptions {
  std::int64_t batch_size = 128;
  bool drop_last = false;  // drop a final batch smaller than batch_size
  int threads = 2;         // background threads; 0 assembles each batch in next() on the caller's thread
  int prefetch = 4;        // batches assembled ahead of the consumer
  std::uint64_t seed = 0;
  TransformSpec transform;
  bool pin_memory = false;  // page-locked host buffers (for non-blocking copies to a CUDA device)
};

// The order in which an epoch visits the samples: 0..n-1, or a permutation keyed on (seed, epoch) only.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch, bool shuffle);

class Loader {
 public:
  Loader(const Dataset& ds, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins an epoch over `sample_ids` (indices into the data set), cut into consecutive batches.
  void start_epoch(std::int64_t epoch, std::vector<std::int64_t> sample_ids);
  // The next batch of the epoch in order, or nothing at its end. Rethrows an error raised while assembling.
  std::optional<Batch> next();
  std::int64_t batches_in_epoch() const { return total_; }
  const LoaderOptions& options() const { return options_; }

  // Assembles one batch from explicit sample ids (what the threads run; public for tests and benchmarks).
  Batch assemble(std::int64_t epoch, std::int64_t number, const std::int64_t* ids, std::int64_t count) const;

  // Batches are assembled into host buffers that are reused once nobody holds the batch any more (the
  // consumer dropped it and nothing kept a view of it): no allocation per step. The pool grows only while
  // more batches are held than it has; this is how many it holds now.
  std::size_t buffer_count() const;

 private:
  void worker_loop();
  Batch build(std::int64_t number) const;
  // Points the batch's tensors at a free buffer set (its first `count` rows); they keep it taken.
  struct Buffers {
    at::Tensor images, labels, indices, geometry;
  };
  void take_buffers(std::int64_t count, Batch& out) const;

  const Dataset& ds_;
  LoaderOptions options_;
  SampleTransform transform_;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::vector<std::int64_t> ids_;
  std::int64_t epoch_ = 0, total_ = 0, claimed_ = 0, returned_ = 0, in_flight_ = 0;
  std::map<std::int64_t, std::optional<Batch>> ready_;
  std::map<std::int64_t, std::exception_ptr> errors_;
  bool stop_ = false;
  std::vector<std::thread> threads_;

  mutable std::mutex pool_mu_;
  mutable std::deque<Buffers> pool_;  // a deque: growing it leaves the other sets in place
};

}  // namespace acm::data
