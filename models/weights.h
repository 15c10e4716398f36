// Model weights on disk in the safetensors layout (an 8-byte little-endian header length, a JSON header
// naming each tensor's dtype, shape and byte range, then the raw little-endian data). It needs no pickle and
// no Python to read, and scripts/convert_torchvision.py writes it from a torchvision state_dict.
#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "models/model.h"

namespace acm::models {

class WeightsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TensorFile {
  std::map<std::string, std::string> metadata;                 // the header's "__metadata__"
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in file order
};

// Errors (WeightsError) name the file and the byte offset or header entry at fault.
TensorFile read_safetensors(const std::string& path);
// Written to a temporary file, flushed and renamed: a crash leaves the old file or none, never half of one.
// `commit`: as for fs::write_file_atomic (common/files.h).
bool write_safetensors(const std::string& path, const TensorFile& file,
                       const std::function<bool()>& commit = nullptr);

// Every parameter and buffer of the module, by its qualified name.
TensorFile module_state(const torch::nn::Module& m);
// Copies tensors into the module's parameters and buffers by name. Every name on either side must match, with
// the same shape; errors list the missing, unexpected or mis-shaped names and say where the tensors came
// from.
void load_module_state(torch::nn::Module& m, const TensorFile& file, const std::string& source);

// Which network a weights file holds, as metadata entries: arch, num_classes, in_channels, stem, width, init,
// norm.
// Training checkpoints and scripts/convert_torchvision.py both write them, so either can be rebuilt alone (an
// Attentive CutMix extractor).
std::map<std::string, std::string> model_metadata(const std::string& arch, const ModelSpec& spec);
// Reads them back; WeightsError naming `source` and the missing or bad entry.
std::pair<std::string, ModelSpec> model_from_metadata(const std::map<std::string, std::string>& metadata,
                                                      const std::string& source);

}  // namespace acm::models
