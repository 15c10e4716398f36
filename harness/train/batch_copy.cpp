#include "harness/train/batch_copy.h"

#include <ATen/ATen.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace acm::train {

struct BatchCopier::Impl {
  c10::cuda::CUDAStream side;
  std::optional<at::cuda::CUDAEvent> ready;  // the started batch's copy
  struct Held {
    data::Batch batch;
    at::cuda::CUDAEvent copied;
  };
  std::deque<Held> held;  // host batches whose copies may still be running

  explicit Impl(c10::Device device) : side(c10::cuda::getStreamFromPool(false, device.index())) {}

  void release_finished() {
    while (!held.empty() && held.front().copied.query()) held.pop_front();
  }
};

BatchCopier::BatchCopier(c10::Device device) : device_(device) {
  if (device_.is_cuda()) impl_ = std::make_unique<Impl>(device_);
}

BatchCopier::~BatchCopier() {
  if (impl_) {
    for (auto& h : impl_->held) h.copied.synchronize();  // no buffer goes back while a copy reads it
  }
}

void BatchCopier::start(data::Batch batch) {
  OnDevice d;
  if (!impl_) {
    d.images = batch.images;
    d.labels = batch.labels;
    d.host = std::move(batch);
    started_ = std::move(d);
    return;
  }
  impl_->release_finished();
  const c10::cuda::CUDAGuard device_guard(device_);
  {
    const c10::cuda::CUDAStreamGuard on_side(impl_->side);
    d.images = batch.images.to(device_, /*non_blocking=*/true);
    d.labels = batch.labels.to(device_, /*non_blocking=*/true);
    at::cuda::CUDAEvent copied;
    copied.record(impl_->side);
    impl_->ready.emplace();
    impl_->ready->record(impl_->side);
    impl_->held.push_back({batch, std::move(copied)});
  }
  d.host = std::move(batch);
  started_ = std::move(d);
}

std::optional<BatchCopier::OnDevice> BatchCopier::take() {
  if (!started_) return std::nullopt;
  OnDevice d = std::move(*started_);
  started_.reset();
  if (impl_) {
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device_.index());
    impl_->ready->block(compute);  // the compute stream waits for the copy, the host does not
    d.images.record_stream(compute);
    d.labels.record_stream(compute);
  }
  return d;
}

std::size_t BatchCopier::held() const { return impl_ ? impl_->held.size() : 0; }

}  // namespace acm::train
