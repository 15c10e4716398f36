// harness — the Attentive CutMix study's command-line program. One executable, one subcommand per job; each
// subcommand is a file of this folder (command.h).
#include <cstdio>
#include <vector>

#include "acm/config.h"
#include "cli/command.h"
#include "common/errors.h"
#include "harness/dist/agree.h"
#include "harness/dist/world.h"

int main(int argc, char** argv) {
  // Line-buffered even into a file: a cluster job's log shows each line as it happens.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{
      "harness " ACM_VERSION
      " — train image classifiers with Mixup / CutMix / Attentive CutMix, data-parallel under mpirun, "
      "and reproduce the Attentive CutMix study (Walawalkar et al., ICASSP 2020)."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  using namespace acm::cli;
  const std::vector<Command> commands = {add_info(app),  add_models(app), add_data(app),  add_train(app),
                                         add_gallery(app), add_sweep(app), add_report(app)};
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& c : commands) {
      if (c.app->parsed()) return c.run();
    }
  } catch (const acm::dist::PeerError& e) {
    return e.exit_code();  // another rank failed a check and printed why
  } catch (const std::exception& e) {
    // An error every rank agreed on was printed once for the job, by rank 0 (dist/agree.h).
    if (!acm::dist::reported(e)) std::fprintf(stderr, "%serror: %s\n", acm::dist::rank_prefix().c_str(), e.what());
    return acm::config::exit_code_of(std::current_exception());
  }
  return 0;
}
