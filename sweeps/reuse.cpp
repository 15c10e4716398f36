#include "sweeps/reuse.h"

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>

#include "common/errors.h"
#include "common/files.h"
#include "common/json_reader.h"
#include "results/summary.h"

namespace acm::sweeps {

using nlohmann::json;

namespace {

constexpr const char* kCheckpoint = "checkpoint.safetensors";
constexpr const char* kConfig = "config.json";

// One experiment's one seed: the key under which a reused run is looked up.
std::string seeded_key(const std::string& group_key, std::int64_t seed) {
  return group_key + "\nseed " + std::to_string(seed);
}

}  // namespace

void find_reusable(Sweep& sw) {
  if (sw.reuse.empty()) return;
  // identity and seed -> the completed run's folder (absolute), from each folder as the report counts it.
  std::map<std::string, std::string> done;
  for (const auto& dir : sw.reuse) {
    results::Summary s;
    try {
      s = results::summarize(dir, results::ReportOptions{});
    } catch (const std::exception& e) {
      throw config::ConfigError("reuse " + dir + ": " + e.what());
    }
    for (const auto& g : s.groups) {
      const std::string key = g.id.key();
      for (std::size_t k = 0; k < g.seeds.size(); ++k) {
        done.emplace(seeded_key(key, g.seeds[k]), fs::join_path(dir, g.folders[k]));
      }
    }
  }
  std::set<std::size_t> producers;
  for (const auto& r : sw.runs) {
    if (r.extractor_from) producers.insert(*r.extractor_from);
  }
  for (std::size_t i = 0; i < sw.runs.size(); ++i) {
    auto& run = sw.runs[i];
    const results::Identity id = planned_identity(sw, i);
    const auto it = done.find(seeded_key(id.key(), id.seed));
    if (it == done.end()) continue;
    if (producers.count(i) && !(fs::path_exists(fs::join_path(it->second, kCheckpoint)) &&
                                fs::path_exists(fs::join_path(it->second, kConfig)))) {
      sw.reuse_notes.push_back(run.folder + ": not reused from " + it->second + ", which has no " + kCheckpoint +
                               " and " + kConfig + " to serve as the extractor of other runs; trained here");
      continue;
    }
    run.reuse_from = it->second;
  }
}

json copy_reused_run(const std::string& from, const std::string& to, const json& sweep_block,
                     const std::function<bool()>& holds) {
  fs::make_dirs(to);
  json result = config::read_json_file(fs::join_path(from, "result.json"));
  if (result.value("status", "") != "completed") {
    throw std::runtime_error(fs::join_path(from, "result.json") + ": not a completed run (status '" +
                             result.value("status", "?") + "'): not reused");
  }
  for (const char* name : {kCheckpoint, kConfig}) {
    const std::string src = fs::join_path(from, name);
    if (fs::path_exists(src) && !fs::write_file_atomic(fs::join_path(to, name), fs::read_text(src), holds)) {
      throw std::runtime_error(fs::join_path(to, name) + ": not written (the claim on the run was lost)");
    }
  }
  json reused = {{"from", from}};
  if (result.contains("sweep")) reused["sweep"] = result["sweep"];  // its place in the sweep that trained it
  result["reused"] = reused;
  result["sweep"] = sweep_block;
  if (!fs::write_file_atomic(fs::join_path(to, "result.json"), result.dump(2) + "\n", holds)) {
    throw std::runtime_error(fs::join_path(to, "result.json") + ": not written (the claim on the run was lost)");
  }
  return result;
}

}  // namespace acm::sweeps
