#include "harness/dist/communicator.h"

#include <ATen/ATen.h>

#include <climits>
#include <stdexcept>

namespace acm::dist {

namespace {

MPI_Datatype mpi_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return MPI_FLOAT;
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kLong:
      return MPI_INT64_T;
    case at::kInt:
      return MPI_INT32_T;
    case at::kByte:
      return MPI_UINT8_T;
    default:
      throw std::invalid_argument(std::string("MPI communicator: dtype ") + c10::toString(t.scalar_type()) +
                                  " is not supported; allowed: float32, float64, int64, int32, uint8");
  }
}

void check_tensor(const at::Tensor& t, const char* what) {
  if (!t.device().is_cpu()) {
    throw std::invalid_argument(std::string(what) + ": the MPI communicator takes CPU tensors, got one on " +
                                t.device().str() + " (CUDA tensors go through NCCL)");
  }
  if (!t.is_contiguous()) throw std::invalid_argument(std::string(what) + ": the tensor must be contiguous");
}

}  // namespace

void MpiCommunicator::all_reduce(at::Tensor& t, ReduceOp op) {
  check_tensor(t, "all_reduce");
  const MPI_Datatype type = mpi_type(t);
  char* p = static_cast<char*>(t.data_ptr());
  // MPI counts are ints: reduce buffers of more than INT_MAX elements in chunks.
  for (std::int64_t done = 0, n = t.numel(); done < n;) {
    const int count = static_cast<int>(std::min<std::int64_t>(n - done, INT_MAX));
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, p + done * static_cast<std::int64_t>(t.element_size()), count, type,
                            op == ReduceOp::kSum ? MPI_SUM : MPI_MAX, world_.comm()),
              "MPI_Allreduce");
    done += count;
  }
}

void MpiCommunicator::broadcast(at::Tensor& t, int root) {
  check_tensor(t, "broadcast");
  if (root < 0 || root >= world_.size()) {
    throw std::invalid_argument("broadcast: root " + std::to_string(root) +
                                " is not a rank of this world (0.." + std::to_string(world_.size() - 1) +
                                ")");
  }
  const MPI_Datatype type = mpi_type(t);
  char* p = static_cast<char*>(t.data_ptr());
  for (std::int64_t done = 0, n = t.numel(); done < n;) {
    const int count = static_cast<int>(std::min<std::int64_t>(n - done, INT_MAX));
    check_mpi(
        MPI_Bcast(p + done * static_cast<std::int64_t>(t.element_size()), count, type, root, world_.comm()),
        "MPI_Bcast");
    done += count;
  }
}

}  // namespace acm::dist
