#include "harness/dist/agree.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace acm::dist {

namespace {
std::string message_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}
}  // namespace

void agree(Communicator& comm, const std::function<void()>& stage,
           const std::function<int(std::exception_ptr)>& exit_code_of) {
  std::exception_ptr err;
  try {
    stage();
  } catch (...) {
    err = std::current_exception();
  }
  if (comm.size() == 1) {
    if (err) std::rethrow_exception(err);
    return;
  }
  // Vote: the lowest failing rank wins (max of size - rank), with its exit code and message length.
  at::Tensor vote = at::zeros({1}, at::kLong);
  if (err) vote[0] = comm.size() - comm.rank();
  comm.all_reduce(vote, ReduceOp::kMax);
  const std::int64_t v = vote[0].item<std::int64_t>();
  if (v == 0) return;
  const int failed = comm.size() - static_cast<int>(v);
  std::string message;
  at::Tensor head = at::zeros({2}, at::kLong);
  if (comm.rank() == failed) {
    message = message_of(err);
    head[0] = exit_code_of(err);
    head[1] = static_cast<std::int64_t>(message.size());
  }
  comm.broadcast(head, failed);
  at::Tensor text = at::zeros({head[1].item<std::int64_t>()}, at::kByte);
  if (comm.rank() == failed) std::memcpy(text.data_ptr(), message.data(), message.size());
  comm.broadcast(text, failed);
  if (comm.rank() == failed) std::rethrow_exception(err);
  throw PeerError(
      failed, static_cast<int>(head[0].item<std::int64_t>()),
      std::string(static_cast<const char*>(text.data_ptr()), static_cast<std::size_t>(text.numel())));
}

void abort_job(const std::string& message, int code) {
  std::fprintf(stderr, "%serror: %s\n", rank_prefix().c_str(), message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace acm::dist
