#include "augment/registry.h"

#include <stdexcept>

#include "augment/attentive_cutmix.h"
#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/mixup.h"
#include "augment/none.h"

namespace acm::augment {

const std::vector<std::string>& mixer_names() {
  static const std::vector<std::string> names = {"none", "mixup", "cutout", "cutmix", "attentive_cutmix"};
  return names;
}

std::unique_ptr<Mixer> make_mixer(const MixSpec& s, std::shared_ptr<const HeatmapSource> heatmaps) {
  if (s.method == "none") return std::make_unique<NoneMixer>();
  if (s.method == "mixup") return std::make_unique<MixupMixer>(s.alpha, s.per_sample);
  if (s.method == "cutout") return std::make_unique<CutoutMixer>(s.size, s.holes);
  if (s.method == "cutmix") return std::make_unique<CutMixMixer>(s.alpha, s.prob);
  if (s.method == "attentive_cutmix")
    return std::make_unique<AttentiveCutMixMixer>(s.attentive, std::move(heatmaps));
  throw std::invalid_argument("unknown mixing method '" + s.method +
                              "'; allowed: none, mixup, cutout, cutmix, attentive_cutmix");
}

}  // namespace acm::augment
