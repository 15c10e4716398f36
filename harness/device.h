// Choosing the device a run trains on. The CUDA path is compiled into every build and taken where a GPU
// exists.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace c10 {
struct Device;
}

namespace acm::harness {

// "auto" (a GPU when one is usable, else the CPU), "cpu", "cuda" or "cuda:N". Asking for CUDA where none is
// usable is an error that says so. "auto" and "cuda" take GPU local_rank mod the visible GPUs: under mpirun
// or srun, rank i of a node binds to that node's GPU i.
c10::Device resolve_device(const std::string& request, int local_rank = 0);
bool cuda_usable();
nlohmann::json gpu_info();  // [{index, name, memory_gib, capability}] for each visible GPU

}  // namespace acm::harness
