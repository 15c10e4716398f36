#include "sweeps/spec.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "augment/method.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "harness/data/error.h"
#include "harness/data/spec.h"
#include "harness/train/config.h"
#include "common/files.h"
#include "results/identity.h"
#include "sweeps/reuse.h"

namespace acm::sweeps {

using config::ConfigError;
using nlohmann::json;

namespace {

struct Axis;
struct AxisValue {
  json value;  // the scalar (path axes) or the label (labelled values)
  json set = json::object();
  json extractor_from;  // null or {axis: value}
  std::vector<Axis> axes;
};
struct Axis {
  std::string name, path, where;
  std::vector<AxisValue> values;
};

std::vector<json> parse_range(const json& v, const std::string& where) {
  std::vector<json> out;
  if (v.is_array()) {
    for (const auto& x : v) out.push_back(x);
    return out;
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    long long a = 0, b = 0;
    char tail = 0;
    if (std::sscanf(s.c_str(), "%lld..%lld%c", &a, &b, &tail) == 2 && a <= b) {
      for (long long i = a; i <= b; ++i) out.push_back(i);
      return out;
    }
    throw ConfigError(where + ": expected a list or a range \"A..B\" with A <= B, found \"" + s + "\"");
  }
  if (v.is_number() || v.is_boolean()) return {v};
  throw ConfigError(where + ": expected a list or a range \"A..B\", found " + v.dump());
}

std::vector<Axis> parse_axes(const json& j, const std::string& where, std::set<std::string>& names) {
  if (!j.is_array()) throw ConfigError(where + ": expected a list of axes, found " + j.dump());
  std::vector<Axis> axes;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    config::JsonReader r(j[i], w);
    Axis a;
    a.where = w;
    a.name = r.get_string("name", "");
    if (a.name.empty()) throw ConfigError(w + ".name: required (how runs and folders name this axis)");
    if (!names.insert(a.name).second) throw ConfigError(w + ".name: axis '" + a.name + "' appears twice");
    a.path = r.get_string("path", "");
    if (!j[i].contains("values")) throw ConfigError(w + ".values: required");
    const json& values = j[i]["values"];
    if (!a.path.empty()) {
      for (const auto& v : parse_range(values, w + ".values")) {
        if (v.is_object() || v.is_null()) {
          throw ConfigError(w + ".values: an axis with a path takes scalar values, found " + v.dump());
        }
        AxisValue av;
        av.value = v;
        a.values.push_back(std::move(av));
      }
    } else {
      if (!values.is_array() || values.empty()) {
        throw ConfigError(w + ".values: expected a list of {\"label\", \"set\"} objects (or give the axis a "
                          "\"path\")");
      }
      for (std::size_t k = 0; k < values.size(); ++k) {
        const std::string vw = w + ".values[" + std::to_string(k) + "]";
        config::JsonReader vr(values[k], vw);
        AxisValue av;
        av.value = vr.get_string("label", "");
        if (av.value.get<std::string>().empty()) throw ConfigError(vw + ".label: required");
        if (values[k].contains("set")) {
          if (!values[k]["set"].is_object()) throw ConfigError(vw + ".set: expected an object");
          av.set = values[k]["set"];
          vr.accept("set");
        }
        if (values[k].contains("extractor_from")) {
          if (!values[k]["extractor_from"].is_object()) throw ConfigError(vw + ".extractor_from: expected an object");
          av.extractor_from = values[k]["extractor_from"];
          vr.accept("extractor_from");
        }
        if (values[k].contains("axes")) {
          av.axes = parse_axes(values[k]["axes"], vw + ".axes", names);
          vr.accept("axes");
        }
        vr.finish();
        a.values.push_back(std::move(av));
      }
    }
    if (a.values.empty()) throw ConfigError(w + ".values: empty");
    r.accept("values");
    r.finish();
    axes.push_back(std::move(a));
  }
  return axes;
}

void set_at_path(json& j, const std::string& dotted, const json& value) {
  json* node = &j;
  std::size_t start = 0;
  while (true) {
    const auto dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    if (!node->contains(key) || !(*node)[key].is_object()) (*node)[key] = json::object();
    node = &(*node)[key];
    start = dot + 1;
  }
}

void substitute(json& j, const std::map<std::string, std::string>& inputs, const std::string& where) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    for (std::size_t pos; (pos = s.find("${")) != std::string::npos;) {
      const auto end = s.find('}', pos);
      if (end == std::string::npos) throw ConfigError(where + ": unterminated ${ in \"" + s + "\"");
      const std::string name = s.substr(pos + 2, end - pos - 2);
      const auto it = inputs.find(name);
      if (it == inputs.end()) {
        throw ConfigError(where + ": \"${" + name + "}\" names no input (declare it under $.inputs)");
      }
      s.replace(pos, end - pos + 1, it->second);
    }
    j = s;
  } else if (j.is_object()) {
    for (auto& [k, v] : j.items()) substitute(v, inputs, where + "." + k);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) substitute(j[i], inputs, where + "[" + std::to_string(i) + "]");
  }
}

struct Partial {
  json config;
  std::vector<std::pair<std::string, json>> coords;         // in axis order
  std::map<std::string, std::vector<std::string>> children;  // labelled axis -> its chosen value's sub-axes
  json extractor_from;
  std::string from_axis;  // the axis whose value asked for an extractor
};

void expand(std::vector<const Axis*> queue, std::size_t k, Partial p, std::vector<Partial>& out) {
  if (k == queue.size()) {
    out.push_back(std::move(p));
    return;
  }
  const Axis& a = *queue[k];
  for (const auto& v : a.values) {
    Partial q = p;
    std::vector<const Axis*> next = queue;
    if (!a.path.empty()) {
      set_at_path(q.config, a.path, v.value);
    } else {
      q.config.merge_patch(v.set);
      if (!v.extractor_from.is_null()) {
        q.extractor_from = v.extractor_from;
        q.from_axis = a.name;
      }
      std::vector<std::string> sub;
      for (std::size_t i = 0; i < v.axes.size(); ++i) {
        next.insert(next.begin() + static_cast<std::ptrdiff_t>(k + 1 + i), &v.axes[i]);
        sub.push_back(v.axes[i].name);
      }
      q.children[a.name] = sub;
    }
    q.coords.emplace_back(a.name, v.value);
    expand(next, k + 1, std::move(q), out);
  }
}

// The roles (results/identity.h) of the config fields an axis sets: a path axis its path, a labelled axis
// every leaf of its values' `set`.
std::set<results::Role> axis_roles(const Axis& a) {
  std::set<results::Role> roles;
  if (!a.path.empty()) {
    std::string pointer = "/" + a.path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    roles.insert(results::role_of(pointer));
    return roles;
  }
  for (const auto& v : a.values) {
    const json flat = v.set.flatten();
    for (const auto& [pointer, value] : flat.items()) roles.insert(results::role_of(pointer));
  }
  return roles;
}

// Every axis, sub-axes included, by name.
void index_axes(const std::vector<Axis>& axes, std::map<std::string, const Axis*>& out) {
  for (const auto& a : axes) {
    out[a.name] = &a;
    for (const auto& v : a.values) index_axes(v.axes, out);
  }
}

json coords_object(const std::vector<std::pair<std::string, json>>& coords) {
  json o = json::object();
  for (const auto& [k, v] : coords) o[k] = v;
  return o;
}

bool matches(const json& pattern, const json& coords, const std::string& where,
             const std::set<std::string>& axis_names) {
  for (const auto& [k, v] : pattern.items()) {
    if (!axis_names.count(k)) {
      throw ConfigError(where + "." + k + ": no axis is named '" + k + "' (axes: " +
                        config::join(std::vector<std::string>(axis_names.begin(), axis_names.end())) + ")");
    }
    if (!coords.contains(k)) return false;
    const std::vector<json> allowed = parse_range(v.is_string() && v.get<std::string>().find("..") == std::string::npos
                                                      ? json::array({v})
                                                      : v,
                                                  where + "." + k);
    if (std::find(allowed.begin(), allowed.end(), coords[k]) == allowed.end()) return false;
  }
  return true;
}

std::string part(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  std::replace(s.begin(), s.end(), '/', '_');
  std::replace(s.begin(), s.end(), ' ', '_');
  return s;
}

// A file's size and content hash (the extractor's own hash): the identity of a data or extractor file.
json file_identity(const std::string& path) {
  static std::map<std::string, json> cache;  // keyed by path, size and mtime: one read per file per process
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ConfigError(path + ": cannot read (no such file)");
  const std::string key = path + "\n" + std::to_string(st.st_size) + "\n" + std::to_string(st.st_mtime);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::string hex;
  try {
    hex = hash::of_file(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  return cache[key] = json{{"size", static_cast<std::int64_t>(st.st_size)}, {"hash", hex}};
}

json folder_identity(const std::string& dir, const std::vector<std::string>& only = {}) {
  json files = json::object();
  for (const auto& name : fs::list_dir(dir)) {
    if (name[0] == '.' || (!only.empty() && std::find(only.begin(), only.end(), name) == only.end())) continue;
    const std::string p = fs::join_path(dir, name);
    if (!fs::is_directory(p)) files[name] = file_identity(p);
  }
  return files;
}

// An ImageNet folder's identity is its listing (every class and file name, relative to the root), not its
// bytes: hashing 150 GB at every sweep start is not an option, and a re-encoded file keeps its name.
// Listed once per expansion (48 runs share one folder), and again at the next.
std::map<std::string, json> g_listing_cache;

json image_folder_identity(const std::string& root) {
  auto& cache = g_listing_cache;
  if (auto it = cache.find(root); it != cache.end()) return it->second;
  json id = json::object();
  std::vector<std::string> classes;
  for (const char* split : {"train", "val"}) {
    try {
      const data::FolderListing l = data::list_image_folder(root + "/" + split, classes);
      if (classes.empty()) classes = l.classes;
      json names = json::array();
      for (const auto& f : l.files) names.push_back(f.substr(root.size() + 1));
      id[split] = {{"classes", l.classes.size()}, {"images", l.files.size()}, {"listing", hash::of_json(names)}};
    } catch (const data::DataError& e) {
      throw ConfigError(std::string("$.dataset.path: ") + e.what());
    }
  }
  return cache[root] = id;
}

}  // namespace

json synthetic_like(const json& dataset, std::int64_t train, std::int64_t test) {
  const std::string name = dataset.value("name", "fashion-mnist");
  json out = {{"name", "synthetic"}};
  if (name == "synthetic") {
    out = dataset;
    out.erase("subset");
  } else if (name == "mnist" || name == "fashion-mnist") {
    out.update({{"channels", 1}, {"height", 28}, {"width", 28}, {"classes", 10}});
  } else if (name == "cifar10") {
    out.update({{"channels", 3}, {"height", 32}, {"width", 32}, {"classes", 10}});
  } else if (name == "cifar100") {
    out.update({{"channels", 3}, {"height", 32}, {"width", 32},
                {"classes", dataset.value("labels", "fine") == "coarse" ? 20 : 100}});
  } else if (name == "imagenet") {
    const std::int64_t side = dataset.value("image_size", data::ImageGeometry{}.image_size);
    out.update({{"channels", 3}, {"height", side}, {"width", side}, {"classes", 1000}});
  } else {
    throw ConfigError("$.dataset.name: no known shape for '" + name + "'");
  }
  out["train_size"] = train;
  out["test_size"] = test;
  return out;
}

json input_identity(const json& c) {
  json id = json::object();
  const json& d = c["dataset"];
  const std::string name = d.value("name", "");
  if (name == "imagenet") {
    id["data"] = image_folder_identity(d.value("path", ""));
  } else if (name != "synthetic") {
    id["data"] = folder_identity(d.value("path", ""));
  }
  if (c["mix"].value("method", "") == "attentive_cutmix") {
    const std::string p = c["mix"]["extractor"].value("path", "");
    if (p.rfind("run:", 0) == 0) {
      id["extractor"] = p;
    } else if (fs::is_directory(p)) {
      id["extractor"] = folder_identity(p, {"checkpoint.safetensors", "config.json"});
    } else {
      id["extractor"] = file_identity(p);
    }
  }
  return id;
}

namespace {

}  // namespace

results::Identity planned_identity(const Sweep& sw, std::size_t i) {
  const auto& r = sw.runs[i];
  std::string extractor;
  if (r.extractor_from) {
    const auto& dep = sw.runs[*r.extractor_from];
    extractor = results::extractor_from_run(results::identify(dep.config, sw.ranks_per_run, ""),
                                            r.config.value("seed", 0LL), r.extractor_shared);
  } else if (r.config["mix"].value("method", "") == "attentive_cutmix") {
    extractor = results::extractor_from_file(input_identity(r.config)["extractor"].dump());
  }
  return results::identify(r.config, sw.ranks_per_run, extractor);
}

namespace {

// Two planned runs that the report would count as one experiment and one seed (results/identity.h): the
// second would only repeat the first (e.g. an axis over threads). A spec error that names what differs.
void reject_repeated_runs(const Sweep& sw, const std::string& where) {
  auto identity = [&](std::size_t i) { return planned_identity(sw, i); };
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < sw.runs.size(); ++i) {
    const results::Identity id = identity(i);
    const auto [it, fresh] = seen.emplace(id.key() + "\nseed " + std::to_string(id.seed), i);
    if (fresh) continue;
    const auto& a = sw.runs[it->second];
    const auto& b = sw.runs[i];
    const json fa = a.config.flatten(), fb = b.config.flatten();
    std::string differ;
    for (const auto& [pointer, value] : fb.items()) {
      if (!fa.contains(pointer) || fa[pointer] != value)
        differ += (differ.empty() ? "" : ", ") + pointer.substr(1);
    }
    throw ConfigError(
        where + ": runs " + a.folder + " and " + b.folder + " are one experiment with one seed" +
        (differ.empty() ? std::string()
                        : " (they differ only in " + differ + ", which does not change what is computed)") +
        ": the second would repeat the first and the report would count it once. Drop the axis, "
        "or set such fields per job with --set (docs/grouping.md)");
  }
}

// The spec's inputs: declared in the spec, given on the command line (or their defaults).
std::map<std::string, std::string> resolve_inputs(const json& spec, config::JsonReader& r, const std::string& where,
                                                  const ExpandOptions& options) {
  std::map<std::string, std::string> inputs;
  if (spec.contains("inputs")) {
    auto ir = r.child("inputs");
    for (const auto& [name, decl] : spec["inputs"].items()) {
      auto dr = ir.child(name);
      const std::string description = dr.get_string("description", "");
      const std::string fallback = dr.get_string("default", "");
      dr.finish();
      const auto it = options.inputs.find(name);
      if (it != options.inputs.end()) {
        inputs[name] = it->second;
      } else if (decl.contains("default")) {
        inputs[name] = fallback;
      } else {
        throw ConfigError(where + ": input '" + name + "' is required: pass --input " + name + "=VALUE (" +
                          description + ")");
      }
    }
  }
  for (const auto& [name, value] : options.inputs) {
    if (!inputs.count(name)) throw ConfigError("--input " + name + ": the spec declares no such input");
  }
  return inputs;
}

// Every combination of the axes' values over the base config, then the include and exclude filters.
std::vector<Partial> expand_grid(const json& base, const std::vector<Axis>& axes, const json& include,
                                 const json& exclude, const std::set<std::string>& names, const std::string& where) {
  std::vector<const Axis*> queue;
  for (const auto& a : axes) queue.push_back(&a);
  Partial start;
  start.config = base;
  std::vector<Partial> all;
  expand(queue, 0, start, all);
  std::vector<Partial> kept;
  for (auto& p : all) {
    const json coords = coords_object(p.coords);
    bool keep = include.empty();
    for (std::size_t i = 0; i < include.size(); ++i) {
      keep = keep || matches(include[i], coords, where + ":$.include[" + std::to_string(i) + "]", names);
    }
    for (std::size_t i = 0; keep && i < exclude.size(); ++i) {
      keep = !matches(exclude[i], coords, where + ":$.exclude[" + std::to_string(i) + "]", names);
    }
    if (keep) kept.push_back(std::move(p));
  }
  if (kept.empty()) throw ConfigError(where + ": the axes and filters leave no run");
  return kept;
}

// Folder: data set / model / method[-param...] / [other axes-]seedS. The method part carries the axes that set
// only the method's own fields (results/identity.h), the rest the axes that change the setting.
std::string run_folder(const PlannedRun& run, const Partial& p, const std::map<std::string, const Axis*>& all_axes) {
  const json& c = run.config;
  const json& labels = run.labels;
  std::string dataset = labels.contains("dataset") ? part(labels["dataset"]) : part(c["dataset"]["name"]);
  std::string model = labels.contains("model") ? part(labels["model"]) : part(c["model"]);
  std::string method = labels.contains("method") ? part(labels["method"])
                                                 : part(augment::method_label(c["mix"]["method"].get<std::string>()));
  std::string rest;
  for (const auto& [name, value] : p.coords) {
    if (name == "dataset" || name == "model" || name == "method" || name == "seed") continue;
    const Axis& axis = *all_axes.at(name);
    const std::set<results::Role> roles = axis_roles(axis);
    if (roles.size() == 1 && *roles.begin() == results::Role::kMethod) {
      method += "-" + name + part(value);
    } else {
      rest += (axis.path.empty() ? part(value) : name + part(value)) + "-";
    }
  }
  return dataset + "/" + model + "/" + method + "/" + rest + "seed" + part(c["seed"]);
}

// Each kept combination as a run: its resolved config (the inputs substituted) and its folder.
void plan_runs(Sweep& sw, std::vector<Partial>& kept, const std::vector<Axis>& axes,
               const std::map<std::string, std::string>& inputs, const std::string& where) {
  std::map<std::string, const Axis*> all_axes;
  index_axes(axes, all_axes);
  std::map<std::string, std::size_t> by_folder;
  for (auto& p : kept) {
    PlannedRun run;
    run.labels = coords_object(p.coords);
    substitute(p.config, inputs, where + ":$");
    // Set by link_extractors to the folder of the run it depends on.
    if (!p.extractor_from.is_null()) p.config["mix"]["extractor"]["path"] = "(the extractor run's folder)";
    const std::string what = where + " (run " + run.labels.dump() + ")";
    run.config = train::to_json(train::parse_run_config(p.config, what));
    run.folder = run_folder(run, p, all_axes);
    if (auto it = by_folder.find(run.folder); it != by_folder.end()) {
      throw ConfigError(where + ": runs " + sw.runs[it->second].labels.dump() + " and " + run.labels.dump() +
                        " both map to folder " + run.folder + " (give the axis that separates them a name)");
    }
    by_folder[run.folder] = sw.runs.size();
    sw.runs.push_back(std::move(run));
  }
}

// Dependencies: the run with the same coordinates, the named axes replaced (and the replaced value's own
// sub-axes dropped). Its extractor path becomes that run's folder.
void link_extractors(Sweep& sw, const std::vector<Partial>& kept, const std::set<std::string>& names,
                     const std::string& where, const std::string& out_dir) {
  for (std::size_t i = 0; i < sw.runs.size(); ++i) {
    const Partial& p = kept[i];
    if (p.extractor_from.is_null()) continue;
    json target = sw.runs[i].labels;
    for (const auto& [axis, value] : p.extractor_from.items()) {
      if (!names.count(axis)) {
        throw ConfigError(where + ": extractor_from names no axis '" + axis + "' (run " + sw.runs[i].folder + ")");
      }
      if (auto ch = p.children.find(axis); ch != p.children.end()) {
        for (const auto& sub : ch->second) target.erase(sub);
      }
      target[axis] = value;
    }
    std::optional<std::size_t> dep;
    for (std::size_t k = 0; k < sw.runs.size(); ++k) {
      if (sw.runs[k].labels == target) dep = k;
    }
    if (!dep) {
      throw ConfigError(where + ": run " + sw.runs[i].folder + " takes its extractor from the run " + target.dump() +
                        ", which the axes and filters do not produce");
    }
    if (!kept[*dep].extractor_from.is_null()) {
      throw ConfigError(where + ": run " + sw.runs[i].folder + " takes its extractor from " + sw.runs[*dep].folder +
                        ", which itself needs an extractor");
    }
    sw.runs[i].extractor_from = dep;
    sw.runs[i].extractor_shared = p.extractor_from.contains("seed");
    sw.runs[i].config["mix"]["extractor"]["path"] = fs::join_path(out_dir, sw.runs[*dep].folder);
  }
}

// Identity: the config (a dependency's folder replaced by its run id), the inputs' bytes, ranks_per_run.
void assign_ids(Sweep& sw) {
  auto id_of = [&](const json& c) {
    return hash::of_json({{"config", c}, {"inputs", input_identity(c)}, {"ranks_per_run", sw.ranks_per_run}});
  };
  for (auto& run : sw.runs) {
    if (!run.extractor_from) run.id = id_of(run.config);
  }
  for (auto& run : sw.runs) {
    if (!run.extractor_from) continue;
    json c = run.config;
    c["mix"]["extractor"]["path"] = "run:" + sw.runs[*run.extractor_from].id;
    run.id = id_of(c);
  }
}

}  // namespace

Sweep expand_sweep(const json& spec, const std::string& where, const ExpandOptions& options) {
  g_listing_cache.clear();
  Sweep sw;
  sw.spec = spec;
  config::JsonReader r(spec, where + ":$");
  sw.name = r.get_string("name", "sweep");
  sw.description = r.get_string("description", "");
  sw.ranks_per_run = static_cast<int>(r.get_int("ranks_per_run", 1, 1, 1 << 20));
  sw.max_attempts = static_cast<int>(r.get_int("max_attempts", 3, 1, 1000));
  r.accept("assumptions");  // free text, for people
  sw.inputs = resolve_inputs(spec, r, where, options);
  json base = spec.value("base", json::object());
  if (!base.is_object()) throw ConfigError(where + ":$.base: expected a run config object");
  r.accept("base");
  for (const auto& s : options.sets) train::apply_override(base, s);
  std::set<std::string> names;
  const std::vector<Axis> axes =
      spec.contains("axes") ? parse_axes(spec["axes"], where + ":$.axes", names) : std::vector<Axis>{};
  for (const char* key : {"axes", "include", "exclude"}) r.accept(key);
  std::vector<std::string> reuse;
  if (spec.contains("reuse")) {
    const json& list = spec["reuse"];
    if (!list.is_array()) throw ConfigError(where + ":$.reuse: expected a list of folders, found " + list.dump());
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string() || list[i].get<std::string>().empty()) {
        throw ConfigError(where + ":$.reuse[" + std::to_string(i) + "]: expected a folder name, found " + list[i].dump());
      }
      reuse.push_back(list[i].get<std::string>());
    }
    r.accept("reuse");
  }
  for (const auto& dir : reuse) {
    const std::string abs = dir.empty() || dir[0] == '/' || options.spec_dir.empty()
                                ? dir
                                : fs::join_path(options.spec_dir, dir);
    if (!fs::is_directory(abs)) {
      throw ConfigError(where + ":$.reuse: '" + dir + "' is not a folder" +
                        (abs != dir ? " (resolved against the spec's folder as " + abs + ")" : std::string()));
    }
    char resolved[PATH_MAX];
    sw.reuse.push_back(::realpath(abs.c_str(), resolved) ? std::string(resolved) : abs);
  }
  for (const auto& dir : options.reuse) {
    if (!fs::is_directory(dir)) throw ConfigError("--reuse " + dir + ": not a folder");
    sw.reuse.push_back(dir);
  }
  r.finish();
  std::vector<Partial> kept = expand_grid(base, axes, spec.value("include", json::array()),
                                          spec.value("exclude", json::array()), names, where);
  plan_runs(sw, kept, axes, sw.inputs, where);
  link_extractors(sw, kept, names, where, options.out_dir);
  assign_ids(sw);
  reject_repeated_runs(sw, where);
  find_reusable(sw);
  return sw;
}

json sweep_to_json(const Sweep& sw) {
  json runs = json::array();
  for (const auto& r : sw.runs) {
    runs.push_back({{"id", r.id},
                    {"folder", r.folder},
                    {"labels", r.labels},
                    {"config", r.config},
                    {"extractor_from", r.extractor_from ? json(*r.extractor_from) : json(nullptr)}});
    if (r.extractor_shared) runs.back()["extractor_shared"] = true;
    if (!r.reuse_from.empty()) runs.back()["reuse_from"] = r.reuse_from;
  }
  return {{"name", sw.name},   {"description", sw.description}, {"ranks_per_run", sw.ranks_per_run},
          {"max_attempts", sw.max_attempts}, {"spec", sw.spec}, {"inputs", sw.inputs}, {"runs", runs}};
}

Sweep sweep_from_json(const json& j) {
  Sweep sw;
  sw.name = j.at("name");
  sw.description = j.at("description");
  sw.ranks_per_run = j.at("ranks_per_run");
  sw.max_attempts = j.at("max_attempts");
  sw.spec = j.at("spec");
  sw.inputs = j.at("inputs");
  for (const auto& r : j.at("runs")) {
    PlannedRun p;
    p.id = r.at("id");
    p.folder = r.at("folder");
    p.labels = r.at("labels");
    p.config = r.at("config");
    if (!r.at("extractor_from").is_null()) p.extractor_from = r.at("extractor_from").get<std::size_t>();
    p.extractor_shared = r.value("extractor_shared", false);
    p.reuse_from = r.value("reuse_from", "");
    sw.runs.push_back(std::move(p));
  }
  return sw;
}

Sweep load_sweep(const std::string& spec_path, const ExpandOptions& options) {
  json spec;
  try {
    spec = json::parse(fs::read_text(spec_path));
  } catch (const json::exception& e) {
    throw ConfigError(spec_path + ": not valid JSON: " + e.what());
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  ExpandOptions o = options;
  if (o.spec_dir.empty()) o.spec_dir = fs::folder_of(spec_path);
  return expand_sweep(spec, spec_path, o);
}

}  // namespace acm::sweeps
