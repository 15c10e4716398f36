// A checkpoint holds everything resume needs: parameters and buffers, optimizer state, every generator the
// run draws from, and the loop's position (epoch, step within it, partial epoch sums, metrics so far,
// timing). It is one safetensors file written atomically; the loop's state rides in its metadata as JSON.
//
// The generators: the CPU's (weight init, dropout and stochastic depth on the CPU) and the run's CUDA
// device's (dropout and stochastic depth on the GPU) as state tensors; the loader's crops and flips and the
// mixers' draws are keyed on (seed, epoch, sample) and (seed, global step), so the loop's position restores
// them. Every rank seeds its generators alike and draws alike, so rank 0's states are every rank's.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"
#include "harness/train/precision.h"

namespace acm::train {

struct TrainState {
  std::int64_t epoch = 0;          // 0-based epoch in progress (== epochs when done)
  std::int64_t step_in_epoch = 0;  // optimizer steps already taken in it
  std::int64_t global_step = 0;
  double epoch_loss_sum = 0, epoch_correct = 0, epoch_seen = 0, epoch_seconds = 0;
  std::vector<EpochMetrics> history;
  std::map<std::string, double> timing;  // seconds per part of the step, summed over the run
  LossScale loss_scale;                  // fp16 only
  // Generator states read from a checkpoint ("cpu", "cuda"): restore_generators() puts them back once setup
  // (which draws: model and extractor init) is done, just before the first step.
  std::vector<std::pair<std::string, at::Tensor>> generators;
};

// The states of the CPU generator and, for a CUDA device, of that device's.
std::vector<std::pair<std::string, at::Tensor>> capture_generators(c10::Device device);
// Puts them back; a state for a device kind this run does not use is ignored (a run resumed on other hardware
// cannot be bit-identical anyway).
void restore_generators(const std::vector<std::pair<std::string, at::Tensor>>& states, c10::Device device);

// `model_record` (models::model_metadata) names the network, so the checkpoint can be loaded on its own, e.g.
// as an Attentive CutMix extractor.
// `commit`: as fs::write_file_atomic's; returns false when it said no (nothing was written).
bool save_checkpoint(const std::string& path, const torch::nn::Module& model, const Optimizer& optimizer,
                     const TrainState& state, const std::string& config_hash,
                     const std::map<std::string, std::string>& model_record, c10::Device device,
                     const std::function<bool()>& commit = nullptr);
// Restores model and optimizer in place and returns the loop state. Refuses a checkpoint of another config.
TrainState load_checkpoint(const std::string& path, torch::nn::Module& model, Optimizer& optimizer,
                           const std::string& config_hash);

}  // namespace acm::train
