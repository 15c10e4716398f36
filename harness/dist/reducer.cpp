#include "harness/dist/reducer.h"

#include <torch/torch.h>

#include <map>
#include <stdexcept>

namespace acm::dist {

using clock_type = std::chrono::steady_clock;

// ---- EventLog ----

void EventLog::record(Kind kind, int index) {
  const double t = std::chrono::duration<double>(clock_type::now() - start_).count();
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back({seq_++, kind, index, t, std::this_thread::get_id()});
}

std::vector<EventLog::Event> EventLog::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

void EventLog::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  events_.clear();
}

const char* EventLog::name(Kind kind) {
  switch (kind) {
    case Kind::kGradReady:
      return "grad_ready";
    case Kind::kAllReduceStart:
      return "allreduce_start";
    case Kind::kAllReduceEnd:
      return "allreduce_end";
    case Kind::kFinish:
      return "finish";
    case Kind::kCallStart:
      return "call_start";
    case Kind::kCallEnd:
      return "call_end";
  }
  return "?";
}

// ---- Reducer ----

namespace {

// Fires once backward has accumulated the parameter's gradient into .grad.
class ReadyHook : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(Reducer* reducer, int index, at::Tensor view) : reducer_(reducer), index_(index), view_(view) {}
  void operator()(const torch::autograd::Variable& param) override {
    at::Tensor& grad = param.mutable_grad();
    // Someone replaced .grad (set it to undefined, assigned a new tensor): bring it back into the bucket.
    if (!grad.defined() || !grad.is_same(view_)) {
      torch::NoGradGuard no_grad;
      if (grad.defined()) {
        view_.copy_(grad);
      } else {
        view_.zero_();
      }
      grad = view_;
    }
    reducer_->mark_ready(index_);
  }

 private:
  Reducer* reducer_;
  int index_;
  at::Tensor view_;
};

}  // namespace

Reducer::Reducer(std::vector<at::Tensor> params, Communicator& comm, ReducerOptions options, EventLog* log)
    : params_(std::move(params)), comm_(comm), log_(log), average_(options.average) {
  if (options.bucket_bytes < 1 || options.first_bucket_bytes < 1) {
    throw std::invalid_argument("reducer: bucket sizes must be positive");
  }
  const int n = static_cast<int>(params_.size());
  bucket_of_.assign(static_cast<std::size_t>(n), -1);
  ready_.assign(static_cast<std::size_t>(n), 0);
  // Reverse order: the last layers' gradients come first in backward.
  std::int64_t bytes = 0;
  std::vector<std::vector<int>> groups;
  for (int i = n - 1; i >= 0; --i) {
    const at::Tensor& p = params_[static_cast<std::size_t>(i)];
    if (!p.requires_grad()) {
      throw std::invalid_argument("reducer: parameter " + std::to_string(i) + " does not require a gradient");
    }
    if (!p.is_non_overlapping_and_dense()) {
      throw std::invalid_argument("reducer: parameter " + std::to_string(i) +
                                  " is not dense (a view with gaps); its gradient cannot live in a bucket");
    }
    const std::int64_t pb = p.numel() * static_cast<std::int64_t>(p.element_size());
    bool fresh = groups.empty();
    if (!fresh) {
      const at::Tensor& first = params_[static_cast<std::size_t>(groups.back().front())];
      fresh = bytes + pb > (groups.size() == 1 ? options.first_bucket_bytes : options.bucket_bytes) ||
              first.scalar_type() != p.scalar_type() || first.device() != p.device();
    }
    if (fresh) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(i);
    bytes += pb;
  }
  torch::NoGradGuard no_grad;
  for (const auto& g : groups) {
    Bucket b;
    std::int64_t numel = 0;
    for (int i : g) {
      b.offsets.push_back(numel);
      numel += params_[static_cast<std::size_t>(i)].numel();
    }
    const at::Tensor& first = params_[static_cast<std::size_t>(g.front())];
    b.buffer = at::zeros({numel}, first.options().requires_grad(false));
    b.params = g;
    b.pending = static_cast<int>(g.size());
    const int index = static_cast<int>(buckets_.size());
    for (std::size_t k = 0; k < g.size(); ++k) {
      at::Tensor& p = params_[static_cast<std::size_t>(g[k])];
      at::Tensor view = b.buffer.as_strided(p.sizes(), p.strides(), b.offsets[k]);
      if (p.grad().defined()) view.copy_(p.grad());
      p.mutable_grad() = view;
      bucket_of_[static_cast<std::size_t>(g[k])] = index;
      torch::autograd::impl::set_post_acc_grad_hooks(p, std::make_unique<ReadyHook>(this, g[k], view));
    }
    buckets_.push_back(std::move(b));
  }
  thread_ = std::thread([this] { comm_loop(); });
}

Reducer::~Reducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

std::int64_t Reducer::bucket_bytes(int b) const {
  const at::Tensor& t = buckets_[static_cast<std::size_t>(b)].buffer;
  return t.numel() * static_cast<std::int64_t>(t.element_size());
}

std::int64_t Reducer::total_bytes() const {
  std::int64_t s = 0;
  for (int b = 0; b < bucket_count(); ++b) s += bucket_bytes(b);
  return s;
}

void Reducer::mark_ready(int param) {
  if (log_) log_->record(EventLog::Kind::kGradReady, param);
  std::lock_guard<std::mutex> lock(mu_);
  auto& r = ready_[static_cast<std::size_t>(param)];
  if (r) return;  // a second backward without finish(): not supported, counted once
  r = 1;
  Bucket& b = buckets_[static_cast<std::size_t>(bucket_of_[static_cast<std::size_t>(param)])];
  --b.pending;
  if (!inline_) launch_ready_locked();
}

void Reducer::set_inline(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!queue_.empty() || next_launch_ != 0 || done_ != 0) {
    throw std::logic_error("reducer: set_inline while a step's collectives are in flight");
  }
  inline_ = on;
}

void Reducer::reduce_inline() {
  if (!inline_) throw std::logic_error("reducer: reduce_inline outside inline mode");
  const auto t0 = clock_type::now();
  for (int b = 0; b < bucket_count(); ++b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      zero_missing_locked(buckets_[static_cast<std::size_t>(b)]);
    }
    if (log_) log_->record(EventLog::Kind::kAllReduceStart, b);
    reduce_bucket(b);
    if (log_) log_->record(EventLog::Kind::kAllReduceEnd, b);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    reset_step_locked();
  }
  wait_seconds_ += std::chrono::duration<double>(clock_type::now() - t0).count();
  if (log_) log_->record(EventLog::Kind::kFinish, -1);
}

// A bucket's all-reduce (and the division, when averaging), on the calling thread.
void Reducer::reduce_bucket(int b) {
  at::Tensor& buf = buckets_[static_cast<std::size_t>(b)].buffer;
  comm_.all_reduce(buf, ReduceOp::kSum);
  if (average_ && comm_.size() > 1) buf.div_(comm_.size());
}

// Parameters of the bucket that got no gradient this step contribute zeros; the bucket is then complete.
void Reducer::zero_missing_locked(Bucket& bk) {
  if (bk.pending == 0) return;
  torch::NoGradGuard no_grad;
  for (int i : bk.params) {
    if (!ready_[static_cast<std::size_t>(i)]) {
      params_[static_cast<std::size_t>(i)].mutable_grad().zero_();
      ready_[static_cast<std::size_t>(i)] = 1;
    }
  }
  bk.pending = 0;
}

void Reducer::reset_step_locked() {
  done_ = 0;
  next_launch_ = 0;
  for (auto& b : buckets_) b.pending = static_cast<int>(b.params.size());
  std::fill(ready_.begin(), ready_.end(), 0);
}

// Buckets go to the communication thread in index order only: every rank issues the same collectives in the
// same order even if its buckets complete in another.
void Reducer::launch_ready_locked() {
  bool launched = false;
  while (next_launch_ < bucket_count() && buckets_[static_cast<std::size_t>(next_launch_)].pending == 0) {
    queue_.push_back(Job{next_launch_++});
    launched = true;
  }
  if (launched) cv_.notify_all();
}

void Reducer::run_in_order(const std::function<void(Communicator&)>& call) {
  bool done = false;
  std::exception_ptr error;
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(Job{-1, &call, calls_++, &done, &error});
  cv_.notify_all();
  cv_.wait(lock, [&] { return done; });
  lock.unlock();
  if (error) std::rethrow_exception(error);
}

void Reducer::run_job(const Job& job) {
  const bool bucket = job.bucket >= 0;
  if (log_) log_->record(bucket ? EventLog::Kind::kAllReduceStart : EventLog::Kind::kCallStart, bucket ? job.bucket : job.number);
  std::exception_ptr err;
  try {
    if (bucket) {
      reduce_bucket(job.bucket);
    } else {
      (*job.call)(comm_);
    }
  } catch (...) {
    err = std::current_exception();
  }
  if (log_) log_->record(bucket ? EventLog::Kind::kAllReduceEnd : EventLog::Kind::kCallEnd, bucket ? job.bucket : job.number);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bucket) {
      ++done_;
      if (err && !error_) error_ = err;
    } else {
      *job.error = err;
      *job.done = true;
    }
  }
  cv_.notify_all();
}

void Reducer::comm_loop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_
      job = queue_.front();
      queue_.pop_front();
    }
    run_job(job);
  }
}

void Reducer::finish() {
  const auto t0 = clock_type::now();
  std::unique_lock<std::mutex> lock(mu_);
  // Parameters without a gradient this step contribute zeros; their buckets go now.
  for (int b = next_launch_; b < bucket_count(); ++b) zero_missing_locked(buckets_[static_cast<std::size_t>(b)]);
  launch_ready_locked();
  cv_.wait(lock, [&] { return done_ == bucket_count(); });
  reset_step_locked();  // ready for the next step
  wait_seconds_ += std::chrono::duration<double>(clock_type::now() - t0).count();
  if (log_) log_->record(EventLog::Kind::kFinish, -1);
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void broadcast_tensors(const std::vector<at::Tensor>& tensors, Communicator& comm, int root) {
  torch::NoGradGuard no_grad;
  std::map<std::pair<at::ScalarType, std::string>, std::vector<at::Tensor>> groups;
  for (const auto& t : tensors) {
    if (t.numel() > 0) groups[{t.scalar_type(), t.device().str()}].push_back(t);
  }
  for (auto& [key, list] : groups) {
    std::vector<at::Tensor> flat;
    for (const auto& t : list) flat.push_back(t.reshape({-1}));
    at::Tensor packed = at::cat(flat);
    comm.broadcast(packed, root);
    std::int64_t offset = 0;
    for (auto& t : list) {
      t.copy_(packed.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace acm::dist
