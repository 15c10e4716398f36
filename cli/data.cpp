// `harness data`: load and validate a data set; print its size, statistics and labels.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "harness/data/dataset.h"
#include "harness/data/spec.h"

namespace acm::cli {

namespace {

int run_data(const DatasetFlags& flags) {
  const auto spec = flags.resolve();
  const auto splits = data::load_dataset(spec);
  std::printf("spec %s\n", data::to_json(spec).dump().c_str());
  for (const auto* ds : {&splits.train, &splits.test}) {
    const auto st = data::channel_stats(*ds);
    const auto hist = data::label_histogram(*ds);
    std::printf("%-20s %7lld images %lldx%lldx%lld, %lld classes\n", ds->name.c_str(), static_cast<long long>(ds->size()),
                static_cast<long long>(ds->channels), static_cast<long long>(ds->height),
                static_cast<long long>(ds->width), static_cast<long long>(ds->num_classes));
    std::printf("  source   %s\n  mean/std", ds->source.c_str());
    for (std::size_t c = 0; c < st.mean.size(); ++c) std::printf(" %.4f/%.4f", st.mean[c], st.std[c]);
    std::printf("\n  labels  ");
    for (auto h : hist) std::printf(" %lld", static_cast<long long>(h));
    std::printf("\n");
  }
  return 0;
}

}  // namespace

Command add_data(CLI::App& program) {
  auto o = std::make_shared<DatasetFlags>();
  auto* cmd = program.add_subcommand("data", "Load and validate a data set; print its size, statistics and labels");
  o->add(cmd);
  return {cmd, [o] { return run_data(*o); }};
}

}  // namespace acm::cli
