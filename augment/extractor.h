// The frozen network whose final feature map tells Attentive CutMix where an image's object is.
//
// Loaded from one file, whichever of:
//   - a checkpoint this harness wrote (a run folder or its checkpoint.safetensors): the registry model it
//     names, through its features();
//   - torchvision weights converted by scripts/convert_torchvision.py (safetensors), likewise;
//   - a TorchScript module saved elsewhere (torch.jit.save) whose forward gives a B×C×h×w feature map.
// It runs in eval mode under no-grad, on the training device, with its parameters frozen. Everything that
// could stop it from working (missing file, not a module, output not 4-D, channels, a map too small to carry
// any position) is an ExtractorError when it is loaded, before training starts.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "augment/attention.h"
#include "augment/attentive_cutmix.h"

namespace acm::augment {

class ExtractorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How the training tensors that reach the mixer look: channels, size and the normalisation already applied.
struct ImageFormat {
  std::int64_t channels = 3, height = 32, width = 32;
  std::vector<double> mean, std;  // empty: pixels in [0,1]
};

class Extractor {
 public:
  static std::shared_ptr<const Extractor> load(const ExtractorSpec& spec, const ImageFormat& format,
                                               c10::Device device);
  ~Extractor();

  // Training tensors B×C×H×W in, the extractor's feature maps out (B×C'×h×w, on its device).
  at::Tensor features(const at::Tensor& images) const;
  // features() reduced over channels (B×h×w float32).
  at::Tensor heatmaps(const at::Tensor& images) const;

  const ExtractorSpec& spec() const { return spec_; }
  std::int64_t map_channels() const { return map_c_; }
  std::int64_t map_height() const { return map_h_; }
  std::int64_t map_width() const { return map_w_; }
  // The heatmap's mean value on an all-black image: what the attention cache puts where a crop reaches past
  // the image (the fresh pass sees black padding there).
  float black_value() const { return black_; }
  // "resnet18 (harness checkpoint runs/a/checkpoint.safetensors)", and a hash of the file's bytes.
  const std::string& description() const { return description_; }
  const std::string& file_hash() const { return hash_; }

  struct Impl;

 private:
  Extractor() = default;
  at::Tensor prepare(const at::Tensor& images) const;
  // The steps of load(), each throwing ExtractorError naming `where`.
  static std::string model_file(const ExtractorSpec& spec, const ImageFormat& format, const std::string& where);
  void load_script(const std::string& path, const std::string& where);
  std::int64_t load_safetensors(const std::string& path, const std::string& where);  // the network's channels
  void check_output(std::int64_t expected_channels, const std::string& where);
  void measure_black();

  ExtractorSpec spec_;
  ImageFormat format_;
  std::unique_ptr<Impl> impl_;
  bool repeat_channels_ = false;
  std::int64_t map_c_ = 0, map_h_ = 0, map_w_ = 0;
  float black_ = 0;
  std::string description_, hash_;
};

// Fresh heatmaps every batch: the paper's way.
class ExtractorHeatmaps : public HeatmapSource {
 public:
  explicit ExtractorHeatmaps(std::shared_ptr<const Extractor> extractor) : extractor_(std::move(extractor)) {}
  at::Tensor grid_maps(const at::Tensor& images, const BatchInfo& info, std::int64_t grid) const override;
  std::string describe() const override { return "extractor pass per batch: " + extractor_->description(); }

 private:
  std::shared_ptr<const Extractor> extractor_;
};

}  // namespace acm::augment
