// Errors from reading data files: each names the file and, where it applies, the byte offset or record.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace acm::data {

class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "FILE: offset N: what" — the one format every loader uses, so users learn one shape of message.
[[noreturn]] void fail_at(const std::string& file, std::int64_t offset, const std::string& what);
[[noreturn]] void fail_file(const std::string& file, const std::string& what);

}  // namespace acm::data
