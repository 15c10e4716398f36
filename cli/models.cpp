// `harness models`: the registered models, optionally built to count their parameters.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "common/errors.h"
#include "models/registry.h"

namespace acm::cli {

namespace {

struct ModelsOptions {
  std::string pattern = "*", stem = "imagenet";
  bool params = false;
  std::int64_t classes = 1000;
};

int run_models(const ModelsOptions& o) {
  const auto names = models::list_models(o.pattern);
  if (names.empty()) {
    std::fprintf(stderr, "no model matches '%s'\n", o.pattern.c_str());
    return 1;
  }
  models::ModelSpec spec;
  spec.num_classes = o.classes;
  try {
    spec.stem = models::stem_from_string(o.stem);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(std::string("--stem: ") + e.what());
  }
  for (const auto& n : names) {
    const auto& e = models::find_model(n);
    if (o.params) {
      std::printf("%-12s %12lld params  %s\n", n.c_str(), static_cast<long long>(models::parameter_count(*e.create(spec))),
                  e.description.c_str());
    } else {
      std::printf("%-12s %s\n", n.c_str(), e.description.c_str());
    }
  }
  return 0;
}

}  // namespace

Command add_models(CLI::App& program) {
  auto o = std::make_shared<ModelsOptions>();
  auto* cmd = program.add_subcommand("models", "List the registered models (wildcards: 'resnet*')");
  cmd->add_option("pattern", o->pattern, "glob over model names")->capture_default_str();
  cmd->add_flag("--params", o->params, "build each model and print its parameter count");
  cmd->add_option("--classes", o->classes, "classes for --params")->capture_default_str();
  cmd->add_option("--stem", o->stem, "imagenet | cifar, for --params")->capture_default_str();
  return {cmd, [o] { return run_models(*o); }};
}

}  // namespace acm::cli
