// ImageNet-style image folders, decoded lazily: ROOT/train/CLASS/*.JPEG and ROOT/val/CLASS/*.JPEG (the layout
// torchvision's ImageFolder reads). Classes are the sorted folder names of ROOT/train, so label k is the k-th
// synset in name order, as in torchvision.
//
// A data set of 1.28 M JPEGs does not fit in memory as decoded pixels, so the Dataset holds only file names
// and labels; each image is read and decoded when the loader asks for it (image_decode.h: only the region its
// crop needs, at the smallest DCT scale that covers it). Every image becomes a fixed 3×S×S:
//   - evaluation, and training by default: torchvision's Resize(resize) + CenterCrop(S);
//   - training with `train_crop: random_resized`: torchvision's RandomResizedCrop(S) (crop.h), drawn from the
//     sample's keyed generator, so the same (seed, epoch, index) gives the same crop on any thread or rank.
// The loader's random crop and flip act on that (harness/data/transforms.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/data/dataset.h"
#include "harness/data/image_decode.h"

namespace acm::data {

struct ImageGeometry {
  std::int64_t image_size = 224;  // the side of the square each image becomes
  std::int64_t resize = 256;      // the shorter side before the centre crop; >= image_size
  std::string train_crop = "center";  // center | random_resized (the training split only)
  // Decoded pixels per output pixel a JPEG keeps when decoded at a reduced DCT scale (1/2, 1/4, 1/8): 2 stays
  // within a few grey levels of a full-size decode, 1 is faster and softer, 0 always decodes at full size.
  double decode_oversample = 2.0;
};

// Resizes `in` so its shorter side is g.resize (the longer one scaled and truncated, as torchvision does),
// crops the centre g.image_size square and writes it as 3 × S × S bytes (channel-major) to `out`.
void resize_center_crop(const RgbImage& in, const ImageGeometry& g, std::uint8_t* out);

// The image files of one split: FILES[i] has label LABELS[i]; files sorted by class, then by name.
struct FolderListing {
  std::vector<std::string> classes;
  std::vector<std::string> files;
  std::vector<std::int64_t> labels;
};
// Lists SPLIT_DIR/CLASS/*.{JPEG,jpeg,jpg,JPG,png,PNG} (other files are ignored). `classes` empty: the classes
// are this split's folders; otherwise every folder must be one of them. DataError for a missing folder, image
// files directly in SPLIT_DIR (a flat validation folder), an unknown class, a class with no images.
FolderListing list_image_folder(const std::string& split_dir, const std::vector<std::string>& classes = {});

// Images decoded on demand from a list of files.
class FileImages : public ImageSource {
 public:
  FileImages(std::vector<std::string> files, ImageGeometry geometry);
  void read(std::int64_t i, std::uint8_t* out) const override;
  void read_augmented(std::int64_t i, std::uint8_t* out, const DrawKey& key) const override;
  std::shared_ptr<const ImageSource> select(const std::vector<std::int64_t>& keep) const override;
  std::string describe(std::int64_t i) const override { return files_[static_cast<std::size_t>(i)]; }

 private:
  void decode(std::int64_t i, std::uint8_t* out, const DrawKey* key) const;

  std::vector<std::string> files_;
  ImageGeometry geometry_;
};

// Both splits of ROOT (train and val), lazily decoded. `name` prefixes the splits' names ("imagenet").
DatasetSplits load_image_folder_dir(const std::string& root, const ImageGeometry& geometry,
                                    const std::string& name);

}  // namespace acm::data
