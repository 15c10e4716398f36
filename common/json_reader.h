// Validated reading of JSON configuration: every error names the JSON path, what was expected and what was
// found, and unknown fields are rejected (a typo must never silently fall back to a default).
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace acm::config {

// A JSON file, whole: std::runtime_error naming the file when it cannot be read or is not valid JSON (with the
// parser's byte offset). read_config_file: the same, as a ConfigError (a config or spec the user gave).
nlohmann::json read_json_file(const std::string& path);
nlohmann::json read_config_file(const std::string& path);

class JsonReader {
 public:
  // `path` is how this object is named in messages, e.g. "$.dataset" or "run.json:$.dataset".
  JsonReader(const nlohmann::json& object, std::string path);

  bool has(const std::string& key) const;
  std::string path_of(const std::string& key) const { return path_ + "." + key; }
  const std::string& path() const { return path_; }

  std::string get_string(const std::string& key, const std::string& fallback);
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& allowed);
  // An array of distinct names, each one of `allowed`.
  std::vector<std::string> get_choices(const std::string& key, const std::vector<std::string>& fallback,
                                       const std::vector<std::string>& allowed);
  std::int64_t get_int(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  double get_double(const std::string& key, double fallback, double min, double max);
  bool get_bool(const std::string& key, bool fallback);
  std::vector<double> get_doubles(const std::string& key, const std::vector<double>& fallback);
  // A nested object (an empty one when absent).
  JsonReader child(const std::string& key);

  // Marks a field as known when the caller reads it itself (lists, free-form objects).
  void accept(const std::string& key) { seen_.insert(key); }
  // Call after reading every known field: throws for any field that was not read.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void fail(const std::string& key, const std::string& expected,
                         const nlohmann::json& found) const;

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string> seen_;
  static const nlohmann::json kEmpty;
};

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace acm::config
