// MNIST / Fashion-MNIST IDX files (LeCun's format), gzipped or not.
// Format: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte with the number of dimensions, then one
// big-endian uint32 per dimension, then the data in row-major order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/data/dataset.h"

namespace acm::data {

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an unsigned-byte IDX file with `expected_ndim` dimensions, validating magic, header and data size.
IdxArray read_idx(const std::string& path, int expected_ndim);

// Pairs an images file (N×H×W) with a labels file (N), checking that counts agree and labels are <
// num_classes.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      std::int64_t num_classes, const std::string& name);

// The standard file names in `dir` (train-images-idx3-ubyte[.gz], ..., t10k-labels-idx1-ubyte[.gz]).
DatasetSplits load_mnist_dir(const std::string& dir, const std::string& name);

}  // namespace acm::data
