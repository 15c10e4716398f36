// One training run, step by step: what `run_training` (trainer.h) drives.
//
//   Run run(config, options);
//   run.setup();                 // agreed checks, data, model, optimizer, attention, communicators, banner
//   while (!run.stopped() && !run.finished()) {
//     run.start_epoch();
//     while (run.step()) {}      // one optimizer step per call; false at the epoch's end or a stop
//     if (!run.stopped()) run.end_epoch();   // eval, checkpoint, a stop agreed at the boundary
//   }
//   return run.stopped() ? *run.stopped() : run.write_result(Outcome::kCompleted);
//
// Every rank runs the same calls in the same order: each collective (votes, gradients, evaluation counts)
// matches its peers'. Only rank 0 prints and writes into the output folder, and only while the sweep's claim
// holds (TrainOptions::holds_claim).
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/data/dataset.h"
#include "harness/data/loader.h"
#include "harness/dist/communicator.h"
#include "harness/dist/reducer.h"
#include "harness/train/attention_setup.h"
#include "harness/train/batch_copy.h"
#include "harness/train/checkpoint.h"
#include "harness/train/config.h"
#include "harness/train/fault.h"
#include "harness/train/graph_step.h"
#include "harness/train/optimizer.h"
#include "harness/train/precision.h"
#include "harness/train/schedule.h"
#include "harness/train/trainer.h"
#include "models/model.h"

namespace acm::augment {
class Mixer;
}
namespace acm::harness {
class Progress;
}

namespace acm::train {

// On CUDA devices a vote (the host's one synchronisation with the GPU in a step) every this many steps unless
// `sync_every` says otherwise.
inline constexpr int kCudaSyncEvery = 16;

// What each rank puts into one step's vote; summed over the ranks, it is the step's global view: the loss and
// accuracy over the global batch, how many ranks saw a non-finite loss, whether any rank was asked to stop
// (SIGTERM/SIGUSR1 reach ranks at different steps; all stop at the same one) and whether rank 0's claim is
// gone. One small all-reduce per step carries it.
struct StepVote {
  double loss_sum = 0;     // this rank's loss × its images; 0 when the loss is not finite
  double correct = 0;      // train top-1 hits against the recipient's label
  double images = 0;
  double nonfinite = 0;    // ranks with a non-finite loss
  double stop = 0;         // ranks asked to stop
  double claim_lost = 0;   // 1 on rank 0 once its claim is gone
  double overflow = 0;     // fp16: ranks whose loss or unscaled gradients are not finite (the step is skipped)

  StepVote summed(dist::Communicator& comm, int ranks) const;
};

class Run {
 public:
  Run(const RunConfig& config, const TrainOptions& options);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  // Everything that can be checked before training, agreed on by every rank (a rank that fails makes every
  // rank stop with its message); then the gradient reducer, SyncBN's communicator and the banner.
  void setup();
  void start_epoch();
  // One optimizer step. False when the epoch has no batch left, or when the sitting ends (stopped() says how).
  bool step();
  // Evaluation, the epoch's metrics, the checkpoint; a stop request or lost claim seen during them ends the
  // sitting here.
  void end_epoch();
  // The result file (completed, or failed with `error`), written while the claim holds; the run's outcome.
  Outcome write_result(Outcome status, const std::string& error = "");

  bool finished() const { return state_.epoch >= c_.epochs; }
  const std::optional<Outcome>& stopped() const { return stopped_; }
  int ranks() const { return ranks_; }

 private:
  using clock = std::chrono::steady_clock;

  bool holds();  // the sweep's claim on the folder is still ours (always, outside a sweep)
  bool write_fenced(const std::string& path, const nlohmann::json& j);
  void check_folder();
  void check_run_shape();
  void load_data_and_model();
  void make_loaders();
  void make_optimizer();
  void connect();
  void print_banner() const;
  at::Tensor mix(at::Tensor& x, const at::Tensor& y, const data::Batch& batch);
  StepVote forward_backward(at::Tensor x, const at::Tensor& y, const at::Tensor& targets);
  StepVote graphed_step(at::Tensor x, const at::Tensor& y, const at::Tensor& targets, const ScheduleValue& sv);
  void accumulate(const at::Tensor& loss, const at::Tensor& logits, const at::Tensor& y);
  StepVote vote_if_due(StepVote mine);
  bool after_vote(const StepVote& v, double lr);
  void record_epoch(double lr);
  void measure_robustness();
  void checkpoint(const TrainState& st);
  void sync_buffers();
  void interrupted();
  void lost_claim();
  nlohmann::json result_json(Outcome status, const std::string& error) const;

  const RunConfig& c_;
  const TrainOptions& opt_;
  const clock::time_point run_start_;
  const dist::World& world_;
  const int rank_, ranks_;
  const bool lead_;  // rank 0: prints and writes
  // Two communicators: control (votes, metrics) on the main thread; gradients and SyncBN's statistics on the
  // reducer's thread, issued in one order (reducer.h). MPI orders collectives per communicator.
  dist::MpiCommunicator control_;
  std::unique_ptr<dist::World> grad_world_;
  std::unique_ptr<dist::Communicator> grad_comm_;
  std::unique_ptr<dist::Reducer> reducer_;
  bool sync_bn_ = false;  // SyncBN's reduce function is ours to clear
  const nlohmann::json resolved_;
  const std::string hash_, result_path_, ckpt_path_;
  Fault fault_;
  bool claim_gone_ = false;
  std::unique_ptr<FILE, int (*)(FILE*)> devnull_;
  FILE* out_;

  std::optional<data::DatasetSplits> splits_;
  models::Classifier model_;
  std::map<std::string, std::string> model_record_;
  data::LoaderOptions loader_options_;
  std::unique_ptr<data::Loader> train_loader_, test_loader_;
  std::unique_ptr<BatchCopier> copier_;  // batches to the device, one ahead
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Schedule> schedule_;
  std::unique_ptr<augment::Mixer> mixer_;
  std::unique_ptr<GraphedStep> graphed_;  // cuda_graph: the step as one CUDA graph
  std::int64_t steps_per_epoch_ = 0, local_batch_ = 0;
  c10::Device device_{c10::kCPU};
  std::string backend_ = "mpi";
  const std::optional<at::ScalarType> autocast_;  // the forward's autocast type (none for fp32)
  const bool loss_scaled_;                        // fp16: the dynamic loss scale is in use
  TrainState state_;
  AttentionSetup attention_;
  nlohmann::json dist_record_;
  nlohmann::json last_calibration_;  // the latest evaluation's calibration, for the result
  nlohmann::json robustness_;        // occlusion and FGSM after the last epoch

  // The epoch in progress.
  std::unique_ptr<harness::Progress> progress_;
  clock::time_point epoch_start_;
  double lr_ = 0, images_this_sitting_ = 0;
  bool stop_at_epoch_end_ = false;
  bool skip_step_ = false;  // fp16: this step's gradients overflowed somewhere
  std::string nonfinite_where_;  // which ranks saw the non-finite loss, for the failed result's error
  std::int64_t first_nonfinite_step_ = -1;  // the global step of the first non-finite loss, once voted on
  // Sums since the last vote, on the device: loss × images (finite losses), top-1 hits, non-finite losses and
  // the first step with one (+inf: none). The host learns them every sync_every_ steps.
  at::Tensor pending_;
  double pending_images_ = 0, shown_loss_ = 0;
  int sync_every_ = 1;
  std::int64_t votes_ = 0;
  std::optional<Outcome> stopped_;
};

}  // namespace acm::train
