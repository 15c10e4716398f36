#include "harness/device.h"

#include <ATen/cuda/CUDAContext.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <stdexcept>

namespace acm::harness {

bool cuda_usable() { return torch::cuda::is_available() && torch::cuda::device_count() > 0; }

c10::Device resolve_device(const std::string& request, int local_rank) {
  auto local_gpu = [&] {
    return c10::Device(c10::kCUDA,
                       static_cast<c10::DeviceIndex>(
                           local_rank % std::max<int>(1, static_cast<int>(torch::cuda::device_count()))));
  };
  if (request == "auto") return cuda_usable() ? local_gpu() : c10::Device(c10::kCPU);
  if (request == "cpu") return c10::Device(c10::kCPU);
  if (request.rfind("cuda", 0) == 0) {
    c10::Device d(request);  // throws c10::Error on a malformed string
    if (!cuda_usable()) {
      throw std::runtime_error("device '" + request + "' requested but no CUDA GPU is usable here (" +
                               std::to_string(torch::cuda::device_count()) +
                               " visible); use --device cpu or auto");
    }
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw std::runtime_error("device '" + request + "' requested but only " +
                               std::to_string(torch::cuda::device_count()) + " GPU(s) are visible");
    }
    return d.has_index() ? d : local_gpu();
  }
  throw std::invalid_argument("unknown device '" + request + "'; allowed: auto, cpu, cuda, cuda:N");
}

nlohmann::json gpu_info() {
  nlohmann::json gpus = nlohmann::json::array();
  if (!cuda_usable()) return gpus;
  for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
    gpus.push_back({{"index", i},
                    {"name", p->name},
                    {"memory_gib", static_cast<double>(p->totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)},
                    {"capability", std::to_string(p->major) + "." + std::to_string(p->minor)}});
  }
  return gpus;
}

}  // namespace acm::harness
