#include "harness/data/file_bytes.h"

#include <gtest/gtest.h>

#include "harness/data/error.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::data {
namespace {

using testing::Bytes;
using testing::TempDir;

TEST(FileBytes, ReadsPlainAndGzipIdentically) {
  TempDir dir;
  Bytes content;
  for (int i = 0; i < 100000; ++i) content.push_back(static_cast<std::uint8_t>(i * 31));
  testing::write_bytes(dir.file("a"), content);
  testing::write_bytes(dir.file("a.gz"), testing::gzip(content));
  EXPECT_EQ(read_file_bytes(dir.file("a")).bytes, content);
  const FileBytes gz = read_file_bytes(dir.file("a.gz"));
  EXPECT_TRUE(gz.gzipped);
  EXPECT_EQ(gz.bytes, content);
}

TEST(FileBytes, ConcatenatedGzipMembersAreOneStream) {
  TempDir dir;
  Bytes a = {1, 2, 3}, b = {4, 5};
  Bytes both = testing::gzip(a);
  const Bytes gb = testing::gzip(b);
  both.insert(both.end(), gb.begin(), gb.end());
  testing::write_bytes(dir.file("ab.gz"), both);
  EXPECT_EQ(read_file_bytes(dir.file("ab.gz")).bytes, (Bytes{1, 2, 3, 4, 5}));
}

TEST(FileBytes, MissingFileIsNamed) {
  TempDir dir;
  testing::expect_error<DataError>([&] { read_file_bytes(dir.file("nope")); },
                                   {"missing file", dir.file("nope")});
  testing::expect_error<DataError>([&] { find_plain_or_gz(dir.file("nope"), "needed for X"); },
                                   {dir.file("nope"), dir.file("nope") + ".gz", "needed for X"});
}

TEST(FileBytes, EmptyFileIsAnError) {
  TempDir dir;
  testing::write_bytes(dir.file("empty"), {});
  testing::expect_error<DataError>([&] { read_file_bytes(dir.file("empty")); },
                                   {dir.file("empty"), "empty (0 bytes)"});
}

TEST(FileBytes, CorruptGzipNamesCompressedOffset) {
  TempDir dir;
  Bytes content(5000, 7);
  Bytes gz = testing::gzip(content);
  gz[12] ^= 0xFF;  // inside the deflate data, past the 10-byte gzip header
  gz[13] ^= 0xFF;
  testing::write_bytes(dir.file("bad.gz"), gz);
  testing::expect_error<DataError>([&] { read_file_bytes(dir.file("bad.gz")); },
                                   {dir.file("bad.gz"), "offset", "corrupt gzip"});
}

TEST(FileBytes, BadGzipChecksumIsCorrupt) {
  TempDir dir;
  Bytes gz = testing::gzip(Bytes(5000, 7));
  gz[gz.size() - 6] ^= 0x01;  // CRC32 trailer
  testing::write_bytes(dir.file("crc.gz"), gz);
  testing::expect_error<DataError>([&] { read_file_bytes(dir.file("crc.gz")); },
                                   {"corrupt gzip", "incorrect data check"});
}

TEST(FileBytes, TruncatedGzipIsNamed) {
  TempDir dir;
  Bytes content;
  for (int i = 0; i < 50000; ++i) content.push_back(static_cast<std::uint8_t>((i * 2654435761u) >> 24));
  Bytes gz = testing::gzip(content);
  gz.resize(gz.size() / 2);
  testing::write_bytes(dir.file("half.gz"), gz);
  testing::expect_error<DataError>(
      [&] { read_file_bytes(dir.file("half.gz")); },
      {dir.file("half.gz"), "truncated gzip", "offset " + std::to_string(gz.size())});
}

}  // namespace
}  // namespace acm::data
