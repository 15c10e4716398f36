#include "augment/attentive_cutmix.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "augment/attention.h"
#include "augment/none.h"
#include "augment/attention.h"
#include "common/json_reader.h"

namespace acm::augment {

AttentiveCutMixMixer::AttentiveCutMixMixer(AttentiveOptions options,
                                           std::shared_ptr<const HeatmapSource> heatmaps)
    : opt_(std::move(options)), heatmaps_(std::move(heatmaps)) {
  if (opt_.grid < 1) throw std::invalid_argument("attentive_cutmix: grid must be >= 1");
  if (opt_.top_n < 1 || opt_.top_n > opt_.grid * opt_.grid) {
    throw std::invalid_argument("attentive_cutmix: top_n must be in 1.." +
                                std::to_string(opt_.grid * opt_.grid) + " for a " +
                                std::to_string(opt_.grid) + "×" + std::to_string(opt_.grid) + " grid");
  }
  if (opt_.lambda != "fixed" && opt_.lambda != "beta") {
    throw std::invalid_argument("attentive_cutmix: lambda must be fixed or beta");
  }
  if (!(opt_.alpha > 0)) throw std::invalid_argument("attentive_cutmix: alpha must be > 0");
  if (!(opt_.prob >= 0 && opt_.prob <= 1))
    throw std::invalid_argument("attentive_cutmix: prob must be in [0, 1]");
  if (!heatmaps_) throw std::invalid_argument("attentive_cutmix: needs an extractor (mix.extractor)");
}

MixedBatch AttentiveCutMixMixer::apply(const at::Tensor& images, const at::Tensor& labels,
                                       std::int64_t num_classes, const at::Tensor& partner,
                                       const at::Tensor& grid_maps, const at::Tensor& n) {
  const std::int64_t H = images.size(2), W = images.size(3);
  const at::Tensor donor_maps = grid_maps.index_select(0, partner.to(grid_maps.device()));
  const at::Tensor selection = top_cells(donor_maps, n);
  MixedBatch out;
  const at::Tensor mask = cell_mask(selection, H, W, at::kByte);
  out.images = paste_masked(images, partner, mask);
  out.mask = mask.to(images.device(), at::kFloat);
  out.partner = partner;
  // λ = pasted pixels / all pixels, per sample (N/grid² only when the grid divides H and W): the sum of the
  // chosen cells' exact areas.
  const std::int64_t gh = selection.size(1), gw = selection.size(2);
  const at::Tensor sel = selection.to(at::kCPU).contiguous();
  const std::uint8_t* s = sel.const_data_ptr<std::uint8_t>();
  out.lambda = at::empty({images.size(0)}, at::kDouble);
  double* lam = out.lambda.data_ptr<double>();
  for (std::int64_t i = 0; i < images.size(0); ++i) {
    std::int64_t area = 0;
    for (std::int64_t r = 0; r < gh; ++r) {
      for (std::int64_t c = 0; c < gw; ++c) {
        if (s[(i * gh + r) * gw + c]) {
          area += ((r + 1) * H / gh - r * H / gh) * ((c + 1) * W / gw - c * W / gw);
        }
      }
    }
    lam[i] = static_cast<double>(area) / static_cast<double>(H * W);
  }
  out.targets = soft_targets(labels, partner, out.lambda, num_classes);
  return out;
}

MixedBatch AttentiveCutMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels,
                                        std::int64_t num_classes, at::Generator& gen,
                                        const BatchInfo& info) const {
  // Draw order fixed whatever the outcome, so one batch's draws never shift the next batch's.
  const std::int64_t b = images.size(0), cells = opt_.grid * opt_.grid;
  const double u = sample_uniform(gen);
  const at::Tensor partner = random_pairing(b, gen);
  std::int64_t n = opt_.top_n;
  if (opt_.lambda == "beta") {
    const double lam = sample_beta(opt_.alpha, opt_.alpha, gen);
    n = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(lam * static_cast<double>(cells))), 1,
                                 cells);
  }
  if (u >= opt_.prob) return NoneMixer().mix(images, labels, num_classes, gen);
  const at::Tensor maps = heatmaps_->grid_maps(images, info, opt_.grid);
  return apply(images, labels, num_classes, partner, maps, at::full({b}, n, at::kLong));
}

namespace {

void parse_extractor(config::JsonReader& e, ExtractorSpec& es) {
  es.path = e.get_string("path", "");
  if (es.path.empty()) {
    throw config::ConfigError(e.path_of("path") +
                              ": attentive_cutmix needs an extractor file (a run folder, a checkpoint, converted "
                              "weights or a TorchScript module)");
  }
  es.input_size = e.get_int("input_size", es.input_size, 0, 4096);
  es.mean = e.get_doubles("mean", {});
  es.std = e.get_doubles("std", {});
  if (es.mean.size() != es.std.size()) {
    throw config::ConfigError(e.path() + ": mean and std need the same length (one per channel), got " +
                              std::to_string(es.mean.size()) + " and " + std::to_string(es.std.size()));
  }
  for (double v : es.std) {
    if (!(v > 0)) throw config::ConfigError(e.path_of("std") + ": every std must be > 0");
  }
  es.reduce.how = e.get_choice("reduce", es.reduce.how, reduce_names());
  if (es.reduce.how == "channel") es.reduce.channel = e.get_int("channel", 0, 0, 1 << 20);
  e.finish();
}

void parse_attentive(config::JsonReader& r, MixSpec& s) {
  auto& a = s.attentive;
  a.grid = r.get_int("grid", a.grid, 1, 64);
  a.lambda = r.get_choice("lambda", a.lambda, {"fixed", "beta"});
  if (a.lambda == "fixed") a.top_n = r.get_int("top_n", a.top_n, 1, a.grid * a.grid);
  if (a.lambda == "beta") a.alpha = r.get_double("alpha", a.alpha, 1e-6, 1e6);
  a.prob = r.get_double("prob", a.prob, 0, 1);
  s.cache = r.get_bool("cache", s.cache);
  auto e = r.child("extractor");
  parse_extractor(e, s.extractor);
}

void attentive_to_json(const MixSpec& s, nlohmann::json& mix) {
  const auto& a = s.attentive;
  const auto& es = s.extractor;
  mix.update({{"grid", a.grid}, {"lambda", a.lambda}, {"prob", a.prob}, {"cache", s.cache}});
  if (a.lambda == "fixed") mix["top_n"] = a.top_n;
  if (a.lambda == "beta") mix["alpha"] = a.alpha;
  nlohmann::json ex = {{"path", es.path}, {"input_size", es.input_size}, {"reduce", es.reduce.how}};
  if (!es.mean.empty()) ex.update({{"mean", es.mean}, {"std", es.std}});
  if (es.reduce.how == "channel") ex["channel"] = es.reduce.channel;
  mix["extractor"] = ex;
}

}  // namespace

Method attentive_cutmix_method() {
  Method m;
  m.name = m.label = "attentive_cutmix";
  m.pairs_in_batch = true;
  m.parse = parse_attentive;
  m.to_json = attentive_to_json;
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource> heatmaps) -> std::unique_ptr<Mixer> {
    return std::make_unique<AttentiveCutMixMixer>(s.attentive, std::move(heatmaps));
  };
  return m;
}

}  // namespace acm::augment
