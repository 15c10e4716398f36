#include "harness/train/run.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <set>

#include "augment/mixer.h"
#include "augment/method.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "harness/data/keyed_rng.h"
#include "harness/device.h"
#include "harness/dist/agree.h"
#include "harness/dist/nccl_communicator.h"
#include "harness/dist/sampler.h"
#include "harness/dist/world.h"
#include "harness/environment.h"
#include "harness/progress.h"
#include "harness/train/evaluate.h"
#include "harness/train/robustness.h"
#include "harness/train/signals.h"
#include "models/norm.h"
#include "models/registry.h"
#include "models/weights.h"

namespace acm::train {

using nlohmann::json;

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::unique_ptr<dist::Communicator> make_communicator(const std::string& backend, const dist::World& world) {
  if (backend == "nccl") return std::make_unique<dist::NcclCommunicator>(world);
  return std::make_unique<dist::MpiCommunicator>(world);
}

}  // namespace

StepVote StepVote::summed(dist::Communicator& comm, int ranks) const {
  if (ranks <= 1) return *this;
  at::Tensor t =
      at::tensor(std::vector<double>{loss_sum, correct, images, nonfinite, stop, claim_lost, overflow}, at::kDouble);
  comm.all_reduce(t);
  const double* v = t.data_ptr<double>();
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
}

Run::Run(const RunConfig& config, const TrainOptions& options)
    : c_(config),
      opt_(options),
      run_start_(clock::now()),
      world_(options.world ? *options.world : dist::World::init()),
      rank_(world_.rank()),
      ranks_(world_.size()),
      lead_(rank_ == 0),
      control_(world_),
      grad_world_(world_.split(0, rank_)),
      resolved_(to_json(config)),
      hash_(hash::of_json(resolved_)),
      result_path_(options.out_dir + "/result.json"),
      ckpt_path_(options.out_dir + "/checkpoint.safetensors"),
      devnull_(std::fopen("/dev/null", "w"), &std::fclose),
      autocast_(autocast_dtype(config.precision)),
      loss_scaled_(config.precision == "fp16") {
  out_ = (opt_.quiet || !lead_) ? devnull_.get() : opt_.log ? opt_.log : stdout;
}

Run::~Run() {
  if (sync_bn_) models::set_sync_batch_norm_reduce(nullptr);
}

// Once the claim is gone it stays gone.
bool Run::holds() {
  if (!claim_gone_ && opt_.claim_lost && opt_.claim_lost->load()) claim_gone_ = true;
  if (!claim_gone_ && opt_.holds_claim && !opt_.holds_claim()) claim_gone_ = true;
  return !claim_gone_;
}

// Into out_dir only while the claim holds: asked before the temporary file is written (nothing lands in the
// folder once the claim is gone) and again before the rename.
bool Run::write_fenced(const std::string& path, const json& j) {
  return holds() && fs::write_file_atomic(path, j.dump(2) + "\n", [this] { return holds(); });
}

// ---- Setup ----------------------------------------------------------------------------------------------------

void Run::setup() {
  dist::agree(control_, [&] { check_folder(); });
  dist::agree(control_, [&] {
    check_run_shape();
    torch::manual_seed(c_.seed);
    load_data_and_model();
    make_loaders();
    make_optimizer();
    if (opt_.resume) state_ = load_checkpoint(ckpt_path_, *model_, *optimizer_, hash_);
    if (c_.mix.method == "attentive_cutmix") {
      const auto t = clock::now();
      attention_ = prepare_attention(c_, splits_->train, loader_options_.transform, device_, opt_.out_dir, out_,
                                     /*write_cache=*/lead_, [this] { return holds(); });
      state_.timing["attention_setup"] += since(t);
    }
    // Last in setup, which drew from the generators (model init, the extractor's): the resumed sitting draws
    // on from where the checkpointed one stopped.
    if (opt_.resume) restore_generators(state_.generators, device_);
  });
  for (const char* part : {"data", "augment", "forward_backward", "communication", "optimizer", "eval", "checkpoint"}) {
    state_.timing.emplace(part, 0.0);
  }
  connect();
  // The step's sums stay on the device between votes (vote_if_due).
  pending_ = at::zeros({4}, at::TensorOptions().dtype(at::kDouble).device(device_));
  pending_[3] = std::numeric_limits<double>::infinity();
  sync_every_ = c_.sync_every > 0 ? c_.sync_every : (device_.is_cuda() && !loss_scaled_ ? kCudaSyncEvery : 1);
  print_banner();
  model_->train();
  mixer_ = augment::make_mixer(c_.mix, attention_.heatmaps);
  if (c_.cuda_graph) {
    GraphedStepOptions go;
    go.autocast = autocast_;
    go.channels_last = c_.channels_last;
    go.soft_targets = c_.mix.method != "none";
    go.label_smoothing = c_.label_smoothing;
    go.ranks = ranks_;
    // SGD's momentum buffer is in the graph whenever a step can have momentum (configured or cycled).
    graphed_ = std::make_unique<GraphedStep>(model_, *optimizer_, *reducer_, device_, go,
                                             c_.optimizer.momentum != 0 || c_.schedule.cycle_momentum);
  }
}

// Rank 0: the output folder, and whether this run may start (or resume) in it. The resolved config goes in
// first.
void Run::check_folder() {
  fault_ = fault_from_environment();
  if (!lead_) return;
  fs::make_dirs(opt_.out_dir);
  if (fs::path_exists(result_path_)) {
    const json old = config::read_json_file(result_path_);
    throw std::runtime_error(result_path_ + " already exists (status " + old.value("status", "?") +
                             "): this run has ended; use a new --out folder");
  }
  const bool have_ckpt = fs::path_exists(ckpt_path_);
  if (opt_.resume && !have_ckpt) throw std::runtime_error("--resume: no checkpoint in " + opt_.out_dir);
  if (!opt_.resume && have_ckpt) {
    throw std::runtime_error(opt_.out_dir + " holds a checkpoint of an unfinished run: add --resume, or use a new --out");
  }
  if (!write_fenced(opt_.out_dir + "/config.json", resolved_)) {
    throw LostClaim("the sweep's claim on " + opt_.out_dir + " was taken over before the run started");
  }
}

// The batch over the ranks, the device and the backend that reduces on it.
void Run::check_run_shape() {
  fault_.check_setup(rank_);
  if (c_.batch_size % ranks_ != 0) {
    throw config::ConfigError("$.batch_size: " + std::to_string(c_.batch_size) +
                              " (the global batch) is not divisible by the number of ranks (" +
                              std::to_string(ranks_) + ")");
  }
  local_batch_ = c_.batch_size / ranks_;
  if (c_.threads > 0) at::set_num_threads(c_.threads);
  device_ = harness::resolve_device(c_.device, world_.local_rank());
  backend_ = c_.distributed.backend == "auto" ? (device_.is_cuda() ? "nccl" : "mpi") : c_.distributed.backend;
  if (backend_ == "nccl" && !device_.is_cuda()) {
    throw config::ConfigError("$.distributed.backend: nccl reduces CUDA tensors; this run's device is " +
                              device_.str() + " (use mpi or auto)");
  }
  if (c_.cuda_graph && !device_.is_cuda()) {
    throw config::ConfigError("$.cuda_graph: a CUDA graph needs a CUDA device; $.device \"" + c_.device +
                              "\" resolved to " + device_.str() + " on rank " + std::to_string(rank_) + " (" +
                              world_.host() + "), which has no usable GPU (set cuda_graph false to train there)");
  }
  if (backend_ == "mpi" && device_.is_cuda()) {
    throw config::ConfigError("$.distributed.backend: mpi reduces CPU tensors; this run's device is " +
                              device_.str() + " (use nccl or auto)");
  }
  // cuDNN's autotuner: the fastest algorithm per shape, measured on first use (shapes are fixed here, since
  // training drops the last partial batch). Not bit-reproducible between runs, hence off by default.
  at::globalContext().setBenchmarkCuDNN(c_.cudnn_benchmark && device_.is_cuda());
  if (opt_.resume && !fs::path_exists(ckpt_path_)) {
    throw std::runtime_error("--resume: " + ckpt_path_ + " is not visible on this rank (" + world_.host() +
                             "): the output folder must be on a file system every rank sees");
  }
}

void Run::load_data_and_model() {
  splits_ = data::load_dataset(c_.dataset);
  models::ModelSpec spec = c_.model_spec;
  spec.num_classes = splits_->train.num_classes;
  spec.in_channels = splits_->train.channels;
  model_ = models::create(c_.model, spec);
  model_record_ = models::model_metadata(c_.model, spec);
  model_->to(device_);
  if (c_.channels_last) {
    for (auto& p : model_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
}

void Run::make_loaders() {
  data::LoaderOptions& lo = loader_options_;
  lo.batch_size = local_batch_;
  lo.threads = c_.loader_threads;
  lo.prefetch = std::max(2, 2 * c_.loader_threads);
  lo.seed = c_.seed;
  lo.drop_last = true;
  lo.transform = train_transform(c_, splits_->train);
  lo.pin_memory = device_.is_cuda();  // non-blocking copies (batch_copy.h)
  train_loader_ = std::make_unique<data::Loader>(splits_->train, lo);
  copier_ = std::make_unique<BatchCopier>(device_);
  data::LoaderOptions eo = lo;
  eo.batch_size = c_.eval_batch_size;
  eo.drop_last = false;
  eo.transform.crop_padding = 0;
  eo.transform.horizontal_flip = false;
  test_loader_ = std::make_unique<data::Loader>(splits_->test, eo);
}

void Run::make_optimizer() {
  steps_per_epoch_ = dist::global_steps(splits_->train.size(), {c_.batch_size, /*drop_last=*/true});
  if (steps_per_epoch_ == 0) {
    throw config::ConfigError("$.batch_size: " + std::to_string(c_.batch_size) + " exceeds the training set (" +
                              std::to_string(splits_->train.size()) + " images)");
  }
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (auto& p : model_->named_parameters()) named.emplace_back(p.key(), p.value());
  optimizer_ = std::make_unique<Optimizer>(c_.optimizer, named);
  schedule_ = std::make_unique<Schedule>(c_.schedule, c_.optimizer, steps_per_epoch_, c_.epochs);
}

// Gradients: bucketed, reduced on a communication thread during backward. Every rank starts from rank 0's
// parameters and buffers.
void Run::connect() {
  grad_comm_ = make_communicator(backend_, *grad_world_);
  std::vector<at::Tensor> trainable, state;
  for (auto& p : model_->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
    state.push_back(p);
  }
  for (auto& b : model_->buffers()) state.push_back(b);
  dist::broadcast_tensors(state, *grad_comm_, 0);
  // Averaging by scaling the loss by 1/P before backward: the summed gradients are the mean with no pass over
  // them (exact for P a power of two, within rounding otherwise).
  reducer_ = std::make_unique<dist::Reducer>(
      trainable, *grad_comm_,
      dist::ReducerOptions{static_cast<std::int64_t>(c_.distributed.bucket_mb * (1 << 20)),
                           static_cast<std::int64_t>(c_.distributed.first_bucket_mb * (1 << 20)),
                           /*average=*/false});
  // SyncBN's reductions join the reducer's queue: one thread issues every collective of a step, in the order
  // the main and autograd threads ask for them, the same on every rank (reducer.h).
  if (c_.model_spec.norm == models::Norm::kSyncBatch && ranks_ > 1) {
    sync_bn_ = true;
    models::set_sync_batch_norm_reduce([r = reducer_.get()](at::Tensor& t) {
      r->run_in_order([&t](dist::Communicator& comm) { comm.all_reduce(t); });
    });
  }
  // The rank within each node, which picks the node's GPU: from the node (MPI's shared-memory split), not the
  // world rank.
  std::vector<int> local_ranks;
  for (const std::string& r : world_.all_gather(std::to_string(world_.local_rank()))) local_ranks.push_back(std::stoi(r));
  dist_record_ = {{"world_size", ranks_},
                  {"hosts", world_.all_gather(world_.host())},
                  {"local_ranks", local_ranks},
                  {"devices", world_.all_gather(device_.str())},
                  {"backend", backend_},
                  {"mpi_thread_multiple", dist::World::thread_multiple()},
                  {"global_batch", c_.batch_size},
                  {"local_batch", local_batch_},
                  {"buckets", reducer_->bucket_count()},
                  {"gradient_bytes", reducer_->total_bytes()}};
}

void Run::print_banner() const {
  if (!lead_ || opt_.quiet) return;
  const TrainState& s = state_;
  std::fprintf(out_, "run   %s -> %s (config %s)%s\n", c_.model.c_str(), opt_.out_dir.c_str(), hash_.c_str(),
               opt_.resume ? (" resumed at epoch " + std::to_string(s.epoch + 1) + " step " +
                              std::to_string(s.step_in_epoch)).c_str()
                           : "");
  std::fprintf(out_, "data  %s: %lld train / %lld test images; %lld steps per epoch of %lld\n",
               c_.dataset.name.c_str(), static_cast<long long>(splits_->train.size()),
               static_cast<long long>(splits_->test.size()), static_cast<long long>(steps_per_epoch_),
               static_cast<long long>(c_.batch_size));
  if (ranks_ > 1) {
    const auto hosts = dist_record_["hosts"].get<std::vector<std::string>>();
    const std::set<std::string> distinct(hosts.begin(), hosts.end());
    std::fprintf(out_, "dist  %d ranks on %zu host(s), %s, %lld images per rank per step, %d gradient buckets (%.1f MiB)\n",
                 ranks_, distinct.size(), backend_.c_str(), static_cast<long long>(local_batch_),
                 reducer_->bucket_count(), static_cast<double>(reducer_->total_bytes()) / (1 << 20));
  }
}

// ---- Steps ------------------------------------------------------------------------------------------------------

void Run::start_epoch() {
  TrainState& s = state_;
  std::vector<std::int64_t> order =
      dist::shard_epoch(data::epoch_order(splits_->train.size(), c_.seed, s.epoch, /*shuffle=*/true),
                        {c_.batch_size, /*drop_last=*/true}, rank_, ranks_);
  order.erase(order.begin(), order.begin() + s.step_in_epoch * local_batch_);
  copier_->drop();
  train_loader_->start_epoch(s.epoch, order);
  progress_ = std::make_unique<harness::Progress>(
      "epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(c_.epochs), steps_per_epoch_, "img", out_);
  lr_ = 0;
  images_this_sitting_ = 0;
  epoch_start_ = clock::now();
}

bool Run::step() {
  auto t = clock::now();
  // This step's batch (started by the previous step, or now at an epoch's start), and the next one's copy
  // started before this step's work: on a GPU it runs on a side stream meanwhile.
  std::optional<data::Batch> first;
  if (!copier_->started() && (first = train_loader_->next())) copier_->start(std::move(*first));
  auto batch = copier_->take();
  if (batch) {
    if (auto next = train_loader_->next()) copier_->start(std::move(*next));
  }
  state_.timing["data"] += since(t);
  if (!batch) return false;
  const ScheduleValue sv = schedule_->at(state_.global_step);
  lr_ = sv.lr;
  at::Tensor x = batch->images, y = batch->labels;
  const at::Tensor targets = c_.mix.method != "none" ? mix(x, y, batch->host) : at::Tensor();
  fault_.check_step(rank_, state_.global_step);
  const StepVote vote = graphed_ ? graphed_step(x, y, targets, sv) : forward_backward(x, y, targets);
  if (!after_vote(vote, sv.lr)) return false;
  t = clock::now();
  if (!skip_step_ && !graphed_) optimizer_->step(sv.lr, sv.momentum);  // a graph's step holds its update
  state_.timing["optimizer"] += since(t);
  TrainState& s = state_;
  if (vote.images > 0) {  // a step that voted: the sums since the last vote
    s.epoch_loss_sum += vote.loss_sum;
    s.epoch_correct += vote.correct;
    s.epoch_seen += vote.images;
    shown_loss_ = vote.loss_sum / vote.images;
  }
  images_this_sitting_ += static_cast<double>(local_batch_ * ranks_);  // training drops partial batches
  ++s.step_in_epoch;
  ++s.global_step;
  char extra[96];
  std::snprintf(extra, sizeof extra, "loss %.4f | lr %.4g", shown_loss_, lr_);
  progress_->update(s.step_in_epoch, images_this_sitting_, extra);
  const bool stop = vote.stop > 0 || (opt_.stop_after > 0 && s.global_step >= opt_.stop_after);
  // A stop on the epoch's last step is taken at the epoch boundary, after its eval and checkpoint.
  if (stop && s.step_in_epoch < steps_per_epoch_) {
    s.epoch_seconds += since(epoch_start_);
    checkpoint(s);
    interrupted();
    return false;
  }
  if (stop) stop_at_epoch_end_ = true;
  return true;
}

// The mixed images replace `x`; the soft targets are returned. A generator keyed on (seed, step): the same seed
// gives the same mixed batches, and a resumed run draws exactly what the uninterrupted one drew, with no
// generator state to save. Pairs are drawn inside each rank's local batch.
at::Tensor Run::mix(at::Tensor& x, const at::Tensor& y, const data::Batch& batch) {
  const auto t = clock::now();
  at::Generator g = at::detail::createCPUGenerator(
      data::splitmix64(c_.seed ^ data::splitmix64(static_cast<std::uint64_t>(state_.global_step) ^ 0x6d6978ull)));
  const std::int64_t classes = splits_->train.num_classes;
  augment::MixedBatch mixed = mixer_->mix(x, y, classes, g, augment::BatchInfo{batch.indices, batch.geometry});
  x = mixed.images;
  at::Tensor targets = mixed.targets;
  if (c_.label_smoothing > 0) {
    targets = targets * (1 - c_.label_smoothing) + c_.label_smoothing / static_cast<double>(classes);
  }
  state_.timing["augment"] += since(t);
  return targets;
}

// Forward and backward (gradient buckets are all-reduced while backward runs; the 1/P makes their sum the
// average), then the step's vote over the ranks.
StepVote Run::forward_backward(at::Tensor x, const at::Tensor& y, const at::Tensor& targets) {
  auto t = clock::now();
  if (c_.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  optimizer_->zero_grad();
  at::Tensor logits;
  {
    const AutocastScope autocast(device_.type(), autocast_);
    logits = model_->forward(x);
  }
  logits = logits.to(at::kFloat);  // the loss in fp32, as under torch.autocast
  // Mixed batches train on soft targets; train top-1 is measured against the recipient's label.
  at::Tensor loss =
      targets.defined()
          ? augment::soft_cross_entropy(logits, targets)
          : torch::nn::functional::cross_entropy(
                logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c_.label_smoothing));
  if (fault_.at("nan", rank_, state_.global_step)) loss = loss * std::numeric_limits<double>::quiet_NaN();
  if (loss_scaled_) {
    at::Tensor scaled_loss = loss * (state_.loss_scale.scale / ranks_);
    if (fault_.at("overflow", rank_, state_.global_step)) scaled_loss = scaled_loss * std::numeric_limits<double>::infinity();
    scaled_loss.backward();
  } else {
    (ranks_ > 1 ? loss * (1.0 / ranks_) : loss).backward();
  }
  accumulate(loss, logits, y);
  state_.timing["forward_backward"] += since(t);
  t = clock::now();
  reducer_->finish();
  StepVote mine;
  if (loss_scaled_) {  // the summed gradients, unscaled; an overflow anywhere skips the step on every rank
    std::vector<at::Tensor> grads;
    for (auto& p : model_->parameters()) {
      if (p.grad().defined()) grads.push_back(p.mutable_grad());
    }
    mine.overflow = state_.loss_scale.unscale_and_check(grads) || !loss.isfinite().item<bool>() ? 1.0 : 0.0;
  }
  const StepVote all = vote_if_due(mine);
  state_.timing["communication"] += since(t);
  return all;
}

// The same step as one CUDA graph (graph_step.h): forward, backward, the all-reduce and the optimizer's update
// in one launch, timed as forward_backward; then the vote when due. The update is applied before the vote:
// what the vote can stop (a lost claim, a non-finite loss) writes no checkpoint after it.
StepVote Run::graphed_step(at::Tensor x, const at::Tensor& y, const at::Tensor& targets, const ScheduleValue& sv) {
  auto t = clock::now();
  if (fault_.at("nan", rank_, state_.global_step)) x = x * std::numeric_limits<double>::quiet_NaN();
  const GraphedStep::Output out = graphed_->run(x, y, targets, sv.lr, sv.momentum);
  accumulate(out.loss, out.logits, y);
  state_.timing["forward_backward"] += since(t);
  t = clock::now();
  const StepVote all = vote_if_due(StepVote{});
  state_.timing["communication"] += since(t);
  return all;
}

// This step's loss sum, top-1 hits and non-finite count, added on the device: no host synchronisation.
void Run::accumulate(const at::Tensor& loss, const at::Tensor& logits, const at::Tensor& y) {
  torch::NoGradGuard no_grad;
  const at::Tensor l = loss.detach().to(at::kDouble).reshape({1});
  const at::Tensor finite = l.isfinite();
  const double images = static_cast<double>(y.size(0));
  const at::Tensor step = at::full({1}, static_cast<double>(state_.global_step), l.options());
  const at::Tensor contrib =
      at::cat({at::where(finite, l * images, 0.0), logits.detach().argmax(1).eq(y).sum().to(at::kDouble).reshape({1}),
               at::logical_not(finite).to(at::kDouble), at::where(finite, std::numeric_limits<double>::infinity(), step)});
  pending_.narrow(0, 0, 3).add_(contrib.narrow(0, 0, 3));
  at::Tensor first = pending_.narrow(0, 3, 1);
  at::minimum_out(first, first, contrib.narrow(0, 3, 1));
  pending_images_ += images;
}

// Every `sync_every` steps, at the epoch's last step and before a planned stop: the device's sums come to the
// host (the one synchronisation), and the ranks vote on them. Other steps return an empty vote (images 0).
StepVote Run::vote_if_due(StepVote mine) {
  const TrainState& s = state_;
  const bool due = (s.step_in_epoch + 1) % sync_every_ == 0 || s.step_in_epoch + 1 >= steps_per_epoch_ ||
                   (opt_.stop_after > 0 && s.global_step + 1 >= opt_.stop_after) || mine.overflow > 0;
  if (!due) return mine;
  ++votes_;
  const at::Tensor host = pending_.to(at::kCPU);
  const double* v = host.data_ptr<double>();
  mine.images = pending_images_;
  mine.loss_sum = v[0];
  mine.correct = v[1];
  mine.nonfinite = v[2] > 0 && !loss_scaled_ ? 1.0 : 0.0;
  mine.stop = stop_requested() ? 1.0 : 0.0;
  // Rank 0's lost claim is read from the heartbeat's flag: no file access per step.
  if (lead_ && opt_.claim_lost && opt_.claim_lost->load()) claim_gone_ = true;
  mine.claim_lost = claim_gone_ ? 1.0 : 0.0;
  if (v[2] > 0) first_nonfinite_step_ = static_cast<std::int64_t>(v[3]);
  pending_.zero_();
  pending_[3] = std::numeric_limits<double>::infinity();
  pending_images_ = 0;
  StepVote all = mine.summed(control_, ranks_);
  if (all.nonfinite > 0) {
    if (ranks_ > 1) {
      nonfinite_where_ = " on " + std::to_string(static_cast<int>(all.nonfinite)) + " of " + std::to_string(ranks_) +
                         " ranks";
      // The earliest step any rank saw it at: one more (rare) collective, on the failing path only.
      at::Tensor first = at::full({1}, first_nonfinite_step_ >= 0 ? -static_cast<double>(first_nonfinite_step_)
                                                                   : -std::numeric_limits<double>::infinity(),
                                  at::kDouble);
      control_.all_reduce(first, dist::ReduceOp::kMax);
      first_nonfinite_step_ = static_cast<std::int64_t>(-first.item<double>());
    }
  }
  return all;
}

// A lost claim or a non-finite loss on any rank ends the sitting on every rank at this step.
bool Run::after_vote(const StepVote& v, double lr) {
  const TrainState& s = state_;
  if (v.claim_lost > 0) {
    lost_claim();
    return false;
  }
  skip_step_ = v.overflow > 0;
  if (loss_scaled_) state_.loss_scale.update(skip_step_);
  if (v.nonfinite > 0) {
    // The first non-finite step this rank saw (votes come every sync_every steps); else the voting step.
    const std::int64_t at = first_nonfinite_step_ >= 0 ? first_nonfinite_step_ : s.global_step;
    const std::int64_t in_epoch = s.step_in_epoch - (s.global_step - at);
    std::string when = "epoch " + std::to_string(s.epoch + 1) + " step " + std::to_string(in_epoch + 1) +
                       " (global step " + std::to_string(at + 1) + ", lr " + std::to_string(lr) + ")";
    if (at != s.global_step) when += ", found at the vote of global step " + std::to_string(s.global_step + 1);
    write_result(Outcome::kFailed, "non-finite loss" + nonfinite_where_ + " at " + when);
    return false;
  }
  return true;
}

// ---- Epoch boundary -------------------------------------------------------------------------------------------

void Run::end_epoch() {
  TrainState& s = state_;
  s.epoch_seconds += since(epoch_start_);
  char extra[96];
  std::snprintf(extra, sizeof extra, "train loss %.4f top-1 %.2f%%", s.epoch_loss_sum / std::max(s.epoch_seen, 1.0),
                100.0 * s.epoch_correct / std::max(s.epoch_seen, 1.0));
  progress_->finish(extra);  // before eval, so its rate is the training rate
  record_epoch(lr_);
  TrainState next = s;
  ++next.epoch;
  checkpoint(next);
  // A signal that came during eval, or a claim lost at the checkpoint: the ranks agree on stopping here.
  at::Tensor late = at::tensor(std::vector<double>{stop_requested() ? 1.0 : 0.0, claim_gone_ ? 1.0 : 0.0}, at::kDouble);
  if (ranks_ > 1) control_.all_reduce(late, dist::ReduceOp::kMax);
  if (late.data_ptr<double>()[1] > 0) {
    lost_claim();
    return;
  }
  const bool stop = stop_at_epoch_end_ || late.data_ptr<double>()[0] > 0;
  s = next;
  if (stop && !finished()) interrupted();
}

// Evaluation over the test set and the epoch's metrics, appended to the history; the epoch's sums are reset.
void Run::record_epoch(double lr) {
  TrainState& s = state_;
  const auto t = clock::now();
  sync_buffers();
  const EvalResult ev = evaluate(*model_, *test_loader_, splits_->test, device_, c_.channels_last, control_,
                                 autocast_, c_.eval.calibration_bins);
  const double eval_s = since(t);
  s.timing["eval"] += eval_s;
  dist_record_["test_images_evaluated"] = ev.images;
  EpochMetrics m;
  m.epoch = s.epoch + 1;
  m.train_loss = s.epoch_loss_sum / std::max(s.epoch_seen, 1.0);
  m.train_top1 = 100.0 * s.epoch_correct / std::max(s.epoch_seen, 1.0);
  m.test_top1 = ev.top1;
  m.test_top5 = ev.top5;
  m.lr = lr;
  m.seconds = s.epoch_seconds;
  m.images_per_s = s.epoch_seen / std::max(s.epoch_seconds, 1e-9);
  if (ev.calibration) {
    m.has_calibration = true;
    m.test_ece = ev.calibration->ece;
    m.test_nll = ev.calibration->nll;
    m.test_brier = ev.calibration->brier;
    last_calibration_ = ev.calibration->to_json();  // the reliability diagram of the latest evaluation
  }
  s.history.push_back(m);
  std::fprintf(out_, "test  epoch %lld/%lld: top-1 %.2f%% top-5 %.2f%% (%lld images, %.1fs)\n",
               static_cast<long long>(m.epoch), static_cast<long long>(c_.epochs), m.test_top1, m.test_top5,
               static_cast<long long>(splits_->test.size()), eval_s);
  const bool corruptions = !c_.eval.corruptions.empty() && !c_.eval.corruption_severities.empty();
  const bool due = s.epoch + 1 == c_.epochs || (c_.eval.robustness_every > 0 && (s.epoch + 1) % c_.eval.robustness_every == 0);
  if (due && (!c_.eval.occlusion.empty() || !c_.eval.fgsm.empty() || corruptions)) {
    measure_robustness();
    s.history.back().robustness = robustness_;
  }
  s.step_in_epoch = 0;
  s.epoch_loss_sum = s.epoch_correct = s.epoch_seen = s.epoch_seconds = 0;
}

// At the end of training: occlusion and FGSM on the test set (robustness.h), into the result.
void Run::measure_robustness() {
  const auto t = clock::now();
  RobustnessOptions o;
  o.occlusion = c_.eval.occlusion;
  o.fgsm = c_.eval.fgsm;
  o.max_images = c_.eval.robustness_images;
  o.corruptions = c_.eval.corruptions;
  o.severities = c_.eval.corruption_severities;
  o.corruption_images = c_.eval.corruption_images;
  o.mean = loader_options_.transform.mean;
  o.std = loader_options_.transform.std;
  o.seed = c_.seed;
  robustness_ = evaluate_robustness(*model_, *test_loader_, splits_->test, device_, c_.channels_last, control_,
                                    autocast_, o);
  state_.timing["robustness"] += since(t);
  // Percentages rounded to whole numbers on the console; the result keeps them exact.
  auto rounded = [](const nlohmann::json& values) {
    std::string s;
    for (const auto& v : values) s += (s.empty() ? "" : " ") + std::to_string(std::lround(v.get<double>()));
    return s;
  };
  char mca[64] = "-";
  if (robustness_.contains("corruption")) {
    std::snprintf(mca, sizeof mca, "%.2f%% on %.0f images", robustness_["corruption"]["mean_top1"].get<double>(),
                  robustness_["corruption"]["images"].get<double>());
  }
  std::fprintf(out_, "robust top-1 %.2f%% clean on %.0f images; centre occlusion %s; FGSM %s; corruptions mCA %s (%.1fs)\n",
               robustness_["clean_top1"].get<double>(), robustness_["images"].get<double>(),
               robustness_.contains("occlusion") ? rounded(robustness_["occlusion"]["center_top1"]).c_str() : "-",
               robustness_.contains("fgsm") ? rounded(robustness_["fgsm"]["top1"]).c_str() : "-", mca, since(t));
}

// BatchNorm running statistics: rank 0's, as DDP's broadcast_buffers.
void Run::sync_buffers() {
  std::vector<at::Tensor> buffers;
  for (auto& b : model_->buffers()) buffers.push_back(b);
  if (ranks_ > 1 && !buffers.empty()) dist::broadcast_tensors(buffers, *grad_comm_, 0);
}

// A claim lost at a checkpoint is seen by every rank at the next vote.
void Run::checkpoint(const TrainState& st) {
  const auto t = clock::now();
  sync_buffers();
  if (lead_ && holds()) {
    save_checkpoint(ckpt_path_, *model_, *optimizer_, st, hash_, model_record_, device_, [this] { return holds(); });
  }
  state_.timing["checkpoint"] += since(t);
}

// ---- Endings ------------------------------------------------------------------------------------------------------

void Run::interrupted() {
  stopped_ = Outcome::kInterrupted;
  if (!lead_) return;
  const TrainState& s = state_;
  if (claim_gone_) {
    std::fprintf(stderr, "\nstop requested; the claim on %s was taken over meanwhile: no checkpoint written\n",
                 opt_.out_dir.c_str());
    return;
  }
  const std::string why = stop_requested()                                          ? "signal " + std::to_string(stop_signal())
                          : opt_.stop_after > 0 && s.global_step >= opt_.stop_after ? std::string("--stop-after")
                                                                                    : std::string("a signal to another rank");
  std::fprintf(stderr, "\n%s: checkpoint at epoch %lld step %lld written to %s; exit %d (continue with --resume)\n",
               why.c_str(), static_cast<long long>(s.epoch + 1), static_cast<long long>(s.step_in_epoch),
               ckpt_path_.c_str(), kExitInterrupted);
}

void Run::lost_claim() {
  stopped_ = Outcome::kLostClaim;
  if (!lead_) return;
  std::fprintf(stderr,
               "\nlost claim: another job took %s over (this one was suspended past the claim timeout); stopped at "
               "epoch %lld step %lld without writing\n",
               opt_.out_dir.c_str(), static_cast<long long>(state_.epoch + 1),
               static_cast<long long>(state_.step_in_epoch));
}

json Run::result_json(Outcome status, const std::string& error) const {
  const bool completed = status == Outcome::kCompleted;
  json epochs = json::array();
  for (const auto& m : state_.history) epochs.push_back(to_json(m));
  json result = {{"schema_version", kResultSchemaVersion},
                 {"status", completed ? "completed" : "failed"},
                 {"config", resolved_},
                 {"config_hash", hash_},
                 {"environment", harness::environment_info()},
                 {"distributed", dist_record_},
                 {"epochs", epochs},
                 {"timing", state_.timing},
                 {"precision", {{"dtype", c_.precision}}},
                 // Host synchronisations of the training steps: a vote every `every` steps (this sitting's count).
                 {"host_sync", {{"every", sync_every_}, {"votes_this_sitting", votes_}}}};
  if (loss_scaled_) result["precision"].update(state_.loss_scale.to_json());
  if (!last_calibration_.is_null()) result["calibration"] = last_calibration_;
  if (!robustness_.is_null()) result["robustness"] = robustness_;
  if (graphed_) {
    result["cuda_graph"] = {{"warmup_steps", GraphedStepOptions{}.warmup_steps},
                            {"captured", graphed_->captured()},
                            {"steps_this_sitting", graphed_->steps()}};
  }
  if (completed) {
    result["device"] = device_.str();
    result["final"] = final_metrics(state_.history);
    result["timing"]["total_this_sitting"] = since(run_start_);
    result["distributed"]["communication_wait_seconds"] = reducer_->wait_seconds();
    if (!attention_.record.is_null()) result["attention"] = attention_.record;
  } else {
    result["error"] = error;
  }
  result.update(opt_.result_extra);
  return result;
}

Outcome Run::write_result(Outcome status, const std::string& error) {
  stopped_ = status;
  if (!lead_) return status;
  const json result = result_json(status, error);
  if (!write_fenced(result_path_, result)) {
    lost_claim();
    return *stopped_;
  }
  if (status == Outcome::kFailed) {
    std::fprintf(stderr, "error: %s\nresult (failed): %s\n", error.c_str(), result_path_.c_str());
  } else if (!opt_.quiet) {
    const json& f = result["final"];
    std::fprintf(out_, "done  best test top-1 %.2f%% (epoch %lld; headline), last %.2f%%, median of last 5 %.2f%% -> %s\n",
                 f["best_test_top1"].get<double>(), static_cast<long long>(f["best_epoch"].get<std::int64_t>()),
                 f["last_test_top1"].get<double>(), f["median5_test_top1"].get<double>(), result_path_.c_str());
  }
  return status;
}

}  // namespace acm::train
