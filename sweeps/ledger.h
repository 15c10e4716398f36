// The bookkeeping of a sweep folder, shared by every group of every job that works on it.
//
//   DIR/sweep.json           the plan: spec, inputs, every run's id and folder (a changed plan is refused)
//   DIR/sweep.log.jsonl      one line per event: claim, takeover, done, reused, failed, released (who, when)
//   DIR/.sweep.lock          flock()ed for the few milliseconds a claim takes; the kernel drops it when a
//                            process dies, so a killed job never leaves the folder locked
//   DIR/<run>/run.json       the run's id (a folder holding another id was written by another plan)
//   DIR/<run>/claim.json     who runs it (job, host, pid, group), how often it was started, and the claim's
//                            token ("JOB/ATTEMPT/NONCE"); the owner touches it every few seconds, so a claim
//                            whose owner died goes stale
//   DIR/<run>/result.json    written by the run (completed or failed) or by the sweep (failed before
//   training)
//   DIR/.sweep.index         the runs known to be done or failed, one line each ("d ID", "f ID"), under a
//                            header naming the plan: a cache of what the run folders say, appended under the
//                            lock and read from where this process last stopped
//
// A claim's cost does not grow with the sweep: it reads the index's new lines, and the folders only of runs
// the index does not list as done or failed, in plan order, up to the first it can claim (the live claims and
// the runs waiting for their extractor before it). The truth stays in the folders: a run found done or failed
// there is added to the index; a missing index, one of another plan, a torn last line, a changed plan and
// --retry-failed rebuild it from the folders (once, at the job's start). Removing a run's result.json to run
// it again needs the index removed too.
//
// A run is done when its result.json says completed with the run's id, failed when it says failed. A claim
// is live while its owner touches it (or, on the same host, while its pid exists); a stale claim is taken
// over — a new attempt with a token of its own — and the run resumes from its checkpoint, up to max_attempts
// crashed starts.
//
// Claims are fenced: a job that was suspended past the timeout (Slurm suspend, SIGSTOP, a paused VM) may wake
// up to find its run taken over. Everything that writes into a run's folder first asks holds() with its
// token — the heartbeat before it touches, the trainer before every checkpoint and result (and again just
// before the rename), finish() and release() before they act — and a job that no longer holds the claim
// stops that run without writing and logs "lost claim". Every ledger write syncs the file and its folder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sweeps/spec.h"

namespace acm::sweeps {

struct LedgerOptions {
  double claim_timeout_s = 300;  // a claim not touched for this long is stale
  bool allow_spec_change = false;
  bool retry_failed = false;
  bool use_index = true;  // false: every claim reads every run's folder (the ledger before the index; benchmarks)
};

// How often a live claim is touched: a quarter of the timeout, within [0.5 s, 30 s].
double heartbeat_interval(double claim_timeout_s);
// A claim must outlive three missed heartbeats, or a live job's claims look stale (a config::ConfigError,
// naming the smallest allowed value).
void check_claim_timeout(double claim_timeout_s);

struct Counts {
  int done = 0, running = 0, failed = 0, left = 0;  // left: not done, failed or running
};

struct Pick {
  enum Kind { kRun, kWait, kDone } kind = kDone;
  std::size_t run = 0;
  bool resume = false;  // the folder holds a checkpoint
  int attempt = 0;      // 1 for the first start
  std::string token;    // this claim's: "JOB/ATTEMPT/NONCE"
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
  // Whether the run's claim is still the one with this token (one small file read: cheap enough before
  // every write).
  bool holds(std::size_t run, const std::string& token) const;
  // Touches the claim if it is still ours (the file it read, so a claim that replaced ours meanwhile is left
  // alone); false when it is not.
  bool heartbeat(std::size_t run, const std::string& token) const;
  // The run ended (result written): drop our claim and log `event`. If the claim is no longer ours, leaves it
  // and logs "lost claim" instead; returns whether it was ours.
  bool finish(std::size_t run, const std::string& token, const std::string& event,
              const nlohmann::json& extra = {});
  // A stop signal: the run checkpointed; mark our claim released without counting a crash.
  void release(std::size_t run, const std::string& token);
  // The run stopped because its claim was taken over: logs "lost claim" with who holds it now.
  void lost(std::size_t run, const std::string& token, int group);
  // A failure before training (config, data): written as the run's failed result, if we still hold the claim.
  void record_failure(std::size_t run, const std::string& error, const std::string& token);
  Counts counts() const;
  // Files read or examined in run folders (and the index) so far: the cost a claim puts on the file system.
  std::int64_t file_operations() const { return file_ops_; }

  std::string run_dir(std::size_t run) const;
  const std::string& job() const { return job_; }
  // The "sweep" block every result of this sweep carries: id, folder, labels, and the folder of the run that
  // makes its extractor (extractor_from).
  nlohmann::json result_block(std::size_t run) const;
  void log(const std::string& event, std::size_t run, int group, const nlohmann::json& extra = {}) const;

 private:
  enum class State { kDone, kFailed, kLive, kFree };
  State state_of(std::size_t run, nlohmann::json* claim) const;
  // state_of, answered by the index for runs it lists; a run found done or failed is added to it.
  State indexed_state(std::size_t run, nlohmann::json* claim);
  struct Index;
  void load_index();
  void rebuild_index();
  void index_add(std::size_t run, State state);
  std::string index_header() const;
  nlohmann::json failure_result(std::size_t run, const std::string& error) const;
  void write_failure(std::size_t run, const std::string& error);
  double now_on_disk() const;  // the file system's clock (the lock file touched now)

  std::string dir_;
  const Sweep& plan_;
  LedgerOptions options_;
  std::string job_, host_;
  std::shared_ptr<Index> index_;
  mutable std::int64_t file_ops_ = 0;
};

// "host:pid:random" — names this process's claims.
std::string make_job_id();

}  // namespace acm::sweeps
