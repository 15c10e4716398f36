// A training step as one CUDA graph (`cuda_graph: true` in the run config).
//
// What a step launches — forward under autocast, the loss, backward, the gradient buckets' all-reduce and the
// optimizer's update — is captured once and then replayed with one launch, as torch.cuda.graph does. The
// graph reads and writes fixed addresses, so each step copies its batch (and soft targets) into static
// buffers and writes its learning rate and momentum into the optimizer's device scalars before the replay;
// the loss and logits come back in static outputs that the next step overwrites.
//
//   warm-up    the first `warmup_steps` steps run the same body eagerly on a side stream: cuDNN and cuBLAS
//              choose their algorithms and workspaces, the optimizer's state and the gradients exist, all
//              before the capture (nothing in a capture may allocate outside the graph's pool or synchronise);
//   capture    the next step is captured on that stream (thread-local capture mode: the loader's threads may
//              allocate pinned memory meanwhile) and then replayed: a real step, not a rehearsal;
//   replay     every later step: one graph launch on the current stream.
//
// What the graph cannot hold is refused by the config (harness/train/config.cpp: fp16's per-step loss scale,
// SyncBN, MPI, a CPU device). What it holds by construction: every training batch has the same shape (the
// last partial batch is dropped), every mixer returns B×K soft targets, and the reducer all-reduces inline on
// this thread (dist::Reducer::set_inline) so NCCL's kernels join the capture through its event fork and join.
// A batch of another shape is an error, never a silent replay on stale buffers. The autocast weight cache is
// off inside the step, as torch.cuda.make_graphed_callables requires.
//
// Without capture (capture = false, or a CPU device) the body runs eagerly every step on the static buffers:
// how the CPU tests check the body against the eager step.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "harness/dist/reducer.h"
#include "harness/train/optimizer.h"
#include "models/model.h"

namespace acm::train {

struct GraphedStepOptions {
  std::optional<at::ScalarType> autocast;  // the forward's autocast type (none: fp32)
  bool channels_last = false;
  bool soft_targets = false;     // the loss against B×K targets (a mixer); else hard labels
  double label_smoothing = 0;    // hard labels only (a mixer's targets come smoothed)
  int ranks = 1;                 // the loss is scaled by 1/ranks: the summed gradients are the mean
  int warmup_steps = 3;
  bool capture = true;           // false: eager every step (what a CPU device gets in any case)
};

class GraphedStep {
 public:
  // `reducer` is switched to inline mode for the step's lifetime. The optimizer's static state is made here
  // (Optimizer::prepare_static): load a checkpoint's state into it before.
  GraphedStep(models::Classifier model, Optimizer& optimizer, dist::Reducer& reducer, c10::Device device,
              GraphedStepOptions options, bool sgd_momentum);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  struct Output {
    at::Tensor loss;    // 0-dim float32, this step's (unscaled) loss; overwritten by the next step
    at::Tensor logits;  // B×K float32
  };
  // One optimizer step on this batch. `targets` B×K when soft_targets, else undefined.
  Output run(const at::Tensor& images, const at::Tensor& labels, const at::Tensor& targets, double lr,
             double momentum);

  bool captured() const;
  std::int64_t steps() const { return steps_; }

 private:
  void body();
  void check_shapes(const at::Tensor& images, const at::Tensor& labels, const at::Tensor& targets) const;

  struct Cuda;  // the graph and its stream; only on CUDA devices
  models::Classifier model_;
  Optimizer& optimizer_;
  dist::Reducer& reducer_;
  c10::Device device_;
  GraphedStepOptions o_;
  std::unique_ptr<Cuda> cuda_;
  at::Tensor x_, y_, t_;        // static inputs
  at::Tensor loss_, logits_;    // static outputs
  std::int64_t steps_ = 0;
};

}  // namespace acm::train
