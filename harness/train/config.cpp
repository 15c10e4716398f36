#include "harness/train/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/json_reader.h"
#include "harness/data/keyed_rng.h"
#include "harness/train/corruptions.h"
#include "models/registry.h"

namespace acm::train {

using config::ConfigError;
using config::JsonReader;
using nlohmann::json;

namespace {

void parse_optimizer(JsonReader& r, RunConfig& c) {
  auto o = r.child("optimizer");
  auto& x = c.optimizer;
  x.name = o.get_choice("name", x.name, {"sgd", "adam", "adamw"});
  x.lr = o.get_double("lr", x.lr, 0, 1e3);
  x.weight_decay = o.get_double("weight_decay", x.name == "adamw" ? 0.01 : x.weight_decay, 0, 10);
  if (x.name == "sgd") {
    x.momentum = o.get_double("momentum", x.momentum, 0, 1);
    x.nesterov = o.get_bool("nesterov", x.nesterov);
    if (x.nesterov && x.momentum == 0) {
      throw ConfigError(o.path_of("nesterov") + ": Nesterov momentum needs momentum > 0");
    }
  } else {
    x.beta1 = o.get_double("beta1", x.beta1, 0, 1);
    x.beta2 = o.get_double("beta2", x.beta2, 0, 1);
    x.eps = o.get_double("eps", x.eps, 0, 1);
  }
  o.finish();
}

void parse_schedule(JsonReader& r, RunConfig& c) {
  auto s = r.child("schedule");
  auto& x = c.schedule;
  x.name = s.get_choice("name", x.name, {"constant", "step", "cosine", "onecycle"});
  if (x.name == "onecycle") {
    x.pct_start = s.get_double("pct_start", x.pct_start, 0, 1);
    x.div_factor = s.get_double("div_factor", x.div_factor, 1, 1e9);
    x.final_div_factor = s.get_double("final_div_factor", x.final_div_factor, 1, 1e12);
    x.cycle_momentum = s.get_bool("cycle_momentum", c.optimizer.name == "sgd");
    if (x.cycle_momentum && c.optimizer.name != "sgd") {
      throw ConfigError(s.path_of("cycle_momentum") + ": momentum cycling needs optimizer sgd");
    }
    if (x.cycle_momentum) {
      x.base_momentum = s.get_double("base_momentum", x.base_momentum, 0, 1);
      x.max_momentum = s.get_double("max_momentum", x.max_momentum, x.base_momentum, 1);
    }
  } else {
    x.cycle_momentum = false;
    x.warmup_epochs = s.get_double("warmup_epochs", 0, 0, static_cast<double>(c.epochs));
  }
  if (x.name == "step") {
    x.milestones = s.get_doubles("milestones", {});
    if (x.milestones.empty())
      throw ConfigError(s.path_of("milestones") + ": step schedule needs milestones (epochs)");
    x.gamma = s.get_double("gamma", x.gamma, 0, 1);
  }
  if (x.name == "cosine") x.min_lr = s.get_double("min_lr", 0, 0, c.optimizer.lr);
  s.finish();
}

void parse_augment(JsonReader& r, RunConfig& c) {
  auto a = r.child("augment");
  auto& x = c.augment;
  x.crop_padding = a.get_int("crop_padding", x.crop_padding, 0, 64);
  x.horizontal_flip = a.get_bool("horizontal_flip", x.horizontal_flip);
  x.normalize = a.get_choice("normalize", x.normalize, {"dataset", "given", "none"});
  if (x.normalize == "given") {
    x.mean = a.get_doubles("mean", {});
    x.std = a.get_doubles("std", {});
    if (x.mean.empty() || x.mean.size() != x.std.size()) {
      throw ConfigError(a.path() + ": normalize 'given' needs mean and std of equal, non-zero length");
    }
  }
  a.finish();
}

void parse_model_options(JsonReader& r, RunConfig& c) {
  auto m = r.child("model_options");
  c.model_spec.stem = models::stem_from_string(m.get_choice("stem", "cifar", {"imagenet", "cifar"}));
  c.model_spec.width = m.get_int("width", 16, 1, 4096);
  c.model_spec.init =
      models::init_from_string(m.get_choice("init", "kaiming", {"kaiming", "xavier_normal"}));
  c.model_spec.norm =
      models::norm_from_string(m.get_choice("norm", "batch", {"batch", "group", "sync_batch"}));
  c.model_spec.last_stride = m.get_int("last_stride", 2, 1, 2);
  if (c.model_spec.last_stride != 2 && c.model.rfind("resnet", 0) != 0) {
    throw ConfigError(m.path() + ".last_stride: a ResNet option (the stride of the last stage); model '" + c.model +
                      "' has no such stage");
  }
  m.finish();
}

void parse_distributed(JsonReader& r, RunConfig& c) {
  auto d = r.child("distributed");
  auto& x = c.distributed;
  x.bucket_mb = d.get_double("bucket_mb", x.bucket_mb, 1.0 / 1024, 1 << 16);
  x.first_bucket_mb = d.get_double("first_bucket_mb", x.first_bucket_mb, 1.0 / 1024, 1 << 16);
  x.backend = d.get_choice("backend", x.backend, {"auto", "mpi", "nccl"});
  d.finish();
}

void parse_eval(JsonReader& r, RunConfig& c) {
  auto e = r.child("eval");
  auto& x = c.eval;
  x.calibration_bins = static_cast<int>(e.get_int("calibration_bins", x.calibration_bins, 0, 1000));
  x.occlusion = e.get_doubles("occlusion", x.occlusion);
  x.fgsm = e.get_doubles("fgsm", x.fgsm);
  for (const auto& [key, values] : {std::pair<const char*, const std::vector<double>&>{"occlusion", x.occlusion},
                                    {"fgsm", x.fgsm}}) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!(values[i] >= 0 && values[i] <= 1)) {
        throw ConfigError(e.path_of(key) + "[" + std::to_string(i) + "]: " + std::to_string(values[i]) +
                          " is outside [0, 1] (" +
                          (std::string(key) == "fgsm" ? "ε in pixel units: 8/255 is 0.0314" : "a fraction of the image side") + ")");
      }
    }
  }
  x.robustness_images = e.get_int("robustness_images", x.robustness_images, 0, INT64_MAX);
  x.corruptions = e.get_choices("corruptions", x.corruptions, corruption_names());
  if (e.has("corruption_severities")) {
    x.corruption_severities.clear();
    const std::vector<double> levels = e.get_doubles("corruption_severities", {});
    for (std::size_t i = 0; i < levels.size(); ++i) {
      const bool once = std::find(x.corruption_severities.begin(), x.corruption_severities.end(),
                                  static_cast<int>(levels[i])) == x.corruption_severities.end();
      if (!(levels[i] >= 1 && levels[i] <= 5 && levels[i] == std::floor(levels[i])) || !once) {
        const bool whole = levels[i] == std::floor(levels[i]) && std::abs(levels[i]) < 1e15;
        throw ConfigError(e.path_of("corruption_severities") + "[" + std::to_string(i) +
                          "]: expected one of 1, 2, 3, 4, 5 (each once), found " +
                          (whole ? std::to_string(static_cast<long long>(levels[i])) : json(levels[i]).dump()));
      }
      x.corruption_severities.push_back(static_cast<int>(levels[i]));
    }
  }
  x.corruption_images = e.get_int("corruption_images", x.corruption_images, 0, INT64_MAX);
  x.robustness_every = e.get_int("robustness_every", x.robustness_every, 0, INT64_MAX);
  e.finish();
}

void check_device(const JsonReader& r, const RunConfig& c) {
  const std::string& d = c.device;
  const bool indexed =
      d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.find_first_not_of("0123456789", 5) == std::string::npos;
  if (d != "auto" && d != "cpu" && d != "cuda" && !indexed) {
    throw ConfigError(r.path_of("device") + ": expected one of auto, cpu, cuda, cuda:N, found \"" + d +
                      "\"");
  }
}

// A step as one CUDA graph replays the same kernels with the same arguments every step: whatever the host
// decides per step, or runs on the host, cannot be inside it. Each refusal names both fields.
void check_cuda_graph(const JsonReader& r, const RunConfig& c) {
  const std::string field = r.path_of("cuda_graph") + ": ";
  if (c.device == "cpu") {
    throw ConfigError(field + "a CUDA graph needs a CUDA device; " + r.path_of("device") +
                      " is \"cpu\" (use auto, cuda or cuda:N, or cuda_graph false)");
  }
  if (c.precision == "fp16") {
    throw ConfigError(field + "not with " + r.path_of("precision") +
                      " \"fp16\": its dynamic loss scale decides on the host, every step, whether to apply the "
                      "step and how to scale the loss, which a replayed graph cannot; use bf16 or fp32");
  }
  if (c.model_spec.norm == models::Norm::kSyncBatch) {
    throw ConfigError(field + "not with " + r.path_of("model_options.norm") +
                      " \"sync_batch\": SyncBN's reductions are issued from autograd's thread through the "
                      "gradient reducer's queue, which a capture on the training thread cannot hold; use batch or "
                      "group");
  }
  if (c.distributed.backend == "mpi") {
    throw ConfigError(field + "not with " + r.path_of("distributed.backend") +
                      " \"mpi\": MPI reduces the gradients on the host, outside any graph; use nccl or auto");
  }
}

// Fields that are each valid but do not hold together.
void check_combinations(const JsonReader& r, const RunConfig& c) {
  if (c.sync_every > 1 && c.precision == "fp16") {
    throw ConfigError(r.path_of("sync_every") + ": " + std::to_string(c.sync_every) + " with " +
                      r.path_of("precision") +
                      " \"fp16\": the dynamic loss scale decides every step whether to apply it, which needs the "
                      "host each step; use 0 or 1, or bf16");
  }
  if (c.cuda_graph) check_cuda_graph(r, c);
  if (c.mix.cache && c.dataset.name == "imagenet" && c.dataset.image.train_crop == "random_resized") {
    throw ConfigError(r.path_of("mix.cache") +
                      ": the attention cache holds one heatmap per centre-cropped training image, but with " +
                      r.path_of("dataset.train_crop") +
                      " \"random_resized\" every epoch crops each image differently; set mix.cache false "
                      "(a pass per batch) or train_crop \"center\"");
  }
}

}  // namespace

RunConfig parse_run_config(const json& j, const std::string& where) {
  RunConfig c;
  JsonReader r(j, where + ":$");
  {
    auto d = r.child("dataset");
    c.dataset = data::parse_dataset_spec(d);
  }
  c.model = r.get_string("model", c.model);
  try {
    models::find_model(c.model);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(r.path_of("model") + ": " + e.what());
  }
  parse_model_options(r, c);
  c.epochs = r.get_int("epochs", c.epochs, 1, 100000);
  c.batch_size = r.get_int("batch_size", c.batch_size, 1, 1 << 20);
  c.eval_batch_size = r.get_int("eval_batch_size", c.eval_batch_size, 1, 1 << 20);
  parse_optimizer(r, c);
  parse_schedule(r, c);
  parse_augment(r, c);
  {
    auto m = r.child("mix");
    c.mix.method = m.get_choice("method", c.mix.method, augment::method_names());
    augment::find_method(c.mix.method).parse(m, c.mix);
    m.finish();
  }
  c.label_smoothing = r.get_double("label_smoothing", c.label_smoothing, 0, 1);
  c.seed = static_cast<std::uint64_t>(r.get_int("seed", 0, 0, INT64_MAX));
  c.threads = static_cast<int>(r.get_int("threads", c.threads, 0, 1024));
  c.loader_threads = static_cast<int>(r.get_int("loader_threads", c.loader_threads, 0, 256));
  c.device = r.get_string("device", c.device);
  check_device(r, c);
  c.channels_last = r.get_bool("channels_last", c.channels_last);
  c.precision = r.get_choice("precision", c.precision, {"fp32", "bf16", "fp16"});
  c.cudnn_benchmark = r.get_bool("cudnn_benchmark", c.cudnn_benchmark);
  c.sync_every = static_cast<int>(r.get_int("sync_every", c.sync_every, 0, 100000));
  c.cuda_graph = r.get_bool("cuda_graph", c.cuda_graph);
  parse_distributed(r, c);
  parse_eval(r, c);
  r.finish();
  check_combinations(r, c);
  return c;
}

json to_json(const RunConfig& c) {
  const auto& o = c.optimizer;
  json opt = {{"name", o.name}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
  if (o.name == "sgd") {
    opt.update({{"momentum", o.momentum}, {"nesterov", o.nesterov}});
  } else {
    opt.update({{"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps}});
  }
  const auto& s = c.schedule;
  json sch = {{"name", s.name}};
  if (s.name == "onecycle") {
    sch.update({{"pct_start", s.pct_start},
                {"div_factor", s.div_factor},
                {"final_div_factor", s.final_div_factor},
                {"cycle_momentum", s.cycle_momentum}});
    if (s.cycle_momentum) sch.update({{"base_momentum", s.base_momentum}, {"max_momentum", s.max_momentum}});
  } else {
    sch["warmup_epochs"] = s.warmup_epochs;
  }
  if (s.name == "step") sch.update({{"milestones", s.milestones}, {"gamma", s.gamma}});
  if (s.name == "cosine") sch["min_lr"] = s.min_lr;
  const auto& a = c.augment;
  json aug = {
      {"crop_padding", a.crop_padding}, {"horizontal_flip", a.horizontal_flip}, {"normalize", a.normalize}};
  if (a.normalize == "given") aug.update({{"mean", a.mean}, {"std", a.std}});
  json mix = {{"method", c.mix.method}};
  augment::find_method(c.mix.method).to_json(c.mix, mix);
  json out = {{"dataset", data::to_json(c.dataset)},
          {"model", c.model},
          {"model_options",
           {{"stem", models::to_string(c.model_spec.stem)},
            {"width", c.model_spec.width},
            {"init", models::to_string(c.model_spec.init)},
            {"norm", models::to_string(c.model_spec.norm)}}},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"eval_batch_size", c.eval_batch_size},
          {"optimizer", opt},
          {"schedule", sch},
          {"augment", aug},
          {"mix", mix},
          {"label_smoothing", c.label_smoothing},
          {"seed", c.seed},
          {"threads", c.threads},
          {"loader_threads", c.loader_threads},
          {"device", c.device},
          {"channels_last", c.channels_last},
          {"distributed",
           {{"bucket_mb", c.distributed.bucket_mb},
            {"first_bucket_mb", c.distributed.first_bucket_mb},
            {"backend", c.distributed.backend}}}};
  // Written only where it differs from its default, so that configs from before the option keep their identity.
  if (c.model_spec.last_stride != 2) out["model_options"]["last_stride"] = c.model_spec.last_stride;
  if (c.precision != "fp32") out["precision"] = c.precision;
  if (c.cudnn_benchmark) out["cudnn_benchmark"] = true;
  if (c.sync_every != 0) out["sync_every"] = c.sync_every;
  if (c.cuda_graph) out["cuda_graph"] = true;
  const EvalConfig d;
  if (c.eval.calibration_bins != d.calibration_bins || c.eval.occlusion != d.occlusion || c.eval.fgsm != d.fgsm ||
      c.eval.robustness_images != d.robustness_images || c.eval.corruptions != d.corruptions ||
      c.eval.corruption_severities != d.corruption_severities || c.eval.corruption_images != d.corruption_images ||
      c.eval.robustness_every != d.robustness_every) {
    out["eval"] = {{"calibration_bins", c.eval.calibration_bins},
                   {"occlusion", c.eval.occlusion},
                   {"fgsm", c.eval.fgsm},
                   {"robustness_images", c.eval.robustness_images},
                   {"corruptions", c.eval.corruptions},
                   {"corruption_severities", c.eval.corruption_severities},
                   {"corruption_images", c.eval.corruption_images},
                   {"robustness_every", c.eval.robustness_every}};
  }
  return out;
}

void apply_override(json& j, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError("--set " + assignment + ": expected PATH=VALUE, e.g. optimizer.lr=0.05");
  }
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception&) {
    value = text;  // a bare word: resnet50, cosine, /data/cifar
  }
  json* node = &j;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError("--set " + assignment + ": empty component in path '" + path + "'");
    if (!node->is_object())
      throw ConfigError("--set " + assignment + ": '" + key + "' is inside a non-object");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    node = &(*node)[key];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

}  // namespace acm::train
