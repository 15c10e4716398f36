#include "harness/data/cifar.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "harness/data/error.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::data {
namespace {

using testing::Bytes;
using testing::TempDir;

void write_cifar10(const std::string& dir, std::uint32_t per_batch, std::uint32_t test) {
  for (int b = 1; b <= 5; ++b) {
    testing::write_bytes(dir + "/data_batch_" + std::to_string(b) + ".bin",
                         testing::cifar_records(per_batch, 1, {10}));
  }
  testing::write_bytes(dir + "/test_batch.bin", testing::cifar_records(test, 1, {10}));
}

TEST(Cifar10, ReadsAllBatchesInOrder) {
  TempDir dir;
  write_cifar10(dir.path(), 4, 3);
  const DatasetSplits s = load_cifar10_dir(dir.path());
  ASSERT_EQ(s.train.size(), 20);
  ASSERT_EQ(s.test.size(), 3);
  EXPECT_EQ(s.train.channels, 3);
  EXPECT_EQ(s.train.num_classes, 10);
  // record i of each batch has label i % 10 and pixel k = (7i + k) % 256; batch 2 record 1 is sample 5
  EXPECT_EQ(s.train.labels[5], 1);
  EXPECT_EQ(s.train.image(5)[0], 7);
  EXPECT_EQ(s.train.image(5)[1024 + 5], (7 + 1024 + 5) % 256);  // green plane
}

TEST(Cifar10, FindsTheExtractedSubfolder) {
  TempDir dir;
  testing::make_dir(dir.file("cifar-10-batches-bin"));
  write_cifar10(dir.file("cifar-10-batches-bin"), 2, 2);
  EXPECT_EQ(load_cifar10_dir(dir.path()).train.size(), 10);
}

TEST(Cifar10, TruncatedRecordNamesOffset) {
  TempDir dir;
  write_cifar10(dir.path(), 4, 3);
  Bytes b = testing::cifar_records(4, 1, {10});
  b.resize(b.size() - 10);
  testing::write_bytes(dir.file("data_batch_3.bin"), b);
  testing::expect_error<DataError>(
      [&] { load_cifar10_dir(dir.path()); },
      {dir.file("data_batch_3.bin"), "offset 9219", "3073-byte records", "record 3", "10 bytes short"});
}

TEST(Cifar10, LabelOutOfRange) {
  TempDir dir;
  write_cifar10(dir.path(), 4, 3);
  Bytes b = testing::cifar_records(3, 1, {10});
  b[2 * 3073] = 10;
  testing::write_bytes(dir.file("test_batch.bin"), b);
  testing::expect_error<DataError>(
      [&] { load_cifar10_dir(dir.path()); },
      {dir.file("test_batch.bin"), "offset 6146", "record 2", "label 10 outside 0..9"});
}

TEST(Cifar10, BatchCountsMustAgree) {
  TempDir dir;
  write_cifar10(dir.path(), 4, 3);
  testing::write_bytes(dir.file("data_batch_4.bin"), testing::cifar_records(3, 1, {10}));
  testing::expect_error<DataError>([&] { load_cifar10_dir(dir.path()); },
                                   {"disagree", dir.file("data_batch_4.bin"), "3 records", "holds 4"});
}

TEST(Cifar10, MissingAndEmptyFiles) {
  TempDir dir;
  write_cifar10(dir.path(), 2, 2);
  std::remove(dir.file("data_batch_5.bin").c_str());
  testing::expect_error<DataError>(
      [&] { load_cifar10_dir(dir.path()); },
      {"missing file", dir.file("data_batch_5.bin"), "data_batch_1.bin .. data_batch_5.bin"});
  testing::write_bytes(dir.file("data_batch_5.bin"), {});
  testing::expect_error<DataError>([&] { load_cifar10_dir(dir.path()); },
                                   {dir.file("data_batch_5.bin"), "empty"});
}

TEST(Cifar10, Cifar100FileIsRejectedAsWrongFormat) {
  TempDir dir;
  // 3 CIFAR-100 records (3074 bytes each) are not a whole number of CIFAR-10 records.
  testing::write_bytes(dir.file("x.bin"), testing::cifar_records(3, 2, {20, 100}));
  testing::expect_error<DataError>([&] { read_cifar_file(dir.file("x.bin"), 1, 0, 10, "cifar10"); },
                                   {"not a whole number of 3073-byte records"});
}

TEST(Cifar100, FineAndCoarseLabels) {
  TempDir dir;
  testing::write_bytes(dir.file("train.bin"), testing::cifar_records(150, 2, {20, 100}));
  testing::write_bytes(dir.file("test.bin"), testing::cifar_records(30, 2, {20, 100}));
  const DatasetSplits fine = load_cifar100_dir(dir.path(), Cifar100Labels::kFine);
  const DatasetSplits coarse = load_cifar100_dir(dir.path(), Cifar100Labels::kCoarse);
  EXPECT_EQ(fine.train.num_classes, 100);
  EXPECT_EQ(coarse.train.num_classes, 20);
  EXPECT_EQ(fine.train.labels[123], 23);
  EXPECT_EQ(coarse.train.labels[123], 3);
  EXPECT_EQ(fine.train.image(2)[0], 14);
  EXPECT_EQ(fine.test.size(), 30);
}

TEST(Cifar100, CoarseLabelOutOfRange) {
  TempDir dir;
  Bytes b = testing::cifar_records(5, 2, {20, 100});
  b[4 * 3074] = 20;  // coarse byte of record 4
  testing::write_bytes(dir.file("train.bin"), b);
  testing::write_bytes(dir.file("test.bin"), testing::cifar_records(5, 2, {20, 100}));
  testing::expect_error<DataError>(
      [&] { load_cifar100_dir(dir.path(), Cifar100Labels::kCoarse); },
      {dir.file("train.bin"), "offset 12296", "record 4", "label 20 outside 0..19"});
  // The fine label of that record is fine.
  EXPECT_EQ(load_cifar100_dir(dir.path(), Cifar100Labels::kFine).train.size(), 5);
}

TEST(Cifar100, GzippedFilesAreRead) {
  TempDir dir;
  testing::write_bytes(dir.file("train.bin.gz"), testing::gzip(testing::cifar_records(10, 2, {20, 100})));
  testing::write_bytes(dir.file("test.bin"), testing::cifar_records(4, 2, {20, 100}));
  EXPECT_EQ(load_cifar100_dir(dir.path(), Cifar100Labels::kFine).train.size(), 10);
}

}  // namespace
}  // namespace acm::data
