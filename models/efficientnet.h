// EfficientNet-B0..B7 (Tan & Le 2019) as torchvision builds it: MBConv blocks (1×1 expansion, depthwise k×k,
// squeeze-and-excitation to a quarter of the block's input channels, 1×1 projection, stochastic depth on the
// residual), widths rounded to multiples of 8, depths rounded up, SiLU throughout; B0's seven stages scaled
// by each variant's width and depth multipliers. ModelSpec::width scales the widths further (64 = as
// published). The CIFAR stem keeps the first convolution and the first strided stage at stride 1 (overall
// stride 8). With the ImageNet stem, B0 and B1 (and B5, with its BatchNorm eps of 1e-3) give torchvision's
// eval-mode logits from its converted weights (tests/models/test_torchvision_match.cpp). By design, not
// torchvision's: nothing with the ImageNet stem; the CIFAR stem and ModelSpec::width are ours.
#pragma once

#include <string>

#include "models/model.h"

namespace acm::models {

struct EfficientNetScale {
  double width_mult, depth_mult, dropout;
  double bn_eps = 1e-5, bn_momentum = 0.1;  // torchvision: 1e-3 and 0.01 for B5..B7, PyTorch's defaults below
};

Classifier make_efficientnet(const std::string& name, const EfficientNetScale& scale, const ModelSpec& spec);

}  // namespace acm::models
