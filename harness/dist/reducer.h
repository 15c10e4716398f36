// The gradient reducer: what DDP's C++ Reducer does, for this project's communicators.
//
// Parameters are laid out, in reverse registration order (roughly the order backward produces their
// gradients), in flat buckets of at most `bucket_bytes` — the first bucket holds at most
// `first_bucket_bytes`, so communication starts after the last layers' gradients. Each parameter's .grad is a
// view into its bucket (with the parameter's own strides), so backward accumulates straight into the buckets
// and the optimizer reads the averaged values from them without a copy; zeroing gradients in place keeps the
// views.
//
// A post-accumulate-grad hook on each parameter (it fires after .grad has been written) counts down its
// bucket; a bucket whose gradients are all in is handed, in bucket order, to a communication thread that
// all-reduces it and divides it by the number of ranks (or not: ReducerOptions::average) while backward goes
// on (Open MPI has no asynchronous progress: a blocking collective on a thread of its own is what overlaps).
// finish(), called after backward, waits for the buckets. Parameters that got no gradient this step (unused
// in the graph) are zeroed and their buckets launched by finish(): no bucket waits forever, and every rank
// issues the same collectives in the same order.
//
// One ordered queue for every collective of a step. The communication thread issues the buckets and any other
// collective handed to run_in_order() (SyncBN's, from forward on the main thread and from backward on the
// autograd thread) one at a time, in the order they were handed over. Bucket readiness and SyncBN's backward
// both come from the one autograd thread in graph order, so every rank issues the same sequence: with NCCL,
// two communicators fed from different threads in an order that differs between ranks can leave their kernels
// waiting on each other for ever on a shared GPU; one thread on one communicator cannot.
//
// One backward per finish(): gradient accumulation over several backward passes is not supported.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/dist/communicator.h"

namespace acm::dist {

struct ReducerOptions {
  std::int64_t bucket_bytes = 25ll << 20;
  std::int64_t first_bucket_bytes = 1ll << 20;
  // true: each bucket is divided by the number of ranks after its all-reduce (one more pass over it).
  // false: the caller has scaled its loss by 1/ranks before backward, so the summed gradients are already the
  // average and no pass is needed — what `harness train` does; on 2.7 MiB of gradients the division is a
  // fifth of the reduction's time here.
  bool average = true;
};

// What happened when, in one sequence across threads: the test of overlap, and a trace for people.
class EventLog {
 public:
  enum class Kind { kGradReady, kAllReduceStart, kAllReduceEnd, kFinish, kCallStart, kCallEnd };
  struct Event {
    std::int64_t seq;  // order of recording across all threads
    Kind kind;
    int index;  // parameter (kGradReady), bucket (kAllReduce*) or the call's number (kCall*)
    double seconds;
    std::thread::id thread;  // who recorded it
  };
  void record(Kind kind, int index);
  std::vector<Event> events() const;
  void clear();
  static const char* name(Kind kind);

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::int64_t seq_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class Reducer {
 public:
  // `params`: the parameters to average (those with requires_grad; every rank passes the same list in the
  // same order). `comm` must not be used by anyone else while a step's buckets are in flight: give the
  // reducer a communicator of its own (World::split). std::invalid_argument for a parameter that is not
  // dense, or buckets mixing devices.
  Reducer(std::vector<at::Tensor> params, Communicator& comm, ReducerOptions options = {},
          EventLog* log = nullptr);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // After backward: launches what is left, waits for every bucket and rethrows a communication error.
  void finish();

  // What a parameter's hook calls once its gradient is in (public for benchmarks: reduce without backward).
  void mark_ready(int param);

  // Inline mode, for a step captured as a CUDA graph (harness/train/graph_step.h): the hooks only note which
  // gradients came in, and reduce_inline(), called after backward on the thread that ran it, all-reduces the
  // buckets in order on that thread, on its current stream, where a capture records them. No overlap with
  // backward (a replayed graph has no launch gaps to fill). finish() must not be called in inline mode.
  void set_inline(bool on);
  void reduce_inline();

  // Runs `call` with the reducer's communicator on the communication thread, after every collective handed
  // over before it, and waits for it; rethrows what it throws. Safe from any thread but the communication one.
  void run_in_order(const std::function<void(Communicator&)>& call);

  int bucket_count() const { return static_cast<int>(buckets_.size()); }
  std::int64_t bucket_bytes(int b) const;
  const std::vector<int>& bucket_params(int b) const { return buckets_[static_cast<std::size_t>(b)].params; }
  std::int64_t total_bytes() const;
  // Seconds finish() has spent waiting for communication, summed over steps (the exposed, non-overlapped
  // part).
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    at::Tensor buffer;
    std::vector<int> params;
    std::vector<std::int64_t> offsets;
    int pending = 0;
  };
  // A queued collective: a bucket's all-reduce, or a caller's (run_in_order) that waits on `done`.
  struct Job {
    int bucket = -1;
    const std::function<void(Communicator&)>* call = nullptr;
    int number = 0;
    bool* done = nullptr;
    std::exception_ptr* error = nullptr;
  };
  void launch_ready_locked();
  void comm_loop();
  void run_job(const Job& job);
  void reduce_bucket(int b);
  void zero_missing_locked(Bucket& bucket);
  void reset_step_locked();

  std::vector<at::Tensor> params_;
  std::vector<int> bucket_of_;
  std::vector<char> ready_;
  std::vector<Bucket> buckets_;
  Communicator& comm_;
  EventLog* log_;
  bool average_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  int next_launch_ = 0, done_ = 0, calls_ = 0;
  bool stop_ = false, inline_ = false;
  std::exception_ptr error_;
  double wait_seconds_ = 0;
  std::thread thread_;
};

// Every rank ends with `root`'s values of these tensors (parameters and buffers), packed per dtype into one
// broadcast each.
void broadcast_tensors(const std::vector<at::Tensor>& tensors, Communicator& comm, int root = 0);

}  // namespace acm::dist
