// Batches to the training device.
//
// On a CUDA device the loader assembles batches in pinned (page-locked) host buffers that it reuses
// (data/loader.h), so a copy can run without blocking the host. Each copy is issued on a side stream as soon as
// the batch is ready — one batch ahead of the step that uses it — and the compute stream waits for it on an
// event. The host batch is kept until that event has passed: the loader never refills a buffer the copy
// engine is still reading, even when the host runs many steps ahead of the GPU (train/run.h votes only every
// `sync_every` steps). The device tensors are recorded on the compute stream, so the caching allocator does
// not hand their memory back to the side stream while kernels still read them.
//
// On the CPU the batch is used in place.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <deque>
#include <memory>
#include <optional>

#include "harness/data/loader.h"

namespace acm::train {

class BatchCopier {
 public:
  explicit BatchCopier(c10::Device device);
  ~BatchCopier();
  BatchCopier(const BatchCopier&) = delete;
  BatchCopier& operator=(const BatchCopier&) = delete;

  struct OnDevice {
    at::Tensor images, labels;
    data::Batch host;  // indices and geometry stay on the host (the mixers' per-sample records)
  };
  // Starts the batch's copy (a no-op on the CPU). Call it for batch k + 1 before the step of batch k runs.
  void start(data::Batch batch);
  bool started() const { return started_.has_value(); }
  // The started batch, on the device, once the compute stream waits for its copy; nothing if none started.
  std::optional<OnDevice> take();
  // Forgets a started batch (a new epoch begins; the loader will hand it out again where it belongs).
  void drop() { started_.reset(); }
  // Host batches still held for copies in flight (bounded by the steps the host runs ahead).
  std::size_t held() const;

 private:
  struct Impl;
  c10::Device device_;
  std::unique_ptr<Impl> impl_;
  std::optional<OnDevice> started_;
};

}  // namespace acm::train
