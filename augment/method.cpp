#include "augment/method.h"

#include "augment/attentive_cutmix.h"
#include "augment/cutmix.h"
#include "augment/cutout.h"
#include "augment/fmix.h"
#include "augment/gridmix.h"
#include "augment/mixup.h"
#include "augment/none.h"
#include "augment/resizemix.h"
#include "augment/saliencymix.h"
#include "common/json_reader.h"

namespace acm::augment {

const std::vector<Method>& methods() {
  static const std::vector<Method> table = {
      none_method(),
      mixup_method(),
      cutout_method(),
      cutmix_method(),
      saliencymix_method(),
      resizemix_method(),
      fmix_method(),
      gridmix_method(),
      attentive_cutmix_method(),
  };
  return table;
}

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& m : methods()) names.push_back(m.name);
  return names;
}

const Method& find_method(const std::string& name) {
  for (const auto& m : methods()) {
    if (m.name == name) return m;
  }
  throw config::ConfigError("unknown mixing method '" + name + "'; allowed: " + config::join(method_names()));
}

std::string method_label(const std::string& name) {
  for (const auto& m : methods()) {
    if (m.name == name) return m.label;
  }
  return name;
}

bool pairs_in_batch(const std::string& name) {
  for (const auto& m : methods()) {
    if (m.name == name) return m.pairs_in_batch;
  }
  return true;
}

int method_order(const std::string& name_or_label) {
  const auto& table = methods();
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name == name_or_label || table[i].label == name_or_label) return static_cast<int>(i);
  }
  return static_cast<int>(table.size());
}

std::unique_ptr<Mixer> make_mixer(const MixSpec& spec, std::shared_ptr<const HeatmapSource> heatmaps) {
  return find_method(spec.method).make(spec, std::move(heatmaps));
}

}  // namespace acm::augment
