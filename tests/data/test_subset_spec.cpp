#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "harness/data/error.h"
#include "harness/data/spec.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::data {
namespace {

using config::ConfigError;
using nlohmann::json;

Dataset numbered(std::int64_t n, std::int64_t classes) {
  Dataset d;
  d.name = "numbered";
  d.channels = d.height = d.width = 1;
  d.num_classes = classes;
  for (std::int64_t i = 0; i < n; ++i) {
    d.images.push_back(static_cast<std::uint8_t>(i));
    d.labels.push_back(i % classes);
  }
  return d;
}

TEST(Subset, FirstKeepsTheFirstSamples) {
  const Dataset s = subset_first(numbered(50, 5), 7);
  ASSERT_EQ(s.size(), 7);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(s.image(i)[0], i);
  EXPECT_THROW(subset_first(numbered(5, 5), 6), DataError);
}

TEST(Subset, PerClassIsBalancedSeededAndOrdered) {
  const Dataset full = numbered(200, 4);
  const Dataset a = subset_per_class(full, 6, 1), b = subset_per_class(full, 6, 1),
                c = subset_per_class(full, 6, 2);
  ASSERT_EQ(a.size(), 24);
  for (auto h : label_histogram(a)) EXPECT_EQ(h, 6);
  EXPECT_EQ(a.images, b.images);
  EXPECT_NE(a.images, c.images);
  for (std::int64_t i = 1; i < a.size(); ++i)
    EXPECT_LT(a.image(i - 1)[0], a.image(i)[0]);  // original order kept
  testing::expect_error<DataError>([&] { subset_per_class(numbered(10, 4), 3, 0); },
                                   {"class 2 has only 2 samples", "per-class subset of 3"});
}

DatasetSpec parse(const json& j) {
  config::JsonReader r(j, "$.dataset");
  return parse_dataset_spec(r);
}

TEST(DatasetSpec, DefaultsToDebianFashionMnist) {
  const DatasetSpec s = parse(json::object());
  EXPECT_EQ(s.name, "fashion-mnist");
  EXPECT_EQ(s.path, kDebianFashionMnist);
}

TEST(DatasetSpec, ErrorsNameThePathAndAllowedValues) {
  testing::expect_error<ConfigError>(
      [] {
        parse({{"name", "imagenet21k"}});
      },
      {"$.dataset.name", "one of mnist, fashion-mnist, cifar10, cifar100, imagenet, synthetic", "\"imagenet21k\""});
  testing::expect_error<ConfigError>([] { parse({{"name", "cifar10"}}); }, {"$.dataset.path", "required"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"name", "synthetic"}, {"channels", 0}});
      },
      {"$.dataset.channels", "integer in [1, 64]", "found 0"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"name", "synthetic"}, {"classes", 2.5}});
      },
      {"$.dataset.classes", "found 2.5"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"name", "cifar100"}, {"path", "/x"}, {"labels", "medium"}});
      },
      {"$.dataset.labels", "one of fine, coarse"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"subset", {{"mode", "random"}}}});
      },
      {"$.dataset.subset.mode", "one of none, first, per_class"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"subset", {{"mode", "first"}}}});
      },
      {"$.dataset.subset", "needs a positive"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"pth", "/x"}});
      },
      {"$.dataset.pth", "unknown field", "path"});
  testing::expect_error<ConfigError>(
      [] {
        parse({{"subset", {{"mode", "first"}, {"train", 3}, {"tran", 1}}}});
      },
      {"$.dataset.subset.tran", "unknown field"});
}

TEST(DatasetSpec, RoundTripsThroughJson) {
  const json j = {
      {"name", "synthetic"}, {"train_size", 40},
      {"test_size", 10},     {"channels", 2},
      {"height", 8},         {"width", 8},
      {"classes", 4},        {"noise", 0.5},
      {"seed", 3},           {"subset", {{"mode", "per_class"}, {"train", 5}, {"test", 2}, {"seed", 9}}}};
  const DatasetSpec s = parse(j);
  EXPECT_EQ(to_json(s), j);
  const DatasetSplits d = load_dataset(s);
  EXPECT_EQ(d.train.size(), 20);
  EXPECT_EQ(d.test.size(), 8);
  EXPECT_EQ(d.train.channels, 2);
}

TEST(DatasetSpec, LoadsFilesAndAppliesFirstSubset) {
  testing::TempDir dir;
  testing::write_mnist_dir(dir.path(), 40, 20, true);
  const DatasetSplits d = load_dataset(
      parse({{"name", "mnist"}, {"path", dir.path()}, {"subset", {{"mode", "first"}, {"train", 25}}}}));
  EXPECT_EQ(d.train.size(), 25);
  EXPECT_EQ(d.test.size(), 20);  // test 0: the split stays whole
}

}  // namespace
}  // namespace acm::data
