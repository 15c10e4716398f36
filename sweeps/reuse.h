// Runs a sweep takes from other folders instead of training them (the spec's "reuse", `sweep --reuse DIR`).
//
// A planned run is taken from such a folder when a completed run there has its identity and seed
// (results/identity.h: everything that changes what is computed, and what its extractor is), found as
// `harness report` would count that folder. A run that another planned run needs as its extractor is taken
// only if its checkpoint and config are there too (the consumer reads them); otherwise it is trained, and
// the reason is noted. Taking a run copies its result.json with this sweep's `sweep` block and a `reused`
// block that says where it came from (and its checkpoint and config where there are some); the event log
// says "reused". Nothing is retrained that was done, and nothing is copied that was not completed.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "sweeps/spec.h"

namespace acm::sweeps {

// Sets `reuse_from` on every planned run a folder of `sweep.reuse` holds, and notes in `reuse_notes` the runs
// found but not taken. config::ConfigError when a folder cannot be read as a set of results.
void find_reusable(Sweep& sweep);

// Copies the run at `from` into `to`: checkpoint and config where present, then result.json with its `sweep`
// block replaced by `sweep_block` and a `reused` block added. Every write is atomic and fenced by `holds`
// (the writer's claim). Returns the copied result. std::runtime_error naming the file when one cannot be read.
nlohmann::json copy_reused_run(const std::string& from, const std::string& to, const nlohmann::json& sweep_block,
                               const std::function<bool()>& holds);

}  // namespace acm::sweeps
