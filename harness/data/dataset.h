// An image classification data set: uint8 pixels in N×C×H×W order and int64 labels. The pixels live in
// memory (`images`), or, for data sets too large for that (ImageNet), are decoded from files on demand
// (`lazy`, see image_folder.h); `read_image` serves both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace acm::data {

// What keys a sample's random draws when it is read for training: the run's data seed and the epoch (the
// sample index is the third part of the key).
struct DrawKey {
  std::uint64_t seed = 0;
  std::uint64_t epoch = 0;
};

// Images produced on demand, all of one C×H×W shape. Implementations are safe to call from several threads.
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // Writes image i (C×H×W bytes) to `out`; DataError naming its file when it cannot.
  virtual void read(std::int64_t i, std::uint8_t* out) const = 0;
  // The training view of image i: a source with a random crop (RandomResizedCrop) draws it from `key`.
  virtual void read_augmented(std::int64_t i, std::uint8_t* out, const DrawKey& key) const { read(i, out); }
  // The source of images keep[0], keep[1], ... of this one.
  virtual std::shared_ptr<const ImageSource> select(const std::vector<std::int64_t>& keep) const = 0;
  // Where image i comes from (its file), for messages.
  virtual std::string describe(std::int64_t i) const = 0;
};

struct Dataset {
  std::string name;    // e.g. "fashion-mnist/train"
  std::string source;  // files it came from, or the generator's parameters
  std::int64_t channels = 0, height = 0, width = 0;
  std::int64_t num_classes = 0;
  std::vector<std::uint8_t> images;  // size() * channels * height * width bytes, N×C×H×W; empty when lazy
  std::vector<std::int64_t> labels;  // in [0, num_classes)
  std::shared_ptr<const ImageSource> lazy;  // set: the pixels are decoded on demand, `images` is empty

  bool in_memory() const { return !lazy; }
  // Image i's pixels: in memory, or decoded into `buffer` (image_bytes() bytes), which is then returned. With
  // `key`, the training view (read_augmented).
  const std::uint8_t* read_image(std::int64_t i, std::uint8_t* buffer, const DrawKey* key = nullptr) const {
    if (!lazy) return image(i);
    if (key) {
      lazy->read_augmented(i, buffer, *key);
    } else {
      lazy->read(i, buffer);
    }
    return buffer;
  }

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
// A lazy data set is measured on at most kLazyStatsImages images spread evenly over it (decoding 1.28 M JPEGs
// for two numbers per channel would take longer than an epoch).
inline constexpr std::int64_t kLazyStatsImages = 2000;
ChannelStats channel_stats(const Dataset& ds);

// Count of each label, num_classes entries.
std::vector<std::int64_t> label_histogram(const Dataset& ds);

// Subsets for quick runs. Both keep the original relative order of the samples they keep.
Dataset subset_first(const Dataset& ds, std::int64_t k);
// `per_class` samples of every class, drawn without replacement with a seeded generator. A class with fewer
// samples than asked is an error naming the class and its count.
Dataset subset_per_class(const Dataset& ds, std::int64_t per_class, std::uint64_t seed);

}  // namespace acm::data
