#include "harness/dist/world.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <stdexcept>

namespace acm::dist {

namespace {
int g_provided = 0;
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  throw std::runtime_error(std::string(what) + ": " + std::string(msg, static_cast<std::size_t>(len)));
}

std::string rank_prefix() {
  int initialised = 0, finalised = 0, size = 1, rank = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (!initialised || finalised) return "";
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size == 1) return "";
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(host, &len);
  return "rank " + std::to_string(rank) + " (" + std::string(host, static_cast<std::size_t>(len)) + "): ";
}

World& World::init() {
  static World* world = nullptr;
  if (world) return *world;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &g_provided), "MPI_Init_thread");
    std::atexit([] {
      int finalised = 0;
      MPI_Finalized(&finalised);
      if (!finalised) MPI_Finalize();
    });
  } else {
    MPI_Query_thread(&g_provided);
  }
  if (g_provided < MPI_THREAD_SERIALIZED) {
    throw std::runtime_error("MPI grants thread level " + std::to_string(g_provided) +
                             "; the gradient reducer needs at least MPI_THREAD_SERIALIZED");
  }
  // Errors come back as codes (turned into exceptions with MPI's message) instead of aborting silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  world = new World(MPI_COMM_WORLD, /*owned=*/false);
  return *world;
}

bool World::thread_multiple() { return g_provided >= MPI_THREAD_MULTIPLE; }

World::World(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

World::~World() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (owned_ && !finalised) MPI_Comm_free(&comm_);
}

std::string World::host() const {
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  return std::string(name, static_cast<std::size_t>(len));
}

std::unique_ptr<World> World::split(int colour, int key) const {
  MPI_Comm sub;
  check_mpi(MPI_Comm_split(comm_, colour, key, &sub), "MPI_Comm_split");
  MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
  return std::unique_ptr<World>(new World(sub, /*owned=*/true));
}

std::vector<std::string> World::all_gather(const std::string& mine) const {
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    displs[static_cast<std::size_t>(r)] = total;
    total += lens[static_cast<std::size_t>(r)];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  check_mpi(
      MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, comm_),
      "MPI_Allgatherv");
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) {
    out.push_back(all.substr(static_cast<std::size_t>(displs[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(lens[static_cast<std::size_t>(r)])));
  }
  return out;
}

void World::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

std::string World::broadcast(const std::string& text, int root) const {
  if (size_ == 1) return text;
  long long n = static_cast<long long>(text.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm_), "MPI_Bcast");
  std::string out = rank_ == root ? text : std::string(static_cast<std::size_t>(n), '\0');
  check_mpi(MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, root, comm_), "MPI_Bcast");
  return out;
}

double World::max(double mine) const {
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &mine, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return mine;
}

namespace {
void wait_quietly(MPI_Request& request) {
  int done = 0;
  while (true) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}
}  // namespace

void World::broadcast_quietly(std::int64_t* values, int count, int root) const {
  if (size_ == 1) return;
  MPI_Request request;
  check_mpi(MPI_Ibcast(values, count, MPI_INT64_T, root, comm_, &request), "MPI_Ibcast");
  wait_quietly(request);
}

void World::max_quietly(std::int64_t* values, int count) const {
  if (size_ == 1) return;
  MPI_Request request;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_INT64_T, MPI_MAX, comm_, &request), "MPI_Iallreduce");
  wait_quietly(request);
}

}  // namespace acm::dist
