#include "common/hash.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace acm::hash {

std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string hex16(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string of_text(const std::string& text) { return hex16(fnv1a(text.data(), text.size())); }

std::string short_text(const std::string& text) { return of_text(text).substr(0, 8); }

std::string of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open to hash: " + std::strerror(errno));
  std::uint64_t h = kFnvOffset;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    h = fnv1a(buf, static_cast<std::size_t>(in.gcount()), h);
  }
  if (in.bad()) throw std::runtime_error(path + ": read failed while hashing");
  return hex16(h);
}

std::string of_json(const nlohmann::json& value) {
  const std::string dump = value.dump();
  return hex16(splitmix64(fnv1a(dump.data(), dump.size())));
}

}  // namespace acm::hash
