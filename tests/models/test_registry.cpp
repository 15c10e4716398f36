#include "models/registry.h"

#include <gtest/gtest.h>

#include "tests/expect_error.h"

namespace acm::models {
namespace {

TEST(Registry, ListsWithWildcards) {
  EXPECT_EQ(list_models("*").size(), 5u + 4 + 8);
  EXPECT_EQ(list_models("densenet*"),
            (std::vector<std::string>{"densenet121", "densenet169", "densenet201", "densenet264"}));
  EXPECT_EQ(list_models("efficientnet_b[0167]"),
            (std::vector<std::string>{"efficientnet_b0", "efficientnet_b1", "efficientnet_b6", "efficientnet_b7"}));
  EXPECT_EQ(list_models("resnet1*"), (std::vector<std::string>{"resnet18", "resnet101", "resnet152"}));
  EXPECT_EQ(list_models("resnet?4"), (std::vector<std::string>{"resnet34"}));
  EXPECT_TRUE(list_models("vgg*").empty());
}

TEST(Registry, UnknownNameIsLoudAndHelpful) {
  testing::expect_error<std::invalid_argument>(
      [] { create("resnet19", ModelSpec{}); },
      {"unknown model 'resnet19'", "did you mean resnet18",
       "known models: resnet18, resnet34, resnet50, resnet101, resnet152"});
}

TEST(Registry, StemAndInitNamesAreValidated) {
  EXPECT_EQ(stem_from_string("cifar"), Stem::kCifar);
  EXPECT_EQ(init_from_string("xavier_normal"), Init::kXavierNormal);
  testing::expect_error<std::invalid_argument>([] { stem_from_string("tiny"); },
                                               {"'tiny'", "imagenet, cifar"});
  testing::expect_error<std::invalid_argument>([] { init_from_string("he"); },
                                               {"'he'", "kaiming, xavier_normal"});
}

}  // namespace
}  // namespace acm::models
