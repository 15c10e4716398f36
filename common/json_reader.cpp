#include "common/json_reader.h"

#include <algorithm>

#include <fstream>

#include <cmath>
#include <cstdio>

namespace acm::config {

const nlohmann::json JsonReader::kEmpty = nlohmann::json::object();

int exit_code_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const ConfigError&) {
    return 2;
  } catch (...) {
    return 1;
  }
}

namespace {
template <class Error>
nlohmann::json parse_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read " + what);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}
}  // namespace

nlohmann::json read_json_file(const std::string& path) { return parse_file<std::runtime_error>(path, "file"); }

nlohmann::json read_config_file(const std::string& path) { return parse_file<ConfigError>(path, "config file"); }

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

JsonReader::JsonReader(const nlohmann::json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    throw ConfigError(path_ + ": expected a JSON object, found " + std::string(object_.type_name()) + " " +
                      object_.dump().substr(0, 60));
  }
}

bool JsonReader::has(const std::string& key) const { return object_.contains(key); }

const nlohmann::json* JsonReader::find(const std::string& key) {
  seen_.insert(key);
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

void JsonReader::fail(const std::string& key, const std::string& expected,
                      const nlohmann::json& found) const {
  std::string shown = found.dump();
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  throw ConfigError(path_of(key) + ": expected " + expected + ", found " + shown);
}

std::string JsonReader::get_string(const std::string& key, const std::string& fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "a string", *v);
  return v->get<std::string>();
}

std::string JsonReader::get_choice(const std::string& key, const std::string& fallback,
                                   const std::vector<std::string>& allowed) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (v->is_string()) {
    const auto s = v->get<std::string>();
    for (const auto& a : allowed) {
      if (a == s) return s;
    }
  }
  fail(key, "one of " + join(allowed), *v);
}

std::vector<std::string> JsonReader::get_choices(const std::string& key, const std::vector<std::string>& fallback,
                                                const std::vector<std::string>& allowed) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "an array of " + join(allowed), *v);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& item = (*v)[i];
    const bool known =
        item.is_string() && std::find(allowed.begin(), allowed.end(), item.get<std::string>()) != allowed.end();
    if (!known) fail(key + "[" + std::to_string(i) + "]", "one of " + join(allowed), item);
    if (std::find(out.begin(), out.end(), item.get<std::string>()) != out.end())
      fail(key + "[" + std::to_string(i) + "]", "each name once", item);
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::int64_t JsonReader::get_int(const std::string& key, std::int64_t fallback, std::int64_t min,
                                 std::int64_t max) {
  const auto* v = find(key);
  if (!v) return fallback;
  const std::string range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  // 3.0 is an integer a person wrote; 3.5 is not.
  const bool whole_float = v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                           std::abs(v->get<double>()) < 9e15;
  if (!v->is_number_integer() && !whole_float) fail(key, range, *v);
  const auto i =
      v->is_number_integer() ? v->get<std::int64_t>() : static_cast<std::int64_t>(v->get<double>());
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail(key, range, *v);
  if (i < min || i > max) fail(key, range, *v);
  return i;
}

double JsonReader::get_double(const std::string& key, double fallback, double min, double max) {
  const auto* v = find(key);
  if (!v) return fallback;
  auto num = [](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return std::string(buf);
  };
  const std::string range = "a number in [" + num(min) + ", " + num(max) + "]";
  if (!v->is_number()) fail(key, range, *v);
  const double d = v->get<double>();
  if (!(d >= min && d <= max)) fail(key, range, *v);
  return d;
}

bool JsonReader::get_bool(const std::string& key, bool fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "true or false", *v);
  return v->get<bool>();
}

std::vector<double> JsonReader::get_doubles(const std::string& key, const std::vector<double>& fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "an array of numbers", *v);
  std::vector<double> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_number()) fail(key + "[" + std::to_string(i) + "]", "a number", (*v)[i]);
    out.push_back((*v)[i].get<double>());
  }
  return out;
}

JsonReader JsonReader::child(const std::string& key) {
  const auto* v = find(key);
  if (!v) return JsonReader(kEmpty, path_of(key));
  if (!v->is_object()) fail(key, "an object", *v);
  return JsonReader(*v, path_of(key));
}

void JsonReader::finish() const {
  std::vector<std::string> unknown, known(seen_.begin(), seen_.end());
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (!seen_.count(it.key())) unknown.push_back(it.key());
  }
  if (!unknown.empty()) {
    throw ConfigError(path_of(unknown.front()) + ": unknown field; allowed fields here: " + join(known));
  }
}

}  // namespace acm::config
