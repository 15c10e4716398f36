#include "harness/data/image_folder.h"

#include <dirent.h>
#include <png.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"

namespace acm::data {

namespace {

const char* const kLayout = "expected ROOT/train/CLASS/*.JPEG and ROOT/val/CLASS/*.JPEG, as torchvision's ImageFolder";

std::string first_bytes_hex(const std::uint8_t* data, std::size_t size) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", data[i]);
    out += buf;
  }
  return out.empty() ? "none" : out;
}

// One decompressor per thread: a TurboJPEG handle is not safe to share.
tjhandle decompressor() {
  struct Handle {
    tjhandle h = tjInitDecompress();
    ~Handle() {
      if (h) tjDestroy(h);
    }
  };
  thread_local Handle handle;
  if (!handle.h) throw DataError(std::string("cannot start the JPEG decoder: ") + tjGetErrorStr2(nullptr));
  return handle.h;
}

RgbImage decode_jpeg(const std::string& path, const std::uint8_t* data, std::size_t size, std::int64_t min_side) {
  tjhandle tj = decompressor();
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(size), &width, &height, &subsamp, &colorspace) != 0) {
    fail_file(path, std::string("corrupt JPEG header: ") + tjGetErrorStr2(tj));
  }
  // The smallest DCT scale (1/8 .. 1) whose shorter side still reaches min_side: decoding a 2000-pixel photo
  // at 1/2 scale is several times faster and the resize that follows shrinks it anyway.
  int n_factors = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&n_factors);
  int out_w = width, out_h = height;
  if (min_side > 0) {
    for (int k = 0; k < n_factors; ++k) {
      const tjscalingfactor f = factors[k];
      if (f.num > f.denom) continue;
      const int w = TJSCALED(width, f), h = TJSCALED(height, f);
      if (std::min(w, h) >= min_side && static_cast<std::int64_t>(w) * h < static_cast<std::int64_t>(out_w) * out_h) {
        out_w = w;
        out_h = h;
      }
    }
  }
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int channels = cmyk ? 4 : 3;
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(out_w) * out_h * channels);
  if (tjDecompress2(tj, data, static_cast<unsigned long>(size), raw.data(), out_w, 0, out_h,
                    cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0) {
    const std::string msg = tjGetErrorStr2(tj);
    // Warnings ("extraneous bytes before marker", which a few ImageNet files carry) leave a whole image;
    // a premature end leaves grey where the data stopped, so it is an error.
    if (tjGetErrorCode(tj) != TJERR_WARNING || msg.find("Premature end") != std::string::npos) {
      fail_file(path, (msg.find("Premature end") != std::string::npos ? "truncated JPEG (" : "corrupt JPEG (") +
                          std::to_string(size) + " bytes, " + std::to_string(width) + "x" + std::to_string(height) +
                          "): " + msg);
    }
  }
  RgbImage img;
  img.height = out_h;
  img.width = out_w;
  if (!cmyk) {
    img.pixels = std::move(raw);
    return img;
  }
  // Adobe's inverted CMYK (what Photoshop writes, and what ImageNet's 22 CMYK files are): R = C·K/255, as PIL.
  img.pixels.resize(static_cast<std::size_t>(out_w) * out_h * 3);
  for (std::size_t p = 0, n = static_cast<std::size_t>(out_w) * out_h; p < n; ++p) {
    const unsigned k = raw[4 * p + 3];
    for (int c = 0; c < 3; ++c) img.pixels[3 * p + c] = static_cast<std::uint8_t>((raw[4 * p + c] * k + 127) / 255);
  }
  return img;
}

RgbImage decode_png(const std::string& path, const std::uint8_t* data, std::size_t size) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, data, size)) {
    fail_file(path, std::string("corrupt PNG: ") + png.message);
  }
  png.format = PNG_FORMAT_RGB;  // grey, palette and alpha (composited on black) all become RGB
  RgbImage img;
  img.height = png.height;
  img.width = png.width;
  img.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    const std::string msg = png.message;
    png_image_free(&png);
    fail_file(path, "corrupt or truncated PNG (" + std::to_string(size) + " bytes): " + msg);
  }
  return img;
}

// PIL's resampling weights for the triangle (bilinear) filter: output sample o of `out_n` covers input
// [(o + 0.5)·s ± support], support = max(s, 1), s = in_n / out_n.
struct Taps {
  std::vector<std::int64_t> first;  // per output sample: first input index
  std::vector<std::vector<float>> weights;
};

Taps triangle_taps(std::int64_t in_n, std::int64_t out_n, std::int64_t o0, std::int64_t o1) {
  Taps t;
  const double scale = static_cast<double>(in_n) / static_cast<double>(out_n);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // the triangle's radius is 1 at unit scale
  for (std::int64_t o = o0; o < o1; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const auto lo = std::max<std::int64_t>(0, static_cast<std::int64_t>(center - support + 0.5));
    const auto hi = std::min<std::int64_t>(in_n, static_cast<std::int64_t>(center + support + 0.5));
    std::vector<float> w;
    double total = 0;
    for (std::int64_t i = lo; i < hi; ++i) {
      const double x = std::fabs((static_cast<double>(i) - center + 0.5) / filter_scale);
      const double v = x < 1.0 ? 1.0 - x : 0.0;
      w.push_back(static_cast<float>(v));
      total += v;
    }
    if (total > 0) {
      for (float& v : w) v = static_cast<float>(v / total);
    }
    t.first.push_back(lo);
    t.weights.push_back(std::move(w));
  }
  return t;
}

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

RgbImage decode_image(const std::string& path, const std::uint8_t* data, std::size_t size, std::int64_t min_side) {
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return decode_jpeg(path, data, size, min_side);
  static const std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return decode_png(path, data, size);
  fail_at(path, 0,
          "not a JPEG or PNG image (" + std::to_string(size) + " bytes, starting " + first_bytes_hex(data, size) +
              "; a JPEG starts ff d8 ff, a PNG 89 50 4e 47)");
}

void resize_center_crop(const RgbImage& in, const ImageGeometry& g, std::uint8_t* out) {
  const std::int64_t h = in.height, w = in.width, s = g.image_size;
  // torchvision's Resize(int): the shorter side becomes `resize`, the longer one int(resize · long / short).
  std::int64_t rh = g.resize, rw = g.resize;
  if (w < h) rh = static_cast<std::int64_t>(static_cast<double>(g.resize) * static_cast<double>(h) / static_cast<double>(w));
  if (h < w) rw = static_cast<std::int64_t>(static_cast<double>(g.resize) * static_cast<double>(w) / static_cast<double>(h));
  // CenterCrop: top = round((rh - s) / 2) with Python's round, halves to even (the default rounding mode).
  const auto top = static_cast<std::int64_t>(std::nearbyint(static_cast<double>(rh - s) / 2.0));
  const auto left = static_cast<std::int64_t>(std::nearbyint(static_cast<double>(rw - s) / 2.0));
  const Taps tx = triangle_taps(w, rw, left, left + s), ty = triangle_taps(h, rh, top, top + s);
  // Only the input rows the vertical taps touch need the horizontal pass.
  const std::int64_t row0 = ty.first.front();
  std::int64_t row1 = row0;
  for (std::size_t k = 0; k < ty.first.size(); ++k) {
    row1 = std::max<std::int64_t>(row1, ty.first[k] + static_cast<std::int64_t>(ty.weights[k].size()));
  }
  std::vector<float> rows(static_cast<std::size_t>((row1 - row0) * s * 3));
  for (std::int64_t y = row0; y < row1; ++y) {
    const std::uint8_t* src = in.pixels.data() + y * w * 3;
    float* dst = rows.data() + (y - row0) * s * 3;
    for (std::int64_t x = 0; x < s; ++x) {
      float acc[3] = {0, 0, 0};
      const auto& wt = tx.weights[static_cast<std::size_t>(x)];
      const std::uint8_t* p = src + tx.first[static_cast<std::size_t>(x)] * 3;
      for (std::size_t k = 0; k < wt.size(); ++k) {
        for (int c = 0; c < 3; ++c) acc[c] += wt[k] * static_cast<float>(p[3 * k + c]);
      }
      for (int c = 0; c < 3; ++c) dst[3 * x + c] = acc[c];
    }
  }
  const std::int64_t plane = s * s;
  for (std::int64_t y = 0; y < s; ++y) {
    const auto& wt = ty.weights[static_cast<std::size_t>(y)];
    const std::int64_t first = ty.first[static_cast<std::size_t>(y)] - row0;
    for (std::int64_t x = 0; x < s; ++x) {
      for (int c = 0; c < 3; ++c) {
        float acc = 0;
        for (std::size_t k = 0; k < wt.size(); ++k) acc += wt[k] * rows[static_cast<std::size_t>(((first + static_cast<std::int64_t>(k)) * s + x) * 3 + c)];
        out[c * plane + y * s + x] = static_cast<std::uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
    }
  }
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

void FileImages::read(std::int64_t i, std::uint8_t* out) const {
  const std::string& path = files_.at(static_cast<std::size_t>(i));
  const FileBytes f = read_file_bytes(path);
  // DCT scaling only down to twice the target: the resize that follows still antialiases over >= 2 pixels,
  // and the result stays within a level or two of a full decode (tested against torchvision on PIL).
  const RgbImage img = decode_image(path, f.bytes.data(), f.bytes.size(), 2 * geometry_.resize);
  resize_center_crop(img, geometry_, out);
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
                ", centre crop " + std::to_string(geometry.image_size) + ")";
    ds.channels = 3;
    ds.height = ds.width = geometry.image_size;
    ds.num_classes = static_cast<std::int64_t>(train.classes.size());
    ds.labels = std::move(l.labels);
    ds.lazy = std::make_shared<FileImages>(std::move(l.files), geometry);
    return ds;
  };
  splits.train = make(train, "train");
  splits.test = make(val, "val");
  return splits;
}

}  // namespace acm::data
