#include "harness/dist/agree.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "harness/dist/world.h"

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

namespace {

std::mutex g_reported_mu;
std::string g_reported;  // the what() of the last error agree() had printed

struct Failure {
  int rank = 0, code = 1;
  std::string host, message;
};

std::string host_name() {
  char h[256] = {0};
  if (gethostname(h, sizeof h - 1) != 0) return "?";
  return h;
}

// "all 3 ranks", "rank 2 (n2) of 3", "ranks 1 (n1), 2 (n2) of 3"; at most 8 ranks named.
std::string who(const std::vector<const Failure*>& group, int size) {
  if (static_cast<int>(group.size()) == size && size > 1) return "all " + std::to_string(size) + " ranks";
  std::string s = group.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < group.size() && i < 8; ++i) {
    s += (i ? ", " : "") + std::to_string(group[i]->rank) + " (" + group[i]->host + ")";
  }
  if (group.size() > 8) s += " and " + std::to_string(group.size() - 8) + " more";
  return s + " of " + std::to_string(size);
}

// Rank 0's report: one line per distinct message, in the order of the lowest rank that raised it.
void print_failures(const std::vector<Failure>& failures, int size) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Failure*>> groups;
  for (const Failure& f : failures) {
    if (!groups.count(f.message)) order.push_back(f.message);
    groups[f.message].push_back(&f);
  }
  for (const std::string& m : order) std::fprintf(stderr, "error on %s: %s\n", who(groups[m], size).c_str(), m.c_str());
  std::fflush(stderr);
}

}  // namespace

bool reported(const std::exception& e) {
  std::lock_guard<std::mutex> lock(g_reported_mu);
  return !g_reported.empty() && g_reported == e.what();
}

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
  // The vote: which ranks failed (one entry each).
  at::Tensor failed = at::zeros({comm.size()}, at::kLong);
  if (err) failed[comm.rank()] = 1;
  comm.all_reduce(failed, ReduceOp::kSum);
  const std::int64_t* f = failed.data_ptr<std::int64_t>();
  if (std::none_of(f, f + comm.size(), [](std::int64_t v) { return v != 0; })) return;
  // Each failing rank's exit code, host and message, from that rank (the failing path only: no cost otherwise).
  std::vector<Failure> failures;
  for (int r = 0; r < comm.size(); ++r) {
    if (!f[r]) continue;
    Failure x;
    x.rank = r;
    std::string text;
    at::Tensor head = at::zeros({2}, at::kLong);
    if (comm.rank() == r) {
      text = host_name() + '\n' + message_of(err);
      head[0] = exit_code_of(err);
      head[1] = static_cast<std::int64_t>(text.size());
    }
    comm.broadcast(head, r);
    at::Tensor bytes = at::zeros({head[1].item<std::int64_t>()}, at::kByte);
    if (comm.rank() == r) std::memcpy(bytes.data_ptr(), text.data(), text.size());
    comm.broadcast(bytes, r);
    text.assign(static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel()));
    const auto nl = text.find('\n');
    x.code = static_cast<int>(head[0].item<std::int64_t>());
    x.host = text.substr(0, nl);
    x.message = text.substr(nl + 1);
    failures.push_back(std::move(x));
  }
  if (comm.rank() == 0) print_failures(failures, comm.size());
  const Failure& first = failures.front();
  if (err) {
    std::lock_guard<std::mutex> lock(g_reported_mu);
    g_reported = message_of(err);
  }
  if (comm.rank() == first.rank) std::rethrow_exception(err);
  throw PeerError(first.rank, first.code, first.message);
}

bool launched_with_ranks() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    const char* s = std::getenv(v);
    if (s && std::atoi(s) > 1) return true;
  }
  return false;
}

void agree_on_world(const std::function<void()>& stage) {
  if (!launched_with_ranks()) {
    stage();
    return;
  }
  World& world = World::init();
  MpiCommunicator comm(world);
  agree(comm, stage);
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
