// Errors before training, agreed on by every rank: a rank that fails a check must not leave the others
// waiting in the next collective. agree() runs a stage on every rank and then takes one vote (one small
// collective); if any rank failed, every rank throws — the failing rank (the lowest one, if several) its own
// exception, the others a PeerError carrying its message and exit code — so the job ends with one exit code,
// and no rank hangs. Rank 0 prints what failed, once for the whole job, grouped by message: "error on all 64
// ranks: ..." for a bad config, "error on rank 5 (node3) of 64: ..." where one rank differs; main() then
// prints nothing more for it (reported()).
//
// Errors during training are not agreed on (a rank can fail inside backward, with the others in a
// collective): they end the job with abort_job(), which prints the rank's message and has the launcher kill
// every rank.
#pragma once

#include "common/errors.h"

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

#include "harness/dist/communicator.h"

namespace acm::dist {

class PeerError : public std::runtime_error {
 public:
  PeerError(int rank, int exit_code, const std::string& message)
      : std::runtime_error("rank " + std::to_string(rank) + " failed: " + message),
        rank_(rank),
        exit_code_(exit_code) {}
  int rank() const { return rank_; }
  int exit_code() const { return exit_code_; }

 private:
  int rank_, exit_code_;
};

// `exit_code_of` maps a failing rank's exception to the exit code every rank should end with.
// By default a ConfigError is 2 and anything else 1 (common/errors.h).
void agree(Communicator& comm, const std::function<void()>& stage,
           const std::function<int(std::exception_ptr)>& exit_code_of = config::exit_code_of);

// Whether agree() has had this error printed for the job (the text of its what()): main() stays quiet then.
bool reported(const std::exception& e);

// Whether this process is one of several ranks started by a launcher (mpirun, srun), from the launcher's
// environment, without initialising MPI.
bool launched_with_ranks();

// Runs `stage` agreed on by every rank of the job when launched_with_ranks() (initialising MPI), else as is:
// for the checks a command makes before its own collectives, such as reading its config.
void agree_on_world(const std::function<void()>& stage);

// Prints "rank R (HOST): error: MESSAGE" (rank_prefix) to stderr and aborts every rank of MPI_COMM_WORLD with
// `code` (MPI_Abort: mpirun and srun then end the job). Does not return.
[[noreturn]] void abort_job(const std::string& message, int code);

}  // namespace acm::dist
