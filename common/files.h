// The project's one home for files: atomic writes with folder fsync, appends, folders, walking. Plain POSIX;
// std::filesystem is avoided on purpose (docs/pitfalls.md). Every error names the file.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace acm::fs {

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// The whole file; std::runtime_error naming the file when it cannot be read.
std::string read_text(const std::string& path);
// Writes to a temporary file beside `path`, fsync, rename, fsync of the folder: a reader sees the old file or
// the new one, never a part of it, and after a power loss the new one is there. `commit`, when given, is
// asked just before the rename; if it says no, the temporary file is removed, nothing is renamed and the call
// returns false (a fenced write: the writer lost the right to write here while the bytes went out).
bool write_file_atomic(const std::string& path, const std::string& bytes,
                       const std::function<bool()>& commit = nullptr);
// Appends `text` with one write() (lines from several processes never interleave) and fsyncs the file; the
// folder too when the file is new.
void append_synced(const std::string& path, const std::string& text);
// fsync of a folder, so that a rename or creation in it survives a power loss.
void sync_folder(const std::string& dir);
// mkdir -p.
void make_dirs(const std::string& path);
// The folder part of a path ("." when there is none).
std::string folder_of(const std::string& path);
// Sorted names in a folder (no "." and ".."); empty when it cannot be opened.
std::vector<std::string> list_dir(const std::string& dir);
// Every folder under `root` (itself included), depth first in sorted order, skipping names that start with '.'.
void walk_dirs(const std::string& root, const std::function<void(const std::string&)>& visit);
std::string join_path(const std::string& a, const std::string& b);

}  // namespace acm::fs
