#include "harness/data/idx.h"

#include <gtest/gtest.h>

#include "harness/data/error.h"
#include "harness/data/file_bytes.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::data {
namespace {

using testing::Bytes;
using testing::TempDir;

TEST(Idx, ReadsPlainAndGzippedFolders) {
  for (bool gz : {false, true}) {
    TempDir dir;
    testing::write_mnist_dir(dir.path(), 30, 12, gz);
    const DatasetSplits s = load_mnist_dir(dir.path(), "fashion-mnist");
    ASSERT_EQ(s.train.size(), 30);
    ASSERT_EQ(s.test.size(), 12);
    EXPECT_EQ(s.train.channels, 1);
    EXPECT_EQ(s.train.height, 28);
    EXPECT_EQ(s.train.width, 28);
    EXPECT_EQ(s.train.num_classes, 10);
    EXPECT_EQ(s.train.labels[13], 3);
    // pixel (i, y, x) = (i + y + x) % 256
    EXPECT_EQ(s.train.image(5)[2 * 28 + 3], 10);
    EXPECT_EQ(s.test.image(11)[27 * 28 + 27], 65);
  }
}

TEST(Idx, ReadsDebianFashionMnistWhenInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!file_exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const DatasetSplits s = load_mnist_dir(dir, "fashion-mnist");
  EXPECT_EQ(s.train.size(), 60000);
  EXPECT_EQ(s.test.size(), 10000);
  const auto hist = label_histogram(s.train);
  for (auto h : hist) EXPECT_EQ(h, 6000);  // Fashion-MNIST is balanced
}

TEST(Idx, BadMagicIsNotAnIdxFile) {
  TempDir dir;
  testing::write_bytes(dir.file("png"), {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0});
  testing::expect_error<DataError>(
      [&] { read_idx(dir.file("png"), 3); },
      {dir.file("png"), "offset 0", "bad IDX magic number 0x89504E47", "expected 0x00000803"});
}

TEST(Idx, LabelsFileWhereImagesExpectedSaysDimensions) {
  TempDir dir;
  testing::write_bytes(dir.file("labels"), testing::idx_labels(5, 10));
  testing::expect_error<DataError>([&] { read_idx(dir.file("labels"), 3); },
                                   {"offset 3", "has 1 dimensions", "expected 0x00000803"});
}

TEST(Idx, UnsupportedElementTypeIsNamed) {
  TempDir dir;
  Bytes b = testing::idx_labels(4, 10);
  b[2] = 0x0D;
  testing::write_bytes(dir.file("f32"), b);
  testing::expect_error<DataError>([&] { read_idx(dir.file("f32"), 1); },
                                   {"offset 2", "float32", "not supported"});
}

TEST(Idx, TruncatedHeaderAndData) {
  TempDir dir;
  Bytes b = testing::idx_images(3, 28, 28);
  testing::write_bytes(dir.file("short"), Bytes(b.begin(), b.begin() + 10));
  testing::expect_error<DataError>([&] { read_idx(dir.file("short"), 3); },
                                   {"offset 10", "truncated IDX header", "16 header bytes"});
  b.resize(b.size() - 100);
  testing::write_bytes(dir.file("cut"), b);
  testing::expect_error<DataError>([&] { read_idx(dir.file("cut"), 3); },
                                   {"offset 16", "3x28x28 = 2352 data bytes", "file has 2252", "truncated"});
}

TEST(Idx, TrailingBytesAreRejected) {
  TempDir dir;
  Bytes b = testing::idx_labels(4, 10);
  b.push_back(0);
  testing::write_bytes(dir.file("long"), b);
  testing::expect_error<DataError>([&] { read_idx(dir.file("long"), 1); }, {"trailing bytes"});
}

TEST(Idx, TruncatedGzipInsideFolderNamesFile) {
  TempDir dir;
  testing::write_mnist_dir(dir.path(), 20, 5, true);
  Bytes gz = testing::gzip(testing::idx_images(20, 28, 28));
  gz.resize(gz.size() - 30);
  testing::write_bytes(dir.file("train-images-idx3-ubyte.gz"), gz);
  testing::expect_error<DataError>([&] { load_mnist_dir(dir.path(), "mnist"); },
                                   {dir.file("train-images-idx3-ubyte.gz"), "truncated gzip"});
}

TEST(Idx, CountsMustAgreeBetweenImagesAndLabels) {
  TempDir dir;
  testing::write_mnist_dir(dir.path(), 20, 5, false);
  testing::write_bytes(dir.file("train-labels-idx1-ubyte"), testing::idx_labels(19, 10));
  testing::expect_error<DataError>(
      [&] { load_mnist_dir(dir.path(), "mnist"); },
      {"counts disagree", "holds 20 images", "holds 19 labels", dir.file("train-labels-idx1-ubyte")});
}

TEST(Idx, LabelOutOfRangeNamesRecordAndOffset) {
  TempDir dir;
  testing::write_mnist_dir(dir.path(), 20, 5, false);
  Bytes labels = testing::idx_labels(20, 10);
  labels[8 + 7] = 12;
  testing::write_bytes(dir.file("train-labels-idx1-ubyte"), labels);
  testing::expect_error<DataError>(
      [&] { load_mnist_dir(dir.path(), "mnist"); },
      {dir.file("train-labels-idx1-ubyte"), "offset 15", "record 7", "label 12 outside 0..9"});
}

TEST(Idx, MissingFileNamesBothSpellings) {
  TempDir dir;
  testing::write_mnist_dir(dir.path(), 20, 5, false);
  std::remove(dir.file("t10k-images-idx3-ubyte").c_str());
  testing::expect_error<DataError>(
      [&] { load_mnist_dir(dir.path(), "fashion-mnist"); },
      {"missing file", dir.file("t10k-images-idx3-ubyte"), "t10k-images-idx3-ubyte.gz"});
}

TEST(Idx, EmptyFileIsAnError) {
  TempDir dir;
  testing::write_mnist_dir(dir.path(), 20, 5, false);
  testing::write_bytes(dir.file("train-labels-idx1-ubyte"), {});
  testing::expect_error<DataError>([&] { load_mnist_dir(dir.path(), "mnist"); },
                                   {dir.file("train-labels-idx1-ubyte"), "empty"});
}

}  // namespace
}  // namespace acm::data
