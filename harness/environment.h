// What this process runs on: library versions (LibTorch, CUDA, cuDNN, NCCL, MPI), GPUs, threads, host.
// `harness info` prints it; run results record it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace acm::harness {

nlohmann::json environment_info();
std::string nccl_version_string();  // e.g. "2.28.9", from the NCCL library linked (torch's own)
std::string mpi_library_version();  // first line of MPI_Get_library_version

}  // namespace acm::harness
