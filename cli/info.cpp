// `harness info`: versions (LibTorch, CUDA, cuDNN, NCCL, MPI), GPUs and threads.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "harness/environment.h"

namespace acm::cli {

namespace {

struct InfoOptions {
  bool json = false;
};

int run_info(const InfoOptions& o) {
  const nlohmann::json env = harness::environment_info();
  if (o.json) {
    std::printf("%s\n", env.dump(2).c_str());
    return 0;
  }
  std::printf("harness %s\n", env["acm_version"].get<std::string>().c_str());
  std::printf("  LibTorch      %s\n", env["libtorch"].get<std::string>().c_str());
  std::printf("  CUDA          %s (compiled), cuDNN %s\n", env["cuda_compiled"].get<std::string>().c_str(),
              env["cudnn"].get<std::string>().c_str());
  std::printf("  NCCL          %s (%s)\n", env["nccl"].get<std::string>().c_str(),
              env["nccl_library"].get<std::string>().c_str());
  std::printf("  MPI           %s (standard %s)\n", env["mpi"].get<std::string>().c_str(),
              env["mpi_standard"].get<std::string>().c_str());
  if (env["gpu_usable"].get<bool>()) {
    for (const auto& g : env["gpus"]) {
      std::printf("  GPU %d         %s, %.1f GiB, sm_%s\n", g["index"].get<int>(), g["name"].get<std::string>().c_str(),
                  g["memory_gib"].get<double>(), g["capability"].get<std::string>().c_str());
    }
  } else {
    std::printf("  GPU           none usable: training runs on the CPU\n");
  }
  const auto& t = env["threads"];
  const std::string omp = t["OMP_NUM_THREADS"].get<std::string>();
  std::printf("  threads       %d intra-op, %d inter-op, %u hardware, OMP_NUM_THREADS=%s\n", t["intra_op"].get<int>(),
              t["inter_op"].get<int>(), t["hardware"].get<unsigned>(), omp.empty() ? "(unset)" : omp.c_str());
  std::printf("  host          %s\n", env["host"].get<std::string>().c_str());
  return 0;
}

}  // namespace

Command add_info(CLI::App& program) {
  auto o = std::make_shared<InfoOptions>();
  auto* cmd = program.add_subcommand("info", "Versions (LibTorch, CUDA, cuDNN, NCCL, MPI), GPUs and threads");
  cmd->add_flag("--json", o->json, "print as JSON");
  return {cmd, [o] { return run_info(*o); }};
}

}  // namespace acm::cli
