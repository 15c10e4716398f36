// A checkpoint holds everything resume needs: parameters and buffers, optimizer state, the CPU generator, and
// the loop's position (epoch, step within it, partial epoch sums, metrics so far, timing). It is one
// safetensors file written atomically; the loop's state rides in its metadata as JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"

namespace acm::train {

struct TrainState {
  std::int64_t epoch = 0;          // 0-based epoch in progress (== epochs when done)
  std::int64_t step_in_epoch = 0;  // optimizer steps already taken in it
  std::int64_t global_step = 0;
  double epoch_loss_sum = 0, epoch_correct = 0, epoch_seen = 0, epoch_seconds = 0;
  std::vector<EpochMetrics> history;
  std::map<std::string, double> timing;  // seconds per part of the step, summed over the run
};

// `model_record` (models::model_metadata) names the network, so the checkpoint can be loaded on its own, e.g.
// as an Attentive CutMix extractor.
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const Optimizer& optimizer,
                     const TrainState& state, const std::string& config_hash,
                     const std::map<std::string, std::string>& model_record);
// Restores model and optimizer in place and returns the loop state. Refuses a checkpoint of another config.
TrainState load_checkpoint(const std::string& path, torch::nn::Module& model, Optimizer& optimizer,
                           const std::string& config_hash);

}  // namespace acm::train
