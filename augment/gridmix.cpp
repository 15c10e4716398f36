#include "augment/gridmix.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "augment/none.h"
#include "common/json_reader.h"

namespace acm::augment {

GridMixMixer::GridMixMixer(std::int64_t grid, double p, double prob) : grid_(grid), p_(p), prob_(prob) {
  if (grid < 1) throw std::invalid_argument("gridmix: grid must be >= 1");
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("gridmix: p must be in [0, 1]");
  if (!(prob >= 0 && prob <= 1)) throw std::invalid_argument("gridmix: prob must be in [0, 1]");
}

at::Tensor GridMixMixer::cell_mask(const at::Tensor& cells, std::int64_t H, std::int64_t W) {
  const std::int64_t g = cells.size(1);
  // A pixel row's cell is how many of the cell starts ⌊i·n/g⌋ (i = 1..g−1) are at or before it: cell i
  // covers ⌊i·n/g⌋ ≤ y < ⌊(i+1)·n/g⌋.
  const auto cell_of = [g](std::int64_t n) {
    const at::Tensor starts = (at::arange(1, g, at::kLong) * n).div(g, "floor");  // starts of cells 1..g-1
    return (at::arange(n, at::kLong).unsqueeze(1) >= starts.unsqueeze(0)).sum(1);
  };
  const at::Tensor rows = cell_of(H), cols = cell_of(W);
  const at::Tensor c = cells.to(at::kFloat);
  return c.index_select(1, rows).index_select(2, cols).unsqueeze(1).contiguous();
}

MixedBatch GridMixMixer::do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                                at::Generator& gen, const BatchInfo&) const {
  const std::int64_t b = images.size(0);
  // Draw order fixed whatever the outcome.
  const double u = sample_uniform(gen);
  const at::Tensor cells = at::empty({b, grid_, grid_}, at::kDouble).uniform_(0, 1, gen) < p_;
  const at::Tensor partner = random_pairing(b, gen);
  if (u >= prob_) return NoneMixer().mix(images, labels, num_classes, gen);
  return paste_mask(images, labels, num_classes, partner, cell_mask(cells, images.size(2), images.size(3)));
}

Method gridmix_method() {
  Method m;
  m.name = m.label = "gridmix";
  m.pairs_in_batch = true;
  m.parse = [](config::JsonReader& r, MixSpec& s) {
    s.params["grid"] = r.get_int("grid", 4, 1, 64);
    s.params["p"] = r.get_double("p", 0.5, 0, 1);
    s.params["prob"] = r.get_double("prob", 1.0, 0, 1);
  };
  m.to_json = [](const MixSpec& s, nlohmann::json& j) {
    for (const char* k : {"grid", "p", "prob"}) j[k] = s.params.at(k);
  };
  m.make = [](const MixSpec& s, std::shared_ptr<const HeatmapSource>) -> std::unique_ptr<Mixer> {
    return std::make_unique<GridMixMixer>(s.params.at("grid").get<std::int64_t>(), s.params.at("p").get<double>(),
                                          s.params.at("prob").get<double>());
  };
  return m;
}

}  // namespace acm::augment
