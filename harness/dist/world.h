// The MPI world a run lives in: rank, size, the rank within its node, and sub-groups.
//
// MPI is initialised once per process (World::init) at the thread level the gradient reducer needs: its
// collectives run on a communication thread while the main thread computes (Open MPI has no asynchronous
// progress of its own), so MPI_THREAD_MULTIPLE is asked for and at least MPI_THREAD_SERIALIZED is required.
// Without mpirun/srun the process is a world of one (MPI's singleton mode).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/mpi_c.h"

namespace acm::dist {

class World {
 public:
  // Initialises MPI (idempotent) and returns the world of all ranks. MPI is finalised at process exit.
  static World& init();
  // Whether MPI_THREAD_MULTIPLE was granted (SERIALIZED otherwise).
  static bool thread_multiple();

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Rank and number of ranks on this node (MPI_Comm_split_type SHARED: launcher-neutral, no environment
  // variables of mpirun or srun needed). A GPU rank binds to GPU local_rank().
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  std::string host() const;

  // Ranks with the same colour form a sub-world, ordered by (key, rank): several runs side by side.
  std::unique_ptr<World> split(int colour, int key) const;

  void barrier() const;
  // Every rank's string, in rank order, on every rank (hosts and devices for the run's record).
  std::vector<std::string> all_gather(const std::string& mine) const;
  // Rank `root`'s text, on every rank (a sweep's plan, expanded once).
  std::string broadcast(const std::string& text, int root = 0) const;
  // The largest of every rank's value, on every rank.
  double max(double mine) const;
  // Collectives that wait without spinning (a test every 20 ms): Open MPI's shared-memory transport busy-polls,
  // and a group that sits idle in one must not take CPU from the groups that train beside it.
  void broadcast_quietly(std::int64_t* values, int count, int root = 0) const;
  void max_quietly(std::int64_t* values, int count) const;

  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

 private:
  // The MPI communicator stays inside dist/: the communicators use it, nothing outside does.
  friend class MpiCommunicator;
  friend class NcclCommunicator;
  MPI_Comm comm() const { return comm_; }
  World(MPI_Comm comm, bool owned);
  MPI_Comm comm_;
  bool owned_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// "rank R (HOST): " when MPI is running with more than one rank, so that a message says where it comes from;
// empty otherwise.
std::string rank_prefix();

// Throws std::runtime_error "<what>: <MPI's error string>" when `code` is not MPI_SUCCESS.
void check_mpi(int code, const char* what);

}  // namespace acm::dist
