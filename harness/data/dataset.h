// An in-memory image classification data set: uint8 pixels in N×C×H×W order and int64 labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acm::data {

struct Dataset {
  std::string name;    // e.g. "fashion-mnist/train"
  std::string source;  // files it came from, or the generator's parameters
  std::int64_t channels = 0, height = 0, width = 0;
  std::int64_t num_classes = 0;
  std::vector<std::uint8_t> images;  // size() * channels * height * width bytes, N×C×H×W
  std::vector<std::int64_t> labels;  // in [0, num_classes)

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t image_bytes() const { return channels * height * width; }
  const std::uint8_t* image(std::int64_t i) const { return images.data() + i * image_bytes(); }
  std::uint8_t* image(std::int64_t i) { return images.data() + i * image_bytes(); }
};

struct DatasetSplits {
  Dataset train;
  Dataset test;
};

// Per-channel mean and standard deviation of pixel values scaled to [0, 1] (for normalisation).
struct ChannelStats {
  std::vector<double> mean, std;
};
ChannelStats channel_stats(const Dataset& ds);

// Count of each label, num_classes entries.
std::vector<std::int64_t> label_histogram(const Dataset& ds);

// Subsets for quick runs. Both keep the original relative order of the samples they keep.
Dataset subset_first(const Dataset& ds, std::int64_t k);
// `per_class` samples of every class, drawn without replacement with a seeded generator. A class with fewer
// samples than asked is an error naming the class and its count.
Dataset subset_per_class(const Dataset& ds, std::int64_t per_class, std::uint64_t seed);

}  // namespace acm::data
