// The bookkeeping of a sweep folder, shared by every group of every job that works on it.
//
//   DIR/sweep.json           the plan: spec, inputs, every run's id and folder (a changed plan is refused)
//   DIR/sweep.log.jsonl      one line per event: claim, takeover, done, failed, released (who, when)
//   DIR/.sweep.lock          flock()ed for the few milliseconds a claim takes; the kernel drops it when a
//                            process dies, so a killed job never leaves the folder locked
//   DIR/<run>/run.json       the run's id (a folder holding another id was written by another plan)
//   DIR/<run>/claim.json     who runs it (job, host, pid, group), how often it was started; the owner
//                            touches it every few seconds, so a claim whose owner died goes stale
//   DIR/<run>/result.json    written by the run (completed or failed) or by the sweep (failed before training)
//
// A run is done when its result.json says completed with the run's id, failed when it says failed. A claim
// is live while its owner touches it (or, on the same host, while its pid exists); a stale claim is taken
// over and the run resumes from its checkpoint, up to max_attempts crashed starts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sweeps/spec.h"

namespace acm::sweeps {

struct LedgerOptions {
  double claim_timeout_s = 300;  // a claim not touched for this long is stale
  bool allow_spec_change = false;
  bool retry_failed = false;
};

struct Counts {
  int done = 0, running = 0, failed = 0, left = 0;  // left: not done, failed or running
};

struct Pick {
  enum Kind { kRun, kWait, kDone } kind = kDone;
  std::size_t run = 0;
  bool resume = false;  // the folder holds a checkpoint
  int attempt = 0;      // 1 for the first start
  Counts counts;        // after this pick
};

class Ledger {
 public:
  Ledger(std::string dir, const Sweep& plan, LedgerOptions options);

  // Once per job, before any claim: writes the plan, or checks it against the one in the folder (a changed
  // plan is a config::ConfigError unless allow_spec_change); with retry_failed, moves failed results aside.
  void open();
  // Under the lock: claims the first run (in plan order) that is ready: not done, failed or live-claimed
  // elsewhere, its extractor run done. Runs whose extractor run failed, and runs crashed max_attempts times,
  // are recorded failed on the way.
  Pick claim_next(int group);
  void heartbeat(std::size_t run) const;
  // The run ended (result written): drop the claim.
  void finish(std::size_t run, const std::string& event, const nlohmann::json& extra = {});
  // A stop signal: the run checkpointed; drop the claim without counting a crash.
  void release(std::size_t run);
  // A failure before training (config, data): written as the run's failed result.
  void record_failure(std::size_t run, const std::string& error);
  Counts counts() const;

  std::string run_dir(std::size_t run) const;
  const std::string& job() const { return job_; }
  // The "sweep" block every result of this sweep carries: id, folder, labels.
  nlohmann::json result_block(std::size_t run) const;
  void log(const std::string& event, std::size_t run, int group, const nlohmann::json& extra = {}) const;

 private:
  enum class State { kDone, kFailed, kLive, kFree };
  State state_of(std::size_t run, nlohmann::json* claim) const;
  double now_on_disk() const;  // the file system's clock (the lock file touched now)

  std::string dir_;
  const Sweep& plan_;
  LedgerOptions options_;
  std::string job_, host_;
};

// "host:pid:random" — names this process's claims.
std::string make_job_id();

}  // namespace acm::sweeps
