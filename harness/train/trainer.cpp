#include "harness/train/trainer.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include <ATen/CPUGeneratorImpl.h>

#include "augment/mixer.h"
#include "augment/registry.h"
#include "harness/config/json_reader.h"
#include "harness/data/file_bytes.h"
#include "harness/data/keyed_rng.h"
#include "harness/data/loader.h"
#include "harness/device.h"
#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/nccl_communicator.h"
#include "harness/dist/reducer.h"
#include "harness/dist/sampler.h"
#include "harness/dist/world.h"
#include "harness/environment.h"
#include "harness/progress.h"
#include "harness/train/attention_setup.h"
#include "harness/train/checkpoint.h"
#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "harness/train/signals.h"
#include "models/norm.h"
#include "models/registry.h"
#include "models/weights.h"

namespace acm::train {

using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void make_dirs(const std::string& path) {
  for (std::size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos == path.size() || path[pos] == '/') {
      const std::string part = path.substr(0, pos);
      if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
        throw std::runtime_error("cannot create folder " + part + ": " + std::strerror(errno));
      }
    }
  }
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
}

// Written atomically; `commit` is the sweep's fence (TrainOptions::holds_claim), asked before the rename.
bool write_json(const std::string& path, const json& j, const std::function<bool()>& commit = nullptr) {
  return models::write_file_atomic(path, j.dump(2) + "\n", commit);
}

struct Eval {
  double top1 = 0, top5 = 0;
  std::int64_t images = 0;  // summed over the ranks
};

// Each rank evaluates a contiguous slice of the test set (n·r/P .. n·(r+1)/P: every image exactly once) and
// the hit counts are summed over the ranks.
Eval evaluate(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
              c10::Device device, bool channels_last, dist::Communicator& comm) {
  torch::NoGradGuard no_grad;
  model.eval();
  const std::int64_t n = test.size(), r = comm.rank(), p = comm.size();
  std::vector<std::int64_t> ids;
  for (std::int64_t i = n * r / p; i < n * (r + 1) / p; ++i) ids.push_back(i);
  loader.start_epoch(0, ids);
  std::int64_t c1 = 0, c5 = 0, seen = 0;
  const std::int64_t k = std::min<std::int64_t>(5, test.num_classes);
  while (auto b = loader.next()) {
    auto x = b->images.to(device);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto y = b->labels.to(device);
    auto topk = std::get<1>(model.forward(x).topk(k, 1));
    auto hit = topk.eq(y.unsqueeze(1));
    c1 += hit.select(1, 0).sum().item<std::int64_t>();
    c5 += hit.any(1).sum().item<std::int64_t>();
    seen += y.size(0);
  }
  model.train();
  at::Tensor counts = at::tensor(std::vector<std::int64_t>{c1, c5, seen}, at::kLong);
  comm.all_reduce(counts);
  const auto* v = counts.data_ptr<std::int64_t>();
  return {100.0 * static_cast<double>(v[0]) / static_cast<double>(std::max<std::int64_t>(v[2], 1)),
          100.0 * static_cast<double>(v[1]) / static_cast<double>(std::max<std::int64_t>(v[2], 1)), v[2]};
}

// ACM_FAULT_INJECT=KIND:RANK:STEP makes rank RANK fail on purpose, for the tests of error propagation:
// setup (a failed check before training), throw (an exception at global step STEP), nan (a non-finite loss
// at STEP), kill (SIGKILL to itself at STEP).
struct Fault {
  std::string kind;
  int rank = -1;
  std::int64_t step = -1;
  bool at(const std::string& k, int r, std::int64_t s) const { return kind == k && rank == r && step == s; }
};

Fault fault_from_environment() {
  const char* v = std::getenv("ACM_FAULT_INJECT");
  Fault f;
  if (!v || !*v) return f;
  const std::string text = v;
  const auto a = text.find(':'), b = text.find(':', a == std::string::npos ? a : a + 1);
  try {
    if (a == std::string::npos || b == std::string::npos) throw std::invalid_argument("form");
    f.kind = text.substr(0, a);
    f.rank = std::stoi(text.substr(a + 1, b - a - 1));
    f.step = std::stoll(text.substr(b + 1));
  } catch (const std::exception&) {
    f.kind.clear();
  }
  if (f.kind != "setup" && f.kind != "throw" && f.kind != "nan" && f.kind != "kill") {
    throw config::ConfigError("ACM_FAULT_INJECT=" + text +
                              ": expected KIND:RANK:STEP with KIND one of setup, throw, nan, kill");
  }
  return f;
}

std::unique_ptr<dist::Communicator> make_communicator(const std::string& backend, const dist::World& world) {
  if (backend == "nccl") return std::make_unique<dist::NcclCommunicator>(world);
  return std::make_unique<dist::MpiCommunicator>(world);
}

}  // namespace

data::TransformSpec train_transform(const RunConfig& c, const data::Dataset& train) {
  data::TransformSpec t;
  t.crop_padding = c.augment.crop_padding;
  t.horizontal_flip = c.augment.horizontal_flip;
  if (c.augment.normalize == "dataset") {
    const data::ChannelStats st = data::channel_stats(train);
    t.mean = st.mean;
    t.std = st.std;
  } else if (c.augment.normalize == "given") {
    t.mean = c.augment.mean;
    t.std = c.augment.std;
  }
  data::validate_transform(t, train.channels, train.height, train.width);
  return t;
}

int exit_code_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const config::ConfigError&) {
    return 2;
  } catch (...) {
    return 1;
  }
}

json read_saved_config(const std::string& out_dir) { return read_json(out_dir + "/config.json"); }

Outcome run_training(const RunConfig& c, const TrainOptions& opt) {
  install_stop_handlers();  // first: a SIGTERM while data loads must not kill the process
  const auto run_start = clock_type::now();
  const dist::World& world = opt.world ? *opt.world : dist::World::init();
  const int rank = world.rank(), ranks = world.size();
  const bool lead = rank == 0;  // only rank 0 prints and writes
  // Three communicators of their own: control (votes, metrics) on the main thread, gradients on the
  // reducer's thread, SyncBN statistics on the autograd thread. MPI orders collectives per communicator.
  dist::MpiCommunicator control(world);
  const std::unique_ptr<dist::World> grad_world = world.split(0, rank);
  const json resolved = to_json(c);
  const std::string hash = config_hash(resolved);
  const std::string result_path = opt.out_dir + "/result.json",
                    ckpt_path = opt.out_dir + "/checkpoint.safetensors";
  Fault fault;
  // The sweep's fence, on rank 0: still ours? (Always, outside a sweep.) Once it says no, it stays no.
  bool claim_gone = false;
  auto holds = [&]() -> bool {
    if (!claim_gone && opt.claim_lost && opt.claim_lost->load()) claim_gone = true;
    if (!claim_gone && opt.holds_claim && !opt.holds_claim()) claim_gone = true;
    return !claim_gone;
  };
  // Into out_dir only while the claim holds: asked before the temporary file is written (nothing lands in the
  // folder once the claim is gone) and again before the rename.
  auto write_fenced = [&](const std::string& path, const json& j) { return holds() && write_json(path, j, holds); };

  // Everything that can be checked is checked before training starts, on every rank, and agreed on: a rank
  // that fails makes every rank stop with its message.
  dist::agree(
      control,
      [&] {
        fault = fault_from_environment();
        if (!lead) return;
        make_dirs(opt.out_dir);
        if (data::file_exists(result_path)) {
          const json old = read_json(result_path);
          throw std::runtime_error(result_path + " already exists (status " + old.value("status", "?") +
                                   "): this run has ended; use a new --out folder");
        }
        const bool have_ckpt = data::file_exists(ckpt_path);
        if (opt.resume && !have_ckpt) throw std::runtime_error("--resume: no checkpoint in " + opt.out_dir);
        if (!opt.resume && have_ckpt) {
          throw std::runtime_error(
              opt.out_dir + " holds a checkpoint of an unfinished run: add --resume, or use a new --out");
        }
        if (!write_fenced(opt.out_dir + "/config.json", resolved)) {
          throw LostClaim("the sweep's claim on " + opt.out_dir + " was taken over before the run started");
        }
      },
      exit_code_of);

  std::optional<data::DatasetSplits> splits;
  models::Classifier model;
  std::map<std::string, std::string> model_record;
  std::unique_ptr<data::Loader> train_loader, test_loader;
  data::LoaderOptions lo;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Schedule> schedule;
  std::int64_t steps_per_epoch = 0, local_batch = 0;
  c10::Device device(c10::kCPU);
  std::string backend = "mpi";
  TrainState s;
  AttentionSetup attention;
  std::unique_ptr<FILE, int (*)(FILE*)> devnull(std::fopen("/dev/null", "w"), &std::fclose);
  FILE* out = (opt.quiet || !lead) ? devnull.get() : opt.log ? opt.log : stdout;

  dist::agree(
      control,
      [&] {
        if (fault.at("setup", rank, 0)) throw std::runtime_error("injected fault: setup check on this rank");
        if (c.batch_size % ranks != 0) {
          throw config::ConfigError("$.batch_size: " + std::to_string(c.batch_size) +
                                    " (the global batch) is not divisible by the number of ranks (" +
                                    std::to_string(ranks) + ")");
        }
        local_batch = c.batch_size / ranks;
        if (c.threads > 0) at::set_num_threads(c.threads);
        device = harness::resolve_device(c.device, world.local_rank());
        backend =
            c.distributed.backend == "auto" ? (device.is_cuda() ? "nccl" : "mpi") : c.distributed.backend;
        if (backend == "nccl" && !device.is_cuda()) {
          throw config::ConfigError(
              "$.distributed.backend: nccl reduces CUDA tensors; this run's device is " + device.str() +
              " (use mpi or auto)");
        }
        if (backend == "mpi" && device.is_cuda()) {
          throw config::ConfigError("$.distributed.backend: mpi reduces CPU tensors; this run's device is " +
                                    device.str() + " (use nccl or auto)");
        }
        if (c.model_spec.norm == models::Norm::kSyncBatch && ranks > 1 && backend == "mpi" &&
            !dist::World::thread_multiple()) {
          throw config::ConfigError(
              "$.model_options.norm: sync_batch reduces from the autograd thread while gradients are reduced "
              "on another; this MPI grants only MPI_THREAD_SERIALIZED (use batch or group)");
        }
        torch::manual_seed(c.seed);

        splits = data::load_dataset(c.dataset);
        models::ModelSpec spec = c.model_spec;
        spec.num_classes = splits->train.num_classes;
        spec.in_channels = splits->train.channels;
        model = models::create(c.model, spec);
        model_record = models::model_metadata(c.model, spec);
        model->to(device);
        if (c.channels_last) {
          for (auto& p : model->parameters()) {
            if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
          }
        }

        lo.batch_size = local_batch;
        lo.threads = c.loader_threads;
        lo.prefetch = std::max(2, 2 * c.loader_threads);
        lo.seed = c.seed;
        lo.drop_last = true;
        lo.transform = train_transform(c, splits->train);
        train_loader = std::make_unique<data::Loader>(splits->train, lo);
        data::LoaderOptions eo = lo;
        eo.batch_size = c.eval_batch_size;
        eo.drop_last = false;
        eo.transform.crop_padding = 0;
        eo.transform.horizontal_flip = false;
        test_loader = std::make_unique<data::Loader>(splits->test, eo);

        steps_per_epoch = dist::global_steps(splits->train.size(), {c.batch_size, /*drop_last=*/true});
        if (steps_per_epoch == 0) {
          throw config::ConfigError("$.batch_size: " + std::to_string(c.batch_size) +
                                    " exceeds the training set (" + std::to_string(splits->train.size()) +
                                    " images)");
        }
        std::vector<std::pair<std::string, at::Tensor>> named;
        for (auto& p : model->named_parameters()) named.emplace_back(p.key(), p.value());
        optimizer = std::make_unique<Optimizer>(c.optimizer, named);
        schedule = std::make_unique<Schedule>(c.schedule, c.optimizer, steps_per_epoch, c.epochs);
        if (opt.resume) {
          if (!data::file_exists(ckpt_path)) {
            throw std::runtime_error("--resume: " + ckpt_path + " is not visible on this rank (" +
                                     world.host() +
                                     "): the output folder must be on a file system every rank sees");
          }
          s = load_checkpoint(ckpt_path, *model, *optimizer, hash);
        }
        if (c.mix.method == "attentive_cutmix") {
          auto t = clock_type::now();
          attention = prepare_attention(c, splits->train, lo.transform, device, opt.out_dir, out,
                                        /*write_cache=*/lead, holds);
          s.timing["attention_setup"] += since(t);
        }
        // Last in setup, which drew from the generators (model init, the extractor's): the resumed sitting
        // draws on from where the checkpointed one stopped.
        if (opt.resume) restore_generators(s.generators, device);
      },
      exit_code_of);

  for (const char* part :
       {"data", "augment", "forward_backward", "communication", "optimizer", "eval", "checkpoint"}) {
    s.timing.emplace(part, 0.0);
  }
  // Gradients: bucketed, reduced on a communication thread during backward. Every rank starts from rank 0's
  // parameters and buffers.
  const std::unique_ptr<dist::Communicator> grad_comm = make_communicator(backend, *grad_world);
  std::vector<at::Tensor> trainable, state;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
    state.push_back(p);
  }
  for (auto& b : model->buffers()) state.push_back(b);
  dist::broadcast_tensors(state, *grad_comm, 0);
  // Averaging by scaling the loss by 1/P before backward: the summed gradients are the mean with no pass over
  // them (exact for P a power of two, within rounding otherwise).
  dist::Reducer reducer(trainable, *grad_comm,
                        {static_cast<std::int64_t>(c.distributed.bucket_mb * (1 << 20)),
                         static_cast<std::int64_t>(c.distributed.first_bucket_mb * (1 << 20)),
                         /*average=*/false});
  std::unique_ptr<dist::World> norm_world;  // only for SyncBN
  std::unique_ptr<dist::Communicator> norm_comm;
  struct SyncReset {
    ~SyncReset() { models::set_sync_batch_norm_reduce(nullptr); }
  } sync_reset;
  if (c.model_spec.norm == models::Norm::kSyncBatch && ranks > 1) {
    norm_world = world.split(0, rank);
    norm_comm = make_communicator(backend, *norm_world);
    models::set_sync_batch_norm_reduce([comm = norm_comm.get()](at::Tensor& t) { comm->all_reduce(t); });
  }
  auto sync_buffers = [&] {  // BatchNorm running statistics: rank 0's, as DDP's broadcast_buffers
    std::vector<at::Tensor> buffers;
    for (auto& b : model->buffers()) buffers.push_back(b);
    if (ranks > 1 && !buffers.empty()) dist::broadcast_tensors(buffers, *grad_comm, 0);
  };

  const std::vector<std::string> hosts = world.all_gather(world.host()),
                                 devices = world.all_gather(device.str());
  json dist_record = {{"world_size", ranks},
                      {"hosts", hosts},
                      {"devices", devices},
                      {"backend", backend},
                      {"mpi_thread_multiple", dist::World::thread_multiple()},
                      {"global_batch", c.batch_size},
                      {"local_batch", local_batch},
                      {"buckets", reducer.bucket_count()},
                      {"gradient_bytes", reducer.total_bytes()}};

  if (lead && !opt.quiet) {
    std::fprintf(out, "run   %s -> %s (config %s)%s\n", c.model.c_str(), opt.out_dir.c_str(), hash.c_str(),
                opt.resume ? (" resumed at epoch " + std::to_string(s.epoch + 1) + " step " +
                              std::to_string(s.step_in_epoch))
                                 .c_str()
                           : "");
    std::fprintf(out, "data  %s: %lld train / %lld test images; %lld steps per epoch of %lld\n",
                c.dataset.name.c_str(), static_cast<long long>(splits->train.size()),
                static_cast<long long>(splits->test.size()), static_cast<long long>(steps_per_epoch),
                static_cast<long long>(c.batch_size));
    if (ranks > 1) {
      std::set<std::string> distinct(hosts.begin(), hosts.end());
      std::fprintf(out, 
          "dist  %d ranks on %zu host(s), %s, %lld images per rank per step, %d gradient buckets (%.1f "
          "MiB)\n",
          ranks, distinct.size(), backend.c_str(), static_cast<long long>(local_batch),
          reducer.bucket_count(), static_cast<double>(reducer.total_bytes()) / (1 << 20));
    }
  }

  auto lost_claim = [&] {
    if (lead) {
      std::fprintf(stderr,
                   "\nlost claim: another job took %s over (this one was suspended past the claim "
                   "timeout); stopped at epoch %lld step %lld without writing\n",
                   opt.out_dir.c_str(), static_cast<long long>(s.epoch + 1),
                   static_cast<long long>(s.step_in_epoch));
    }
    return Outcome::kLostClaim;
  };
  // Errors from here on are not agreed on: a failing rank ends the whole job (the others may be waiting in a
  // collective). One process rethrows as before.
  try {
    auto interrupted = [&] {
      if (lead && claim_gone) {
        std::fprintf(stderr,
                     "\nstop requested; the claim on %s was taken over meanwhile: no checkpoint written\n",
                     opt.out_dir.c_str());
      } else if (lead) {
        const std::string why = stop_requested() ? "signal " + std::to_string(stop_signal())
                                : opt.stop_after > 0 && s.global_step >= opt.stop_after
                                    ? std::string("--stop-after")
                                    : std::string("a signal to another rank");
        std::fprintf(
            stderr,
            "\n%s: checkpoint at epoch %lld step %lld written to %s; exit %d (continue with --resume)\n",
            why.c_str(), static_cast<long long>(s.epoch + 1), static_cast<long long>(s.step_in_epoch),
            ckpt_path.c_str(), kExitInterrupted);
      }
      return Outcome::kInterrupted;
    };
    auto failed = [&](const std::string& error) {
      if (!lead) return Outcome::kFailed;
      json result = {{"schema_version", kResultSchemaVersion},
                     {"status", "failed"},
                     {"error", error},
                     {"config", resolved},
                     {"config_hash", hash},
                     {"environment", harness::environment_info()},
                     {"distributed", dist_record}};
      result.update(opt.result_extra);
      json epochs = json::array();
      for (const auto& m : s.history) epochs.push_back(to_json(m));
      result["epochs"] = epochs;
      result["timing"] = s.timing;
      if (!write_fenced(result_path, result)) return Outcome::kLostClaim;
      std::fprintf(stderr, "error: %s\nresult (failed): %s\n", error.c_str(), result_path.c_str());
      return Outcome::kFailed;
    };
    // A claim lost at a checkpoint is seen by every rank at the next vote.
    auto checkpoint = [&](const TrainState& st) {
      auto t = clock_type::now();
      sync_buffers();
      if (lead && holds())
        save_checkpoint(ckpt_path, *model, *optimizer, st, hash, model_record, device, holds);
      s.timing["checkpoint"] += since(t);
    };

    model->train();
    const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c.label_smoothing);
    const std::unique_ptr<augment::Mixer> mixer = augment::make_mixer(c.mix, attention.heatmaps);
    const bool mixing = c.mix.method != "none";
    const dist::ShardOptions shard{c.batch_size, /*drop_last=*/true};
    bool stop_at_epoch_end = false;
    for (; s.epoch < c.epochs; ++s.epoch) {
      std::vector<std::int64_t> order = dist::shard_epoch(
          data::epoch_order(splits->train.size(), c.seed, s.epoch, /*shuffle=*/true), shard, rank, ranks);
      order.erase(order.begin(), order.begin() + s.step_in_epoch * local_batch);
      train_loader->start_epoch(s.epoch, order);
      harness::Progress progress("epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(c.epochs),
                                 steps_per_epoch, "img", out);
      double lr = 0, images_this_sitting = 0;
      auto t_epoch = clock_type::now();
      while (true) {
        auto t = clock_type::now();
        auto batch = train_loader->next();
        s.timing["data"] += since(t);
        if (!batch) break;
        const ScheduleValue sv = schedule->at(s.global_step);
        lr = sv.lr;
        auto x = batch->images.to(device), y = batch->labels.to(device);
        at::Tensor targets;
        if (mixing) {
          t = clock_type::now();
          // A generator keyed on (seed, step): the same seed gives the same mixed batches, and a resumed run
          // draws exactly what the uninterrupted one drew, with no generator state to save. Pairs are drawn
          // inside each rank's local batch.
          at::Generator g = at::detail::createCPUGenerator(data::splitmix64(
              c.seed ^ data::splitmix64(static_cast<std::uint64_t>(s.global_step) ^ 0x6d6978ull)));
          augment::MixedBatch mixed = mixer->mix(x, y, splits->train.num_classes, g,
                                                 augment::BatchInfo{batch->indices, batch->geometry});
          x = mixed.images;
          targets = mixed.targets;
          if (c.label_smoothing > 0) {
            targets = targets * (1 - c.label_smoothing) +
                      c.label_smoothing / static_cast<double>(splits->train.num_classes);
          }
          s.timing["augment"] += since(t);
        }
        if (fault.at("throw", rank, s.global_step)) {
          throw std::runtime_error("injected fault: exception at global step " +
                                   std::to_string(s.global_step));
        }
        if (fault.at("kill", rank, s.global_step)) std::raise(SIGKILL);
        t = clock_type::now();
        if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
        optimizer->zero_grad();
        auto logits = model->forward(x);
        // Mixed batches train on soft targets; train top-1 is measured against the recipient's label.
        auto loss = mixing ? augment::soft_cross_entropy(logits, targets)
                           : torch::nn::functional::cross_entropy(logits, y, ce);
        if (fault.at("nan", rank, s.global_step)) loss = loss * std::numeric_limits<double>::quiet_NaN();
        // Gradient buckets are all-reduced while backward runs; the 1/P makes their sum the average.
        (ranks > 1 ? loss * (1.0 / ranks) : loss).backward();
        const double local_loss = loss.item<double>();
        const double local_correct = static_cast<double>(logits.argmax(1).eq(y).sum().item<std::int64_t>());
        s.timing["forward_backward"] += since(t);
        t = clock_type::now();
        reducer.finish();
        // One small vote per step: loss and accuracy over the global batch, any rank's non-finite loss, any
        // rank's stop request (SIGTERM/SIGUSR1 reach ranks at different steps; all stop at the same one), and
        // rank 0's lost claim (read from the heartbeat's flag: no file access per step).
        if (lead && opt.claim_lost && opt.claim_lost->load()) claim_gone = true;
        at::Tensor vote = at::tensor(
            std::vector<double>{std::isfinite(local_loss) ? local_loss * static_cast<double>(y.size(0)) : 0.0,
                                local_correct, static_cast<double>(y.size(0)),
                                std::isfinite(local_loss) ? 0.0 : 1.0, stop_requested() ? 1.0 : 0.0,
                                claim_gone ? 1.0 : 0.0},
            at::kDouble);
        if (ranks > 1) control.all_reduce(vote);
        s.timing["communication"] += since(t);
        const double* v = vote.data_ptr<double>();
        const double global_seen = v[2], loss_value = v[0] / std::max(global_seen, 1.0);
        if (v[5] > 0) return lost_claim();
        if (v[3] > 0) {
          const std::string where = std::isfinite(local_loss)
                                        ? " on " + std::to_string(static_cast<int>(v[3])) + " of " +
                                              std::to_string(ranks) + " ranks"
                                        : " (" + std::to_string(local_loss) + ")";
          return failed("non-finite loss" + where + " at epoch " + std::to_string(s.epoch + 1) + " step " +
                        std::to_string(s.step_in_epoch + 1) + " (global step " +
                        std::to_string(s.global_step + 1) + ", lr " + std::to_string(lr) + ")");
        }
        t = clock_type::now();
        optimizer->step(sv.lr, sv.momentum);
        s.timing["optimizer"] += since(t);
        s.epoch_loss_sum += v[0];
        s.epoch_correct += v[1];
        s.epoch_seen += global_seen;
        images_this_sitting += global_seen;
        ++s.step_in_epoch;
        ++s.global_step;
        char extra[96];
        std::snprintf(extra, sizeof extra, "loss %.4f | lr %.4g", loss_value, lr);
        progress.update(s.step_in_epoch, images_this_sitting, extra);
        const bool stop = v[4] > 0 || (opt.stop_after > 0 && s.global_step >= opt.stop_after);
        // A stop on the epoch's last step is taken at the epoch boundary below, after its eval and
        // checkpoint.
        if (stop && s.step_in_epoch < steps_per_epoch) {
          s.epoch_seconds += since(t_epoch);
          checkpoint(s);
          return interrupted();
        }
        if (stop) stop_at_epoch_end = true;
      }
      s.epoch_seconds += since(t_epoch);
      {
        char extra[96];
        std::snprintf(extra, sizeof extra, "train loss %.4f top-1 %.2f%%",
                      s.epoch_loss_sum / std::max(s.epoch_seen, 1.0),
                      100.0 * s.epoch_correct / std::max(s.epoch_seen, 1.0));
        progress.finish(extra);  // before eval, so its rate is the training rate
      }
      auto t = clock_type::now();
      sync_buffers();
      const Eval ev = evaluate(*model, *test_loader, splits->test, device, c.channels_last, control);
      const double eval_s = since(t);
      s.timing["eval"] += eval_s;
      dist_record["test_images_evaluated"] = ev.images;
      EpochMetrics m;
      m.epoch = s.epoch + 1;
      m.train_loss = s.epoch_loss_sum / std::max(s.epoch_seen, 1.0);
      m.train_top1 = 100.0 * s.epoch_correct / std::max(s.epoch_seen, 1.0);
      m.test_top1 = ev.top1;
      m.test_top5 = ev.top5;
      m.lr = lr;
      m.seconds = s.epoch_seconds;
      m.images_per_s = s.epoch_seen / std::max(s.epoch_seconds, 1e-9);
      s.history.push_back(m);
      std::fprintf(out, "test  epoch %lld/%lld: top-1 %.2f%% top-5 %.2f%% (%lld images, %.1fs)\n",
                   static_cast<long long>(m.epoch), static_cast<long long>(c.epochs), m.test_top1,
                   m.test_top5, static_cast<long long>(splits->test.size()), eval_s);
      s.step_in_epoch = 0;
      s.epoch_loss_sum = s.epoch_correct = s.epoch_seen = s.epoch_seconds = 0;
      TrainState next = s;
      ++next.epoch;
      checkpoint(next);
      // A signal that came during eval, or a claim lost at the checkpoint: the ranks agree on stopping here.
      at::Tensor late =
          at::tensor(std::vector<double>{stop_requested() ? 1.0 : 0.0, claim_gone ? 1.0 : 0.0}, at::kDouble);
      if (ranks > 1) control.all_reduce(late, dist::ReduceOp::kMax);
      if (late.data_ptr<double>()[1] > 0) return lost_claim();
      if ((stop_at_epoch_end || late.data_ptr<double>()[0] > 0) && next.epoch < c.epochs) {
        s = next;
        return interrupted();
      }
    }
  } catch (const std::exception& e) {
    if (ranks > 1) dist::abort_job(e.what(), exit_code_of(std::current_exception()));
    throw;
  }

  if (lead) {
    json epochs = json::array();
    for (const auto& m : s.history) epochs.push_back(to_json(m));
    json timing = s.timing;
    timing["total_this_sitting"] = since(run_start);
    dist_record["communication_wait_seconds"] = reducer.wait_seconds();
    json result = {{"schema_version", kResultSchemaVersion},
                   {"status", "completed"},
                   {"config", resolved},
                   {"config_hash", hash},
                   {"environment", harness::environment_info()},
                   {"device", device.str()},
                   {"distributed", dist_record},
                   {"epochs", epochs},
                   {"final", final_metrics(s.history)},
                   {"timing", timing}};
    if (!attention.record.is_null()) result["attention"] = attention.record;
    result.update(opt.result_extra);
    if (!write_fenced(result_path, result)) return lost_claim();
    if (!opt.quiet) {
      const json f = result["final"];
      std::fprintf(out, 
          "done  best test top-1 %.2f%% (epoch %lld; headline), last %.2f%%, median of last 5 %.2f%% -> %s\n",
          f["best_test_top1"].get<double>(), static_cast<long long>(f["best_epoch"].get<std::int64_t>()),
          f["last_test_top1"].get<double>(), f["median5_test_top1"].get<double>(), result_path.c_str());
    }
  }
  return Outcome::kCompleted;
}

}  // namespace acm::train
