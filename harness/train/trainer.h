// `harness train`: one run from a config to a result file, resumable, interruptible by SIGTERM/SIGUSR1.
//
// The output folder holds config.json (the resolved config), checkpoint.safetensors (after every epoch and on
// a stop signal) and, once the run has ended, result.json — written atomically, so a run killed at any moment
// never leaves a result that claims completion.
#pragma once

#include <atomic>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/data/dataset.h"
#include "harness/data/transforms.h"
#include "harness/train/config.h"

namespace acm::dist {
class World;
}

namespace acm::train {

inline constexpr int kResultSchemaVersion = 1;

// kLostClaim: a sweep's claim on the run was taken over (this job was suspended past the claim timeout); the
// run stopped without writing anything more into its folder.
enum class Outcome { kCompleted, kInterrupted, kFailed, kLostClaim };

// Thrown before training when the claim is already gone (the run writes nothing).
class LostClaim : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainOptions {
  std::string out_dir;
  bool resume = false;
  bool quiet = false;  // no progress lines (tests)
  // Stop as a signal would once the run's global step reaches this (0: never): a time-boxed sitting.
  std::int64_t stop_after = 0;
  // The ranks that train this run: all of MPI_COMM_WORLD (nullptr), or one group of a sweep.
  const dist::World* world = nullptr;
  // Where rank 0's progress lines go (nullptr: stdout); a sweep gives each run its own log file.
  FILE* log = nullptr;
  // Merged into the result file, completed or failed (a sweep's run identity).
  nlohmann::json result_extra = nlohmann::json::object();
  // A sweep's fence (sweeps/ledger.h), on rank 0: `holds_claim` reads the run's claim and is asked before
  // every write into out_dir (config, attention cache, checkpoint, result) and again just before each file is
  // renamed into place; `claim_lost`, set by the claim's heartbeat, is read at every step. Once the claim is
  // gone, every rank stops at the same step and the run returns kLostClaim, writing nothing.
  std::function<bool()> holds_claim;
  const std::atomic<bool>* claim_lost = nullptr;
};

// Runs (or resumes) the run. Config and input errors before training throw; a failure during training (a
// non-finite loss) writes a result with status "failed" and returns kFailed.
Outcome run_training(const RunConfig& config, const TrainOptions& options);

// The training loader's transforms for this config: crop, flip and the normalisation (the training split's
// statistics, given values or none), validated against the data set.
data::TransformSpec train_transform(const RunConfig& config, const data::Dataset& train);

// The resolved config stored in an output folder by an earlier run (for --resume without --config).
nlohmann::json read_saved_config(const std::string& out_dir);

}  // namespace acm::train
