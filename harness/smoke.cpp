#include "harness/smoke.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "harness/data/loader.h"
#include "harness/device.h"
#include "harness/progress.h"
#include "models/registry.h"

namespace acm::harness {

nlohmann::json run_smoke(const SmokeOptions& o) {
  using clock = std::chrono::steady_clock;
  torch::manual_seed(o.seed);
  at::set_num_threads(o.threads);
  const c10::Device device = resolve_device(o.device);

  const auto t0 = clock::now();
  const data::DatasetSplits splits = data::load_dataset(o.dataset);
  const data::ChannelStats stats = data::channel_stats(splits.train);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("data  %s: %lld train / %lld test images, %lldx%lldx%lld, %lld classes (%.1fs)\n",
              o.dataset.name.c_str(), static_cast<long long>(splits.train.size()),
              static_cast<long long>(splits.test.size()), static_cast<long long>(splits.train.channels),
              static_cast<long long>(splits.train.height), static_cast<long long>(splits.train.width),
              static_cast<long long>(splits.train.num_classes), load_s);

  models::ModelSpec spec = o.model_spec;
  spec.num_classes = splits.train.num_classes;
  spec.in_channels = splits.train.channels;
  models::Classifier model = models::create(o.model, spec);
  model->to(device);
  std::printf("model %s (%s stem, width %lld): %lld parameters, device %s\n", o.model.c_str(),
              models::to_string(spec.stem), static_cast<long long>(spec.width),
              static_cast<long long>(models::parameter_count(*model)), device.str().c_str());

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.threads = o.loader_threads;
  lo.seed = o.seed;
  lo.drop_last = true;
  lo.transform.crop_padding = o.crop_padding;
  lo.transform.horizontal_flip = o.flip;
  lo.transform.mean = stats.mean;
  lo.transform.std = stats.std;
  data::Loader train_loader(splits.train, lo);

  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(o.lr).momentum(0.9).weight_decay(5e-4));
  model->train();
  Progress progress("step", o.steps, "img");
  double first_loss = NAN, last_loss = NAN, images = 0;
  std::int64_t step = 0, epoch = 0;
  const auto t1 = clock::now();
  while (step < o.steps) {
    train_loader.start_epoch(epoch, data::epoch_order(splits.train.size(), o.seed, epoch, /*shuffle=*/true));
    if (train_loader.batches_in_epoch() == 0) throw std::runtime_error("batch size exceeds the training set");
    while (step < o.steps) {
      auto batch = train_loader.next();
      if (!batch) break;
      auto x = batch->images.to(device), y = batch->labels.to(device);
      opt.zero_grad();
      auto loss = torch::cross_entropy_loss(model->forward(x), y);
      loss.backward();
      opt.step();
      last_loss = loss.item<double>();
      if (std::isnan(first_loss)) first_loss = last_loss;
      if (!std::isfinite(last_loss))
        throw std::runtime_error("non-finite loss at step " + std::to_string(step));
      images += static_cast<double>(x.size(0));
      ++step;
      char extra[64];
      std::snprintf(extra, sizeof extra, "loss %.4f", last_loss);
      progress.update(step, images, extra);
    }
    ++epoch;
  }
  const double train_s = std::chrono::duration<double>(clock::now() - t1).count();
  char extra[64];
  std::snprintf(extra, sizeof extra, "loss %.4f", last_loss);
  progress.finish(extra);

  data::LoaderOptions eo = lo;
  eo.drop_last = false;
  eo.transform.crop_padding = 0;
  eo.transform.horizontal_flip = false;
  data::Loader test_loader(splits.test, eo);
  test_loader.start_epoch(0, data::epoch_order(splits.test.size(), o.seed, 0, /*shuffle=*/false));
  model->eval();
  torch::NoGradGuard no_grad;
  std::int64_t correct = 0, seen = 0;
  while (auto batch = test_loader.next()) {
    auto pred = model->forward(batch->images.to(device)).argmax(1).cpu();
    correct += pred.eq(batch->labels).sum().item<std::int64_t>();
    seen += batch->labels.size(0);
  }
  const double top1 =
      100.0 * static_cast<double>(correct) / static_cast<double>(std::max<std::int64_t>(seen, 1));
  std::printf("test  top-1 %.2f%% on %lld images after %lld steps (%.1fs training, %.0f img/s)\n", top1,
              static_cast<long long>(seen), static_cast<long long>(step), train_s, images / train_s);
  return {{"steps", step},
          {"train_loss_first", first_loss},
          {"train_loss_last", last_loss},
          {"test_top1", top1},
          {"test_images", seen},
          {"train_seconds", train_s},
          {"images_per_s", images / train_s}};
}

}  // namespace acm::harness
