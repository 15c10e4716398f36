#include "harness/train/graph_step.h"

#include <torch/torch.h>

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <sstream>
#include <stdexcept>

#include "augment/mixer.h"
#include "harness/train/precision.h"

namespace acm::train {

struct GraphedStep::Cuda {
  c10::cuda::CUDAStream side;
  at::cuda::CUDAGraph graph;
  bool ready = false;
  explicit Cuda(c10::Device device) : side(c10::cuda::getStreamFromPool(false, device.index())) {}
};

GraphedStep::GraphedStep(models::Classifier model, Optimizer& optimizer, dist::Reducer& reducer, c10::Device device,
                         GraphedStepOptions options, bool sgd_momentum)
    : model_(std::move(model)), optimizer_(optimizer), reducer_(reducer), device_(device), o_(options) {
  if (o_.warmup_steps < 1) throw std::invalid_argument("cuda_graph: at least one warm-up step before the capture");
  optimizer_.prepare_static(sgd_momentum);
  reducer_.set_inline(true);
  if (device_.is_cuda() && o_.capture) cuda_ = std::make_unique<Cuda>(device_);
}

GraphedStep::~GraphedStep() {
  if (cuda_ && cuda_->ready) cuda_->side.synchronize();
  try {
    reducer_.set_inline(false);
  } catch (const std::exception&) {  // a step that failed midway; the reducer goes with the run
  }
}

bool GraphedStep::captured() const { return cuda_ && cuda_->ready; }

namespace {
std::string shape(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}
}  // namespace

void GraphedStep::check_shapes(const at::Tensor& images, const at::Tensor& labels, const at::Tensor& targets) const {
  const bool soft = targets.defined();
  if (soft != o_.soft_targets) {
    throw std::logic_error(std::string("cuda_graph: the step was built for ") + (o_.soft_targets ? "soft" : "hard") +
                           " targets and got " + (soft ? "soft" : "hard") + " ones");
  }
  if (!x_.defined()) return;
  if (images.sizes() != x_.sizes() || labels.sizes() != y_.sizes() || (soft && targets.sizes() != t_.sizes())) {
    throw std::runtime_error("cuda_graph: a batch of images " + shape(images) + (soft ? ", targets " + shape(targets) : "") +
                             " after the step was " + (captured() ? "captured" : "warmed up") + " for images " +
                             shape(x_) + (soft ? ", targets " + shape(t_) : "") +
                             "; a replayed graph needs every batch the same shape");
  }
}

void GraphedStep::body() {
  optimizer_.zero_grad();
  at::Tensor logits;
  {
    const AutocastScope autocast(device_.type(), o_.autocast, /*cache=*/false);
    logits = model_->forward(x_);
  }
  logits = logits.to(at::kFloat);
  at::Tensor loss =
      o_.soft_targets
          ? augment::soft_cross_entropy(logits, t_)
          : torch::nn::functional::cross_entropy(
                logits, y_, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o_.label_smoothing));
  (o_.ranks > 1 ? loss * (1.0 / o_.ranks) : loss).backward();
  reducer_.reduce_inline();
  optimizer_.step_from_scalars();
  loss_ = loss.detach();
  logits_ = logits.detach();
}

GraphedStep::Output GraphedStep::run(const at::Tensor& images, const at::Tensor& labels, const at::Tensor& targets,
                                     double lr, double momentum) {
  check_shapes(images, labels, targets);
  {
    torch::NoGradGuard no_grad;
    if (!x_.defined()) {
      x_ = at::empty(images.sizes(), images.options().memory_format(o_.channels_last ? at::MemoryFormat::ChannelsLast
                                                                                     : at::MemoryFormat::Contiguous));
      y_ = at::empty_like(labels);
      if (o_.soft_targets) t_ = at::empty_like(targets);
    }
    x_.copy_(images);
    y_.copy_(labels);
    if (o_.soft_targets) t_.copy_(targets);
  }
  optimizer_.set_scalars(lr, momentum);
  ++steps_;
  if (!cuda_) {
    body();
    return {loss_, logits_};
  }
  if (cuda_->ready) {
    cuda_->graph.replay();  // on the current stream, after the copies above
    return {loss_, logits_};
  }
  // Warm-up, or the capture: on the side stream, after the current stream's copies; the current stream then
  // waits for the side stream's work.
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(device_.index());
  at::cuda::CUDAEvent inputs_in, done;
  inputs_in.record(current);
  inputs_in.block(cuda_->side);
  {
    const c10::cuda::CUDAStreamGuard on_side(cuda_->side);
    if (steps_ <= o_.warmup_steps) {
      body();
    } else {
      cuda_->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        body();
      } catch (...) {
        try {
          cuda_->graph.capture_end();
        } catch (...) {
        }
        throw;
      }
      cuda_->graph.capture_end();
      cuda_->ready = true;
    }
  }
  done.record(cuda_->side);
  done.block(current);
  if (cuda_->ready) cuda_->graph.replay();  // the captured step is this step: run it
  return {loss_, logits_};
}

}  // namespace acm::train
