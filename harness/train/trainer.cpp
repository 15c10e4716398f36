#include "harness/train/trainer.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include <ATen/CPUGeneratorImpl.h>

#include "augment/mixer.h"
#include "augment/registry.h"
#include "harness/config/json_reader.h"
#include "harness/data/file_bytes.h"
#include "harness/data/keyed_rng.h"
#include "harness/data/loader.h"
#include "harness/device.h"
#include "harness/environment.h"
#include "harness/progress.h"
#include "harness/train/attention_setup.h"
#include "harness/train/checkpoint.h"
#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "harness/train/signals.h"
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

void write_json(const std::string& path, const json& j) { models::write_file_atomic(path, j.dump(2) + "\n"); }

struct Eval {
  double top1 = 0, top5 = 0;
};

Eval evaluate(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
              c10::Device device, bool channels_last) {
  torch::NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0, data::epoch_order(test.size(), 0, 0, /*shuffle=*/false));
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
  return {100.0 * static_cast<double>(c1) / static_cast<double>(seen),
          100.0 * static_cast<double>(c5) / static_cast<double>(seen)};
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

json read_saved_config(const std::string& out_dir) { return read_json(out_dir + "/config.json"); }

Outcome run_training(const RunConfig& c, const TrainOptions& opt) {
  install_stop_handlers();  // first: a SIGTERM while data loads must not kill the process
  const auto run_start = clock_type::now();
  const json resolved = to_json(c);
  const std::string hash = config_hash(resolved);
  const std::string result_path = opt.out_dir + "/result.json",
                    ckpt_path = opt.out_dir + "/checkpoint.safetensors";

  // Everything that can be checked is checked before training starts.
  make_dirs(opt.out_dir);
  if (data::file_exists(result_path)) {
    const json old = read_json(result_path);
    throw std::runtime_error(result_path + " already exists (status " + old.value("status", "?") +
                             "): this run has ended; use a new --out folder");
  }
  const bool have_ckpt = data::file_exists(ckpt_path);
  if (opt.resume && !have_ckpt) throw std::runtime_error("--resume: no checkpoint in " + opt.out_dir);
  if (!opt.resume && have_ckpt) {
    throw std::runtime_error(opt.out_dir +
                             " holds a checkpoint of an unfinished run: add --resume, or use a new --out");
  }
  write_json(opt.out_dir + "/config.json", resolved);

  if (c.threads > 0) at::set_num_threads(c.threads);
  const c10::Device device = harness::resolve_device(c.device);
  torch::manual_seed(c.seed);

  const data::DatasetSplits splits = data::load_dataset(c.dataset);
  models::ModelSpec spec = c.model_spec;
  spec.num_classes = splits.train.num_classes;
  spec.in_channels = splits.train.channels;
  models::Classifier model = models::create(c.model, spec);
  const std::map<std::string, std::string> model_record = models::model_metadata(c.model, spec);
  model->to(device);
  if (c.channels_last) {
    for (auto& p : model->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }

  data::LoaderOptions lo;
  lo.batch_size = c.batch_size;
  lo.threads = c.loader_threads;
  lo.prefetch = std::max(2, 2 * c.loader_threads);
  lo.seed = c.seed;
  lo.drop_last = true;
  lo.transform = train_transform(c, splits.train);
  data::Loader train_loader(splits.train, lo);
  data::LoaderOptions eo = lo;
  eo.batch_size = c.eval_batch_size;
  eo.drop_last = false;
  eo.transform.crop_padding = 0;
  eo.transform.horizontal_flip = false;
  data::Loader test_loader(splits.test, eo);

  const std::int64_t steps_per_epoch = splits.train.size() / c.batch_size;
  if (steps_per_epoch == 0) {
    throw config::ConfigError("$.batch_size: " + std::to_string(c.batch_size) +
                              " exceeds the training set (" + std::to_string(splits.train.size()) +
                              " images)");
  }
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (auto& p : model->named_parameters()) named.emplace_back(p.key(), p.value());
  Optimizer optimizer(c.optimizer, named);
  const Schedule schedule(c.schedule, c.optimizer, steps_per_epoch, c.epochs);

  TrainState s;
  if (opt.resume) s = load_checkpoint(ckpt_path, *model, optimizer, hash);
  for (const char* part :
       {"data", "augment", "forward_backward", "communication", "optimizer", "eval", "checkpoint"}) {
    s.timing.emplace(part, 0.0);
  }
  std::unique_ptr<FILE, int (*)(FILE*)> devnull(opt.quiet ? std::fopen("/dev/null", "w") : nullptr,
                                                &std::fclose);
  FILE* out = opt.quiet ? devnull.get() : stdout;
  if (!opt.quiet) {
    std::printf("run   %s -> %s (config %s)%s\n", c.model.c_str(), opt.out_dir.c_str(), hash.c_str(),
                opt.resume ? (" resumed at epoch " + std::to_string(s.epoch + 1) + " step " +
                              std::to_string(s.step_in_epoch))
                                 .c_str()
                           : "");
    std::printf("data  %s: %lld train / %lld test images; %lld steps per epoch of %lld\n",
                c.dataset.name.c_str(), static_cast<long long>(splits.train.size()),
                static_cast<long long>(splits.test.size()), static_cast<long long>(steps_per_epoch),
                static_cast<long long>(c.batch_size));
  }
  auto stop_now = [&] { return stop_requested() || (opt.stop_after > 0 && s.global_step >= opt.stop_after); };
  auto interrupted = [&] {
    std::fprintf(stderr,
                 "\n%s: checkpoint at epoch %lld step %lld written to %s; exit %d (continue with --resume)\n",
                 stop_requested() ? ("signal " + std::to_string(stop_signal())).c_str() : "--stop-after",
                 static_cast<long long>(s.epoch + 1), static_cast<long long>(s.step_in_epoch),
                 ckpt_path.c_str(), kExitInterrupted);
    return Outcome::kInterrupted;
  };
  auto failed = [&](const std::string& error) {
    json result = {{"schema_version", kResultSchemaVersion},
                   {"status", "failed"},
                   {"error", error},
                   {"config", resolved},
                   {"config_hash", hash},
                   {"environment", harness::environment_info()}};
    json epochs = json::array();
    for (const auto& m : s.history) epochs.push_back(to_json(m));
    result["epochs"] = epochs;
    result["timing"] = s.timing;
    write_json(result_path, result);
    std::fprintf(stderr, "error: %s\nresult (failed): %s\n", error.c_str(), result_path.c_str());
    return Outcome::kFailed;
  };

  AttentionSetup attention;
  if (c.mix.method == "attentive_cutmix") {
    auto t = clock_type::now();
    attention = prepare_attention(c, splits.train, lo.transform, device, opt.out_dir, out);
    s.timing["attention_setup"] += since(t);
  }

  model->train();
  const auto ce = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(c.label_smoothing);
  const std::unique_ptr<augment::Mixer> mixer = augment::make_mixer(c.mix, attention.heatmaps);
  const bool mixing = c.mix.method != "none";
  for (; s.epoch < c.epochs; ++s.epoch) {
    std::vector<std::int64_t> order =
        data::epoch_order(splits.train.size(), c.seed, s.epoch, /*shuffle=*/true);
    order.resize(static_cast<std::size_t>(steps_per_epoch * c.batch_size));  // drop the incomplete last batch
    order.erase(order.begin(), order.begin() + s.step_in_epoch * c.batch_size);
    train_loader.start_epoch(s.epoch, order);
    harness::Progress progress("epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(c.epochs),
                               steps_per_epoch, "img", out);
    double lr = 0, images_this_sitting = 0;
    auto t_epoch = clock_type::now();
    while (true) {
      auto t = clock_type::now();
      auto batch = train_loader.next();
      s.timing["data"] += since(t);
      if (!batch) break;
      const ScheduleValue sv = schedule.at(s.global_step);
      lr = sv.lr;
      auto x = batch->images.to(device), y = batch->labels.to(device);
      at::Tensor targets;
      if (mixing) {
        t = clock_type::now();
        // A generator keyed on (seed, step): the same seed gives the same mixed batches, and a resumed run
        // draws exactly what the uninterrupted one drew, with no generator state to save.
        at::Generator g = at::detail::createCPUGenerator(data::splitmix64(
            c.seed ^ data::splitmix64(static_cast<std::uint64_t>(s.global_step) ^ 0x6d6978ull)));
        augment::MixedBatch mixed = mixer->mix(x, y, splits.train.num_classes, g,
                                               augment::BatchInfo{batch->indices, batch->geometry});
        x = mixed.images;
        targets = mixed.targets;
        if (c.label_smoothing > 0) {
          targets = targets * (1 - c.label_smoothing) +
                    c.label_smoothing / static_cast<double>(splits.train.num_classes);
        }
        s.timing["augment"] += since(t);
      }
      t = clock_type::now();
      if (c.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      optimizer.zero_grad();
      auto logits = model->forward(x);
      // Mixed batches train on soft targets; train top-1 is measured against the recipient's label.
      auto loss = mixing ? augment::soft_cross_entropy(logits, targets)
                         : torch::nn::functional::cross_entropy(logits, y, ce);
      loss.backward();
      const double loss_value = loss.item<double>();
      s.timing["forward_backward"] += since(t);
      if (!std::isfinite(loss_value)) {
        return failed("non-finite loss (" + std::to_string(loss_value) + ") at epoch " +
                      std::to_string(s.epoch + 1) + " step " + std::to_string(s.step_in_epoch + 1) +
                      " (global step " + std::to_string(s.global_step + 1) + ", lr " + std::to_string(lr) +
                      ")");
      }
      t = clock_type::now();
      optimizer.step(sv.lr, sv.momentum);
      s.timing["optimizer"] += since(t);
      s.epoch_loss_sum += loss_value * static_cast<double>(y.size(0));
      s.epoch_correct += static_cast<double>(logits.argmax(1).eq(y).sum().item<std::int64_t>());
      s.epoch_seen += static_cast<double>(y.size(0));
      images_this_sitting += static_cast<double>(y.size(0));
      ++s.step_in_epoch;
      ++s.global_step;
      char extra[96];
      std::snprintf(extra, sizeof extra, "loss %.4f | lr %.4g", loss_value, lr);
      progress.update(s.step_in_epoch, images_this_sitting, extra);
      // A stop on the epoch's last step is taken at the epoch boundary below, after its eval and checkpoint.
      if (stop_now() && s.step_in_epoch < steps_per_epoch) {
        s.epoch_seconds += since(t_epoch);
        t = clock_type::now();
        save_checkpoint(ckpt_path, *model, optimizer, s, hash, model_record);
        s.timing["checkpoint"] += since(t);
        return interrupted();
      }
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
    const Eval ev = evaluate(*model, test_loader, splits.test, device, c.channels_last);
    const double eval_s = since(t);
    s.timing["eval"] += eval_s;
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
                 static_cast<long long>(m.epoch), static_cast<long long>(c.epochs), m.test_top1, m.test_top5,
                 static_cast<long long>(splits.test.size()), eval_s);
    s.step_in_epoch = 0;
    s.epoch_loss_sum = s.epoch_correct = s.epoch_seen = s.epoch_seconds = 0;
    TrainState next = s;
    ++next.epoch;
    t = clock_type::now();
    save_checkpoint(ckpt_path, *model, optimizer, next, hash, model_record);
    s.timing["checkpoint"] += since(t);
    if (stop_now() && next.epoch < c.epochs) {
      s = next;
      return interrupted();
    }
  }

  json epochs = json::array();
  for (const auto& m : s.history) epochs.push_back(to_json(m));
  json timing = s.timing;
  timing["total_this_sitting"] = since(run_start);
  json result = {{"schema_version", kResultSchemaVersion},
                 {"status", "completed"},
                 {"config", resolved},
                 {"config_hash", hash},
                 {"environment", harness::environment_info()},
                 {"device", device.str()},
                 {"epochs", epochs},
                 {"final", final_metrics(s.history)},
                 {"timing", timing}};
  if (!attention.record.is_null()) result["attention"] = attention.record;
  write_json(result_path, result);
  if (!opt.quiet) {
    const json f = result["final"];
    std::printf(
        "done  best test top-1 %.2f%% (epoch %lld; headline), last %.2f%%, median of last 5 %.2f%% -> %s\n",
        f["best_test_top1"].get<double>(), static_cast<long long>(f["best_epoch"].get<std::int64_t>()),
        f["last_test_top1"].get<double>(), f["median5_test_top1"].get<double>(), result_path.c_str());
  }
  return Outcome::kCompleted;
}

}  // namespace acm::train
