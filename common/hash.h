// The project's one home for hashing: FNV-1a (64 bits) over bytes, a text, a file or a canonical JSON dump.
// Identities built from these (config hashes, run ids, extractor hashes in the attention cache's key) are
// written into result files and compared across runs, so the functions here never change their output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace acm::hash {

// Not the published FNV-1a basis (14695981039346656037): the first commit dropped its last digit, and every run
// id, config hash and extractor hash written since (checkpoints, sweep plans, committed results) uses this one.
// It hashes as well; changing it would orphan every existing run.
inline constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// FNV-1a over `n` bytes, continuing from `h`.
std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = kFnvOffset);
// 16 lower-case hex digits.
std::string hex16(std::uint64_t h);
// FNV-1a of a text, 16 hex digits; short_text: its first 8 (names a handful of groups apart in a table).
std::string of_text(const std::string& text);
std::string short_text(const std::string& text);
// FNV-1a of a file's bytes, 16 hex digits; std::runtime_error naming the file when it cannot be opened or read
// to its end.
std::string of_file(const std::string& path);
// A config's (or any JSON value's) identity: FNV-1a over the canonical dump (nlohmann sorts object keys),
// widened through splitmix64, 16 hex digits.
std::string of_json(const nlohmann::json& value);

}  // namespace acm::hash
