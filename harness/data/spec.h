// Which data set a run uses, as a validated config object, and the one function that loads it.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "harness/data/dataset.h"
#include "harness/data/image_folder.h"
#include "harness/data/synthetic.h"

namespace acm::data {

// Where Debian's dataset-fashion-mnist package puts the IDX files.
inline constexpr const char* kDebianFashionMnist = "/usr/share/datasets/fashion-mnist";

struct SubsetSpec {
  std::string mode = "none";  // none | first | per_class
  std::int64_t train = 0;     // first: sample count; per_class: samples per class; 0 keeps the split whole
  std::int64_t test = 0;
  std::uint64_t seed = 0;  // per_class only
};

struct DatasetSpec {
  std::string name = "fashion-mnist";  // mnist | fashion-mnist | cifar10 | cifar100 | imagenet | synthetic
  std::string path;                    // folder of the files; fashion-mnist defaults to Debian's
  std::string labels = "fine";         // cifar100 only: fine | coarse
  ImageGeometry image;                 // imagenet only: image_size and resize (image_folder.h)
  SyntheticSpec synthetic;             // synthetic only
  SubsetSpec subset;
};

DatasetSpec parse_dataset_spec(config::JsonReader& r);
nlohmann::json to_json(const DatasetSpec& spec);

// Loads (or generates) both splits and applies the subset. Errors are DataError (files) or ConfigError
// (spec).
DatasetSplits load_dataset(const DatasetSpec& spec);

}  // namespace acm::data
