// The NCCL communicator: CUDA tensors, reduced by the NCCL that ships with the torch wheel (linked by full
// path; one process never loads two). The unique id travels from rank 0 over MPI. Collectives run on NCCL's
// own stream, ordered after the compute stream's pending work by an event, and the compute stream waits for
// them in turn, so callers see stream-ordered results as with any CUDA op.
//
// It is compiled and linked in every build. Constructing it where no GPU is usable is an error that says so.
#pragma once

#include <memory>

#include "harness/dist/communicator.h"

namespace acm::dist {

class NcclCommunicator : public Communicator {
 public:
  // Binds this rank to GPU world.local_rank() (mod the visible GPUs) and joins the NCCL clique. Collective:
  // every rank of `world` must construct it.
  explicit NcclCommunicator(const World& world);
  ~NcclCommunicator() override;
  void all_reduce(at::Tensor& t, ReduceOp op = ReduceOp::kSum) override;
  void broadcast(at::Tensor& t, int root) override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  int device() const { return device_; }

  // The NCCL version this binary calls (e.g. 22809 for 2.28.9): proof the path is compiled in.
  static int version();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1, device_ = 0;
};

}  // namespace acm::dist
