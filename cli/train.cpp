// `harness train`: one run from a config to a result file (harness/train/trainer.h).
#include <memory>

#include "cli/command.h"
#include "harness/dist/agree.h"
#include "harness/train/signals.h"
#include "harness/train/trainer.h"

namespace acm::cli {

namespace {

struct TrainFlags {
  std::string config, out = "runs/train";
  std::vector<std::string> sets;
  bool resume = false, quiet = false;
  std::int64_t stop_after = 0;
};

int run_train(const TrainFlags& f) {
  const bool saved = f.config.empty() && f.resume;  // --resume without --config: the folder's own config
  std::string where = saved ? f.out + "/config.json" : f.config.empty() ? "flags" : f.config;
  nlohmann::json j;
  train::RunConfig config;
  // Under mpirun/srun every rank reads the config; rank 0 reports a bad one once for the job.
  dist::agree_on_world([&] {
    j = saved ? with_overrides(train::read_saved_config(f.out), f.sets, where)
              : config_with_overrides(f.config, f.sets, where);
    config = train::parse_run_config(j, where);
  });

  train::TrainOptions options;
  options.out_dir = f.out;
  options.resume = f.resume;
  options.quiet = f.quiet;
  options.stop_after = f.stop_after;
  switch (train::run_training(config, options)) {
    case train::Outcome::kCompleted:
      return 0;
    case train::Outcome::kInterrupted:
      return train::kExitInterrupted;
    case train::Outcome::kFailed:
    case train::Outcome::kLostClaim:  // only a sweep holds claims
      return 1;
  }
  return 1;
}

}  // namespace

Command add_train(CLI::App& program) {
  auto o = std::make_shared<TrainFlags>();
  auto* cmd = program.add_subcommand(
      "train",
      "Train one configuration; writes config.json, checkpoint.safetensors and result.json to --out. Exit codes: 0 "
      "completed, 1 failed (result says why), 2 bad config, 75 stopped by SIGTERM/SIGUSR1 (resume with --resume)");
  cmd->add_option("--config", o->config, "run config (JSON file); fields in docs/config.md");
  cmd->add_option("--set", o->sets, "override one field: PATH=VALUE, e.g. optimizer.lr=0.05 (repeatable)");
  cmd->add_option("--out", o->out, "output folder")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "continue from the folder's checkpoint (its config.json unless --config)");
  cmd->add_flag("--quiet", o->quiet, "no progress lines");
  cmd->add_option("--stop-after", o->stop_after,
                  "end this sitting once the run has taken STEPS optimizer steps in all: checkpoint, exit 75");
  return {cmd, [o] { return run_train(*o); }};
}

}  // namespace acm::cli
