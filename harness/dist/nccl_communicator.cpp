#include "harness/dist/nccl_communicator.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <stdexcept>

namespace acm::dist {

namespace {

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(r));
}

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    case at::kByte:
      return ncclUint8;
    default:
      throw std::invalid_argument(std::string("NCCL communicator: dtype ") + c10::toString(t.scalar_type()) +
                                  " is not supported");
  }
}

}  // namespace

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t ready = nullptr, done = nullptr;

  // Here rather than in ~NcclCommunicator: if the constructor throws halfway (ncclCommInitRank failing, say),
  // the handles made so far are still released.
  ~Impl() {
    if (comm) ncclCommDestroy(comm);
    if (ready) cudaEventDestroy(ready);
    if (done) cudaEventDestroy(done);
    if (stream) cudaStreamDestroy(stream);
  }

  // NCCL's stream waits for the compute stream's pending work; afterwards the compute stream waits for NCCL.
  // Callable from any thread (the gradient reducer's communication thread included): it sets the device first.
  template <typename Fn>
  void ordered(int device, Fn&& fn) {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    const cudaStream_t compute =
        c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
    check_cuda(cudaEventRecord(ready, compute), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream, ready, 0), "cudaStreamWaitEvent");
    fn();
    check_cuda(cudaEventRecord(done, stream), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(compute, done, 0), "cudaStreamWaitEvent");
  }
};

int NcclCommunicator::version() {
  int v = 0;
  ncclGetVersion(&v);
  return v;
}

NcclCommunicator::NcclCommunicator(const World& world) : impl_(std::make_unique<Impl>()) {
  rank_ = world.rank();
  size_ = world.size();
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) {
    cudaGetLastError();  // clear the sticky "no device" error
    throw std::runtime_error("NCCL communicator: no CUDA GPU is usable on rank " + std::to_string(rank_) +
                             " (" + world.host() + "); use the MPI communicator for CPU training");
  }
  device_ = world.local_rank() % gpus;
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  ncclUniqueId id;
  if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  check_mpi(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, world.comm()), "MPI_Bcast(ncclUniqueId)");
  check_nccl(ncclCommInitRank(&impl_->comm, size_, id, rank_), "ncclCommInitRank");
  check_cuda(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_cuda(cudaEventCreateWithFlags(&impl_->ready, cudaEventDisableTiming), "cudaEventCreate");
  check_cuda(cudaEventCreateWithFlags(&impl_->done, cudaEventDisableTiming), "cudaEventCreate");
}

NcclCommunicator::~NcclCommunicator() = default;

void NcclCommunicator::all_reduce(at::Tensor& t, ReduceOp op) {
  if (!t.is_cuda() || !t.is_contiguous()) {
    throw std::invalid_argument("NCCL all_reduce: needs a contiguous CUDA tensor, got one on " +
                                t.device().str());
  }
  const ncclDataType_t type = nccl_type(t);
  impl_->ordered(device_, [&] {
    check_nccl(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<std::size_t>(t.numel()), type,
                             op == ReduceOp::kSum ? ncclSum : ncclMax, impl_->comm, impl_->stream),
               "ncclAllReduce");
  });
}

void NcclCommunicator::broadcast(at::Tensor& t, int root) {
  if (!t.is_cuda() || !t.is_contiguous()) {
    throw std::invalid_argument("NCCL broadcast: needs a contiguous CUDA tensor, got one on " +
                                t.device().str());
  }
  const ncclDataType_t type = nccl_type(t);
  impl_->ordered(device_, [&] {
    check_nccl(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<std::size_t>(t.numel()), type, root,
                             impl_->comm, impl_->stream),
               "ncclBroadcast");
  });
}

}  // namespace acm::dist
