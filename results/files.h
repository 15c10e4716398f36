// Plain POSIX file helpers for the parts that only read and write files (results, sweeps). std::filesystem is
// avoided on purpose (README, Known pitfalls).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace acm::results {

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// The whole file; std::runtime_error naming the file when it cannot be read.
std::string read_text(const std::string& path);
// Write to a temporary file beside `path`, fsync, rename: a reader sees the old file or the new one, never a
// part of it.
void write_text_atomic(const std::string& path, const std::string& text);
// mkdir -p.
void make_dirs(const std::string& path);
// Sorted names in a folder (no "." and ".."); empty when it cannot be opened.
std::vector<std::string> list_dir(const std::string& dir);
// Every folder under `root` (itself included), depth first in sorted order, skipping names that start with '.'.
void walk_dirs(const std::string& root, const std::function<void(const std::string&)>& visit);
std::string join_path(const std::string& a, const std::string& b);

}  // namespace acm::results
