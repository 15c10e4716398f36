// `harness sweep`: runs a plan's runs on the MPI world split into groups of ranks_per_run ranks.
//
// Each group's rank 0 claims the next ready run from the folder's ledger (sweeps/ledger.h) and its ranks
// train it together (harness/train); a group that finishes takes the next run, so a long run never holds up
// the others. Several jobs can work on one folder at once. A stop signal (SIGTERM without mpirun, SIGUSR1 to
// mpirun or srun) makes every running run checkpoint and release its claim; the job then exits 75. When no
// run is left, rank 0 writes the report (results/) into DIR/report and prints its tables.
#pragma once

#include <string>

#include "sweeps/ledger.h"
#include "sweeps/spec.h"

namespace acm::sweeps {

struct SweepOptions {
  std::string out_dir;
  LedgerOptions ledger;
  bool report = true;         // write DIR/report and print it when nothing is left
  std::string metric = "best";  // the report's headline metric
  double poll_s = 1.0;        // how often an idle group looks for a ready run
};

// Returns the exit code: 0 every run completed, 1 some failed (the others completed), 75 stopped by a signal
// (run the same command again to go on). Spec and folder errors are thrown before any run starts.
int run_sweep(const Sweep& plan, const SweepOptions& options);

// `sweep --check`: trains 2 steps of the plan's first run (and of its first run of each other method) on
// synthetic data of the same shape, in a temporary folder under `scratch`. Throws on failure.
void check_sweep(const Sweep& plan, const std::string& scratch);

}  // namespace acm::sweeps
