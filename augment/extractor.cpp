#include "augment/extractor.h"

#include <sys/stat.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/hash.h"
#include "models/registry.h"
#include "models/weights.h"

namespace acm::augment {

struct Extractor::Impl {
  models::Classifier model;   // a registry network, or
  torch::jit::Module script;  // a TorchScript module
  bool is_script = false;
  c10::Device device = c10::kCPU;

  at::Tensor run(const at::Tensor& x) {
    torch::NoGradGuard no_grad;
    if (!is_script) return model->features(x);
    const c10::IValue out = script.forward({x});
    if (!out.isTensor()) {
      throw ExtractorError("its forward returned a " + out.tagKind() +
                           ", not a tensor; export a module whose output is the B×C×h×w feature map");
    }
    return out.toTensor();
  }
};

namespace {

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

std::string shape_str(at::IntArrayRef s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "×" : "") + std::to_string(s[i]);
  return out;
}

at::Tensor per_channel(const std::vector<double>& v, const at::Tensor& like) {
  return at::tensor(v, like.options().dtype(at::kDouble)).to(like.scalar_type()).view({1, -1, 1, 1});
}

}  // namespace

Extractor::~Extractor() = default;

std::shared_ptr<const Extractor> Extractor::load(const ExtractorSpec& spec, const ImageFormat& format,
                                                 c10::Device device) {
  std::shared_ptr<Extractor> e(new Extractor());
  e->spec_ = spec;
  e->format_ = format;
  e->impl_ = std::make_unique<Impl>();
  e->impl_->device = device;
  const std::string where = "extractor " + spec.path;
  const std::string path = model_file(spec, format, where);
  char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream in(path, std::ios::binary);
    in.read(magic, 4);
    if (in.gcount() < 4) throw ExtractorError(where + ": " + std::to_string(in.gcount()) + " bytes; not a model file");
  }
  std::int64_t expected_channels = 0;  // 0: unknown (TorchScript)
  if (magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
    e->load_script(path, where);
  } else {
    expected_channels = e->load_safetensors(path, where);
  }
  e->hash_ = hash::of_file(path);
  e->check_output(expected_channels, where);
  e->measure_black();
  return e;
}

// The file to load: the path, or a run folder's checkpoint.
std::string Extractor::model_file(const ExtractorSpec& spec, const ImageFormat& format, const std::string& where) {
  std::string path = spec.path;
  struct stat st {};
  if (path.empty()) throw ExtractorError("extractor: no path given (mix.extractor.path)");
  if (::stat(path.c_str(), &st) != 0) throw ExtractorError(where + ": no such file or folder");
  if (S_ISDIR(st.st_mode)) {
    path += "/checkpoint.safetensors";
    if (::stat(path.c_str(), &st) != 0) {
      throw ExtractorError(where + ": a folder without checkpoint.safetensors (not a run folder)");
    }
  }
  if (!format.mean.empty() && format.mean.size() != static_cast<std::size_t>(format.channels)) {
    throw ExtractorError(where + ": the data's normalisation has " + std::to_string(format.mean.size()) +
                         " means for " + std::to_string(format.channels) + " channels");
  }
  return path;
}

void Extractor::load_script(const std::string& path, const std::string& where) {
  try {
    impl_->script = torch::jit::load(path, impl_->device);
  } catch (const c10::Error& err) {
    throw ExtractorError(where + ": a zip archive but not a TorchScript module (" +
                         first_line(err.what_without_backtrace()) + ")");
  }
  impl_->script.eval();
  for (auto p : impl_->script.parameters()) p.requires_grad_(false);
  impl_->is_script = true;
  description_ = "TorchScript module " + path;
}

// A harness checkpoint or converted torchvision weights: the registry network they name, with their weights.
std::int64_t Extractor::load_safetensors(const std::string& path, const std::string& where) {
  models::TensorFile f;
  try {
    f = models::read_safetensors(path);
  } catch (const models::WeightsError& err) {
    throw ExtractorError(where + ": not a model file: neither a TorchScript archive nor a safetensors checkpoint (" +
                         std::string(err.what()) + ")");
  }
  const auto fmt = f.metadata.count("format") ? f.metadata.at("format") : std::string();
  models::TensorFile weights;
  if (fmt == "acm-checkpoint-v1") {
    for (auto& [name, t] : f.tensors) {
      if (name.rfind("model/", 0) == 0) weights.tensors.emplace_back(name.substr(6), t);
    }
  } else if (fmt == "acm-weights-v1") {
    weights.tensors = f.tensors;
  } else {
    throw ExtractorError(where + ": a safetensors file but neither a harness checkpoint nor converted weights "
                         "(metadata format '" + fmt + "'; expected acm-checkpoint-v1 or acm-weights-v1)");
  }
  std::int64_t channels = 0;
  try {
    auto [arch, mspec] = models::model_from_metadata(f.metadata, path);
    // Building the network draws its initial weights (overwritten next) from the default generator: keep
    // that generator's state, so loading an extractor never changes the run's random stream.
    at::Generator global = at::detail::getDefaultCPUGenerator();
    const at::Tensor saved = global.get_state();
    impl_->model = models::create(arch, mspec);
    global.set_state(saved);
    models::load_module_state(*impl_->model, weights, path);
    channels = mspec.in_channels;
    description_ =
        arch + " (" + (fmt == "acm-checkpoint-v1" ? "harness checkpoint " : "converted weights ") + path + ")";
  } catch (const std::exception& err) {
    throw ExtractorError(std::string("extractor: ") + err.what());
  }
  impl_->model->to(impl_->device);
  impl_->model->eval();
  for (auto& p : impl_->model->parameters()) p.requires_grad_(false);
  return channels;
}

// A probe batch through the network: the channels it takes (the data's, or grey images repeated to the RGB an
// ImageNet extractor expects) and the feature map it gives.
void Extractor::check_output(std::int64_t expected_channels, const std::string& where) {
  const ExtractorSpec& spec = spec_;
  const ImageFormat& format = format_;
  const std::int64_t size_h = spec.input_size > 0 ? spec.input_size : format.height;
  const std::int64_t size_w = spec.input_size > 0 ? spec.input_size : format.width;
  auto probe = [&](std::int64_t channels) {
    return impl_->run(at::zeros({2, channels, size_h, size_w}, at::TensorOptions().device(impl_->device)));
  };
  if (expected_channels > 0) {
    if (expected_channels != format.channels && !(format.channels == 1 && expected_channels == 3)) {
      throw ExtractorError(where + ": the network takes " + std::to_string(expected_channels) +
                           "-channel images and the data has " + std::to_string(format.channels));
    }
    repeat_channels_ = expected_channels != format.channels;
  }
  const std::int64_t in_channels = repeat_channels_ ? 3 : format.channels;
  at::Tensor out;
  try {
    out = probe(in_channels);
  } catch (const std::exception& first) {
    bool recovered = false;
    if (impl_->is_script && format.channels == 1) {
      try {
        out = probe(3);
        repeat_channels_ = recovered = true;
      } catch (const std::exception&) {
      }
    }
    if (!recovered) {
      std::string msg = first.what();
      if (auto* ce = dynamic_cast<const c10::Error*>(&first)) msg = ce->what_without_backtrace();
      throw ExtractorError(where + ": fails on a batch of " + std::to_string(in_channels) + "×" +
                           std::to_string(size_h) + "×" + std::to_string(size_w) + " images: " + first_line(msg));
    }
  }
  if (!spec.mean.empty()) {
    const std::size_t want = static_cast<std::size_t>(repeat_channels_ ? 3 : format.channels);
    if (spec.mean.size() != want || spec.std.size() != want) {
      throw ExtractorError(where + ": its normalisation needs " + std::to_string(want) + " means and stds, got " +
                           std::to_string(spec.mean.size()) + " and " + std::to_string(spec.std.size()));
    }
  }
  if (out.dim() != 4 || out.size(0) != 2) {
    throw ExtractorError(where + ": its output is " + shape_str(out.sizes()) + " for a batch of 2; it must be a " +
                         "B×C×h×w feature map (export the network without its pooling and classifier)");
  }
  map_c_ = out.size(1);
  map_h_ = out.size(2);
  map_w_ = out.size(3);
  if (spec.reduce.how == "channel" && (spec.reduce.channel < 0 || spec.reduce.channel >= map_c_)) {
    throw ExtractorError(where + ": channel " + std::to_string(spec.reduce.channel) + " asked for, but its map has " +
                         std::to_string(map_c_) + " channels (0.." + std::to_string(map_c_ - 1) + ")");
  }
  if (map_h_ * map_w_ < 2) {
    throw ExtractorError(where + ": its feature map is " + std::to_string(map_h_) + "×" + std::to_string(map_w_) +
                         " for " + std::to_string(size_h) + "×" + std::to_string(size_w) +
                         " inputs, which says nothing about where things are; use a larger "
                         "mix.extractor.input_size or a network that downsamples less (cifar stem)");
  }
}

// The black image's mean heatmap value, as the training tensor holds it: (0 - mean) / std per channel.
void Extractor::measure_black() {
  at::Tensor black = at::zeros({1, format_.channels, format_.height, format_.width});
  if (!format_.mean.empty()) {
    for (std::int64_t ch = 0; ch < format_.channels; ++ch) {
      black[0][ch].fill_(-format_.mean[static_cast<std::size_t>(ch)] / format_.std[static_cast<std::size_t>(ch)]);
    }
  }
  black_ = heatmaps(black).mean().item<float>();
}

at::Tensor Extractor::prepare(const at::Tensor& images) const {
  at::Tensor x = images.to(impl_->device, at::kFloat);
  if (!spec_.mean.empty()) {
    if (!format_.mean.empty()) x = x * per_channel(format_.std, x) + per_channel(format_.mean, x);
  }
  if (repeat_channels_) x = x.expand({-1, 3, -1, -1});
  if (!spec_.mean.empty()) x = (x - per_channel(spec_.mean, x)) / per_channel(spec_.std, x);
  if (spec_.input_size > 0 && (x.size(2) != spec_.input_size || x.size(3) != spec_.input_size)) {
    x = at::upsample_bilinear2d(x, {spec_.input_size, spec_.input_size}, /*align_corners=*/false);
  }
  return x.contiguous();
}

at::Tensor Extractor::features(const at::Tensor& images) const { return impl_->run(prepare(images)); }

at::Tensor Extractor::heatmaps(const at::Tensor& images) const {
  return reduce_channels(features(images), spec_.reduce);
}

at::Tensor ExtractorHeatmaps::grid_maps(const at::Tensor& images, const BatchInfo&, std::int64_t grid) const {
  return resize_to_grid(extractor_->heatmaps(images), grid).to(at::kCPU);
}

}  // namespace acm::augment
