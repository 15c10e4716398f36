// CIFAR-10 and CIFAR-100, "binary version" (Krizhevsky 2009):
//   CIFAR-10:  data_batch_1..5.bin, test_batch.bin; records of <1 label byte><3072 pixel bytes>
//   CIFAR-100: train.bin, test.bin;                 records of <coarse byte><fine byte><3072 pixel bytes>
// Pixels are 3×32×32, channel-major (1024 red, 1024 green, 1024 blue), rows top to bottom.
#pragma once

#include <string>

#include "harness/data/dataset.h"

namespace acm::data {

enum class Cifar100Labels { kFine, kCoarse };

// One CIFAR binary file. `label_bytes` is 1 (CIFAR-10) or 2 (CIFAR-100); `label_index` picks which label byte
// is the label; `num_classes` bounds it.
Dataset read_cifar_file(const std::string& path, int label_bytes, int label_index, std::int64_t num_classes,
                        const std::string& name);

// `dir` may be the extracted folder itself or its parent (cifar-10-batches-bin / cifar-100-binary).
DatasetSplits load_cifar10_dir(const std::string& dir);
DatasetSplits load_cifar100_dir(const std::string& dir, Cifar100Labels labels);

}  // namespace acm::data
