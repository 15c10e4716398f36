#include "harness/data/spec.h"

#include "harness/data/cifar.h"
#include "harness/data/idx.h"

namespace acm::data {

using config::ConfigError;

DatasetSpec parse_dataset_spec(config::JsonReader& r) {
  DatasetSpec s;
  s.name = r.get_choice("name", s.name, {"mnist", "fashion-mnist", "cifar10", "cifar100", "imagenet", "synthetic"});
  s.path = r.get_string("path", s.name == "fashion-mnist" ? kDebianFashionMnist : "");
  if (s.name == "cifar100") s.labels = r.get_choice("labels", s.labels, {"fine", "coarse"});
  if (s.name == "imagenet") {
    s.image.image_size = r.get_int("image_size", s.image.image_size, 8, 1024);
    s.image.resize = r.get_int("resize", s.image.resize, s.image.image_size, 4096);
    s.image.train_crop = r.get_choice("train_crop", s.image.train_crop, {"center", "random_resized"});
    s.image.decode_oversample = r.get_double("decode_oversample", s.image.decode_oversample, 0.0, 8.0);
    if (s.image.decode_oversample > 0 && s.image.decode_oversample < 1) {
      throw ConfigError(r.path_of("decode_oversample") + ": expected 0 (full-size decode) or a value in [1, 8], found " +
                        std::to_string(s.image.decode_oversample));
    }
  }
  if (s.name == "synthetic") {
    auto& y = s.synthetic;
    y.train_size = r.get_int("train_size", y.train_size, 1, 10'000'000);
    y.test_size = r.get_int("test_size", y.test_size, 1, 10'000'000);
    y.channels = r.get_int("channels", y.channels, 1, 64);
    y.height = r.get_int("height", y.height, 1, 4096);
    y.width = r.get_int("width", y.width, 1, 4096);
    y.num_classes = r.get_int("classes", y.num_classes, 2, 100000);
    y.noise = r.get_double("noise", y.noise, 0.0, 10.0);
    y.seed = static_cast<std::uint64_t>(r.get_int("seed", 0, 0, INT64_MAX));
  } else if (s.path.empty()) {
    throw ConfigError(r.path_of("path") + ": required for dataset '" + s.name +
                      "' (the folder holding its files)");
  }
  auto sub = r.child("subset");
  s.subset.mode = sub.get_choice("mode", "none", {"none", "first", "per_class"});
  s.subset.train = sub.get_int("train", 0, 0, INT64_MAX);
  s.subset.test = sub.get_int("test", 0, 0, INT64_MAX);
  if (s.subset.mode == "per_class")
    s.subset.seed = static_cast<std::uint64_t>(sub.get_int("seed", 0, 0, INT64_MAX));
  if (s.subset.mode != "none" && s.subset.train == 0 && s.subset.test == 0) {
    throw ConfigError(sub.path() + ": mode '" + s.subset.mode +
                      "' needs a positive 'train' and/or 'test' count");
  }
  sub.finish();
  r.finish();
  return s;
}

nlohmann::json to_json(const DatasetSpec& s) {
  nlohmann::json j{{"name", s.name}};
  if (s.name == "synthetic") {
    const auto& y = s.synthetic;
    j.update({{"train_size", y.train_size},
              {"test_size", y.test_size},
              {"channels", y.channels},
              {"height", y.height},
              {"width", y.width},
              {"classes", y.num_classes},
              {"noise", y.noise},
              {"seed", y.seed}});
  } else {
    j["path"] = s.path;
  }
  if (s.name == "cifar100") j["labels"] = s.labels;
  if (s.name == "imagenet") {
    j.update({{"image_size", s.image.image_size}, {"resize", s.image.resize}});
    // Written only when not the default, so that results made before these options keep their identity.
    if (s.image.train_crop != "center") j["train_crop"] = s.image.train_crop;
    if (s.image.decode_oversample != ImageGeometry{}.decode_oversample) j["decode_oversample"] = s.image.decode_oversample;
  }
  nlohmann::json sub{{"mode", s.subset.mode}};
  if (s.subset.mode != "none") sub.update({{"train", s.subset.train}, {"test", s.subset.test}});
  if (s.subset.mode == "per_class") sub["seed"] = s.subset.seed;
  j["subset"] = sub;
  return j;
}

namespace {

Dataset apply_subset(Dataset ds, const SubsetSpec& s, std::int64_t count) {
  if (s.mode == "none" || count == 0) return ds;
  if (s.mode == "first") return subset_first(ds, count);
  return subset_per_class(ds, count, s.seed);
}

}  // namespace

DatasetSplits load_dataset(const DatasetSpec& s) {
  DatasetSplits splits;
  if (s.name == "synthetic") {
    splits = make_synthetic(s.synthetic);
  } else if (s.name == "mnist" || s.name == "fashion-mnist") {
    splits = load_mnist_dir(s.path, s.name);
  } else if (s.name == "cifar10") {
    splits = load_cifar10_dir(s.path);
  } else if (s.name == "cifar100") {
    splits =
        load_cifar100_dir(s.path, s.labels == "coarse" ? Cifar100Labels::kCoarse : Cifar100Labels::kFine);
  } else if (s.name == "imagenet") {
    splits = load_image_folder_dir(s.path, s.image, s.name);
  } else {
    throw ConfigError("unknown dataset '" + s.name + "'");
  }
  splits.train = apply_subset(std::move(splits.train), s.subset, s.subset.train);
  splits.test = apply_subset(std::move(splits.test), s.subset, s.subset.test);
  return splits;
}

}  // namespace acm::data
