#include "results/identity.h"

#include "augment/method.h"
#include "common/hash.h"

#include <algorithm>
#include <cstdio>

namespace acm::results {

using nlohmann::json;

namespace {

bool under(const std::string& pointer, const std::string& prefix) {
  return pointer == prefix ||
         (pointer.size() > prefix.size() && pointer.compare(0, prefix.size(), prefix) == 0 &&
          pointer[prefix.size()] == '/');
}

// How the run was executed, not what it computed. Threads and layouts change the order of floating-point sums
// at most; the extractor's path says where it lies (what it is enters as kExtractorField).
// How often the ranks vote, whether cuDNN times its algorithms and whether a CUDA graph replays the step (the
// optimizer then reads its learning rate from a device tensor) change no more than that; what evaluation
// measures besides top-1 (/eval) changes nothing that training computes.
const char* const kExecution[] = {"/threads",       "/loader_threads", "/eval_batch_size",   "/device",
                                  "/channels_last", "/distributed",    "/mix/extractor/path", "/sync_every",
                                  "/cudnn_benchmark", "/cuda_graph", "/eval"};

// Settings the resolved config holds only when they differ from their defaults (so that results made before
// the setting existed keep their identity): absent means this value (harness/train/config.cpp,
// harness/data/spec.cpp).
const std::map<std::string, json>& omitted_defaults() {
  static const std::map<std::string, json> defaults = {
      {"/precision", "fp32"}, {"/dataset/train_crop", "center"}, {"/dataset/decode_oversample", 2.0},
      {"/model_options/last_stride", 2}};
  return defaults;
}

// Names a reader knows, for the fields that vary most often.
const std::map<std::string, std::string>& short_names() {
  static const std::map<std::string, std::string> names = {
      {"/epochs", "epochs"},
      {"/batch_size", "batch"},
      {"/optimizer/lr", "lr"},
      {"/optimizer/name", "optimizer"},
      {"/optimizer/weight_decay", "weight decay"},
      {"/optimizer/momentum", "momentum"},
      {"/schedule/name", "schedule"},
      {"/model_options/width", "width"},
      {"/model_options/norm", "norm"},
      {"/model_options/init", "init"},
      {"/model_options/stem", "stem"},
      {"/model_options/last_stride", "last stride"},
      {"/label_smoothing", "label smoothing"},
      {"/augment/crop_padding", "crop padding"},
      {"/augment/horizontal_flip", "flip"},
      {"/mix/alpha", "alpha"},
      {"/mix/prob", "p"},
      {"/mix/grid", "grid"},
      {"/mix/lambda", "lambda"},
      {"/mix/cache", "cache"},
      {"/dataset/path", "data"},
      {"/model", "model"},
      {"/mix/method", "method"},
  };
  return names;
}

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::string fields_text(const Fields& f) {
  std::string s;
  for (const auto& [pointer, value] : f) s += pointer + "=" + value.dump() + "\n";
  return s;
}

}  // namespace

Role role_of(const std::string& pointer) {
  if (pointer == "/seed") return Role::kSeed;
  for (const char* p : kExecution) {
    if (under(pointer, p)) return Role::kExecution;
  }
  if (under(pointer, "/mix")) return Role::kMethod;  // kExtractorField included
  return Role::kSetting;                             // kWorldSizeField included
}

bool world_size_matters(const json& config) {
  const std::string norm =
      config.contains("model_options") ? config["model_options"].value("norm", "batch") : "batch";
  const std::string method = config.contains("mix") ? config["mix"].value("method", "none") : "none";
  // Per-rank BatchNorm normalises over the rank's share of the batch; some mixers pair images inside it.
  return norm == "batch" || augment::pairs_in_batch(method);
}

std::string Identity::setting_key() const { return fields_text(setting); }
std::string Identity::method_key() const { return fields_text(method_fields); }

Identity identify(const json& config, int world_size, const std::string& extractor) {
  Identity id;
  const json flat = config.flatten();  // named: items() of a temporary would dangle in the loop
  for (const auto& [pointer, value] : flat.items()) {
    switch (role_of(pointer)) {
      case Role::kSeed:
        id.seed = value.is_number() ? value.get<std::int64_t>() : 0;
        break;
      case Role::kExecution:
        break;
      case Role::kMethod:
        id.method_fields[pointer] = value;
        break;
      case Role::kSetting:
        id.setting[pointer] = value;
        break;
    }
  }
  if (world_size > 0 && world_size_matters(config)) id.setting[kWorldSizeField] = world_size;
  if (!extractor.empty()) id.method_fields[kExtractorField] = extractor;
  id.dataset = config.contains("dataset") ? config["dataset"].value("name", "?") : "?";
  id.model = config.value("model", "?");
  const std::string m = config.contains("mix") ? config["mix"].value("method", "none") : "none";
  id.method = augment::method_label(m);
  return id;
}

std::string extractor_from_run(const Identity& producer, std::int64_t user_seed, bool shared) {
  const std::string seed = shared                         ? "seed " + std::to_string(producer.seed) + " for every seed"
                           : producer.seed == user_seed ? "same seed"
                                                        : "seed " + std::to_string(producer.seed);
  return "run " + hash::short_text(producer.key()) + " (" + producer.model + " " + producer.method + ", " + seed +
         ")";
}

std::string extractor_from_file(const std::string& hash) { return "file " + hash; }

std::string describe(const std::string& pointer, const json& value) {
  if (pointer == kWorldSizeField) return value_text(value) + (value == 1 ? " rank" : " ranks");
  if (pointer == kTopNField) return "N=" + value_text(value);
  if (pointer == kExtractorField) {  // "file HASH": 8 hex digits tell a table's extractors apart
    std::string v = value_text(value);
    if (v.rfind("file ", 0) == 0 && v.size() > 13) v.resize(13);
    // "run HASH (MODEL METHOD, SEED)": a column label names the run's hash, method and seed; the model is the
    // row's.
    if (v.rfind("run ", 0) == 0) {
      v = v.substr(4);
      const auto open = v.find(" (");
      const auto space = open == std::string::npos ? std::string::npos : v.find(' ', open + 2);
      if (space != std::string::npos) v.erase(open + 2, space - open - 1);
    }
    return "extractor " + v;
  }
  if (value.is_boolean()) {
    const auto it = short_names().find(pointer);
    if (it != short_names().end()) return it->second + (value.get<bool>() ? " on" : " off");
  }
  const auto it = short_names().find(pointer);
  std::string name;
  if (it != short_names().end()) {
    name = it->second;
  } else {
    name = pointer.substr(1);
    std::replace(name.begin(), name.end(), '/', '.');
  }
  return name + " " + value_text(value);
}

std::vector<std::string> varying_fields(const std::vector<const Fields*>& sets,
                                        const std::vector<std::string>& ignore) {
  std::vector<std::string> out;
  if (sets.size() < 2) return out;
  std::map<std::string, bool> seen;
  for (const Fields* f : sets) {
    for (const auto& [pointer, value] : *f) seen.emplace(pointer, false);
  }
  for (const auto& [pointer, unused] : seen) {
    if (std::find(ignore.begin(), ignore.end(), pointer) != ignore.end()) continue;
    const auto first = sets.front()->find(pointer);
    for (const Fields* f : sets) {
      const auto it = f->find(pointer);
      const bool same = (it == f->end()) == (first == sets.front()->end()) &&
                        (it == f->end() || it->second == first->second);
      if (!same) {
        out.push_back(pointer);
        break;
      }
    }
  }
  return out;
}

std::string describe_fields(const Fields& fields, const std::vector<std::string>& pointers) {
  std::string s;
  for (const auto& p : pointers) {
    const auto it = fields.find(p);
    std::string text;
    if (it != fields.end()) {
      text = describe(p, it->second);
    } else if (p == kWorldSizeField) {
      text = "any rank count";  // the rank count does not change this run's computation
    } else if (const auto d = omitted_defaults().find(p); d != omitted_defaults().end()) {
      text = describe(p, d->second);
    } else {
      text = describe(p, "—");  // the field does not exist for this run (another method's parameter)
    }
    s += (s.empty() ? "" : ", ") + text;
  }
  return s;
}

}  // namespace acm::results
