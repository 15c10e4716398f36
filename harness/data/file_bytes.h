// Whole-file reads with transparent gzip: data sets ship as .gz (Debian's Fashion-MNIST) or plain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acm::data {

struct FileBytes {
  std::string path;                 // the file actually read
  bool gzipped = false;             // true when `path` held a gzip stream that was inflated
  std::vector<std::uint8_t> bytes;  // decompressed content
};

// Reads `path`, inflating it when it starts with the gzip magic. Errors (DataError) name the file: missing,
// unreadable, empty, corrupt gzip (with the compressed byte offset), truncated gzip.
FileBytes read_file_bytes(const std::string& path);

// Reads a plain file (no gzip) into `bytes`, reusing its storage: the image reader's path, one file per image.
// Errors as read_file_bytes.
void read_file_into(const std::string& path, std::vector<std::uint8_t>& bytes);

// The first of `path` and `path + ".gz"` that exists, or a DataError naming both and `what_for`.
std::string find_plain_or_gz(const std::string& path, const std::string& what_for);

bool file_exists(const std::string& path);

}  // namespace acm::data
