#include "harness/data/image_folder.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"
#include "harness/data/keyed_rng.h"

namespace acm::data {

namespace {

const char* const kLayout = "expected ROOT/train/CLASS/*.JPEG and ROOT/val/CLASS/*.JPEG, as torchvision's ImageFolder";

bool has_image_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == "jpeg" || ext == "jpg" || ext == "png";
}

struct Entry {
  std::string name;
  bool dir = false;
};

std::vector<Entry> read_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) fail_file(dir, std::string("cannot list the folder (") + std::strerror(errno) + "); " + kLayout);
  std::vector<Entry> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {  // some parallel file systems do not fill d_type
      struct stat st {};
      is_dir = ::stat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    out.push_back({name, is_dir});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

}  // namespace

void resize_center_crop(const RgbImage& in, const ImageGeometry& g, std::uint8_t* out) {
  resample_rgb(in, center_crop_plan(in.width, in.height, g.resize, g.image_size), out);
}

FolderListing list_image_folder(const std::string& split_dir, const std::vector<std::string>& classes) {
  struct stat st {};
  if (::stat(split_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail_file(split_dir, std::string("no such folder; ") + kLayout);
  FolderListing out;
  const std::vector<Entry> top = read_dir(split_dir);
  std::vector<std::string> found;
  for (const auto& e : top) {
    if (e.dir) {
      found.push_back(e.name);
    } else if (has_image_extension(e.name)) {
      fail_file(split_dir, "holds image files directly (" + e.name +
                               ", ...); expected one folder per class. ImageNet's validation images ship flat: "
                               "move them into class folders (the usual valprep script does)");
    }
  }
  if (found.empty()) fail_file(split_dir, std::string("no class folders; ") + kLayout);
  out.classes = classes.empty() ? found : classes;
  std::map<std::string, std::int64_t> label_of;
  for (std::size_t k = 0; k < out.classes.size(); ++k) label_of[out.classes[k]] = static_cast<std::int64_t>(k);
  for (const auto& cls : found) {
    const auto it = label_of.find(cls);
    if (it == label_of.end()) {
      fail_file(split_dir + "/" + cls, "class folder not among the " + std::to_string(out.classes.size()) +
                                           " classes of the training split (" + out.classes.front() + " .. " +
                                           out.classes.back() + ")");
    }
    const std::string dir = split_dir + "/" + cls;
    std::size_t before = out.files.size();
    for (const auto& e : read_dir(dir)) {
      if (e.dir || !has_image_extension(e.name)) continue;
      out.files.push_back(dir + "/" + e.name);
      out.labels.push_back(it->second);
    }
    if (out.files.size() == before) fail_file(dir, "class folder holds no image files (.JPEG, .jpg, .jpeg, .png)");
  }
  return out;
}

FileImages::FileImages(std::vector<std::string> files, ImageGeometry geometry)
    : files_(std::move(files)), geometry_(geometry) {}

void FileImages::read(std::int64_t i, std::uint8_t* out) const { decode(i, out, nullptr); }

void FileImages::read_augmented(std::int64_t i, std::uint8_t* out, const DrawKey& key) const { decode(i, out, &key); }

void FileImages::decode(std::int64_t i, std::uint8_t* out, const DrawKey* key) const {
  const std::string& path = files_.at(static_cast<std::size_t>(i));
  thread_local std::vector<std::uint8_t> bytes;  // per loader thread, grown once
  read_file_into(path, bytes);
  const std::int64_t s = geometry_.image_size;
  if (key && geometry_.train_crop == "random_resized") {
    KeyedRng rng(key->seed, key->epoch, static_cast<std::uint64_t>(i), Stream::kResizedCrop);
    const CropDraws draws{[&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); },
                          [&](std::int64_t n) { return rng.below(n); }};
    decode_resampled(path, bytes.data(), bytes.size(), [&](std::int64_t w, std::int64_t h) {
      return resized_crop_plan(random_resized_crop_box(w, h, RandomResizedCropSpec{}, draws), s);
    }, out, geometry_.decode_oversample);
    return;
  }
  decode_resampled(path, bytes.data(), bytes.size(),
                   [&](std::int64_t w, std::int64_t h) { return center_crop_plan(w, h, geometry_.resize, s); }, out,
                   geometry_.decode_oversample);
}

std::shared_ptr<const ImageSource> FileImages::select(const std::vector<std::int64_t>& keep) const {
  std::vector<std::string> files;
  files.reserve(keep.size());
  for (std::int64_t k : keep) files.push_back(files_.at(static_cast<std::size_t>(k)));
  return std::make_shared<FileImages>(std::move(files), geometry_);
}

DatasetSplits load_image_folder_dir(const std::string& root, const ImageGeometry& geometry, const std::string& name) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail_file(root, std::string("no such folder; ") + kLayout);
  DatasetSplits splits;
  FolderListing train = list_image_folder(root + "/train");
  FolderListing val = list_image_folder(root + "/val", train.classes);
  auto make = [&](FolderListing& l, const std::string& split) {
    Dataset ds;
    ds.name = name + "/" + split;
    ds.source = root + "/" + split + " (" + std::to_string(l.files.size()) + " images in " +
                std::to_string(train.classes.size()) + " classes; resize " + std::to_string(geometry.resize) +
                ", centre crop " + std::to_string(geometry.image_size) +
                (split == "train" && geometry.train_crop == "random_resized" ? ", RandomResizedCrop in training" : "") +
                ")";
    ds.channels = 3;
    ds.height = ds.width = geometry.image_size;
    ds.num_classes = static_cast<std::int64_t>(train.classes.size());
    ds.labels = std::move(l.labels);
    ImageGeometry g = geometry;
    if (split != "train") g.train_crop = "center";
    ds.lazy = std::make_shared<FileImages>(std::move(l.files), g);
    return ds;
  };
  splits.train = make(train, "train");
  splits.test = make(val, "val");
  return splits;
}

}  // namespace acm::data
