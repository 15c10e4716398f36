// ResNet-18/34/50/101/152 (He et al. 2016), v1.5 as torchvision builds it: in the bottleneck the stride sits
// on the 3×3 convolution. Module and parameter names equal torchvision's (conv1, bn1, layer1.0.conv1, ...,
// layerN.0.downsample.0, fc), so a torchvision state_dict maps onto it name for name.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace acm::models {

enum class BlockKind { kBasic, kBottleneck };

struct ResNetLayout {
  BlockKind block;
  std::vector<std::int64_t> blocks_per_stage;  // four stages
};

Classifier make_resnet(const std::string& name, const ResNetLayout& layout, const ModelSpec& spec);

}  // namespace acm::models
