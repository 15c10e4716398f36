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
// `commit`: as for write_file_atomic.
bool write_safetensors(const std::string& path, const TensorFile& file,
                       const std::function<bool()>& commit = nullptr);

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename, fsync of the
// folder. A crash at any point leaves the old file or none, never part of one. Every result and checkpoint
// goes through it. `commit`, when given, is asked just before the rename: if it says no, the temporary file
// is removed and the call returns false (a fenced write: the writer lost its claim on the folder meanwhile).
bool write_file_atomic(const std::string& path, const std::string& bytes,
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
