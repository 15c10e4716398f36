// Robustness at the end of a run, on the test set (the evaluation the CutMix paper reports and the mixup
// literature runs by hand on single checkpoints), all ranks sharing it as evaluation does:
//   occlusion  top-1 with a square of side s·min(H, W) set to the normalised zero (the CutMix paper's "filling
//              zeros"), centred, and at a random place drawn per (seed, image, size): one curve each;
//   FGSM       top-1 under the fast gradient sign attack (Goodfellow et al., 2015): x + ε·sign(∇ₓ loss), the
//              gradient of the cross-entropy with the model in eval mode, ε in pixel units (of [0, 1]) turned
//              into each channel's normalised units, clamped to the valid pixel range;
//   corruption top-1 under the CIFAR-10-C corruptions (corruptions.h) at each severity, applied in pixel space
//              (the loader's normalisation undone, then redone) with draws keyed on (seed, image, corruption,
//              severity), and their mean over corruptions and severities (mCA), on `corruption_images` of
//              the images.
// On a fixed spread of `max_images` test images (every (n/m)-th; 0: all), to bound the cost; its seconds go
// into the result's timing as "robustness".
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/data/dataset.h"
#include "harness/data/loader.h"
#include "harness/dist/communicator.h"
#include "models/model.h"

namespace acm::train {

struct RobustnessOptions {
  std::vector<double> occlusion;  // square sides as fractions of the image side; 0 is the clean image
  std::vector<double> fgsm;       // ε, pixel units
  std::int64_t max_images = 0;    // 0: the whole test set
  std::vector<std::string> corruptions;  // names (corruptions.h); empty: none
  std::vector<int> severities;           // 1..5
  std::int64_t corruption_images = 0;    // a spread of the test set as max_images; 0: the whole test set
  std::vector<double> mean, std;  // the normalisation the loader applies (empty: none)
  std::uint64_t seed = 0;
};

// {"images", "clean_top1", "occlusion": {"sizes", "center_top1", "random_top1"}, "fgsm": {"epsilons", "top1"},
//  "corruption": {"images", "clean_top1", "names", "severities", "top1" (per name, per severity), "mean_top1"}}
nlohmann::json evaluate_robustness(models::ClassifierImpl& model, data::Loader& loader, const data::Dataset& test,
                                   c10::Device device, bool channels_last, dist::Communicator& comm,
                                   std::optional<at::ScalarType> autocast, const RobustnessOptions& options);

}  // namespace acm::train
