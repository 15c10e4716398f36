#include "harness/environment.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <nccl.h>
#include <torch/version.h>
#include <unistd.h>
#include "harness/mpi_c.h"

#include <cstdlib>
#include <thread>

#include "acm/config.h"
#include "acm/git_commit.h"
#include "harness/device.h"

namespace acm::harness {

std::string nccl_version_string() {
  int v = 0;
  if (ncclGetVersion(&v) != ncclSuccess) return "unknown";
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string s(buf, static_cast<std::size_t>(len));
  const auto nl = s.find_first_of("\n,");
  return nl == std::string::npos ? s : s.substr(0, nl);
}

namespace {

std::string cuda_version(long v) {  // 13000 -> "13.0"
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string cudnn_version(long v) {  // 91900 -> "9.19.0"
  if (v <= 0) return "none";
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

// The versions LibTorch was compiled against; the hooks throw when libtorch_cuda is absent (a CPU-only
// LibTorch).
std::string compiled(long (at::CUDAHooksInterface::*query)() const, std::string (*format)(long)) {
  try {
    return format((at::detail::getCUDAHooks().*query)());
  } catch (const std::exception&) {
    return "none";
  }
}

}  // namespace

nlohmann::json environment_info() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const char* omp = std::getenv("OMP_NUM_THREADS");
  int mpi_major = 0, mpi_minor = 0;
  MPI_Get_version(&mpi_major, &mpi_minor);
  return {
      {"acm_version", ACM_VERSION},
      {"git_commit", ACM_GIT_COMMIT},
      {"libtorch", TORCH_VERSION},
      {"cuda_compiled", compiled(&at::CUDAHooksInterface::versionCUDART, cuda_version)},
      {"cudnn", compiled(&at::CUDAHooksInterface::versionCuDNN, cudnn_version)},
      {"nccl", nccl_version_string()},
      {"nccl_library", ACM_NCCL_LIBRARY},
      {"mpi", mpi_library_version()},
      {"mpi_standard", std::to_string(mpi_major) + "." + std::to_string(mpi_minor)},
      {"gpu_usable", cuda_usable()},
      {"gpus", gpu_info()},
      {"host", host},
      {"threads",
       {{"intra_op", at::get_num_threads()},
        {"inter_op", at::get_num_interop_threads()},
        {"hardware", std::thread::hardware_concurrency()},
        {"OMP_NUM_THREADS", omp ? omp : ""}}},
  };
}

}  // namespace acm::harness
