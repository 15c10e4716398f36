// DenseNet-121/169/201/264 (Huang et al. 2017, DenseNet-BC): dense blocks of bottleneck layers (BN-ReLU-1×1
// conv to 4·k channels, BN-ReLU-3×3 conv to k) whose outputs are concatenated, joined by transitions that
// halve channels and resolution. Module names follow torchvision (features.conv0,
// features.denseblock1.denselayer1, features.transition1, features.norm5, classifier). ModelSpec::width is
// the stem's channel count (torchvision: 64) and the growth rate k is width / 2 (torchvision: 32). With the
// ImageNet stem, DenseNet-121, 169 and 201 give torchvision's eval-mode logits from its converted weights;
// DenseNet-264, which torchvision lacks, is checked against the DenseNet paper's Table 1
// (tests/models/test_torchvision_match.cpp).
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace acm::models {

Classifier make_densenet(const std::string& name, const std::vector<std::int64_t>& layers_per_block,
                         const ModelSpec& spec);

}  // namespace acm::models
