#include "results/summary.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "acm/paper_tables_json.h"  // generated from results/data/paper_tables.json
#include "results/files.h"
#include "results/identity.h"
#include "results/stats.h"

namespace acm::results {

using nlohmann::json;

namespace {

constexpr double kConfidence = 0.95;

json or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
json interval_json(const Interval& ci) {
  return std::isnan(ci.low) ? json(nullptr) : json::array({ci.low, ci.high});
}

int method_rank(const std::string& method) {
  static const std::vector<std::string> order = {"baseline", "mixup", "cutout", "cutmix", "attentive_cutmix"};
  const auto it = std::find(order.begin(), order.end(), method);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

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
  const std::string path = join_path(dir, "sweep.json");
  if (!path_exists(path)) return plan;
  json j;
  try {
    j = json::parse(read_text(path));
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
    plan.runs[folder] = {r.value("id", ""), from.is_string() ? from.get<std::string>() : ""};
  }
  return plan;
}

// One counted, completed run.
struct Run {
  std::string folder;
  json config;
  Identity id;
  double value = 0;
};

struct Listing {
  std::vector<Run> runs;
  json failed = json::array(), incomplete = json::array(), not_counted = json::array();
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
    if (result.contains("sweep") && result["sweep"].contains("extractor_from")) {
      from = result["sweep"]["extractor_from"].get<std::string>();
    } else if (const auto planned = plan_.runs.find(folder); planned != plan_.runs.end()) {
      from = planned->second.extractor_from;
    }
    if (!from.empty()) {
      if (att.contains("extractor_run") && att["extractor_run"].contains("config")) {
        const json& p = att["extractor_run"];
        return extractor_from_run(identify(p["config"], p.value("world_size", 0), ""), seed);
      }
      const json producer = producer_result(from);
      if (!producer.is_null()) {
        return extractor_from_run(identify(producer["config"], world_size_of(producer), ""), seed);
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
      r = json::parse(read_text(join_path(join_path(dir_, folder), "result.json")));
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

Listing read_runs(const std::string& dir, const std::string& field, const Plan& plan) {
  Listing out;
  ExtractorNames extractors(dir, plan);
  std::set<std::string> seen;
  walk_dirs(dir, [&](const std::string& path) {
    const std::string folder = path == dir ? "." : path.substr(dir.size() + (dir.back() == '/' ? 0 : 1));
    const std::string result_path = join_path(path, "result.json");
    if (!path_exists(result_path)) {
      if (!path_exists(join_path(path, "config.json")) && !path_exists(join_path(path, "claim.json"))) return;
      const bool ckpt = path_exists(join_path(path, "checkpoint.safetensors"));
      const std::string state =
          ckpt ? "interrupted or running (checkpoint written)" : "started, no checkpoint yet";
      if (plan.present && !plan.runs.count(folder)) {
        out.not_counted.push_back(
            {{"folder", folder}, {"reason", not_in_plan(plan, folder, json::object()) + "; " + state}});
      } else {
        seen.insert(folder);
        out.incomplete.push_back({{"folder", folder}, {"state", state}});
      }
      return;
    }
    json r;
    try {
      r = json::parse(read_text(result_path));
    } catch (const std::exception& e) {
      seen.insert(folder);
      out.failed.push_back(
          {{"folder", folder}, {"error", std::string("unreadable result.json: ") + e.what()}});
      return;
    }
    if (const std::string why = not_in_plan(plan, folder, r); !why.empty()) {
      out.not_counted.push_back({{"folder", folder}, {"reason", why}});
      return;
    }
    seen.insert(folder);
    if (r.value("status", "") != "completed") {
      out.failed.push_back(
          {{"folder", folder}, {"error", r.value("error", "status " + r.value("status", "?"))}});
      return;
    }
    if (!r.contains("final") || !r["final"].contains(field) || !r.contains("config")) {
      out.failed.push_back({{"folder", folder}, {"error", "result.json has no final." + field}});
      return;
    }
    Run run;
    run.folder = folder;
    run.config = r["config"];
    run.id = identify(run.config, world_size_of(r), extractors.of(folder, r));
    run.value = r["final"][field].get<double>();
    out.runs.push_back(std::move(run));
  });
  for (const auto& folder : plan.folders) {  // planned runs that have not started are incomplete too
    if (!seen.count(folder)) out.incomplete.push_back({{"folder", folder}, {"state", "not started"}});
  }
  return out;
}

// ---- Groups, tables, comparisons, ablations ---------------------------------------------------------------

struct Group {
  Identity id;
  const json* config = nullptr;  // the first run's (for the paper's value)
  int top_n = 0;                 // Attentive CutMix's N, 0 for other methods
  std::vector<double> values;
  std::vector<std::int64_t> seeds;
  std::vector<std::string> folders;
  std::string column;  // the method in a table's words: "attentive_cutmix N=3 [cache off]"
  std::string row;     // the row's label: "resnet18 (epochs 10)"
  // Over the seeds, once all are in (summarize_group).
  double mean = 0;
  json stats;  // {mean, std, ci95, count}: what a group, a table cell and an ablation point show
  json paper;  // the paper's value where the setting matches (null otherwise)
};

void summarize_group(Group& g, const ReportOptions& options) {
  g.mean = mean(g.values);
  g.stats = {{"mean", g.mean},
             {"std", or_null(sample_std(g.values))},
             {"ci95", interval_json(mean_confidence_interval(g.values, kConfidence))},
             {"count", g.values.size()}};
  g.paper = options.paper ? paper_value(g.id.dataset, g.id.model, g.id.method, g.top_n, *g.config) : json(nullptr);
}

// Seeds of one experiment (identity.h) form a group; a seed counts once.
std::vector<Group> make_groups(const std::vector<Run>& runs, json& not_counted) {
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;
  for (const Run& r : runs) {
    const std::string key = r.id.key();
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      Group g;
      g.id = r.id;
      g.config = &r.config;
      if (const auto n = r.id.method_fields.find(kTopNField); n != r.id.method_fields.end())
        g.top_n = n->second.get<int>();
      groups.push_back(std::move(g));
    }
    Group& g = groups[it->second];
    const auto dup = std::find(g.seeds.begin(), g.seeds.end(), r.id.seed);
    if (dup != g.seeds.end()) {
      not_counted.push_back({{"folder", r.folder},
                             {"reason", "the same experiment and seed as " +
                                            g.folders[dup - g.seeds.begin()] + " (a seed counts once)"}});
      continue;
    }
    g.values.push_back(r.value);
    g.seeds.push_back(r.id.seed);
    g.folders.push_back(r.folder);
  }
  return groups;
}

Fields without(const Fields& f, const std::vector<std::string>& pointers) {
  Fields out = f;
  for (const auto& p : pointers) out.erase(p);
  return out;
}

std::string ablation_key(const Group& g) {
  return g.id.setting_key() + "\n" +
         Identity{"", "", "", {}, without(g.id.method_fields, {kTopNField}), 0}.method_key();
}

struct Ablation {
  std::vector<std::size_t> points;  // groups, by N
  bool has_paper_n = false;
};

std::map<std::string, Ablation> find_ablations(const std::vector<Group>& groups, int paper_n) {
  std::map<std::string, Ablation> by_key;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].top_n > 0) by_key[ablation_key(groups[i])].points.push_back(i);
  }
  for (auto it = by_key.begin(); it != by_key.end();) {
    auto& a = it->second;
    if (a.points.size() < 2) {
      it = by_key.erase(it);
      continue;
    }
    std::sort(a.points.begin(), a.points.end(),
              [&](std::size_t x, std::size_t y) { return groups[x].top_n < groups[y].top_n; });
    for (std::size_t i : a.points) a.has_paper_n = a.has_paper_n || groups[i].top_n == paper_n;
    ++it;
  }
  return by_key;
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

json group_json(const Group& g) {
  json setting = json::object(), method = json::object();
  for (const auto& [p, v] : g.id.setting) setting[p] = v;
  for (const auto& [p, v] : g.id.method_fields) method[p] = v;
  json params = json::object();
  if (g.top_n > 0) params["n"] = g.top_n;
  json out = {{"dataset", g.id.dataset},
              {"model", g.id.model},
              {"method", g.id.method},
              {"params", params},
              {"row", g.row},
              {"column", g.column},
              {"setting", setting},
              {"method_fields", method},
              {"seeds", g.seeds},
              {"values", g.values},
              {"runs", g.folders},
              {"epochs", g.config->value("epochs", 0)},
              {"paper", g.paper}};
  out.update(g.stats);
  return out;
}

struct Column {
  int rank;
  std::string method, label;
};

// One data set's table: rows are settings (model and the rest), columns methods; every pair of columns in a
// row is compared (Welch), and the table's comparisons are one family for Holm's adjustment.
json make_table(const std::string& dataset, const std::vector<std::size_t>& members,
                const std::vector<Group>& groups, const std::set<std::size_t>& hidden,
                const ReportOptions& options, json& comparisons) {
  std::vector<Column> columns;
  std::vector<std::string> row_keys, row_labels, row_models;
  std::map<std::string, std::map<std::string, std::size_t>> cell;  // row key -> column label -> group
  for (std::size_t i : members) {
    if (hidden.count(i)) continue;
    const Group& g = groups[i];
    if (std::none_of(columns.begin(), columns.end(), [&](const Column& c) { return c.label == g.column; })) {
      columns.push_back({method_rank(g.id.method), g.id.method, g.column});
    }
    const std::string row = g.id.setting_key();
    if (std::find(row_keys.begin(), row_keys.end(), row) == row_keys.end()) {
      row_keys.push_back(row);
      row_labels.push_back(g.row);
      row_models.push_back(g.id.model);
    }
    cell[row][g.column] = i;
  }
  std::stable_sort(columns.begin(), columns.end(), [](const Column& a, const Column& b) {
    return std::tie(a.rank, a.method, a.label) < std::tie(b.rank, b.method, b.label);
  });
  json cols = json::array(), rows = json::array();
  for (const auto& c : columns) cols.push_back({{"label", c.label}, {"method", c.method}});
  const std::size_t first_comparison = comparisons.size();
  std::map<std::tuple<std::size_t, std::string, std::string>, std::size_t> compared;  // (row, A, B) -> index
  for (std::size_t r = 0; r < row_keys.size(); ++r) {
    auto& in_row = cell[row_keys[r]];
    json cells = json::object();
    double best = -1e300;
    for (const auto& [label, i] : in_row) best = std::max(best, groups[i].mean);
    for (const auto& [label, i] : in_row) {
      const Group& g = groups[i];
      cells[label] = g.stats;
      cells[label].update({{"group", i}, {"paper", g.paper}, {"best", g.mean == best}});
    }
    rows.push_back({{"model", row_models[r]}, {"label", row_labels[r]}, {"cells", cells}});
    // Every pair of columns in the row with ≥ 2 seeds each; the later column (the newer method) is A.
    for (std::size_t a = 0; a < columns.size(); ++a) {
      for (std::size_t b = a + 1; b < columns.size(); ++b) {
        if (!in_row.count(columns[a].label) || !in_row.count(columns[b].label)) continue;
        const Group& gb = groups[in_row[columns[a].label]];
        const Group& ga = groups[in_row[columns[b].label]];
        if (ga.values.size() < 2 || gb.values.size() < 2) continue;
        const WelchResult w = welch_t_test(ga.values, gb.values, kConfidence);
        compared[{r, columns[b].label, columns[a].label}] = comparisons.size();
        comparisons.push_back({{"dataset", dataset},
                               {"model", row_models[r]},
                               {"row", row_labels[r]},
                               {"a", columns[b].label},
                               {"b", columns[a].label},
                               {"mean_a", ga.mean},
                               {"mean_b", gb.mean},
                               {"difference", ga.mean - gb.mean},
                               {"ci95", interval_json(w.ci)},
                               {"t", or_null(w.t)},
                               {"df", or_null(w.df)},
                               {"p", or_null(w.p)}});
      }
    }
  }
  // Holm over the table's comparisons: a table is what a reader scans for "significant" differences.
  std::vector<double> raw;
  for (std::size_t k = first_comparison; k < comparisons.size(); ++k) {
    raw.push_back(comparisons[k]["p"].is_null() ? std::nan("") : comparisons[k]["p"].get<double>());
  }
  const std::vector<double> adjusted = holm_adjust(raw);
  const auto family = std::count_if(raw.begin(), raw.end(), [](double p) { return !std::isnan(p); });
  for (std::size_t k = first_comparison; k < comparisons.size(); ++k) {
    const double h = adjusted[k - first_comparison];
    comparisons[k]["p_holm"] = or_null(h);
    comparisons[k]["family"] = family;
    comparisons[k]["beyond_seed_spread"] = !std::isnan(h) && h < options.alpha;
  }
  // The gain of Attentive CutMix over CutMix in each row: the difference, with the comparison's CI and p-values
  // where both sides have the seeds for one.
  for (std::size_t r = 0; options.gain && r < row_keys.size(); ++r) {
    auto& in_row = cell[row_keys[r]];
    for (const auto& c : columns) {
      if (c.method != "attentive_cutmix" || !in_row.count(c.label)) continue;
      for (const auto& base : columns) {
        if (base.method != "cutmix" || !in_row.count(base.label)) continue;
        json gain = {{"difference", groups[in_row[c.label]].mean - groups[in_row[base.label]].mean},
                     {"ci95", nullptr},
                     {"p", nullptr},
                     {"p_holm", nullptr}};
        if (const auto k = compared.find({r, c.label, base.label}); k != compared.end()) {
          for (const char* f : {"ci95", "p", "p_holm"}) gain[f] = comparisons[k->second][f];
        }
        rows[r]["gain_over_cutmix"][c.label + " − " + base.label] = gain;
      }
    }
  }
  return {{"dataset", dataset}, {"columns", cols}, {"rows", rows}};
}

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
  const int paper_n = paper_tables()["attentive_cutmix"]["top_n"].get<int>();
  const Plan plan = read_plan(dir);
  Listing listing = read_runs(dir, field, plan);
  std::vector<Group> groups = make_groups(listing.runs, listing.not_counted);
  for (auto& g : groups) summarize_group(g, options);

  std::vector<std::string> datasets;
  std::map<std::string, std::vector<std::size_t>> by_dataset;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (!by_dataset.count(groups[i].id.dataset)) datasets.push_back(groups[i].id.dataset);
    by_dataset[groups[i].id.dataset].push_back(i);
  }
  for (const auto& d : datasets) label_groups(groups, by_dataset[d], paper_n);
  // A reader's order: data set, row, method (baseline first), N.
  std::map<std::string, std::size_t> dataset_rank;
  for (const auto& d : datasets) dataset_rank.emplace(d, dataset_rank.size());
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    if (a.id.dataset != b.id.dataset) return dataset_rank[a.id.dataset] < dataset_rank[b.id.dataset];
    if (a.row != b.row) return natural_less(a.row, b.row);
    if (method_rank(a.id.method) != method_rank(b.id.method))
      return method_rank(a.id.method) < method_rank(b.id.method);
    if (a.top_n != b.top_n) return a.top_n < b.top_n;
    return natural_less(a.column, b.column);
  });
  by_dataset.clear();
  for (std::size_t i = 0; i < groups.size(); ++i) by_dataset[groups[i].id.dataset].push_back(i);
  // Ablations: one method at several N, everything else equal. The table shows an ablation's N = 6 point
  // (the paper's), or every point when N = 6 was not run.
  const auto ablations_by_key = find_ablations(groups, paper_n);
  std::set<std::size_t> hidden;
  for (const auto& [key, a] : ablations_by_key) {
    for (std::size_t i : a.points) {
      if (a.has_paper_n && groups[i].top_n != paper_n) hidden.insert(i);
    }
  }

  json tables = json::array(), comparisons = json::array();
  for (const auto& d : datasets)
    tables.push_back(make_table(d, by_dataset[d], groups, hidden, options, comparisons));
  json ablations = json::array();
  for (const auto& [key, a] : ablations_by_key) {
    const Group& g0 = groups[a.points.front()];
    json points = json::array();
    for (std::size_t i : a.points) {
      const Group& g = groups[i];
      json point = g.stats;
      point["n"] = g.top_n;
      points.push_back(point);
    }
    // The series' name: its row and its method's column without N.
    std::string column = g0.column;
    if (const auto n = column.find(" N="); n != std::string::npos) {
      const auto end = column.find(' ', n + 1);
      column.erase(n, end == std::string::npos ? std::string::npos : end - n);
    }
    ablations.push_back({{"dataset", g0.id.dataset},
                         {"model", g0.id.model},
                         {"method", g0.id.method},
                         {"row", g0.row},
                         {"column", column},
                         {"points", points}});
  }
  json group_list = json::array();
  std::size_t counted = 0;
  for (const auto& g : groups) {
    group_list.push_back(group_json(g));
    counted += g.values.size();
  }
  json plan_json = nullptr;
  if (plan.present) plan_json = {{"file", "sweep.json"}, {"name", plan.name}, {"runs", plan.folders.size()}};

  return {{"schema_version", kSummarySchemaVersion},
          {"source", dir},
          {"metric", options.metric},
          {"metric_field", field},
          {"metric_title", metric_title(options.metric)},
          {"alpha", options.alpha},
          {"confidence", kConfidence},
          {"paper_n", paper_n},
          {"plan", plan_json},
          {"runs_completed", counted},
          {"groups", group_list},
          {"tables", tables},
          {"comparisons", comparisons},
          {"ablations", ablations},
          {"failed", listing.failed},
          {"incomplete", listing.incomplete},
          {"not_counted", listing.not_counted}};
}

}  // namespace acm::results
