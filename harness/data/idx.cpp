#include "harness/data/idx.h"

#include <cstdio>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"

namespace acm::data {

namespace {

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

const char* idx_type_name(std::uint8_t t) {
  switch (t) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown type";
  }
}

}  // namespace

IdxArray read_idx(const std::string& path, int expected_ndim) {
  const FileBytes f = read_file_bytes(path);
  const auto& b = f.bytes;
  const std::string shown = path + (f.gzipped ? " (inflated)" : "");
  const std::uint32_t expected_magic = 0x00000800u | static_cast<std::uint32_t>(expected_ndim);
  const std::string expected = hex32(expected_magic) + " (unsigned-byte IDX, " +
                               std::to_string(expected_ndim) +
                               (expected_ndim == 1 ? " dimension)" : " dimensions)");
  if (b.size() < 4) {
    fail_at(shown, 0,
            "file holds " + std::to_string(b.size()) +
                " bytes, too short for an IDX magic number; expected " + expected);
  }
  const std::uint32_t magic =
      (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  if (b[0] != 0 || b[1] != 0) {
    fail_at(shown, 0,
            "bad IDX magic number " + hex32(magic) + "; expected " + expected + " — not an IDX file");
  }
  if (b[2] != 0x08) {
    fail_at(shown, 2,
            "IDX element type " + hex32(b[2]).substr(8) + " (" + idx_type_name(b[2]) +
                ") is not supported; expected " + expected);
  }
  if (b[3] != expected_ndim) {
    fail_at(shown, 3, "IDX file has " + std::to_string(b[3]) + " dimensions; expected " + expected);
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(expected_ndim);
  if (b.size() < header) {
    fail_at(shown, static_cast<std::int64_t>(b.size()),
            "truncated IDX header: " + std::to_string(header) + " header bytes expected, file has " +
                std::to_string(b.size()));
  }
  IdxArray a;
  std::uint64_t count = 1;
  for (int d = 0; d < expected_ndim; ++d) {
    const std::uint8_t* p = b.data() + 4 + 4 * d;
    const std::uint32_t n =
        (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    if (n == 0)
      fail_at(shown, 4 + 4 * d, "dimension " + std::to_string(d) + " is 0; expected a positive size");
    a.dims.push_back(n);
    count *= n;
  }
  const std::uint64_t have = b.size() - header;
  if (have != count) {
    std::string dims;
    for (auto d : a.dims) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    fail_at(shown, static_cast<std::int64_t>(header),
            "header declares " + dims + " = " + std::to_string(count) + " data bytes, file has " +
                std::to_string(have) + (have < count ? " (truncated)" : " (trailing bytes)"));
  }
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      std::int64_t num_classes, const std::string& name) {
  IdxArray img = read_idx(images_path, 3);
  IdxArray lab = read_idx(labels_path, 1);
  if (img.dims[0] != lab.dims[0]) {
    throw DataError("image and label counts disagree: " + images_path + " holds " +
                    std::to_string(img.dims[0]) + " images but " + labels_path + " holds " +
                    std::to_string(lab.dims[0]) + " labels");
  }
  Dataset ds;
  ds.name = name;
  ds.source = images_path + " + " + labels_path;
  ds.channels = 1;
  ds.height = img.dims[1];
  ds.width = img.dims[2];
  ds.num_classes = num_classes;
  ds.images = std::move(img.data);
  ds.labels.reserve(lab.data.size());
  for (std::size_t i = 0; i < lab.data.size(); ++i) {
    if (lab.data[i] >= num_classes) {
      fail_at(labels_path, static_cast<std::int64_t>(8 + i),
              "record " + std::to_string(i) + ": label " + std::to_string(lab.data[i]) + " outside 0.." +
                  std::to_string(num_classes - 1));
    }
    ds.labels.push_back(lab.data[i]);
  }
  return ds;
}

DatasetSplits load_mnist_dir(const std::string& dir, const std::string& name) {
  const std::string why =
      "the " + name +
      " folder must hold the four standard IDX files (train-images-idx3-ubyte, "
      "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), gzipped or not";
  auto file = [&](const char* base) { return find_plain_or_gz(dir + "/" + base, why); };
  DatasetSplits s;
  s.train =
      load_idx_pair(file("train-images-idx3-ubyte"), file("train-labels-idx1-ubyte"), 10, name + "/train");
  s.test = load_idx_pair(file("t10k-images-idx3-ubyte"), file("t10k-labels-idx1-ubyte"), 10, name + "/test");
  if (s.train.height != s.test.height || s.train.width != s.test.width) {
    throw DataError(dir + ": train images are " + std::to_string(s.train.height) + "x" +
                    std::to_string(s.train.width) + " but test images are " + std::to_string(s.test.height) +
                    "x" + std::to_string(s.test.width));
  }
  return s;
}

}  // namespace acm::data
