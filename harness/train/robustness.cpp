#include "harness/train/robustness.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "common/hash.h"
#include "harness/train/corruptions.h"
#include "harness/train/precision.h"

namespace acm::train {

namespace {

// The images a rank evaluates: a fixed spread of the test set, sharded into contiguous slices.
std::vector<std::int64_t> shard(std::int64_t n, std::int64_t max_images, int rank, int ranks) {
  const std::int64_t m = max_images > 0 ? std::min(max_images, n) : n;
  std::vector<std::int64_t> ids;
  for (std::int64_t i = m * rank / ranks; i < m * (rank + 1) / ranks; ++i) ids.push_back(i * n / m);
  return ids;
}

// Per channel, as a C×1×1 tensor on `device`: `values` (or `fill` where there is no normalisation).
at::Tensor per_channel(const std::vector<double>& values, std::int64_t channels, double fill, c10::Device device) {
  std::vector<float> v(static_cast<std::size_t>(channels), static_cast<float>(fill));
  for (std::size_t c = 0; c < v.size() && c < values.size(); ++c) v[c] = static_cast<float>(values[c]);
  return at::tensor(v).reshape({channels, 1, 1}).to(device);
}

// Top-1 hits under each corruption and severity on a fixed spread of `corruption_images` test images, then the
// clean hits and the image count, summed over the ranks.
nlohmann::json corruption_top1(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
                               c10::Device device, bool channels_last, dist::Communicator& comm,
                               std::optional<at::ScalarType> autocast, const RobustnessOptions& o) {
  const std::size_t nc = o.corruptions.size(), ns = o.severities.size();
  std::vector<double> hits(nc * ns + 2, 0.0);
  loader.start_epoch(0, shard(test.size(), o.corruption_images, comm.rank(), comm.size()));
  auto top1_hits = [&](const at::Tensor& x, const at::Tensor& y) {
    torch::NoGradGuard no_grad;
    const at::Tensor in = channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
    const AutocastScope scope(device.type(), autocast);
    return model.forward(in).argmax(1).eq(y).sum().item<double>();
  };
  while (auto b = loader.next()) {
    const at::Tensor x = b->images.to(at::kCPU, at::kFloat), y = b->labels.to(device);
    const std::int64_t batch = x.size(0), channels = x.size(1);
    const at::Tensor scale = per_channel(o.std, channels, 1.0, at::kCPU), mean = per_channel(o.mean, channels, 0.0, at::kCPU);
    const at::Tensor pixels = (x * scale + mean).clamp(0, 1);
    const auto* idx = b->indices.data_ptr<std::int64_t>();
    hits[nc * ns] += top1_hits(x.to(device), y);
    for (std::size_t c = 0; c < nc; ++c) {
      for (std::size_t s = 0; s < ns; ++s) {
        std::vector<at::Tensor> out;
        for (std::int64_t i = 0; i < batch; ++i) {
          // Each image's draws from its own key: the same whatever the batch or the rank count.
          at::Generator gen = at::detail::createCPUGenerator(hash::splitmix64(
              o.seed ^ hash::splitmix64((static_cast<std::uint64_t>(idx[i]) * 64 + c) * 8 + static_cast<std::uint64_t>(o.severities[s]) + 0xc0e7)));
          out.push_back(corrupt(o.corruptions[c], o.severities[s], pixels.narrow(0, i, 1), gen));
        }
        hits[c * ns + s] += top1_hits(((at::cat(out) - mean) / scale).to(device), y);
      }
    }
    hits.back() += static_cast<double>(batch);
  }
  at::Tensor sums = at::tensor(hits, at::kDouble);
  comm.all_reduce(sums);
  const double* v = sums.data_ptr<double>();
  const double n = std::max(v[hits.size() - 1], 1.0);
  nlohmann::json top1 = nlohmann::json::array();
  double total = 0;
  for (std::size_t c = 0; c < nc; ++c) {
    std::vector<double> row;
    for (std::size_t s = 0; s < ns; ++s) row.push_back(100.0 * v[c * ns + s] / n);
    for (double r : row) total += r;
    top1.push_back(row);
  }
  return {{"images", v[hits.size() - 1]},
          {"clean_top1", 100.0 * v[nc * ns] / n},
          {"names", o.corruptions},
          {"severities", o.severities},
          {"top1", top1},
          {"mean_top1", nc * ns > 0 ? total / static_cast<double>(nc * ns) : 0.0}};
}

}  // namespace

nlohmann::json evaluate_robustness(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
                                   c10::Device device, bool channels_last, dist::Communicator& comm,
                                   std::optional<at::ScalarType> autocast, const RobustnessOptions& o) {
  model.eval();
  const std::vector<std::int64_t> ids = shard(test.size(), o.max_images, comm.rank(), comm.size());
  loader.start_epoch(0, ids);
  const std::size_t ns = o.occlusion.size(), ne = o.fgsm.size();
  // hits: clean, centre per size, random per size, FGSM per ε; then the image count.
  std::vector<double> hits(1 + 2 * ns + ne + 1, 0.0);
  auto top1_hits = [&](const at::Tensor& x, const at::Tensor& y) {
    torch::NoGradGuard no_grad;
    at::Tensor in = channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
    const AutocastScope scope(device.type(), autocast);
    return model.forward(in).argmax(1).eq(y).sum().item<double>();
  };
  while (auto b = loader.next()) {
    const at::Tensor x = b->images.to(device), y = b->labels.to(device);
    const std::int64_t batch = x.size(0), channels = x.size(1), h = x.size(2), w = x.size(3);
    hits[0] += top1_hits(x, y);
    for (std::size_t j = 0; j < ns; ++j) {
      const std::int64_t side = std::llround(o.occlusion[j] * static_cast<double>(std::min(h, w)));
      // Size 0 goes the same way (an empty square): the test that it equals the clean top-1 checks the path.
      at::Tensor centre = x.clone();
      centre.narrow(2, (h - side) / 2, side).narrow(3, (w - side) / 2, side).zero_();
      hits[1 + j] += top1_hits(centre, y);
      // A random place per image, drawn from (seed, the image's index in the test set, the size).
      at::Tensor keep = at::ones({batch, 1, h, w});
      const auto* idx = b->indices.data_ptr<std::int64_t>();
      for (std::int64_t i = 0; i < batch; ++i) {
        const std::uint64_t key = hash::splitmix64(o.seed ^ hash::splitmix64(static_cast<std::uint64_t>(idx[i]) * 64 + j + 0x0cc1));
        const std::int64_t top = static_cast<std::int64_t>(key % static_cast<std::uint64_t>(h - side + 1));
        const std::int64_t left = static_cast<std::int64_t>((key >> 32) % static_cast<std::uint64_t>(w - side + 1));
        if (side > 0) keep[i].narrow(1, top, side).narrow(2, left, side).zero_();
      }
      hits[1 + ns + j] += top1_hits(x * keep.to(device), y);
    }
    if (ne > 0) {
      at::Tensor xg = x.detach().clone().requires_grad_(true);
      at::Tensor logits;
      {
        const AutocastScope scope(device.type(), autocast);
        logits = model.forward(channels_last ? xg.contiguous(at::MemoryFormat::ChannelsLast) : xg);
      }
      const at::Tensor loss = torch::nn::functional::cross_entropy(
          logits.to(at::kFloat), y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      const at::Tensor sign = torch::autograd::grad({loss}, {xg})[0].sign();
      const at::Tensor scale = per_channel(o.std, channels, 1.0, device);
      const at::Tensor mean = per_channel(o.mean, channels, 0.0, device);
      const at::Tensor lo = (0 - mean) / scale, hi = (1 - mean) / scale;  // pixel range [0, 1], normalised
      for (std::size_t e = 0; e < ne; ++e) {
        const at::Tensor adv = at::max(at::min(x + sign * (o.fgsm[e] / scale), hi), lo);
        hits[1 + 2 * ns + e] += top1_hits(adv, y);
      }
    }
    hits.back() += static_cast<double>(batch);
  }
  model.train();
  at::Tensor sums = at::tensor(hits, at::kDouble);
  comm.all_reduce(sums);
  const double* v = sums.data_ptr<double>();
  const double n = std::max(v[hits.size() - 1], 1.0);
  auto pct = [&](std::size_t k) { return 100.0 * v[k] / n; };
  nlohmann::json centre = nlohmann::json::array(), random = nlohmann::json::array(), fgsm = nlohmann::json::array();
  for (std::size_t j = 0; j < ns; ++j) {
    centre.push_back(pct(1 + j));
    random.push_back(pct(1 + ns + j));
  }
  for (std::size_t e = 0; e < ne; ++e) fgsm.push_back(pct(1 + 2 * ns + e));
  nlohmann::json out = {{"images", v[hits.size() - 1]}, {"clean_top1", pct(0)}};
  if (ns) out["occlusion"] = {{"sizes", o.occlusion}, {"center_top1", centre}, {"random_top1", random}};
  if (ne) out["fgsm"] = {{"epsilons", o.fgsm}, {"top1", fgsm}};
  if (!o.corruptions.empty() && !o.severities.empty()) {
    model.eval();
    out["corruption"] = corruption_top1(model, loader, test, device, channels_last, comm, autocast, o);
    model.train();
  }
  return out;
}

}  // namespace acm::train
