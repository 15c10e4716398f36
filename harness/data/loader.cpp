#include "harness/data/loader.h"

#include <ATen/ATen.h>

#include <numeric>
#include <stdexcept>

#include "harness/data/keyed_rng.h"

namespace acm::data {

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch, bool shuffle) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) {
    KeyedRng rng(seed, static_cast<std::uint64_t>(epoch), 0, Stream::kShuffle);
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  }
  return order;
}

Loader::Loader(const Dataset& ds, LoaderOptions options)
    : ds_(ds),
      options_(std::move(options)),
      transform_(options_.transform, ds.channels, ds.height, ds.width) {
  if (options_.batch_size <= 0) throw std::invalid_argument("batch size must be positive");
  if (options_.threads < 0) throw std::invalid_argument("loader threads must be >= 0");
  if (options_.prefetch < 1) options_.prefetch = 1;
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Loader::start_epoch(std::int64_t epoch, std::vector<std::int64_t> sample_ids) {
  for (std::int64_t id : sample_ids) {
    if (id < 0 || id >= ds_.size()) {
      throw std::out_of_range(ds_.name + ": sample id " + std::to_string(id) + " outside 0.." +
                              std::to_string(ds_.size() - 1));
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  ready_cv_.wait(lock, [&] { return in_flight_ == 0; });  // let a previous epoch's stragglers finish
  const auto n = static_cast<std::int64_t>(sample_ids.size());
  ids_ = std::move(sample_ids);
  epoch_ = epoch;
  total_ = options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
  claimed_ = returned_ = 0;
  ready_.clear();
  errors_.clear();
  lock.unlock();
  work_cv_.notify_all();
}

std::size_t Loader::buffer_count() const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  return pool_.size();
}

// A buffer set is free when the pool's own tensors are the only references to its storage. The batch's views
// are made under the lock: from then on they keep the set taken.
void Loader::take_buffers(std::int64_t count, Batch& out) const {
  std::lock_guard<std::mutex> lock(pool_mu_);
  const Buffers* free = nullptr;
  for (const Buffers& b : pool_) {
    if (b.images.storage().use_count() == 1 && b.labels.storage().use_count() == 1 &&
        b.indices.storage().use_count() == 1 && b.geometry.storage().use_count() == 1) {
      free = &b;
      break;
    }
  }
  if (!free) {
    const std::int64_t n = options_.batch_size;
    const auto opts = at::TensorOptions().pinned_memory(options_.pin_memory);
    pool_.push_back({at::empty({n, ds_.channels, ds_.height, ds_.width}, opts.dtype(at::kFloat)),
                     at::empty({n}, opts.dtype(at::kLong)), at::empty({n}, opts.dtype(at::kLong)),
                     at::empty({n, 3}, opts.dtype(at::kInt))});
    free = &pool_.back();
  }
  out.images = free->images.narrow(0, 0, count);
  out.labels = free->labels.narrow(0, 0, count);
  out.indices = free->indices.narrow(0, 0, count);
  out.geometry = free->geometry.narrow(0, 0, count);
}

Batch Loader::assemble(std::int64_t epoch, std::int64_t number, const std::int64_t* ids,
                       std::int64_t count) const {
  Batch b;
  b.epoch = epoch;
  b.number = number;
  if (count <= options_.batch_size) {
    take_buffers(count, b);
  } else {  // a caller's own batch, larger than the loader's (tests, benchmarks)
    b.images = at::empty({count, ds_.channels, ds_.height, ds_.width}, at::kFloat);
    b.labels = at::empty({count}, at::kLong);
    b.indices = at::empty({count}, at::kLong);
    b.geometry = at::empty({count, 3}, at::kInt);
  }
  float* img = b.images.data_ptr<float>();
  auto* lab = b.labels.data_ptr<std::int64_t>();
  auto* idx = b.indices.data_ptr<std::int64_t>();
  auto* geo = b.geometry.data_ptr<std::int32_t>();
  const std::int64_t stride = ds_.image_bytes();
  std::vector<std::uint8_t> buffer(static_cast<std::size_t>(ds_.in_memory() ? 0 : stride));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t id = ids[i];
    const Geometry g = draw_geometry(options_.transform, options_.seed, static_cast<std::uint64_t>(epoch),
                                     static_cast<std::uint64_t>(id));
    const DrawKey key{options_.seed, static_cast<std::uint64_t>(epoch)};
    transform_.apply(ds_.read_image(id, buffer.data(), &key), g, img + i * stride);
    lab[i] = ds_.labels[static_cast<std::size_t>(id)];
    idx[i] = id;
    geo[3 * i] = g.offset_y;
    geo[3 * i + 1] = g.offset_x;
    geo[3 * i + 2] = g.flip;
  }
  return b;
}

Batch Loader::build(std::int64_t number) const {
  const std::int64_t begin = number * options_.batch_size;
  const std::int64_t count =
      std::min<std::int64_t>(options_.batch_size, static_cast<std::int64_t>(ids_.size()) - begin);
  return assemble(epoch_, number, ids_.data() + begin, count);
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock,
                  [&] { return stop_ || (claimed_ < total_ && claimed_ < returned_ + options_.prefetch); });
    if (stop_) return;
    const std::int64_t number = claimed_++;
    ++in_flight_;
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = build(number);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    if (error) errors_[number] = error;
    ready_[number] = std::move(batch);
    ready_cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  if (threads_.empty()) {
    if (returned_ >= total_) return std::nullopt;
    return build(returned_++);
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (returned_ >= total_) return std::nullopt;
  const std::int64_t want = returned_;
  ready_cv_.wait(lock, [&] { return ready_.count(want) > 0; });
  auto node = ready_.extract(want);
  ++returned_;
  auto err = errors_.find(want);
  if (err != errors_.end()) std::rethrow_exception(err->second);
  lock.unlock();
  work_cv_.notify_all();
  return std::move(node.mapped());
}

}  // namespace acm::data
