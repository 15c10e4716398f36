// Which runs are one experiment, and the words that tell apart those that are not. One rule, in this file,
// used by the report (groups, rows, columns: results/summary.cpp) and by the sweep (folder parts and runs
// that would repeat another: sweeps/spec.cpp). docs/grouping.md states it for users.
//
// Every leaf of a resolved run config, named by its JSON pointer (/optimizer/lr), has one role:
//   seed       /seed: what a group averages over.
//   execution  how the run was executed, not what it computed: /threads, /loader_threads, /eval_batch_size,
//              /device, /channels_last, /distributed/..., and /mix/extractor/path (where the extractor lies;
//              what it is enters below). Runs that differ only here and in the seed are seeds of one group.
//   method     the mixing method and its own parameters, /mix/...: groups of one row differ only here, and
//              the table's columns name what differs.
//   setting    everything else (data set, model, epochs, batch, optimizer, schedule, augmentation, ...):
//   groups
//              that differ here never share a row; each row is labelled with the fields that differ.
// Two derived fields join them:
//   /world_size             (setting) the number of ranks that trained the run, where it changes what is
//                           computed: per-rank BatchNorm statistics (norm "batch") or mixing pairs drawn
//                           inside each rank's batch (Mixup, CutMix, Attentive CutMix).
//   /mix/extractor/identity (method) what the extractor is: where a sweep made it per seed (extractor_from),
//                           the group of the run that made it and whether that run's seed is this run's;
//                           otherwise the hash of its file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::results {

enum class Role { kSeed, kExecution, kMethod, kSetting };

// The role of a field (a JSON pointer into the resolved config, or one of the derived fields above).
Role role_of(const std::string& pointer);

inline constexpr const char* kWorldSizeField = "/world_size";
inline constexpr const char* kExtractorField = "/mix/extractor/identity";
inline constexpr const char* kTopNField = "/mix/top_n";

// Whether the number of ranks changes what a run with this config computes.
bool world_size_matters(const nlohmann::json& config);

using Fields = std::map<std::string, nlohmann::json>;  // pointer -> value, sorted by pointer

// One run as the rule sees it.
struct Identity {
  std::string dataset, model;
  std::string method;  // mix.method, with "none" called "baseline"
  Fields setting;      // the setting fields (with /dataset/name and /model) and /world_size where it matters
  Fields method_fields;  // the method's own fields, with /mix/extractor/identity when there is an extractor
  std::int64_t seed = 0;

  std::string setting_key() const;  // canonical text: equal iff the settings are equal
  std::string method_key() const;
  std::string key() const { return setting_key() + "\n" + method_key(); }  // the group, seed aside
};

// `world_size`: the ranks that trained the run (0: unknown); `extractor`: what its extractor is
// (extractor_from_run / extractor_from_file), empty when it has none.
Identity identify(const nlohmann::json& config, int world_size, const std::string& extractor);

// What an extractor is, for /mix/extractor/identity. Made per seed by a sweep (extractor_from): the making
// run's group (its identity without the seed) and whether its seed is the user's, so that the seeds of such
// runs form one group. A fixed file: its content hash.
// `shared`: one extractor run serves every seed (the spec's extractor_from names the seed axis); its seed is
// then named for all of them, so that they stay one group.
std::string extractor_from_run(const Identity& producer, std::int64_t user_seed, bool shared = false);
std::string extractor_from_file(const std::string& hash);

// A field's value in a reader's words: "epochs 10", "lr 0.05", "cache off", "N=6", "4 ranks",
// "schedule.name cosine".
std::string describe(const std::string& pointer, const nlohmann::json& value);

// The pointers whose values are not equal in all of `sets` (absent in some counts as different), minus
// `ignore`.
std::vector<std::string> varying_fields(const std::vector<const Fields*>& sets,
                                        const std::vector<std::string>& ignore = {});
// describe() of each of `pointers` in `fields`, joined with ", ". Where absent: the default of a setting the
// resolved config omits at its default (precision fp32, ...), else "—".
std::string describe_fields(const Fields& fields, const std::vector<std::string>& pointers);


}  // namespace acm::results
