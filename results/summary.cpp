#include "results/summary.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "acm/paper_tables_json.h"  // generated from results/data/paper_tables.json
#include "augment/method.h"
#include "common/errors.h"
#include "common/files.h"
#include "results/identity.h"
#include "results/metric.h"
#include "results/stats.h"

namespace acm::results {

using nlohmann::json;

namespace {

constexpr double kConfidence = 0.95;

json or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
json interval_json(const Interval& ci) {
  return std::isnan(ci.low) ? json(nullptr) : json::array({ci.low, ci.high});
}

int method_rank(const std::string& method) { return augment::method_order(method); }

// "epochs 2" before "epochs 10": runs of digits compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      const std::string na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

bool approx(double a, double b) { return std::fabs(a - b) <= 1e-12 * std::max(1.0, std::fabs(b)); }

// The paper's published top-1 for this cell, only where the run's setting is the paper's: its epochs (per
// family on ImageNet), batch size and learning rate, its weight decay and init where it states them, and
// N = 6 for Attentive CutMix.
json paper_value(const std::string& dataset, const std::string& model, const std::string& method, int top_n,
                 const json& config) {
  const json& paper = paper_tables();
  if (!paper["tables"].contains(dataset) || !paper["settings"].contains(dataset)) return nullptr;
  const json& table = paper["tables"][dataset];
  if (!table.contains(model) || !table[model].contains(method)) return nullptr;
  if (method == "attentive_cutmix" && top_n != paper["attentive_cutmix"]["top_n"].get<int>()) return nullptr;
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

// ---- Reading: which results count -------------------------------------------------------------------------

struct PlannedRun {
  std::string id, extractor_from;  // extractor_from: the folder of the run that makes its extractor, or ""
  bool extractor_shared = false;   // that run serves every seed
};

// The folder's sweep plan (sweep.json), when there is one: only its runs are counted.
struct Plan {
  bool present = false;
  std::string name;
  std::vector<std::string> folders;  // in plan order
  std::map<std::string, PlannedRun> runs;
};

Plan read_plan(const std::string& dir) {
  Plan plan;
  const std::string path = fs::join_path(dir, "sweep.json");
  if (!fs::path_exists(path)) return plan;
  json j;
  try {
    j = json::parse(fs::read_text(path));
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": not a readable sweep plan: " + e.what());
  }
  plan.present = true;
  plan.name = j.value("name", "");
  for (const auto& r : j.value("runs", json::array())) {
    const std::string folder = r.value("folder", "");
    if (folder.empty()) continue;
    const json& from = r.contains("extractor_from") ? r["extractor_from"] : json(nullptr);
    plan.folders.push_back(folder);
    plan.runs[folder] = {r.value("id", ""), from.is_string() ? from.get<std::string>() : "",
                         r.value("extractor_shared", false)};
  }
  return plan;
}

// One counted, completed run.
struct Run {
  std::string folder;
  json config;
  Identity id;
  double value = 0;
  std::map<std::string, double> extras;  // secondary metrics it recorded
  json curves;                           // what the plots read
  std::string eval_setting;              // its config's `eval`, as text ("" for the defaults)
};

// What a run's result gives the plots: its robustness curves and its last reliability diagram.
json curves_of(const json& r) {
  json c = json::object();
  if (r.contains("robustness")) c["robustness"] = r["robustness"];
  if (r.contains("calibration") && r["calibration"].contains("bins")) c["reliability"] = r["calibration"]["bins"];
  return c;
}

struct Listing {
  std::vector<Run> runs;
  std::vector<Listed> failed, incomplete, not_counted;
};

int world_size_of(const json& result) {
  return result.contains("distributed") ? result["distributed"].value("world_size", 0) : 0;
}

// What a run's extractor is (identity.h). Where the sweep made it per seed (the run's extractor_from, in its
// result or the folder's plan): the group of the run that made it, known from what the result records
// (attention.extractor_run) or from that run's result in the folder. Otherwise the extractor is a fixed file,
// known by its content hash.
class ExtractorNames {
 public:
  ExtractorNames(std::string dir, const Plan& plan) : dir_(std::move(dir)), plan_(plan) {}

  std::string of(const std::string& folder, const json& result) {
    const json& c = result["config"];
    if (!c.contains("mix") || c["mix"].value("method", "") != "attentive_cutmix") return "";
    const std::int64_t seed = c.value("seed", 0LL);
    const json& att = result.contains("attention") ? result["attention"] : json::object();
    std::string from;
    bool shared = false;
    if (result.contains("sweep") && result["sweep"].contains("extractor_from")) {
      from = result["sweep"]["extractor_from"].get<std::string>();
      shared = result["sweep"].value("extractor_shared", false);
    } else if (const auto planned = plan_.runs.find(folder); planned != plan_.runs.end()) {
      from = planned->second.extractor_from;
      shared = planned->second.extractor_shared;
    }
    if (!from.empty()) {
      if (att.contains("extractor_run") && att["extractor_run"].contains("config")) {
        const json& p = att["extractor_run"];
        return extractor_from_run(identify(p["config"], p.value("world_size", 0), ""), seed, shared);
      }
      const json producer = producer_result(from);
      if (!producer.is_null()) {
        return extractor_from_run(identify(producer["config"], world_size_of(producer), ""), seed, shared);
      }
    }
    if (att.contains("extractor_hash")) return extractor_from_file(att["extractor_hash"].get<std::string>());
    return "path " + c["mix"]["extractor"].value("path", "?");
  }

 private:
  json producer_result(const std::string& folder) {
    if (auto it = cache_.find(folder); it != cache_.end()) return it->second;
    json r = nullptr;
    try {
      r = json::parse(fs::read_text(fs::join_path(fs::join_path(dir_, folder), "result.json")));
      if (!r.contains("config")) r = nullptr;
    } catch (const std::exception&) {
    }
    return cache_[folder] = r;
  }

  std::string dir_;
  const Plan& plan_;
  std::map<std::string, json> cache_;
};

// Why a result under a planned folder is not the plan's, or "" when it is.
std::string not_in_plan(const Plan& plan, const std::string& folder, const json& result) {
  if (!plan.present) return "";
  const std::string id = result.contains("sweep") ? result["sweep"].value("id", "") : "";
  const auto it = plan.runs.find(folder);
  if (it != plan.runs.end()) {
    if (id == it->second.id) return "";
    return id.empty() ? "written outside the sweep (no run id) into a planned run's folder"
                      : "written by another plan (run id " + id + "; the current plan's run here is " +
                            it->second.id + ")";
  }
  const auto aside = folder.rfind(".superseded-");
  if (aside != std::string::npos) {
    return "moved aside when the plan changed (--allow-spec-change): run id " + folder.substr(aside + 12) +
           " of an earlier plan";
  }
  return "not in this folder's plan (sweep.json)";
}

Listing read_runs(const std::string& dir, const Metric& metric, const Plan& plan) {
  Listing out;
  ExtractorNames extractors(dir, plan);
  std::set<std::string> seen;
  fs::walk_dirs(dir, [&](const std::string& path) {
    const std::string folder = path == dir ? "." : path.substr(dir.size() + (dir.back() == '/' ? 0 : 1));
    const std::string result_path = fs::join_path(path, "result.json");
    if (!fs::path_exists(result_path)) {
      if (!fs::path_exists(fs::join_path(path, "config.json")) && !fs::path_exists(fs::join_path(path, "claim.json"))) return;
      const bool ckpt = fs::path_exists(fs::join_path(path, "checkpoint.safetensors"));
      const std::string state =
          ckpt ? "interrupted or running (checkpoint written)" : "started, no checkpoint yet";
      if (plan.present && !plan.runs.count(folder)) {
        out.not_counted.push_back({folder, not_in_plan(plan, folder, json::object()) + "; " + state});
      } else {
        seen.insert(folder);
        out.incomplete.push_back({folder, state});
      }
      return;
    }
    json r;
    try {
      r = json::parse(fs::read_text(result_path));
    } catch (const std::exception& e) {
      seen.insert(folder);
      out.failed.push_back({folder, std::string("unreadable result.json: ") + e.what()});
      return;
    }
    if (const std::string why = not_in_plan(plan, folder, r); !why.empty()) {
      out.not_counted.push_back({folder, why});
      return;
    }
    seen.insert(folder);
    if (r.value("status", "") != "completed") {
      out.failed.push_back({folder, r.value("error", "status " + r.value("status", "?"))});
      return;
    }
    if (!r.contains("config")) {
      out.failed.push_back({folder, "result.json records no config"});
      return;
    }
    const std::optional<double> value = metric_value(metric, r);
    if (!value) {  // completed, but without this metric: made before it was recorded, or with it switched off
      out.not_counted.push_back({folder, "completed, but its result.json records no " + metric.name + " (" +
                                             metric.title + "): made before that metric was recorded, or "
                                             "with it off in eval"});
      return;
    }
    Run run;
    run.folder = folder;
    run.config = r["config"];
    run.id = identify(run.config, world_size_of(r), extractors.of(folder, r));
    run.value = *value;
    for (const std::string& name : secondary_metrics()) {
      if (const auto v = metric_value(find_metric(name), r)) run.extras[name] = *v;
    }
    run.curves = curves_of(r);
    run.eval_setting = run.config.contains("eval") ? run.config["eval"].dump() : "";
    out.runs.push_back(std::move(run));
  });
  for (const auto& folder : plan.folders) {  // planned runs that have not started are incomplete too
    if (!seen.count(folder)) out.incomplete.push_back({folder, "not started"});
  }
  return out;
}

// ---- Groups, tables, comparisons, ablations ---------------------------------------------------------------

Stats stats_of(const std::vector<double>& values) {
  return {mean(values), sample_std(values), mean_confidence_interval(values, kConfidence), values.size()};
}

// Seeds of one experiment (identity.h) form a group; a seed counts once.
std::vector<Group> make_groups(const std::vector<Run>& runs, const ReportOptions& options,
                               std::vector<Listed>& not_counted) {
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;
  for (const Run& r : runs) {
    const std::string key = r.id.key();
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      Group g;
      g.id = r.id;
      g.epochs = r.config.value("epochs", 0);
      if (const auto n = r.id.method_fields.find(kTopNField); n != r.id.method_fields.end()) g.top_n = n->second.get<int>();
      if (options.paper) {
        const json p = paper_value(g.id.dataset, g.id.model, g.id.method, g.top_n, r.config);
        if (p.is_number()) g.paper = p.get<double>();
      }
      groups.push_back(std::move(g));
    }
    Group& g = groups[it->second];
    const auto dup = std::find(g.seeds.begin(), g.seeds.end(), r.id.seed);
    if (dup != g.seeds.end()) {
      not_counted.push_back({r.folder, "the same experiment and seed as " + g.folders[dup - g.seeds.begin()] +
                                           " (a seed counts once)"});
      continue;
    }
    g.values.push_back(r.value);
    g.seeds.push_back(r.id.seed);
    g.folders.push_back(r.folder);
    for (const auto& [name, v] : r.extras) g.extras[name].push_back(v);
    g.curves.push_back(r.curves);
    g.eval_settings.insert(r.eval_setting);
  }
  for (auto& g : groups) g.stats = stats_of(g.values);
  return groups;
}

Fields without(const Fields& f, const std::vector<std::string>& pointers) {
  Fields out = f;
  for (const auto& p : pointers) out.erase(p);
  return out;
}

// One method at several N, everything else equal: the same setting and the same method fields but N.
std::pair<std::string, std::string> ablation_key(const Group& g) {
  return {g.id.setting_key(), Identity{"", "", "", {}, without(g.id.method_fields, {kTopNField}), 0}.method_key()};
}

std::vector<Ablation> find_ablations(const std::vector<Group>& groups) {
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].top_n > 0) by_key[ablation_key(groups[i])].push_back(i);
  }
  std::vector<Ablation> out;
  for (auto& [key, points] : by_key) {
    if (points.size() < 2) continue;
    std::sort(points.begin(), points.end(),
              [&](std::size_t x, std::size_t y) { return groups[x].top_n < groups[y].top_n; });
    const Group& g0 = groups[points.front()];
    // The series' name: its row and its method's column without N.
    std::string column = g0.column;
    if (const auto n = column.find(" N="); n != std::string::npos) {
      const auto end = column.find(' ', n + 1);
      column.erase(n, end == std::string::npos ? std::string::npos : end - n);
    }
    out.push_back({g0.id.dataset, g0.id.model, g0.id.method, g0.row, column, points});
  }
  return out;
}

// Column labels: the method, N where it is not the paper's, and the method's own fields that differ between
// the groups of that method in the table. Row labels: the model and the setting fields that differ between
// the table's rows.
void label_groups(std::vector<Group>& groups, const std::vector<std::size_t>& members, int paper_n) {
  std::map<std::string, std::vector<const Fields*>> by_method;
  std::vector<Fields> own(groups.size());
  for (std::size_t i : members) {
    own[i] = without(groups[i].id.method_fields, {kTopNField});
    by_method[groups[i].id.method].push_back(&own[i]);
  }
  std::vector<const Fields*> settings;
  std::set<std::string> seen;
  for (std::size_t i : members) {
    if (seen.insert(groups[i].id.setting_key()).second) settings.push_back(&groups[i].id.setting);
  }
  const std::vector<std::string> row_fields = varying_fields(settings, {"/model", "/dataset/name"});
  for (std::size_t i : members) {
    Group& g = groups[i];
    const auto differ = varying_fields(by_method[g.id.method], {"/mix/method"});
    g.column = g.id.method;
    if (g.top_n > 0 && g.top_n != paper_n) g.column += " N=" + std::to_string(g.top_n);
    if (!differ.empty()) g.column += " [" + describe_fields(own[i], differ) + "]";
    g.row = g.id.model;
    if (!row_fields.empty()) g.row += " (" + describe_fields(g.id.setting, row_fields) + ")";
  }
}

// A reader's order: data set (first seen first), row, method (baseline first), N, column.
void sort_groups(std::vector<Group>& groups) {
  std::map<std::string, std::size_t> dataset_rank;
  for (const auto& g : groups) dataset_rank.emplace(g.id.dataset, dataset_rank.size());
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    if (a.id.dataset != b.id.dataset) return dataset_rank[a.id.dataset] < dataset_rank[b.id.dataset];
    if (a.row != b.row) return natural_less(a.row, b.row);
    if (method_rank(a.id.method) != method_rank(b.id.method))
      return method_rank(a.id.method) < method_rank(b.id.method);
    if (a.top_n != b.top_n) return a.top_n < b.top_n;
    return natural_less(a.column, b.column);
  });
}

// A table's layout: its columns in method order, its rows in group order, each cell the group it shows.
Table lay_out_table(const std::string& dataset, const std::vector<std::size_t>& members,
                    const std::vector<Group>& groups, const std::set<std::size_t>& hidden, bool lower_is_better) {
  Table t;
  t.dataset = dataset;
  std::vector<int> ranks;
  std::map<std::string, std::size_t> row_of;
  for (std::size_t i : members) {
    if (hidden.count(i)) continue;
    const Group& g = groups[i];
    if (std::none_of(t.columns.begin(), t.columns.end(), [&](const Table::Column& c) { return c.label == g.column; })) {
      t.columns.push_back({g.column, g.id.method});
    }
    auto [it, added] = row_of.emplace(g.id.setting_key(), t.rows.size());
    if (added) t.rows.push_back({g.id.model, g.row, {}, {}});
    t.rows[it->second].cells[g.column] = {i, false};
  }
  std::stable_sort(t.columns.begin(), t.columns.end(), [](const Table::Column& a, const Table::Column& b) {
    return std::make_tuple(method_rank(a.method), a.method, a.label) <
           std::make_tuple(method_rank(b.method), b.method, b.label);
  });
  for (auto& row : t.rows) {
    double best = lower_is_better ? 1e300 : -1e300;
    for (const auto& [label, cell] : row.cells) {
      const double m = groups[cell.group].stats.mean;
      best = lower_is_better ? std::min(best, m) : std::max(best, m);
    }
    for (auto& [label, cell] : row.cells) cell.best = groups[cell.group].stats.mean == best;
  }
  return t;
}

// Every pair of columns in a row with ≥ 2 seeds each (the later column, the newer method, is A); Holm's
// adjustment over the table's comparisons, the family a reader scans for "significant" differences. Returns
// (row, A, B) -> index into `comparisons`.
std::map<std::tuple<std::size_t, std::string, std::string>, std::size_t> compare_columns(
    const Table& t, const std::vector<Group>& groups, double alpha, std::vector<Comparison>& comparisons) {
  std::map<std::tuple<std::size_t, std::string, std::string>, std::size_t> compared;
  const std::size_t first = comparisons.size();
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& cells = t.rows[r].cells;
    for (std::size_t a = 0; a < t.columns.size(); ++a) {
      for (std::size_t b = a + 1; b < t.columns.size(); ++b) {
        const auto older = cells.find(t.columns[a].label), newer = cells.find(t.columns[b].label);
        if (older == cells.end() || newer == cells.end()) continue;
        const Group& gb = groups[older->second.group];
        const Group& ga = groups[newer->second.group];
        if (ga.values.size() < 2 || gb.values.size() < 2) continue;
        const WelchResult w = welch_t_test(ga.values, gb.values, kConfidence);
        compared[{r, t.columns[b].label, t.columns[a].label}] = comparisons.size();
        comparisons.push_back({t.dataset, t.rows[r].model, t.rows[r].label, t.columns[b].label, t.columns[a].label,
                               ga.stats.mean, gb.stats.mean, ga.stats.mean - gb.stats.mean, w.ci, w.t, w.df, w.p});
      }
    }
  }
  std::vector<double> raw;
  for (std::size_t k = first; k < comparisons.size(); ++k) raw.push_back(comparisons[k].p);
  const std::vector<double> adjusted = holm_adjust(raw);
  const auto family =
      static_cast<std::size_t>(std::count_if(raw.begin(), raw.end(), [](double p) { return !std::isnan(p); }));
  for (std::size_t k = first; k < comparisons.size(); ++k) {
    Comparison& c = comparisons[k];
    c.p_holm = adjusted[k - first];
    c.family = family;
    c.beyond_seed_spread = !std::isnan(c.p_holm) && c.p_holm < alpha;
  }
  return compared;
}

// The gain of Attentive CutMix over CutMix in each row, with the comparison where both sides have the seeds.
void add_gains(Table& t, const std::vector<Group>& groups,
               const std::map<std::tuple<std::size_t, std::string, std::string>, std::size_t>& compared) {
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    auto& row = t.rows[r];
    for (const auto& c : t.columns) {
      if (c.method != "attentive_cutmix" || !row.cells.count(c.label)) continue;
      for (const auto& base : t.columns) {
        if (base.method != "cutmix" || !row.cells.count(base.label)) continue;
        Table::Gain gain;
        gain.difference = groups[row.cells.at(c.label).group].stats.mean - groups[row.cells.at(base.label).group].stats.mean;
        if (const auto k = compared.find({r, c.label, base.label}); k != compared.end()) gain.comparison = k->second;
        row.gains[c.label + " − " + base.label] = gain;
      }
    }
  }
}

// ---- JSON (summary.json) ---------------------------------------------------------------------------------------

json stats_json(const Stats& s) {
  return {{"mean", s.mean}, {"std", or_null(s.std)}, {"ci95", interval_json(s.ci95)}, {"count", s.count}};
}

json paper_json(const std::optional<double>& p) { return p ? json(*p) : json(nullptr); }

// Mean and sample std over seeds of y-values at matching x; null where the runs' x differ or one lacks it.
json mean_curve(const std::vector<json>& curves, const char* xs, const char* ys) {
  const json::json_pointer px(xs), py(ys);
  if (curves.empty()) return nullptr;
  for (const json& c : curves) {
    if (!c.contains(px) || !c.contains(py) || c.at(px) != curves[0].at(px)) return nullptr;
  }
  json mean_y = json::array(), std_y = json::array();
  for (std::size_t i = 0; i < curves[0].at(py).size(); ++i) {
    std::vector<double> v;
    for (const json& c : curves) v.push_back(c.at(py)[i].get<double>());
    mean_y.push_back(mean(v));
    std_y.push_back(or_null(sample_std(v)));
  }
  return {{"x", curves[0].at(px)}, {"mean", mean_y}, {"std", std_y}};
}

// The seeds' curves for the plots: occlusion (centred, random), FGSM, top-1 per corruption (mean over its
// severities) and the reliability bins pooled over the seeds (counts summed, confidence and accuracy weighted
// by them).
json group_curves(const Group& g) {
  json out = json::object();
  if (g.eval_settings.size() != 1) return out;
  out["occlusion_center"] = mean_curve(g.curves, "/robustness/occlusion/sizes", "/robustness/occlusion/center_top1");
  out["occlusion_random"] = mean_curve(g.curves, "/robustness/occlusion/sizes", "/robustness/occlusion/random_top1");
  out["fgsm"] = mean_curve(g.curves, "/robustness/fgsm/epsilons", "/robustness/fgsm/top1");
  std::vector<json> per_name;  // {"names": [...], "top1": [mean over severities per name]}
  for (const json& c : g.curves) {
    const json::json_pointer p("/robustness/corruption");
    if (!c.contains(p)) break;
    json row = json::array();
    for (const auto& sev : c.at(p)["top1"]) {
      std::vector<double> v;
      for (const auto& x : sev) v.push_back(x.get<double>());
      row.push_back(mean(v));
    }
    per_name.push_back({{"robustness", {{"names", c.at(p)["names"]}, {"top1", row}}}});
  }
  if (per_name.size() == g.curves.size()) out["corruption"] = mean_curve(per_name, "/robustness/names", "/robustness/top1");
  const json::json_pointer bins("/reliability");
  bool pooled = !g.curves.empty();
  for (const json& c : g.curves) pooled = pooled && c.contains(bins) && c.at(bins).size() == g.curves[0].at(bins).size();
  if (pooled) {
    json rel = json::array();
    for (std::size_t b = 0; b < g.curves[0].at(bins).size(); ++b) {
      double n = 0, conf = 0, acc = 0;
      for (const json& c : g.curves) {
        const json& bin = c.at(bins)[b];
        const double k = bin["count"].get<double>();
        n += k;
        if (k > 0 && bin["confidence"].is_number() && bin["accuracy"].is_number()) {
          conf += k * bin["confidence"].get<double>();
          acc += k * bin["accuracy"].get<double>();
        }
      }
      const json& first = g.curves[0].at(bins)[b];
      rel.push_back({{"lower", first["lower"]}, {"upper", first["upper"]}, {"count", n},
                     {"confidence", n > 0 ? json(conf / n) : json(nullptr)},
                     {"accuracy", n > 0 ? json(acc / n) : json(nullptr)}});
    }
    out["reliability"] = rel;
  }
  return out;
}

// The secondary metrics of a group (mean, std, CI, values), and against the CutMix group of its row: the
// difference of means and Welch's p (not adjusted: one comparison per cell, shown beside it).
json group_metrics(const Group& g, const Group* cutmix) {
  json out = json::object();
  for (const std::string& name : secondary_metrics()) {
    const auto it = g.extras.find(name);
    if (g.eval_settings.size() != 1 || it == g.extras.end() || it->second.size() != g.values.size()) continue;
    json m = stats_json(stats_of(it->second));
    m["values"] = it->second;
    if (cutmix && cutmix != &g) {
      const auto other = cutmix->extras.find(name);
      if (cutmix->eval_settings == g.eval_settings && other != cutmix->extras.end() && other->second.size() >= 2 &&
          it->second.size() >= 2) {
        const WelchResult w = welch_t_test(it->second, other->second, kConfidence);
        m["vs_cutmix"] = {{"difference", mean(it->second) - mean(other->second)}, {"p", or_null(w.p)}};
      }
    }
    out[name] = m;
  }
  return out;
}

json group_json(const Group& g) {
  json setting = json::object(), method = json::object();
  for (const auto& [p, v] : g.id.setting) setting[p] = v;
  for (const auto& [p, v] : g.id.method_fields) method[p] = v;
  json params = json::object();
  if (g.top_n > 0) params["n"] = g.top_n;
  json out = {{"dataset", g.id.dataset}, {"model", g.id.model},   {"method", g.id.method},
              {"params", params},        {"row", g.row},          {"column", g.column},
              {"setting", setting},      {"method_fields", method}, {"seeds", g.seeds},
              {"values", g.values},      {"runs", g.folders},     {"epochs", g.epochs},
              {"paper", paper_json(g.paper)}};
  out.update(stats_json(g.stats));
  return out;
}

json comparison_json(const Comparison& c) {
  return {{"dataset", c.dataset}, {"model", c.model}, {"row", c.row}, {"a", c.a}, {"b", c.b},
          {"mean_a", c.mean_a}, {"mean_b", c.mean_b}, {"difference", c.difference},
          {"ci95", interval_json(c.ci95)}, {"t", or_null(c.t)}, {"df", or_null(c.df)}, {"p", or_null(c.p)},
          {"p_holm", or_null(c.p_holm)}, {"family", c.family}, {"beyond_seed_spread", c.beyond_seed_spread}};
}

json table_json(const Table& t, const Summary& s) {
  json cols = json::array(), rows = json::array();
  for (const auto& c : t.columns) cols.push_back({{"label", c.label}, {"method", c.method}});
  for (const auto& row : t.rows) {
    json cells = json::object();
    for (const auto& [label, cell] : row.cells) {
      const Group& g = s.groups[cell.group];
      cells[label] = stats_json(g.stats);
      cells[label].update({{"group", cell.group}, {"paper", paper_json(g.paper)}, {"best", cell.best}});
    }
    json r = {{"model", row.model}, {"label", row.label}, {"cells", cells}};
    for (const auto& [name, gain] : row.gains) {
      json j = {{"difference", gain.difference}, {"ci95", nullptr}, {"p", nullptr}, {"p_holm", nullptr}};
      if (gain.comparison) {
        const json c = comparison_json(s.comparisons[*gain.comparison]);
        for (const char* f : {"ci95", "p", "p_holm"}) j[f] = c[f];
      }
      r["gain_over_cutmix"][name] = j;
    }
    rows.push_back(r);
  }
  return {{"dataset", t.dataset}, {"columns", cols}, {"rows", rows}};
}

json listed_json(const std::vector<Listed>& items, const char* key) {
  json out = json::array();
  for (const auto& l : items) out.push_back({{"folder", l.folder}, {key, l.why}});
  return out;
}

}  // namespace

const json& paper_tables() {
  static const json tables = json::parse(kPaperTablesJson);
  return tables;
}

std::string metric_title(const std::string& metric) { return find_metric(metric).title; }

std::size_t Summary::runs_completed() const {
  std::size_t n = 0;
  for (const auto& g : groups) n += g.values.size();
  return n;
}

Summary summarize(const std::string& dir, const ReportOptions& options) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir + ": not a folder");
  Summary s;
  s.source = dir;
  s.metric = options.metric;
  const Metric metric = find_metric(options.metric);
  s.lower_is_better = metric.lower_is_better;
  ReportOptions effective = options;
  effective.paper = options.paper && metric.top1;  // the paper published top-1 only
  s.alpha = options.alpha;
  s.paper_n = paper_tables()["attentive_cutmix"]["top_n"].get<int>();
  const Plan plan = read_plan(dir);
  s.has_plan = plan.present;
  s.plan_name = plan.name;
  s.plan_runs = plan.folders.size();
  Listing listing = read_runs(dir, metric, plan);
  s.groups = make_groups(listing.runs, effective, listing.not_counted);
  s.failed = std::move(listing.failed);
  s.incomplete = std::move(listing.incomplete);
  s.not_counted = std::move(listing.not_counted);

  std::vector<std::string> datasets;
  std::map<std::string, std::vector<std::size_t>> by_dataset;
  for (std::size_t i = 0; i < s.groups.size(); ++i) {
    if (!by_dataset.count(s.groups[i].id.dataset)) datasets.push_back(s.groups[i].id.dataset);
    by_dataset[s.groups[i].id.dataset].push_back(i);
  }
  for (const auto& d : datasets) label_groups(s.groups, by_dataset[d], s.paper_n);
  sort_groups(s.groups);
  by_dataset.clear();
  for (std::size_t i = 0; i < s.groups.size(); ++i) by_dataset[s.groups[i].id.dataset].push_back(i);
  // The table shows an ablation's N = 6 point (the paper's), or every point when N = 6 was not run.
  s.ablations = find_ablations(s.groups);
  std::set<std::size_t> hidden;
  for (const auto& a : s.ablations) {
    const bool has_paper_n = std::any_of(a.points.begin(), a.points.end(),
                                         [&](std::size_t i) { return s.groups[i].top_n == s.paper_n; });
    for (std::size_t i : a.points) {
      if (has_paper_n && s.groups[i].top_n != s.paper_n) hidden.insert(i);
    }
  }
  for (const auto& d : datasets) {
    Table t = lay_out_table(d, by_dataset[d], s.groups, hidden, s.lower_is_better);
    const auto compared = compare_columns(t, s.groups, options.alpha, s.comparisons);
    if (options.gain) add_gains(t, s.groups, compared);
    s.tables.push_back(std::move(t));
  }
  return s;
}

json to_json(const Summary& s) {
  json groups = json::array(), tables = json::array(), comparisons = json::array(), ablations = json::array();
  // Each row's CutMix group (the plain "cutmix" column), which the secondary metrics are compared with.
  std::map<std::pair<std::string, std::string>, const Group*> cutmix_of;
  for (const auto& g : s.groups) {
    if (g.id.method == "cutmix" && g.column == "cutmix") cutmix_of[{g.id.dataset, g.id.setting_key()}] = &g;
  }
  for (const auto& g : s.groups) {
    json j = group_json(g);
    const auto c = cutmix_of.find({g.id.dataset, g.id.setting_key()});
    j["metrics"] = group_metrics(g, c == cutmix_of.end() ? nullptr : c->second);
    j["curves"] = group_curves(g);
    j["eval_settings_differ"] = g.eval_settings.size() > 1;
    groups.push_back(j);
  }
  for (const auto& t : s.tables) tables.push_back(table_json(t, s));
  for (const auto& c : s.comparisons) comparisons.push_back(comparison_json(c));
  for (const auto& a : s.ablations) {
    json points = json::array();
    for (std::size_t i : a.points) {
      json point = stats_json(s.groups[i].stats);
      point["n"] = s.groups[i].top_n;
      points.push_back(point);
    }
    ablations.push_back({{"dataset", a.dataset}, {"model", a.model}, {"method", a.method}, {"row", a.row},
                         {"column", a.column}, {"points", points}});
  }
  const json plan = s.has_plan ? json{{"file", "sweep.json"}, {"name", s.plan_name}, {"runs", s.plan_runs}} : json(nullptr);
  return {{"schema_version", kSummarySchemaVersion},
          {"source", s.source},
          {"metric", s.metric},
          {"metric_title", metric_title(s.metric)},
          {"lower_is_better", s.lower_is_better},
          {"alpha", s.alpha},
          {"confidence", kConfidence},
          {"paper_n", s.paper_n},
          {"plan", plan},
          {"runs_completed", s.runs_completed()},
          {"groups", groups},
          {"tables", tables},
          {"comparisons", comparisons},
          {"ablations", ablations},
          {"failed", listed_json(s.failed, "error")},
          {"incomplete", listed_json(s.incomplete, "state")},
          {"not_counted", listed_json(s.not_counted, "reason")}};
}

}  // namespace acm::results
