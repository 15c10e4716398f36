// `harness sweep`: a spec's grid of runs into a folder, on groups of ranks (sweeps/runner.h).
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "cli/command.h"
#include "common/errors.h"
#include "harness/dist/agree.h"
#include "harness/dist/communicator.h"
#include "harness/dist/world.h"
#include "results/summary.h"
#include "sweeps/runner.h"
#include "sweeps/spec.h"

namespace acm::cli {

namespace {

struct SweepFlags {
  std::string spec, out = "runs/sweep", metric = "best";
  std::vector<std::string> inputs, sets, reuse;
  bool dry_run = false, check = false, retry_failed = false, allow_spec_change = false, no_report = false;
  double claim_timeout = 300;
};

sweeps::ExpandOptions expand_options(const SweepFlags& f) {
  sweeps::ExpandOptions eo;
  for (const auto& kv : f.inputs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw config::ConfigError("--input " + kv + ": expected NAME=VALUE");
    eo.inputs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  eo.sets = f.sets;
  eo.out_dir = absolute_path(f.out);
  for (const auto& d : f.reuse) eo.reuse.push_back(absolute_path(d));
  return eo;
}

int dry_run(const sweeps::Sweep& sw, const std::string& out_dir) {
  std::printf("sweep %s: %zu runs, %d rank(s) per run -> %s\n", sw.name.c_str(), sw.runs.size(), sw.ranks_per_run,
              out_dir.c_str());
  for (const auto& r : sw.runs) {
    std::printf("  %s  %s%s%s\n", r.id.c_str(), r.folder.c_str(),
                r.extractor_from ? ("  (extractor: " + sw.runs[*r.extractor_from].folder + ")").c_str() : "",
                r.reuse_from.empty() ? "" : ("  (reused from " + r.reuse_from + ")").c_str());
  }
  for (const auto& note : sw.reuse_notes) std::printf("  note: %s\n", note.c_str());
  const auto reused = std::count_if(sw.runs.begin(), sw.runs.end(), [](const auto& r) { return !r.reuse_from.empty(); });
  std::printf("%zu runs", sw.runs.size());
  if (reused) std::printf(" (%ld reused, %zu to train)", static_cast<long>(reused), sw.runs.size() - reused);
  std::printf("\n");
  return 0;
}

int check(const sweeps::Sweep& sw) {
  char scratch[] = "/tmp/acm-check-XXXXXX";
  if (!::mkdtemp(scratch)) throw std::runtime_error("cannot create a scratch folder in /tmp");
  sweeps::check_sweep(sw, scratch);
  std::printf("check  ok: the spec's runs start and train on data of their shape (scratch %s)\n", scratch);
  return 0;
}

// Rank 0 expands the spec (and hashes the input files) once; every other rank receives the plan.
sweeps::Sweep shared_plan(const SweepFlags& f, const sweeps::ExpandOptions& eo) {
  const dist::World& world = dist::World::init();
  dist::MpiCommunicator control(world);
  sweeps::Sweep sw;
  std::string text;
  dist::agree(control, [&] {
    if (world.rank() != 0) return;
    sw = sweeps::load_sweep(f.spec, eo);
    text = sweeps::sweep_to_json(sw).dump();
  });
  text = world.broadcast(text, 0);
  if (world.rank() != 0) sw = sweeps::sweep_from_json(nlohmann::json::parse(text));
  return sw;
}

int run_sweep_command(const SweepFlags& f) {
  results::metric_title(f.metric);  // validates
  const sweeps::ExpandOptions eo = expand_options(f);
  if (f.dry_run) return dry_run(sweeps::load_sweep(f.spec, eo), eo.out_dir);
  if (f.check) return check(sweeps::load_sweep(f.spec, eo));
  sweeps::SweepOptions so;
  so.out_dir = eo.out_dir;
  so.ledger.claim_timeout_s = f.claim_timeout;
  so.ledger.allow_spec_change = f.allow_spec_change;
  so.ledger.retry_failed = f.retry_failed;
  so.report = !f.no_report;
  so.metric = f.metric;
  return sweeps::run_sweep(shared_plan(f, eo), so);
}

}  // namespace

Command add_sweep(CLI::App& program) {
  auto o = std::make_shared<SweepFlags>();
  auto* cmd = program.add_subcommand(
      "sweep",
      "Run a sweep spec's grid of runs into --out, on groups of ranks_per_run ranks (under mpirun: many runs at "
      "once). Resumable: run the same command again after a stop, a crash or a time limit. Exit codes: 0 all "
      "completed, 1 some failed, 2 bad spec or changed plan, 75 stopped by SIGTERM/SIGUSR1");
  cmd->add_option("spec", o->spec, "sweep spec (JSON), e.g. sweeps/specs/quickstart.json")->required();
  cmd->add_option("--out", o->out, "sweep folder")->capture_default_str();
  cmd->add_option("--input", o->inputs, "a spec input: NAME=VALUE (repeatable), e.g. data=~/cifar-10");
  cmd->add_option("--set", o->sets, "override a base config field: PATH=VALUE (repeatable)");
  cmd->add_option("--reuse", o->reuse,
                  "a folder of completed runs (repeatable): runs with a planned run's identity and seed are copied, "
                  "not retrained (as the spec's \"reuse\")");
  cmd->add_flag("--dry-run", o->dry_run, "print the expanded runs and their count; run nothing");
  cmd->add_flag("--check", o->check, "train 2 steps of the first run of each method on synthetic data of the same shape");
  cmd->add_flag("--retry-failed", o->retry_failed,
                "run the failed runs again (their results are kept aside as result.failed.N.json)");
  cmd->add_flag("--allow-spec-change", o->allow_spec_change,
                "run a changed plan in a folder that holds another (runs both share are kept)");
  cmd->add_option("--claim-timeout", o->claim_timeout,
                  "seconds after which a run claimed by a job on another host that stopped touching its claim is "
                  "taken over")
      ->capture_default_str();
  cmd->add_flag("--no-report", o->no_report, "do not write DIR/report at the end");
  cmd->add_option("--metric", o->metric, "the report's metric: best | last | median5 | ece | nll | brier | occlusion | occlusion_random | fgsm | mca, or a JSON pointer into result.json")->capture_default_str();
  return {cmd, [o] { return run_sweep_command(*o); }};
}

}  // namespace acm::cli
