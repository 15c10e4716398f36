#include "harness/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <stdexcept>

#include "models/weights.h"

namespace acm::train {

using nlohmann::json;

std::vector<std::pair<std::string, at::Tensor>> capture_generators(c10::Device device) {
  std::vector<std::pair<std::string, at::Tensor>> states;
  states.emplace_back("cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (device.is_cuda()) states.emplace_back("cuda", at::globalContext().defaultGenerator(device).get_state());
  return states;
}

void restore_generators(const std::vector<std::pair<std::string, at::Tensor>>& states, c10::Device device) {
  for (const auto& [name, state] : states) {
    if (name == "cpu") {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      gen.set_state(state);
    } else if (name == "cuda" && device.is_cuda()) {
      at::Generator gen = at::globalContext().defaultGenerator(device);
      gen.set_state(state);
    }
  }
}

bool save_checkpoint(const std::string& path, const torch::nn::Module& model, const Optimizer& optimizer,
                     const TrainState& s, const std::string& config_hash,
                     const std::map<std::string, std::string>& model_record, c10::Device device,
                     const std::function<bool()>& commit) {
  models::TensorFile f;
  for (auto& [name, t] : models::module_state(model).tensors) f.tensors.emplace_back("model/" + name, t);
  for (auto& [name, t] : optimizer.state()) f.tensors.emplace_back("optim/" + name, t);
  json generators = {{"loader", "keyed on (seed, epoch, sample): restored by the loop's position"},
                     {"mixer", "keyed on (seed, global step): restored by the loop's position"}};
  for (auto& [name, state] : capture_generators(device)) {
    f.tensors.emplace_back("rng/" + name, state);
    generators[name] = "rng/" + name + (name == "cuda" ? " (" + device.str() + ")" : "");
  }
  json history = json::array();
  for (const auto& m : s.history) history.push_back(to_json(m));
  const json state = {{"epoch", s.epoch},
                      {"step_in_epoch", s.step_in_epoch},
                      {"global_step", s.global_step},
                      {"optimizer_steps", optimizer.steps()},
                      {"epoch_loss_sum", s.epoch_loss_sum},
                      {"epoch_correct", s.epoch_correct},
                      {"epoch_seen", s.epoch_seen},
                      {"epoch_seconds", s.epoch_seconds},
                      {"history", history},
                      {"timing", s.timing},
                      {"loss_scale", s.loss_scale.to_json()}};
  f.metadata = model_record;
  f.metadata.insert({{"format", "acm-checkpoint-v1"},
                     {"config_hash", config_hash},
                     {"state", state.dump()},
                     {"generators", generators.dump()}});
  return models::write_safetensors(path, f, commit);
}

TrainState load_checkpoint(const std::string& path, torch::nn::Module& model, Optimizer& optimizer,
                           const std::string& config_hash) {
  models::TensorFile f = models::read_safetensors(path);
  auto meta = [&](const char* key) {
    auto it = f.metadata.find(key);
    if (it == f.metadata.end())
      throw std::runtime_error(path + ": not a training checkpoint (no '" + key + "')");
    return it->second;
  };
  if (meta("format") != "acm-checkpoint-v1") throw std::runtime_error(path + ": unknown checkpoint format");
  if (meta("config_hash") != config_hash) {
    throw std::runtime_error(path + ": checkpoint was written for another config (hash " +
                             meta("config_hash") + ", this run " + config_hash +
                             "); resume with the run's own config.json");
  }
  models::TensorFile model_part;
  std::vector<std::pair<std::string, at::Tensor>> optim_part, generators;
  for (auto& [name, t] : f.tensors) {
    if (name.rfind("model/", 0) == 0) model_part.tensors.emplace_back(name.substr(6), t);
    if (name.rfind("optim/", 0) == 0) optim_part.emplace_back(name.substr(6), t);
    if (name.rfind("rng/", 0) == 0) generators.emplace_back(name.substr(4), t);
  }
  models::load_module_state(model, model_part, path);
  const json st = json::parse(meta("state"));
  optimizer.load_state(optim_part, st.at("optimizer_steps").get<std::int64_t>());
  TrainState s;
  s.generators = std::move(generators);
  s.epoch = st.at("epoch");
  s.step_in_epoch = st.at("step_in_epoch");
  s.global_step = st.at("global_step");
  s.epoch_loss_sum = st.at("epoch_loss_sum");
  s.epoch_correct = st.at("epoch_correct");
  s.epoch_seen = st.at("epoch_seen");
  s.epoch_seconds = st.at("epoch_seconds");
  for (const auto& m : st.at("history")) s.history.push_back(epoch_from_json(m));
  s.timing = st.at("timing").get<std::map<std::string, double>>();
  if (st.contains("loss_scale")) s.loss_scale = LossScale::from_json(st.at("loss_scale"));
  return s;
}

}  // namespace acm::train
