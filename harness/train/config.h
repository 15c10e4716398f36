// One training run's configuration: a JSON object (a file and/or `--set path=value` overrides), validated
// with the JSON path and allowed values named in every error and unknown fields rejected. `to_json` gives the
// resolved config (every default filled in) that results and checkpoints record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "augment/method.h"
#include "harness/data/spec.h"
#include "models/model.h"

namespace acm::train {

struct OptimizerConfig {
  std::string name = "sgd";                       // sgd | adam | adamw
  double lr = 0.1;                                // peak learning rate (one-cycle: its maximum)
  double momentum = 0.9;                          // sgd
  bool nesterov = true;                           // sgd
  double weight_decay = 5e-4;                     // sgd/adam: L2 added to the gradient; adamw: decoupled
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
};

struct ScheduleConfig {
  std::string name = "onecycle";   // constant | step | cosine | onecycle
  double warmup_epochs = 0;        // linear warm-up from 0 (constant, step, cosine)
  std::vector<double> milestones;  // step: epochs at which the rate is multiplied by gamma
  double gamma = 0.1;
  double min_lr = 0;       // cosine: final rate
  double pct_start = 0.3;  // onecycle (PyTorch's OneCycleLR defaults)
  double div_factor = 25, final_div_factor = 1e4;
  bool cycle_momentum =
      true;  // onecycle with sgd: momentum cycles max_momentum -> base_momentum -> max_momentum,
  double base_momentum = 0.85;  // replacing optimizer.momentum, as torch.optim.lr_scheduler.OneCycleLR does
  double max_momentum = 0.95;
};

struct AugmentConfig {
  std::int64_t crop_padding = 0;  // random crop with zero padding (0: off)
  bool horizontal_flip = true;
  std::string normalize = "dataset";  // dataset (mean/std of the training split) | given | none
  std::vector<double> mean, std;      // normalize = given
};

// Data-parallel training under mpirun/srun (harness/dist). Ignored by a run of one process.
struct DistConfig {
  double bucket_mb = 25;  // gradient bucket size (MiB), as DDP's bucket_cap_mb
  double first_bucket_mb =
      1;  // the first bucket (the last layers' gradients) small, to start communicating early
  std::string backend = "auto";  // auto (nccl on CUDA, mpi on CPU) | mpi | nccl
};

// What evaluation measures beyond top-1 (harness/train/calibration.h).
struct EvalConfig {
  int calibration_bins = 15;  // ECE's equal-width confidence bins; 0: no calibration metrics
  // At the end of the run (harness/train/robustness.h): occluded squares' sides (fractions of the image side)
  // and FGSM's ε (pixel units); empty: not measured. On `robustness_images` test images spread over the set
  // (0: all).
  std::vector<double> occlusion = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
  std::vector<double> fgsm = {1.0 / 255, 2.0 / 255, 4.0 / 255, 8.0 / 255};
  std::int64_t robustness_images = 500;
  // At the end of the run: top-1 under each CIFAR-10-C corruption (harness/train/corruptions.h) at each
  // severity, and their mean (mCA), on `corruption_images` test images spread over the set (0: all). Empty
  // names or severities: not measured.
  std::vector<std::string> corruptions = {"gaussian_noise", "shot_noise", "gaussian_blur", "contrast",
                                          "brightness",     "jpeg",       "pixelate"};
  std::vector<int> corruption_severities = {1, 2, 3, 4, 5};
  std::int64_t corruption_images = 100;
  // Robustness (occlusion, FGSM, corruptions) also after every k-th epoch, into that epoch's entry of the
  // result; 0: after the last epoch only (always measured there when any of them is asked for).
  std::int64_t robustness_every = 0;
};

struct RunConfig {
  data::DatasetSpec dataset;
  std::string model = "resnet18";
  models::ModelSpec model_spec;  // num_classes and in_channels come from the data set
  std::int64_t epochs = 2;
  std::int64_t batch_size = 128;
  std::int64_t eval_batch_size = 512;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  AugmentConfig augment;
  augment::MixSpec mix;  // batch mixing: none | mixup | cutout | cutmix
  double label_smoothing = 0;
  std::uint64_t seed = 0;
  int threads = 0;  // intra-op threads; 0: all hardware threads
  int loader_threads = 1;
  std::string device = "auto";
  bool channels_last = false;
  // fp32 | bf16 | fp16: forward and loss under autocast to that type (harness/train/precision.h). Written into
  // the resolved config only when not fp32, so that fp32 configs keep their hashes and sweep run ids.
  std::string precision = "fp32";
  // cuDNN's autotuner (torch.backends.cudnn.benchmark) on CUDA devices; written only when true.
  bool cudnn_benchmark = false;
  // Steps between the ranks' votes (loss, top-1, stop requests, a non-finite loss), each one host
  // synchronisation: 0 picks 1 on the CPU and with fp16 (its skip decision is per step), 16 on CUDA. Written
  // only when not 0.
  int sync_every = 0;
  // CUDA only: after a few eager warm-up steps, forward, backward, the gradient all-reduce and the optimizer
  // step are captured as one CUDA graph and replayed (harness/train/graph_step.h). Written only when true.
  bool cuda_graph = false;
  DistConfig distributed;
  EvalConfig eval;  // written into the resolved config only when not the default
};

// Reads a config object; `where` names its origin in errors ("run.json", "flags").
RunConfig parse_run_config(const nlohmann::json& j, const std::string& where);
nlohmann::json to_json(const RunConfig& c);

// Applies "a.b.c=VALUE" to a JSON object; VALUE is parsed as JSON, or taken as a string when it is not JSON.
void apply_override(nlohmann::json& j, const std::string& assignment);


}  // namespace acm::train
