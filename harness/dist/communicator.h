// Collectives over the ranks of a World, behind one interface with two real implementations: MPI for CPU
// tensors (here) and NCCL for CUDA tensors (nccl_communicator.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "harness/dist/world.h"

namespace acm::dist {

enum class ReduceOp { kSum, kMax };

class Communicator {
 public:
  virtual ~Communicator() = default;
  // In place over a contiguous tensor: every rank ends with the element-wise reduction over all ranks.
  virtual void all_reduce(at::Tensor& t, ReduceOp op = ReduceOp::kSum) = 0;
  // In place: every rank ends with `root`'s values.
  virtual void broadcast(at::Tensor& t, int root) = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
};

// MPI_Allreduce / MPI_Bcast with MPI_IN_PLACE on CPU tensors of float32, float64, int64, int32 or uint8.
// Errors (std::invalid_argument) name the tensor's device, layout or dtype and what is allowed.
class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(const World& world) : world_(world) {}
  void all_reduce(at::Tensor& t, ReduceOp op = ReduceOp::kSum) override;
  void broadcast(at::Tensor& t, int root) override;
  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }
  std::string backend() const override { return "mpi"; }

 private:
  const World& world_;
};

}  // namespace acm::dist
