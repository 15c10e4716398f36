#include "results/summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include "acm/paper_tables_json.h"  // generated from results/data/paper_tables.json
#include "results/files.h"
#include "results/stats.h"

namespace acm::results {

using nlohmann::json;

namespace {

// Config fields that say how a run was executed, not what was trained: runs that differ only in these (and in
// the seed) are seeds of one group. The extractor's path differs per seed when each seed's Attentive CutMix
// run takes the extractor of its own baseline run.
const std::vector<std::string> kNotIdentity = {"/seed",           "/threads",       "/loader_threads",
                                               "/device",         "/distributed",   "/channels_last",
                                               "/eval_batch_size", "/mix/extractor/path"};

bool excluded(const std::string& pointer, const std::vector<std::string>& extra) {
  auto under = [&](const std::string& p) {
    return pointer == p || (pointer.size() > p.size() && pointer.compare(0, p.size(), p) == 0 &&
                            pointer[p.size()] == '/');
  };
  for (const auto& p : kNotIdentity) {
    if (under(p)) return true;
  }
  for (const auto& p : extra) {
    if (under(p)) return true;
  }
  return false;
}

// The config's leaves (JSON pointer -> value) that identify a group, without the seed and execution fields.
json identity_leaves(const json& config, const std::vector<std::string>& extra = {}) {
  json out = json::object();
  const json flat = config.flatten();  // named: items() of a temporary would dangle in the loop
  for (const auto& [pointer, value] : flat.items()) {
    if (!excluded(pointer, extra)) out[pointer] = value;
  }
  return out;
}

std::string method_of(const json& result) {
  if (result.contains("sweep") && result["sweep"].contains("labels") &&
      result["sweep"]["labels"].contains("method")) {
    return result["sweep"]["labels"]["method"].get<std::string>();
  }
  const std::string m = result["config"]["mix"].value("method", "none");
  return m == "none" ? "baseline" : m;
}

int method_rank(const std::string& method) {
  static const std::vector<std::string> order = {"baseline", "mixup", "cutout", "cutmix", "attentive_cutmix"};
  const auto it = std::find(order.begin(), order.end(), method);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::string leaf_label(const std::string& pointer, const json& value) {
  std::string name = pointer.substr(1);
  std::replace(name.begin(), name.end(), '/', '.');
  return name + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
}

bool approx(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::max(1.0, std::fabs(b)); }

// The paper's published top-1 for this cell, only where the run's setting is the paper's: its epochs (per
// family on ImageNet), batch size and learning rate, its weight decay and init where it states them, and
// N = 6 for Attentive CutMix.
json paper_value(const std::string& dataset, const std::string& model, const std::string& method,
                 const json& params, const json& config) {
  const json& paper = paper_tables();
  if (!paper["tables"].contains(dataset) || !paper["settings"].contains(dataset)) return nullptr;
  const json& table = paper["tables"][dataset];
  if (!table.contains(model) || !table[model].contains(method)) return nullptr;
  if (method == "attentive_cutmix" && params.value("n", 0) != paper["attentive_cutmix"]["top_n"].get<int>()) {
    return nullptr;
  }
  const json& s = paper["settings"][dataset];
  json epochs = s["epochs"];
  if (epochs.is_object()) {  // ImageNet: per family, keyed by the model name's prefix
    json found = nullptr;
    for (const auto& [family, e] : epochs.items()) {
      if (model.rfind(family, 0) == 0) found = e;
    }
    epochs = found;
  }
  if (!epochs.is_number()) return nullptr;
  bool same = config["epochs"].get<double>() == epochs.get<double>() &&
              config["batch_size"].get<double>() == s["batch_size"].get<double>() &&
              approx(config["optimizer"]["lr"].get<double>(), s["lr"].get<double>());
  if (s.contains("weight_decay")) {
    same = same && approx(config["optimizer"]["weight_decay"].get<double>(), s["weight_decay"].get<double>());
  }
  if (s.contains("init")) same = same && config["model_options"]["init"] == s["init"];
  return same ? table[model][method] : json(nullptr);
}

struct Run {
  std::string folder;
  json result;
  std::string dataset, model, method;
  json params = json::object();  // {"n": N} for Attentive CutMix
  std::string rest;              // the identity leaves without N, dumped
  double value = 0;
};

}  // namespace

const json& paper_tables() {
  static const json tables = json::parse(kPaperTablesJson);
  return tables;
}

std::string metric_field(const std::string& metric) {
  if (metric == "best") return "best_test_top1";
  if (metric == "last") return "last_test_top1";
  if (metric == "median5") return "median5_test_top1";
  throw std::invalid_argument("--metric: expected one of best, last, median5, found '" + metric + "'");
}

std::string metric_title(const std::string& metric) {
  if (metric == "best") return "best test top-1 over epochs (%)";
  if (metric == "last") return "last-epoch test top-1 (%)";
  return "median test top-1 of the last 5 epochs (%)";
}

json summarize(const std::string& dir, const ReportOptions& options) {
  if (!is_directory(dir)) throw std::runtime_error(dir + ": not a folder");
  const std::string field = metric_field(options.metric);
  std::vector<Run> runs;
  json failed = json::array(), incomplete = json::array();
  std::set<std::string> seen_folders;

  walk_dirs(dir, [&](const std::string& path) {
    std::string folder = path == dir ? "." : path.substr(dir.size() + (dir.back() == '/' ? 0 : 1));
    const std::string result_path = join_path(path, "result.json");
    if (path_exists(result_path)) {
      seen_folders.insert(folder);
      json r;
      try {
        r = json::parse(read_text(result_path));
      } catch (const std::exception& e) {
        failed.push_back({{"folder", folder}, {"error", std::string("unreadable result.json: ") + e.what()}});
        return;
      }
      if (r.value("status", "") != "completed") {
        failed.push_back({{"folder", folder}, {"error", r.value("error", "status " + r.value("status", "?"))}});
        return;
      }
      if (!r.contains("final") || !r["final"].contains(field) || !r.contains("config")) {
        failed.push_back({{"folder", folder}, {"error", "result.json has no final." + field}});
        return;
      }
      Run run;
      run.folder = folder;
      run.result = r;
      const json& c = r["config"];
      run.dataset = c["dataset"].value("name", "?");
      run.model = c.value("model", "?");
      run.method = method_of(r);
      if (c["mix"].value("method", "") == "attentive_cutmix") run.params["n"] = c["mix"].value("top_n", 0);
      run.rest = identity_leaves(c, {"/mix/top_n"}).dump();
      run.value = r["final"][field].get<double>();
      runs.push_back(std::move(run));
    } else if (path_exists(join_path(path, "config.json")) || path_exists(join_path(path, "claim.json"))) {
      seen_folders.insert(folder);
      const bool ckpt = path_exists(join_path(path, "checkpoint.safetensors"));
      incomplete.push_back(
          {{"folder", folder},
           {"state", ckpt ? "interrupted or running (checkpoint written)" : "started, no checkpoint yet"}});
    }
  });
  // A sweep's planned runs that have not started are incomplete too.
  const std::string plan_path = join_path(dir, "sweep.json");
  if (path_exists(plan_path)) {
    const json plan = json::parse(read_text(plan_path));
    for (const auto& r : plan.value("runs", json::array())) {
      const std::string folder = r.value("folder", "");
      if (!folder.empty() && !seen_folders.count(folder)) {
        incomplete.push_back({{"folder", folder}, {"state", "not started"}});
      }
    }
  }

  // Groups: same data set, model, method, N and rest of the config; seeds are averaged.
  std::map<std::string, std::vector<const Run*>> by_key;
  std::vector<std::string> key_order;
  for (const auto& r : runs) {
    const std::string key = r.dataset + "\n" + r.model + "\n" + r.method + "\n" + r.params.dump() + "\n" + r.rest;
    if (!by_key.count(key)) key_order.push_back(key);
    by_key[key].push_back(&r);
  }
  // Where one (data set, model, method) has several settings besides N, the leaves that differ name them.
  std::map<std::string, std::set<std::string>> rests_of;
  for (const auto& r : runs) rests_of[r.dataset + "\n" + r.model + "\n" + r.method].insert(r.rest);
  auto suffix_of = [&](const Run& r) -> std::string {
    const auto& rests = rests_of[r.dataset + "\n" + r.model + "\n" + r.method];
    if (rests.size() < 2) return "";
    std::vector<json> all;
    for (const auto& s : rests) all.push_back(json::parse(s));
    const json mine = json::parse(r.rest);
    std::vector<std::string> parts;
    for (const auto& [pointer, value] : mine.items()) {
      bool differs = false;
      for (const auto& other : all) differs = differs || !other.contains(pointer) || other[pointer] != value;
      if (differs) parts.push_back(leaf_label(pointer, value));
    }
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? " [" : ", ") + p;
    return s.empty() ? s : s + "]";
  };

  json groups = json::array();
  for (const auto& key : key_order) {
    const auto& members = by_key[key];
    const Run& first = *members.front();
    std::vector<double> values;
    json seeds = json::array(), folders = json::array();
    for (const Run* r : members) {
      values.push_back(r->value);
      seeds.push_back(r->result["config"].value("seed", 0));
      folders.push_back(r->folder);
    }
    json g = {{"dataset", first.dataset},
              {"model", first.model},
              {"method", first.method},
              {"params", first.params},
              {"setting", suffix_of(first)},
              {"count", values.size()},
              {"seeds", seeds},
              {"values", values},
              {"mean", mean(values)},
              {"runs", folders},
              {"epochs", first.result["config"].value("epochs", 0)},
              {"paper", options.paper ? paper_value(first.dataset, first.model, first.method, first.params,
                                                    first.result["config"])
                                      : json(nullptr)}};
    const double sd = sample_std(values);
    g["std"] = std::isnan(sd) ? json(nullptr) : json(sd);
    g["ablation_key"] = first.dataset + "\n" + first.model + "\n" + first.method + "\n" + first.rest;
    groups.push_back(g);
  }

  // Ablations: a method run at ≥ 2 values of N, everything else equal.
  std::map<std::string, std::vector<std::size_t>> by_ablation;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i]["params"].contains("n")) by_ablation[groups[i]["ablation_key"]].push_back(i);
  }
  json ablations = json::array();
  std::set<std::size_t> in_ablation;
  for (auto& [k, idx] : by_ablation) {
    if (idx.size() < 2) continue;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return groups[a]["params"]["n"].get<int>() < groups[b]["params"]["n"].get<int>();
    });
    const json& g0 = groups[idx.front()];
    json points = json::array();
    for (std::size_t i : idx) {
      in_ablation.insert(i);
      points.push_back({{"n", groups[i]["params"]["n"]},
                        {"mean", groups[i]["mean"]},
                        {"std", groups[i]["std"]},
                        {"count", groups[i]["count"]}});
    }
    ablations.push_back({{"dataset", g0["dataset"]},
                         {"model", g0["model"]},
                         {"method", g0["method"]},
                         {"setting", g0["setting"]},
                         {"points", points}});
  }
  const int paper_n = paper_tables()["attentive_cutmix"]["top_n"].get<int>();

  // Tables: per data set, rows models, columns methods. A method's ablation contributes its N = 6 point (the
  // paper's), or every point when N = 6 was not run.
  std::map<std::string, std::vector<std::size_t>> by_dataset;
  std::vector<std::string> dataset_order;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string d = groups[i]["dataset"];
    if (!by_dataset.count(d)) dataset_order.push_back(d);
    by_dataset[d].push_back(i);
  }
  json tables = json::array(), comparisons = json::array();
  for (const auto& d : dataset_order) {
    struct Column {
      int rank;
      std::string method, setting;
      int n;
      std::string label;
    };
    std::vector<Column> columns;
    std::map<std::string, std::map<std::string, std::size_t>> cell;  // model -> column label -> group
    std::vector<std::string> models;
    for (std::size_t i : by_dataset[d]) {
      const json& g = groups[i];
      const int n = g["params"].value("n", 0);
      if (in_ablation.count(i)) {
        bool has_paper_n = false;
        for (const auto& a : ablations) {
          if (a["dataset"] == g["dataset"] && a["model"] == g["model"] && a["method"] == g["method"] &&
              a["setting"] == g["setting"]) {
            for (const auto& p : a["points"]) has_paper_n = has_paper_n || p["n"].get<int>() == paper_n;
          }
        }
        if (has_paper_n && n != paper_n) continue;
      }
      std::string label = g["method"].get<std::string>();
      if (g["params"].contains("n") && n != paper_n) label += " N=" + std::to_string(n);
      label += g["setting"].get<std::string>();
      if (std::none_of(columns.begin(), columns.end(), [&](const Column& c) { return c.label == label; })) {
        columns.push_back({method_rank(g["method"]), g["method"], g["setting"], n, label});
      }
      const std::string model = g["model"];
      if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
      cell[model][label] = i;
    }
    std::stable_sort(columns.begin(), columns.end(), [](const Column& a, const Column& b) {
      return std::tie(a.rank, a.method, a.setting, a.n) < std::tie(b.rank, b.method, b.setting, b.n);
    });
    json cols = json::array(), rows = json::array();
    for (const auto& c : columns) cols.push_back({{"label", c.label}, {"method", c.method}, {"setting", c.setting}});
    for (const auto& m : models) {
      json cells = json::object();
      double best = -1;
      for (const auto& [label, i] : cell[m]) best = std::max(best, groups[i]["mean"].get<double>());
      for (const auto& [label, i] : cell[m]) {
        const json& g = groups[i];
        cells[label] = {{"group", i},        {"mean", g["mean"]},   {"std", g["std"]},
                        {"count", g["count"]}, {"paper", g["paper"]}, {"best", g["mean"].get<double>() == best}};
      }
      json row = {{"model", m}, {"cells", cells}};
      // Every pair of methods in the row with ≥ 2 seeds each: is the difference beyond the seed spread?
      for (std::size_t a = 0; a < columns.size(); ++a) {
        for (std::size_t b = a + 1; b < columns.size(); ++b) {
          if (!cell[m].count(columns[a].label) || !cell[m].count(columns[b].label)) continue;
          const json& ga = groups[cell[m][columns[a].label]];
          const json& gb = groups[cell[m][columns[b].label]];
          if (ga["count"].get<int>() < 2 || gb["count"].get<int>() < 2) continue;
          // b against a: later columns are the newer methods (baseline, Mixup, CutMix, Attentive CutMix).
          const WelchResult w =
              welch_t_test(gb["values"].get<std::vector<double>>(), ga["values"].get<std::vector<double>>());
          json cmp = {{"dataset", d},
                      {"model", m},
                      {"a", columns[b].label},
                      {"b", columns[a].label},
                      {"mean_a", gb["mean"]},
                      {"mean_b", ga["mean"]},
                      {"difference", gb["mean"].get<double>() - ga["mean"].get<double>()},
                      {"t", std::isnan(w.t) ? json(nullptr) : json(w.t)},
                      {"df", std::isnan(w.df) ? json(nullptr) : json(w.df)},
                      {"p", std::isnan(w.p) ? json(nullptr) : json(w.p)},
                      {"beyond_seed_spread", !std::isnan(w.p) && w.p < options.alpha}};
          comparisons.push_back(cmp);
        }
      }
      if (options.gain) {
        for (const auto& c : columns) {
          if (c.method != "attentive_cutmix" || !cell[m].count(c.label)) continue;
          for (const auto& base : columns) {
            if (base.method != "cutmix" || base.setting != c.setting || !cell[m].count(base.label)) continue;
            const json& ga = groups[cell[m][c.label]];
            const json& gb = groups[cell[m][base.label]];
            const WelchResult w =
                welch_t_test(ga["values"].get<std::vector<double>>(), gb["values"].get<std::vector<double>>());
            row["gain_over_cutmix"][c.label] = {
                {"difference", ga["mean"].get<double>() - gb["mean"].get<double>()},
                {"p", std::isnan(w.p) ? json(nullptr) : json(w.p)}};
          }
        }
      }
      rows.push_back(row);
    }
    tables.push_back({{"dataset", d}, {"columns", cols}, {"rows", rows}});
  }
  for (auto& g : groups) g.erase("ablation_key");

  return {{"schema_version", kSummarySchemaVersion},
          {"source", dir},
          {"metric", options.metric},
          {"metric_field", field},
          {"metric_title", metric_title(options.metric)},
          {"alpha", options.alpha},
          {"paper_n", paper_n},
          {"runs_completed", runs.size()},
          {"groups", groups},
          {"tables", tables},
          {"comparisons", comparisons},
          {"ablations", ablations},
          {"failed", failed},
          {"incomplete", incomplete}};
}

}  // namespace acm::results
