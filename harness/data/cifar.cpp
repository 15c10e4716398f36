#include "harness/data/cifar.h"

#include <algorithm>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"

namespace acm::data {

namespace {

constexpr std::int64_t kPixels = 3 * 32 * 32;

std::string resolve_dir(const std::string& dir, const char* probe, const char* subfolder) {
  if (file_exists(dir + "/" + probe) || file_exists(dir + "/" + probe + ".gz")) return dir;
  const std::string sub = dir + "/" + subfolder;
  if (file_exists(sub + "/" + probe) || file_exists(sub + "/" + probe + ".gz")) return sub;
  return dir;  // the missing-file error below names the file expected here
}

Dataset concat(std::vector<Dataset> parts, const std::string& name) {
  Dataset out = std::move(parts.front());
  out.name = name;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    out.source += " + " + parts[i].source;
    out.images.insert(out.images.end(), parts[i].images.begin(), parts[i].images.end());
    out.labels.insert(out.labels.end(), parts[i].labels.begin(), parts[i].labels.end());
  }
  return out;
}

}  // namespace

Dataset read_cifar_file(const std::string& path, int label_bytes, int label_index, std::int64_t num_classes,
                        const std::string& name) {
  const FileBytes f = read_file_bytes(path);
  const std::int64_t record = label_bytes + kPixels;
  const auto size = static_cast<std::int64_t>(f.bytes.size());
  const std::string layout = std::to_string(record) + "-byte records (" + std::to_string(label_bytes) +
                             " label byte" + (label_bytes > 1 ? "s" : "") + " + 3072 pixel bytes)";
  if (size % record != 0) {
    const std::int64_t whole = size / record;
    fail_at(f.path, whole * record,
            "file size " + std::to_string(size) + " is not a whole number of " + layout + ": record " +
                std::to_string(whole) + " starting here is truncated, " +
                std::to_string(record - size % record) + " bytes short");
  }
  Dataset ds;
  ds.name = name;
  ds.source = f.path;
  ds.channels = 3;
  ds.height = 32;
  ds.width = 32;
  ds.num_classes = num_classes;
  const std::int64_t n = size / record;
  ds.images.resize(static_cast<std::size_t>(n * kPixels));
  ds.labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint8_t* r = f.bytes.data() + i * record;
    const std::int64_t y = r[label_index];
    if (y >= num_classes) {
      fail_at(f.path, i * record + label_index,
              "record " + std::to_string(i) + ": label " + std::to_string(y) + " outside 0.." +
                  std::to_string(num_classes - 1) + " (is this the right CIFAR variant? expected " + layout +
                  ")");
    }
    ds.labels[static_cast<std::size_t>(i)] = y;
    std::copy_n(r + label_bytes, kPixels, ds.images.data() + i * kPixels);
  }
  return ds;
}

DatasetSplits load_cifar10_dir(const std::string& dir_in) {
  const std::string dir = resolve_dir(dir_in, "data_batch_1.bin", "cifar-10-batches-bin");
  const std::string why =
      "CIFAR-10 binary version expects data_batch_1.bin .. data_batch_5.bin and test_batch.bin";
  std::vector<Dataset> parts;
  for (int b = 1; b <= 5; ++b) {
    const std::string p = find_plain_or_gz(dir + "/data_batch_" + std::to_string(b) + ".bin", why);
    parts.push_back(read_cifar_file(p, 1, 0, 10, "cifar10/train"));
    if (parts.back().size() != parts.front().size()) {
      throw DataError("image counts disagree between CIFAR-10 batches: " + p + " holds " +
                      std::to_string(parts.back().size()) + " records but " + parts.front().source +
                      " holds " + std::to_string(parts.front().size()));
    }
  }
  DatasetSplits s;
  s.train = concat(std::move(parts), "cifar10/train");
  s.test = read_cifar_file(find_plain_or_gz(dir + "/test_batch.bin", why), 1, 0, 10, "cifar10/test");
  return s;
}

DatasetSplits load_cifar100_dir(const std::string& dir_in, Cifar100Labels labels) {
  const std::string dir = resolve_dir(dir_in, "train.bin", "cifar-100-binary");
  const std::string why = "CIFAR-100 binary version expects train.bin and test.bin";
  const int index = labels == Cifar100Labels::kCoarse ? 0 : 1;
  const std::int64_t classes = labels == Cifar100Labels::kCoarse ? 20 : 100;
  DatasetSplits s;
  s.train = read_cifar_file(find_plain_or_gz(dir + "/train.bin", why), 2, index, classes, "cifar100/train");
  s.test = read_cifar_file(find_plain_or_gz(dir + "/test.bin", why), 2, index, classes, "cifar100/test");
  return s;
}

}  // namespace acm::data
