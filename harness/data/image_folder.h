// ImageNet-style image folders, decoded lazily: ROOT/train/CLASS/*.JPEG and ROOT/val/CLASS/*.JPEG (the layout
// torchvision's ImageFolder reads). Classes are the sorted folder names of ROOT/train, so label k is the k-th
// synset in name order, as in torchvision.
//
// A data set of 1.28 M JPEGs does not fit in memory as decoded pixels, so the Dataset holds only file names
// and labels; each image is read and decoded when the loader asks for it: JPEG through libjpeg-turbo
// (grayscale and Adobe CMYK included), PNG through libpng (ImageNet's train split holds one PNG named .JPEG).
// Every image becomes a fixed 3×S×S: its shorter side resized to `resize` (triangle filter, antialiased when
// shrinking, as PIL's bilinear) and the centre S×S cropped — torchvision's Resize(resize) + CenterCrop(S).
// A JPEG at least twice as large as needed is decoded at a reduced DCT scale (still >= 2·resize) first.
// The loader's random crop and flip act on that (harness/data/transforms.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/data/dataset.h"

namespace acm::data {

struct ImageGeometry {
  std::int64_t image_size = 224;  // the side of the square each image becomes
  std::int64_t resize = 256;      // the shorter side before the centre crop; >= image_size
};

// An RGB image, height × width × 3 bytes (interleaved).
struct RgbImage {
  std::int64_t height = 0, width = 0;
  std::vector<std::uint8_t> pixels;
};

// Decodes JPEG or PNG bytes (told apart by their signature, not the file name). A JPEG may be decoded at a
// reduced DCT scale whose shorter side is still >= `min_side` (0: full size). DataError naming `path`: not a
// JPEG or PNG (with the first bytes), a corrupt or truncated stream (with the decoder's message).
RgbImage decode_image(const std::string& path, const std::uint8_t* data, std::size_t size,
                      std::int64_t min_side = 0);

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
  std::shared_ptr<const ImageSource> select(const std::vector<std::int64_t>& keep) const override;
  std::string describe(std::int64_t i) const override { return files_[static_cast<std::size_t>(i)]; }

 private:
  std::vector<std::string> files_;
  ImageGeometry geometry_;
};

// Both splits of ROOT (train and val), lazily decoded. `name` prefixes the splits' names ("imagenet").
DatasetSplits load_image_folder_dir(const std::string& root, const ImageGeometry& geometry,
                                    const std::string& name);

}  // namespace acm::data
