// `harness gallery`: the paper's Figure 1 as a PNG grid, from a run config with attentive_cutmix.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <memory>

#include "augment/extractor.h"
#include "augment/gallery.h"
#include "cli/command.h"
#include "common/errors.h"
#include "harness/data/loader.h"
#include "harness/train/attention_setup.h"
#include "harness/train/trainer.h"

namespace acm::cli {

namespace {

struct GalleryFlags {
  std::string config, out = "gallery.png";
  std::vector<std::string> sets;
  std::int64_t count = 6, first = 0;
  std::uint64_t seed = 0;
};

// The config's attentive_cutmix run, and the flags' images checked against its training set.
train::RunConfig gallery_config(const GalleryFlags& f) {
  if (f.config.empty()) throw config::ConfigError("gallery: --config is required");
  std::string where = f.config;
  const train::RunConfig c = train::parse_run_config(config_with_overrides(f.config, f.sets, where), where);
  if (c.mix.method != "attentive_cutmix") {
    throw config::ConfigError(f.config +
                              ":$.mix.method: the gallery shows Attentive CutMix's heatmaps; it needs attentive_cutmix "
                              "with an extractor, found " + c.mix.method);
  }
  if (f.count < 2 || f.count > 16) {
    throw config::ConfigError("--count: between 2 and 16 images, got " + std::to_string(f.count));
  }
  return c;
}

int run_gallery(const GalleryFlags& f) {
  const train::RunConfig c = gallery_config(f);
  const data::DatasetSplits splits = data::load_dataset(c.dataset);
  const data::Dataset& train = splits.train;
  if (f.first < 0 || f.first + f.count > train.size()) {
    throw config::ConfigError("--first: images " + std::to_string(f.first) + ".." + std::to_string(f.first + f.count - 1) +
                              " are not all in the training set (" + std::to_string(train.size()) + " images)");
  }
  data::LoaderOptions lo;
  lo.threads = 0;
  lo.transform = train::train_transform(c, train);
  lo.transform.crop_padding = 0;
  lo.transform.horizontal_flip = false;
  const data::Loader loader(train, lo);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(f.count));
  for (std::int64_t i = 0; i < f.count; ++i) ids[static_cast<std::size_t>(i)] = f.first + i;
  const data::Batch batch = loader.assemble(0, 0, ids.data(), f.count);
  const auto ex = train::load_extractor(c, train, lo.transform, c10::kCPU);
  const at::Tensor maps = augment::ExtractorHeatmaps(ex).grid_maps(batch.images, {}, c.mix.attentive.grid);
  augment::GalleryOptions go;
  go.attentive = c.mix.attentive;
  go.cutout_size = std::min<std::int64_t>(c.mix.size, std::min(train.height, train.width) / 2);
  go.mean = lo.transform.mean;
  go.std = lo.transform.std;
  at::Generator gen = at::detail::createCPUGenerator(f.seed);
  const augment::Canvas canvas = augment::render_gallery(batch.images, maps, go, gen);
  augment::write_png(f.out, canvas);
  std::printf("gallery: %lld donors of %s, heatmaps of %s -> %s (%lld×%lld px)\n", static_cast<long long>(f.count),
              train.name.c_str(), ex->description().c_str(), f.out.c_str(), static_cast<long long>(canvas.width),
              static_cast<long long>(canvas.height));
  return 0;
}

}  // namespace

Command add_gallery(CLI::App& program) {
  auto o = std::make_shared<GalleryFlags>();
  auto* cmd = program.add_subcommand(
      "gallery",
      "PNG grid as in the paper's Figure 1: per donor image, its heatmap with the chosen cells outlined and the "
      "result of Mixup, Cutout, CutMix and Attentive CutMix, with λ under each");
  cmd->add_option("--config", o->config, "a run config with mix.method attentive_cutmix (data, extractor, grid, N)");
  cmd->add_option("--set", o->sets, "override one config field: PATH=VALUE (repeatable)");
  cmd->add_option("--out", o->out, "PNG file to write")->capture_default_str();
  cmd->add_option("--count", o->count, "donor images (rows), 2..16")->capture_default_str();
  cmd->add_option("--first", o->first, "index of the first training image shown")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the Mixup, Cutout and CutMix draws")->capture_default_str();
  return {cmd, [o] { return run_gallery(*o); }};
}

}  // namespace acm::cli
