#include "harness/train/config.h"

#include <cstdio>

#include "harness/config/json_reader.h"
#include "harness/data/keyed_rng.h"
#include "models/registry.h"

namespace acm::train {

using config::ConfigError;
using config::JsonReader;
using nlohmann::json;

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
  {
    auto m = r.child("model_options");
    c.model_spec.stem = models::stem_from_string(m.get_choice("stem", "cifar", {"imagenet", "cifar"}));
    c.model_spec.width = m.get_int("width", 16, 1, 4096);
    c.model_spec.init =
        models::init_from_string(m.get_choice("init", "kaiming", {"kaiming", "xavier_normal"}));
    c.model_spec.norm =
        models::norm_from_string(m.get_choice("norm", "batch", {"batch", "group", "sync_batch"}));
    m.finish();
  }
  c.epochs = r.get_int("epochs", c.epochs, 1, 100000);
  c.batch_size = r.get_int("batch_size", c.batch_size, 1, 1 << 20);
  c.eval_batch_size = r.get_int("eval_batch_size", c.eval_batch_size, 1, 1 << 20);
  {
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
  {
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
  {
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
  {
    auto m = r.child("mix");
    auto& x = c.mix;
    x.method = m.get_choice("method", x.method, augment::mixer_names());
    if (x.method == "mixup" || x.method == "cutmix") x.alpha = m.get_double("alpha", x.alpha, 1e-6, 1e6);
    if (x.method == "mixup") x.per_sample = m.get_bool("per_sample", x.per_sample);
    if (x.method == "cutmix") x.prob = m.get_double("prob", x.prob, 0, 1);
    if (x.method == "cutout") {
      x.size = m.get_int("size", x.size, 1, 4096);
      x.holes = m.get_int("holes", x.holes, 1, 1024);
    }
    if (x.method == "attentive_cutmix") {
      auto& a = x.attentive;
      a.grid = m.get_int("grid", a.grid, 1, 64);
      a.lambda = m.get_choice("lambda", a.lambda, {"fixed", "beta"});
      if (a.lambda == "fixed") a.top_n = m.get_int("top_n", a.top_n, 1, a.grid * a.grid);
      if (a.lambda == "beta") a.alpha = m.get_double("alpha", a.alpha, 1e-6, 1e6);
      a.prob = m.get_double("prob", a.prob, 0, 1);
      x.cache = m.get_bool("cache", x.cache);
      auto e = m.child("extractor");
      auto& es = x.extractor;
      es.path = e.get_string("path", "");
      if (es.path.empty())
        throw ConfigError(e.path_of("path") +
                          ": attentive_cutmix needs an extractor file (a run "
                          "folder, a checkpoint, converted weights or a TorchScript module)");
      es.input_size = e.get_int("input_size", es.input_size, 0, 4096);
      es.mean = e.get_doubles("mean", {});
      es.std = e.get_doubles("std", {});
      if (es.mean.size() != es.std.size()) {
        throw ConfigError(e.path() + ": mean and std need the same length (one per channel), got " +
                          std::to_string(es.mean.size()) + " and " + std::to_string(es.std.size()));
      }
      for (double v : es.std) {
        if (!(v > 0)) throw ConfigError(e.path_of("std") + ": every std must be > 0");
      }
      es.reduce.how = e.get_choice("reduce", es.reduce.how, augment::reduce_names());
      if (es.reduce.how == "channel") es.reduce.channel = e.get_int("channel", 0, 0, 1 << 20);
      e.finish();
    }
    m.finish();
  }
  c.label_smoothing = r.get_double("label_smoothing", c.label_smoothing, 0, 1);
  c.seed = static_cast<std::uint64_t>(r.get_int("seed", 0, 0, INT64_MAX));
  c.threads = static_cast<int>(r.get_int("threads", c.threads, 0, 1024));
  c.loader_threads = static_cast<int>(r.get_int("loader_threads", c.loader_threads, 0, 256));
  c.device = r.get_string("device", c.device);
  {
    const std::string& d = c.device;
    const bool indexed =
        d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.find_first_not_of("0123456789", 5) == std::string::npos;
    if (d != "auto" && d != "cpu" && d != "cuda" && !indexed) {
      throw ConfigError(r.path_of("device") + ": expected one of auto, cpu, cuda, cuda:N, found \"" + d +
                        "\"");
    }
  }
  c.channels_last = r.get_bool("channels_last", c.channels_last);
  {
    auto d = r.child("distributed");
    auto& x = c.distributed;
    x.bucket_mb = d.get_double("bucket_mb", x.bucket_mb, 1.0 / 1024, 1 << 16);
    x.first_bucket_mb = d.get_double("first_bucket_mb", x.first_bucket_mb, 1.0 / 1024, 1 << 16);
    x.backend = d.get_choice("backend", x.backend, {"auto", "mpi", "nccl"});
    d.finish();
  }
  r.finish();
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
  const auto& x = c.mix;
  json mix = {{"method", x.method}};
  if (x.method == "mixup") mix.update({{"alpha", x.alpha}, {"per_sample", x.per_sample}});
  if (x.method == "cutmix") mix.update({{"alpha", x.alpha}, {"prob", x.prob}});
  if (x.method == "cutout") mix.update({{"size", x.size}, {"holes", x.holes}});
  if (x.method == "attentive_cutmix") {
    const auto& a = x.attentive;
    const auto& es = x.extractor;
    mix.update({{"grid", a.grid}, {"lambda", a.lambda}, {"prob", a.prob}, {"cache", x.cache}});
    if (a.lambda == "fixed") mix["top_n"] = a.top_n;
    if (a.lambda == "beta") mix["alpha"] = a.alpha;
    json ex = {{"path", es.path}, {"input_size", es.input_size}, {"reduce", es.reduce.how}};
    if (!es.mean.empty()) ex.update({{"mean", es.mean}, {"std", es.std}});
    if (es.reduce.how == "channel") ex["channel"] = es.reduce.channel;
    mix["extractor"] = ex;
  }
  return {{"dataset", data::to_json(c.dataset)},
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

std::string config_hash(const json& resolved) {
  // FNV-1a over the canonical dump (nlohmann sorts object keys), widened through splitmix64.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : resolved.dump()) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(data::splitmix64(h)));
  return buf;
}

}  // namespace acm::train
