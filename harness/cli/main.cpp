// harness — the Attentive CutMix study's command-line program. One executable, one subcommand per job.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "acm/config.h"
#include "augment/extractor.h"
#include "augment/gallery.h"
#include "harness/config/json_reader.h"
#include "harness/data/error.h"
#include "harness/data/loader.h"
#include "harness/data/spec.h"
#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/world.h"
#include "harness/environment.h"
#include "harness/smoke.h"
#include "harness/train/attention_setup.h"
#include "harness/train/signals.h"
#include "harness/train/trainer.h"
#include "models/registry.h"
#include "models/weights.h"
#include "results/render.h"
#include "results/summary.h"
#include "sweeps/runner.h"
#include "sweeps/spec.h"

namespace {

using nlohmann::json;

// Data set flags shared by the subcommands that read data. They are turned into the same JSON object a config
// file holds, so flags and files are validated by one parser.
struct DatasetFlags {
  std::string name = "fashion-mnist", path, labels, spec, subset_mode = "none";
  std::int64_t subset_train = 0, subset_test = 0, subset_seed = 0;
  std::int64_t syn_train = 1024, syn_test = 256, syn_channels = 3, syn_size = 32, syn_classes = 10;

  void add(CLI::App* app) {
    app->add_option("--dataset", name, "mnist | fashion-mnist | cifar10 | cifar100 | imagenet | synthetic")
        ->capture_default_str();
    app->add_option("--data-path", path, "folder of the data files (fashion-mnist: Debian's by default)");
    app->add_option("--labels", labels, "cifar100 only: fine | coarse");
    app->add_option("--dataset-json", spec,
                    "the data set as a JSON object or a file holding one (overrides the flags)");
    app->add_option("--subset", subset_mode, "none | first | per_class")->capture_default_str();
    app->add_option("--subset-train", subset_train, "first: sample count; per_class: samples per class");
    app->add_option("--subset-test", subset_test, "the same for the test split");
    app->add_option("--subset-seed", subset_seed, "seed of the per_class draw");
    app->add_option("--synthetic-train", syn_train, "synthetic: training images")->capture_default_str();
    app->add_option("--synthetic-test", syn_test, "synthetic: test images")->capture_default_str();
    app->add_option("--synthetic-channels", syn_channels, "synthetic: channels")->capture_default_str();
    app->add_option("--synthetic-size", syn_size, "synthetic: height = width")->capture_default_str();
    app->add_option("--synthetic-classes", syn_classes, "synthetic: classes")->capture_default_str();
  }

  acm::data::DatasetSpec resolve() const {
    json j;
    std::string where = "--dataset-json";
    if (!spec.empty()) {
      std::string text = spec;
      if (spec.front() != '{') {
        std::ifstream in(spec);
        if (!in) throw acm::config::ConfigError("--dataset-json: cannot read file " + spec);
        text.assign(std::istreambuf_iterator<char>(in), {});
        where = spec;
      }
      try {
        j = json::parse(text);
      } catch (const json::exception& e) {
        throw acm::config::ConfigError(where + ": not valid JSON: " + e.what());
      }
    } else {
      where = "flags";
      j = {{"name", name}};
      if (!path.empty()) j["path"] = path;
      if (!labels.empty()) j["labels"] = labels;
      if (name == "synthetic") {
        j.update({{"train_size", syn_train},
                  {"test_size", syn_test},
                  {"channels", syn_channels},
                  {"height", syn_size},
                  {"width", syn_size},
                  {"classes", syn_classes}});
      }
      if (subset_mode != "none") {
        j["subset"] = {{"mode", subset_mode}, {"train", subset_train}, {"test", subset_test}};
        if (subset_mode == "per_class") j["subset"]["seed"] = subset_seed;
      }
    }
    acm::config::JsonReader r(j, where + ":$");
    return acm::data::parse_dataset_spec(r);
  }
};

json read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw acm::config::ConfigError(path + ": cannot read config file");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw acm::config::ConfigError(path + ": not valid JSON: " + e.what());
  }
}

int cmd_train(const std::string& config_path, const std::vector<std::string>& sets, const std::string& out,
              bool resume, bool quiet, std::int64_t stop_after) {
  json j = json::object();
  std::string where = "flags";
  if (!config_path.empty()) {
    j = read_config_file(config_path);
    where = config_path;
  } else if (resume) {
    j = acm::train::read_saved_config(out);
    where = out + "/config.json";
  }
  for (const auto& s : sets) acm::train::apply_override(j, s);
  if (!sets.empty()) where += " (with --set)";
  const acm::train::RunConfig config = acm::train::parse_run_config(j, where);
  acm::train::TrainOptions options;
  options.out_dir = out;
  options.resume = resume;
  options.quiet = quiet;
  options.stop_after = stop_after;
  switch (acm::train::run_training(config, options)) {
    case acm::train::Outcome::kCompleted:
      return 0;
    case acm::train::Outcome::kInterrupted:
      return acm::train::kExitInterrupted;
    case acm::train::Outcome::kFailed:
    case acm::train::Outcome::kLostClaim:  // only a sweep holds claims
      return 1;
  }
  return 1;
}

int cmd_gallery(const std::string& config_path, const std::vector<std::string>& sets, const std::string& out,
                std::int64_t count, std::int64_t first, std::uint64_t seed) {
  if (config_path.empty()) throw acm::config::ConfigError("gallery: --config is required");
  json j = read_config_file(config_path);
  for (const auto& s : sets) acm::train::apply_override(j, s);
  const acm::train::RunConfig c =
      acm::train::parse_run_config(j, config_path + (sets.empty() ? "" : " (with --set)"));
  if (c.mix.method != "attentive_cutmix") {
    throw acm::config::ConfigError(config_path +
                                   ":$.mix.method: the gallery shows Attentive CutMix's heatmaps; "
                                   "it needs attentive_cutmix with an extractor, found " +
                                   c.mix.method);
  }
  if (count < 2 || count > 16)
    throw acm::config::ConfigError("--count: between 2 and 16 images, got " + std::to_string(count));
  const acm::data::DatasetSplits splits = acm::data::load_dataset(c.dataset);
  const acm::data::Dataset& train = splits.train;
  if (first < 0 || first + count > train.size()) {
    throw acm::config::ConfigError("--first: images " + std::to_string(first) + ".." +
                                   std::to_string(first + count - 1) + " are not all in the training set (" +
                                   std::to_string(train.size()) + " images)");
  }
  acm::data::LoaderOptions lo;
  lo.threads = 0;
  lo.transform = acm::train::train_transform(c, train);
  lo.transform.crop_padding = 0;
  lo.transform.horizontal_flip = false;
  const acm::data::Loader loader(train, lo);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) ids[static_cast<std::size_t>(i)] = first + i;
  const acm::data::Batch batch = loader.assemble(0, 0, ids.data(), count);
  const auto ex = acm::train::load_extractor(c, train, lo.transform, c10::kCPU);
  const at::Tensor maps =
      acm::augment::ExtractorHeatmaps(ex).grid_maps(batch.images, {}, c.mix.attentive.grid);
  acm::augment::GalleryOptions go;
  go.attentive = c.mix.attentive;
  go.cutout_size = std::min<std::int64_t>(c.mix.size, std::min(train.height, train.width) / 2);
  go.mean = lo.transform.mean;
  go.std = lo.transform.std;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const acm::augment::Canvas canvas = acm::augment::render_gallery(batch.images, maps, go, gen);
  acm::augment::write_png(out, canvas);
  std::printf("gallery: %lld donors of %s, heatmaps of %s -> %s (%lld×%lld px)\n",
              static_cast<long long>(count), train.name.c_str(), ex->description().c_str(), out.c_str(),
              static_cast<long long>(canvas.width), static_cast<long long>(canvas.height));
  return 0;
}

int cmd_info(bool as_json) {
  const json env = acm::harness::environment_info();
  if (as_json) {
    std::printf("%s\n", env.dump(2).c_str());
    return 0;
  }
  std::printf("harness %s\n", env["acm_version"].get<std::string>().c_str());
  std::printf("  LibTorch      %s\n", env["libtorch"].get<std::string>().c_str());
  std::printf("  CUDA          %s (compiled), cuDNN %s\n", env["cuda_compiled"].get<std::string>().c_str(),
              env["cudnn"].get<std::string>().c_str());
  std::printf("  NCCL          %s (%s)\n", env["nccl"].get<std::string>().c_str(),
              env["nccl_library"].get<std::string>().c_str());
  std::printf("  MPI           %s (standard %s)\n", env["mpi"].get<std::string>().c_str(),
              env["mpi_standard"].get<std::string>().c_str());
  if (env["gpu_usable"].get<bool>()) {
    for (const auto& g : env["gpus"]) {
      std::printf("  GPU %d         %s, %.1f GiB, sm_%s\n", g["index"].get<int>(),
                  g["name"].get<std::string>().c_str(), g["memory_gib"].get<double>(),
                  g["capability"].get<std::string>().c_str());
    }
  } else {
    std::printf("  GPU           none usable: training runs on the CPU\n");
  }
  const auto& t = env["threads"];
  std::printf("  threads       %d intra-op, %d inter-op, %u hardware, OMP_NUM_THREADS=%s\n",
              t["intra_op"].get<int>(), t["inter_op"].get<int>(), t["hardware"].get<unsigned>(),
              t["OMP_NUM_THREADS"].get<std::string>().empty()
                  ? "(unset)"
                  : t["OMP_NUM_THREADS"].get<std::string>().c_str());
  std::printf("  host          %s\n", env["host"].get<std::string>().c_str());
  return 0;
}

int cmd_models(const std::string& pattern, bool params, std::int64_t classes, const std::string& stem) {
  const auto names = acm::models::list_models(pattern);
  if (names.empty()) {
    std::fprintf(stderr, "no model matches '%s'\n", pattern.c_str());
    return 1;
  }
  for (const auto& n : names) {
    const auto& e = acm::models::find_model(n);
    if (params) {
      acm::models::ModelSpec s;
      s.num_classes = classes;
      s.stem = acm::models::stem_from_string(stem);
      std::printf("%-12s %12lld params  %s\n", n.c_str(),
                  static_cast<long long>(acm::models::parameter_count(*e.create(s))), e.description.c_str());
    } else {
      std::printf("%-12s %s\n", n.c_str(), e.description.c_str());
    }
  }
  return 0;
}

int cmd_data(const DatasetFlags& flags) {
  const auto spec = flags.resolve();
  const auto splits = acm::data::load_dataset(spec);
  std::printf("spec %s\n", acm::data::to_json(spec).dump().c_str());
  for (const auto* ds : {&splits.train, &splits.test}) {
    const auto st = acm::data::channel_stats(*ds);
    const auto hist = acm::data::label_histogram(*ds);
    std::printf("%-20s %7lld images %lldx%lldx%lld, %lld classes\n", ds->name.c_str(),
                static_cast<long long>(ds->size()), static_cast<long long>(ds->channels),
                static_cast<long long>(ds->height), static_cast<long long>(ds->width),
                static_cast<long long>(ds->num_classes));
    std::printf("  source   %s\n  mean/std", ds->source.c_str());
    for (std::size_t c = 0; c < st.mean.size(); ++c) std::printf(" %.4f/%.4f", st.mean[c], st.std[c]);
    std::printf("\n  labels  ");
    for (auto h : hist) std::printf(" %lld", static_cast<long long>(h));
    std::printf("\n");
  }
  return 0;
}

std::string absolute_path(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) throw std::runtime_error("cannot read the current folder");
  std::string out = std::string(cwd) + "/" + p;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

struct SweepFlags {
  std::string spec, out = "runs/sweep", metric = "best";
  std::vector<std::string> inputs, sets;
  bool dry_run = false, check = false, retry_failed = false, allow_spec_change = false, no_report = false;
  double claim_timeout = 300;
};

int cmd_sweep(const SweepFlags& f) {
  acm::sweeps::ExpandOptions eo;
  for (const auto& kv : f.inputs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw acm::config::ConfigError("--input " + kv + ": expected NAME=VALUE");
    }
    eo.inputs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  eo.sets = f.sets;
  eo.out_dir = absolute_path(f.out);
  if (f.dry_run) {
    const auto sw = acm::sweeps::load_sweep(f.spec, eo);
    std::printf("sweep %s: %zu runs, %d rank(s) per run -> %s\n", sw.name.c_str(), sw.runs.size(),
                sw.ranks_per_run, eo.out_dir.c_str());
    for (const auto& r : sw.runs) {
      std::printf("  %s  %s%s\n", r.id.c_str(), r.folder.c_str(),
                  r.extractor_from ? ("  (extractor: " + sw.runs[*r.extractor_from].folder + ")").c_str() : "");
    }
    std::printf("%zu runs\n", sw.runs.size());
    return 0;
  }
  if (f.check) {
    const auto sw = acm::sweeps::load_sweep(f.spec, eo);
    char scratch[] = "/tmp/acm-check-XXXXXX";
    if (!::mkdtemp(scratch)) throw std::runtime_error("cannot create a scratch folder in /tmp");
    acm::sweeps::check_sweep(sw, scratch);
    std::printf("check  ok: the spec's runs start and train on data of their shape (scratch %s)\n", scratch);
    return 0;
  }
  // Rank 0 expands the spec (and hashes the input files) once; the other ranks receive the plan.
  acm::dist::World& world = acm::dist::World::init();
  acm::dist::MpiCommunicator control(world);
  acm::sweeps::Sweep sw;
  std::string text;
  acm::dist::agree(
      control,
      [&] {
        if (world.rank() != 0) return;
        sw = acm::sweeps::load_sweep(f.spec, eo);
        text = acm::sweeps::sweep_to_json(sw).dump();
      },
      acm::train::exit_code_of);
  if (world.size() > 1) {
    long long n = static_cast<long long>(text.size());
    acm::dist::check_mpi(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, world.comm()), "MPI_Bcast");
    text.resize(static_cast<std::size_t>(n));
    acm::dist::check_mpi(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, 0, world.comm()), "MPI_Bcast");
    if (world.rank() != 0) sw = acm::sweeps::sweep_from_json(json::parse(text));
  }
  acm::sweeps::SweepOptions so;
  so.out_dir = eo.out_dir;
  so.ledger.claim_timeout_s = f.claim_timeout;
  so.ledger.allow_spec_change = f.allow_spec_change;
  so.ledger.retry_failed = f.retry_failed;
  so.report = !f.no_report;
  so.metric = f.metric;
  acm::results::metric_field(f.metric);  // validates
  return acm::sweeps::run_sweep(sw, so);
}

int cmd_report(const std::string& dir, std::string out, const acm::results::ReportOptions& ro) {
  const json summary = acm::results::summarize(dir, ro);
  if (out.empty()) out = dir + "/report";
  const std::string md = acm::results::write_report(summary, out);
  std::printf("%s", md.c_str());
  std::printf("report %s/{summary.json,table.md,table.csv,table.tex%s}: %zu completed run(s) counted, %zu failed, "
              "%zu incomplete, %zu not counted\n",
              out.c_str(), summary["ablations"].empty() ? "" : ",ablation.svg",
              summary["runs_completed"].get<std::size_t>(), summary["failed"].size(), summary["incomplete"].size(),
              summary["not_counted"].size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered even into a file: a cluster job's log shows each line as it happens.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{
      "harness " ACM_VERSION
      " — train image classifiers with Mixup / CutMix / Attentive CutMix, data-parallel under mpirun, "
      "and reproduce the Attentive CutMix study (Walawalkar et al., ICASSP 2020)."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");

  bool info_json = false;
  auto* info = app.add_subcommand("info", "Versions (LibTorch, CUDA, cuDNN, NCCL, MPI), GPUs and threads");
  info->add_flag("--json", info_json, "print as JSON");

  std::string pattern = "*", stem = "imagenet";
  bool params = false;
  std::int64_t classes = 1000;
  auto* models_cmd = app.add_subcommand("models", "List the registered models (wildcards: 'resnet*')");
  models_cmd->add_option("pattern", pattern, "glob over model names")->capture_default_str();
  models_cmd->add_flag("--params", params, "build each model and print its parameter count");
  models_cmd->add_option("--classes", classes, "classes for --params")->capture_default_str();
  models_cmd->add_option("--stem", stem, "imagenet | cifar, for --params")->capture_default_str();

  DatasetFlags data_flags;
  auto* data_cmd =
      app.add_subcommand("data", "Load and validate a data set; print its size, statistics and labels");
  data_flags.add(data_cmd);

  DatasetFlags smoke_flags;
  acm::harness::SmokeOptions so;
  std::string smoke_stem = "cifar", smoke_init = "kaiming";
  so.model_spec.width = 16;  // a small ResNet that trains on 2 CPU cores in minutes
  auto* smoke = app.add_subcommand("smoke",
                                   "Data/model smoke run: a few SGD steps through the full pipeline, then "
                                   "test accuracy (no files written)");
  smoke_flags.add(smoke);
  smoke->add_option("--model", so.model, "registry name (see `harness models`)")->capture_default_str();
  smoke->add_option("--stem", smoke_stem, "imagenet | cifar")->capture_default_str();
  smoke->add_option("--width", so.model_spec.width, "channels of the first stage")->capture_default_str();
  smoke->add_option("--init", smoke_init, "kaiming | xavier_normal")->capture_default_str();
  smoke->add_option("--steps", so.steps, "SGD steps")->capture_default_str();
  smoke->add_option("--batch-size", so.batch_size, "images per step")->capture_default_str();
  smoke->add_option("--lr", so.lr, "learning rate (SGD, momentum 0.9)")->capture_default_str();
  smoke->add_option("--threads", so.threads, "intra-op threads")->capture_default_str();
  smoke->add_option("--loader-threads", so.loader_threads, "background loader threads")
      ->capture_default_str();
  smoke->add_option("--crop-padding", so.crop_padding, "random crop padding (0: off)")->capture_default_str();
  smoke->add_option("--seed", so.seed, "seed")->capture_default_str();
  smoke->add_option("--device", so.device, "auto | cpu | cuda | cuda:N")->capture_default_str();

  std::string train_config, train_out = "runs/train";
  std::vector<std::string> train_sets;
  bool train_resume = false, train_quiet = false;
  std::int64_t train_stop_after = 0;
  auto* train = app.add_subcommand(
      "train",
      "Train one configuration; writes config.json, checkpoint.safetensors and result.json to --out. Exit "
      "codes: 0 completed, 1 failed (result says why), 2 bad config, 75 stopped by SIGTERM/SIGUSR1 "
      "(resume with --resume)");
  train->add_option("--config", train_config, "run config (JSON file); fields documented in the README");
  train->add_option("--set", train_sets,
                    "override one field: PATH=VALUE, e.g. optimizer.lr=0.05 (repeatable)");
  train->add_option("--out", train_out, "output folder")->capture_default_str();
  train->add_flag("--resume", train_resume,
                  "continue from the folder's checkpoint (its config.json unless --config)");
  train->add_flag("--quiet", train_quiet, "no progress lines");
  train->add_option(
      "--stop-after", train_stop_after,
      "end this sitting once the run has taken STEPS optimizer steps in all: checkpoint, exit 75");

  std::string gallery_config, gallery_out = "gallery.png";
  std::vector<std::string> gallery_sets;
  std::int64_t gallery_count = 6, gallery_first = 0;
  std::uint64_t gallery_seed = 0;
  auto* gallery = app.add_subcommand(
      "gallery",
      "PNG grid as in the paper's Figure 1: per donor image, its heatmap with the chosen cells outlined and "
      "the result of Mixup, Cutout, CutMix and Attentive CutMix, with λ under each");
  gallery->add_option("--config", gallery_config,
                      "a run config with mix.method attentive_cutmix (data, extractor, grid, N)");
  gallery->add_option("--set", gallery_sets, "override one config field: PATH=VALUE (repeatable)");
  gallery->add_option("--out", gallery_out, "PNG file to write")->capture_default_str();
  gallery->add_option("--count", gallery_count, "donor images (rows), 2..16")->capture_default_str();
  gallery->add_option("--first", gallery_first, "index of the first training image shown")
      ->capture_default_str();
  gallery->add_option("--seed", gallery_seed, "seed of the Mixup, Cutout and CutMix draws")
      ->capture_default_str();

  SweepFlags sweep_flags;
  auto* sweep = app.add_subcommand(
      "sweep",
      "Run a sweep spec's grid of runs into --out, on groups of ranks_per_run ranks (under mpirun: many runs "
      "at once). Resumable: run the same command again after a stop, a crash or a time limit. Exit codes: 0 all "
      "completed, 1 some failed, 2 bad spec or changed plan, 75 stopped by SIGTERM/SIGUSR1");
  sweep->add_option("spec", sweep_flags.spec, "sweep spec (JSON), e.g. sweeps/specs/quickstart.json")->required();
  sweep->add_option("--out", sweep_flags.out, "sweep folder")->capture_default_str();
  sweep->add_option("--input", sweep_flags.inputs, "a spec input: NAME=VALUE (repeatable), e.g. data=~/cifar-10");
  sweep->add_option("--set", sweep_flags.sets, "override a base config field: PATH=VALUE (repeatable)");
  sweep->add_flag("--dry-run", sweep_flags.dry_run, "print the expanded runs and their count; run nothing");
  sweep->add_flag("--check", sweep_flags.check,
                  "train 2 steps of the first run of each method on synthetic data of the same shape");
  sweep->add_flag("--retry-failed", sweep_flags.retry_failed, "run the failed runs again (their results are kept "
                  "aside as result.failed.N.json)");
  sweep->add_flag("--allow-spec-change", sweep_flags.allow_spec_change,
                  "run a changed plan in a folder that holds another (runs both share are kept)");
  sweep->add_option("--claim-timeout", sweep_flags.claim_timeout,
                    "seconds after which a run claimed by a job on another host that stopped touching its claim "
                    "is taken over")
      ->capture_default_str();
  sweep->add_flag("--no-report", sweep_flags.no_report, "do not write DIR/report at the end");
  sweep->add_option("--metric", sweep_flags.metric, "the report's metric: best | last | median5")
      ->capture_default_str();

  std::string report_dir, report_out;
  acm::results::ReportOptions report_opts;
  bool report_no_paper = false, report_no_gain = false;
  auto* report = app.add_subcommand(
      "report",
      "Aggregate every result.json under a folder over seeds: summary.json, tables (Markdown, CSV, LaTeX) "
      "shaped like the paper's, Welch t-tests between methods, the N ablation plot (SVG)");
  report->add_option("dir", report_dir, "folder of runs (a sweep folder, or any folder of run folders)")->required();
  report->add_option("--out", report_out, "where to write (default DIR/report)");
  report->add_option("--metric", report_opts.metric, "best | last | median5 (test top-1 per run)")
      ->capture_default_str();
  report->add_option("--alpha", report_opts.alpha, "significance level of the t-tests")->capture_default_str();
  report->add_flag("--no-paper", report_no_paper, "no published values from the paper");
  report->add_flag("--no-gain", report_no_gain, "no gain-over-CutMix column");

  CLI11_PARSE(app, argc, argv);
  try {
    if (info->parsed()) return cmd_info(info_json);
    if (models_cmd->parsed()) return cmd_models(pattern, params, classes, stem);
    if (data_cmd->parsed()) return cmd_data(data_flags);
    if (gallery->parsed())
      return cmd_gallery(gallery_config, gallery_sets, gallery_out, gallery_count, gallery_first,
                         gallery_seed);
    if (train->parsed())
      return cmd_train(train_config, train_sets, train_out, train_resume, train_quiet, train_stop_after);
    if (sweep->parsed()) return cmd_sweep(sweep_flags);
    if (report->parsed()) {
      report_opts.paper = !report_no_paper;
      report_opts.gain = !report_no_gain;
      return cmd_report(report_dir, report_out, report_opts);
    }
    if (smoke->parsed()) {
      so.dataset = smoke_flags.resolve();
      so.model_spec.stem = acm::models::stem_from_string(smoke_stem);
      so.model_spec.init = acm::models::init_from_string(smoke_init);
      acm::harness::run_smoke(so);
      return 0;
    }
  } catch (const acm::dist::PeerError& e) {
    return e.exit_code();  // another rank failed a check and printed why
  } catch (const acm::config::ConfigError& e) {
    std::fprintf(stderr, "%serror: %s\n", acm::dist::rank_prefix().c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%serror: %s\n", acm::dist::rank_prefix().c_str(), e.what());
    return 1;
  }
  return 0;
}
