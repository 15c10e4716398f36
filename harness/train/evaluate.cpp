#include "harness/train/evaluate.h"

#include "harness/train/precision.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

namespace acm::train {

EvalResult evaluate(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
                    c10::Device device, bool channels_last, dist::Communicator& comm,
                    std::optional<at::ScalarType> autocast, int calibration_bins) {
  torch::NoGradGuard no_grad;
  model.eval();
  const std::int64_t n = test.size(), r = comm.rank(), p = comm.size();
  std::vector<std::int64_t> ids;
  for (std::int64_t i = n * r / p; i < n * (r + 1) / p; ++i) ids.push_back(i);
  loader.start_epoch(0, ids);
  std::int64_t c1 = 0, c5 = 0, seen = 0;
  const std::int64_t k = std::min<std::int64_t>(5, test.num_classes);
  std::optional<CalibrationSums> cal;
  if (calibration_bins > 0) cal.emplace(calibration_bins);
  while (auto b = loader.next()) {
    auto x = b->images.to(device);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto y = b->labels.to(device);
    at::Tensor logits;
    {
      const AutocastScope scope(device.type(), autocast);
      logits = model.forward(x);
    }
    auto topk = std::get<1>(logits.topk(k, 1));
    auto hit = topk.eq(y.unsqueeze(1));
    c1 += hit.select(1, 0).sum().item<std::int64_t>();
    c5 += hit.any(1).sum().item<std::int64_t>();
    seen += y.size(0);
    if (cal) cal->add(logits, y);
  }
  model.train();
  at::Tensor counts = at::tensor(std::vector<std::int64_t>{c1, c5, seen}, at::kLong);
  comm.all_reduce(counts);
  const auto* v = counts.data_ptr<std::int64_t>();
  const double total = static_cast<double>(std::max<std::int64_t>(v[2], 1));
  EvalResult out{100.0 * static_cast<double>(v[0]) / total, 100.0 * static_cast<double>(v[1]) / total, v[2], {}};
  if (cal) {
    at::Tensor sums = cal->sums();
    comm.all_reduce(sums);
    out.calibration = CalibrationSums::finish(sums, calibration_bins);
  }
  return out;
}

}  // namespace acm::train
