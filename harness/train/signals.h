// SIGTERM and SIGUSR1 (what Slurm sends ahead of a time limit, with --signal) ask a run to stop: the training
// loop checks at each step boundary, writes a checkpoint and exits with kExitInterrupted so a later --resume
// continues mid-epoch.
#pragma once

namespace acm::train {

inline constexpr int kExitInterrupted = 75;  // EX_TEMPFAIL: "try again later"

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal received, 0 if none
void clear_stop_request();

}  // namespace acm::train
