#include "harness/train/attention_setup.h"

#include <torch/torch.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "augment/attention_cache.h"
#include "augment/extractor.h"
#include "common/json_reader.h"
#include "harness/data/loader.h"
#include "harness/data/spec.h"
#include "harness/progress.h"

namespace acm::train {

using nlohmann::json;

std::shared_ptr<const augment::Extractor> load_extractor(const RunConfig& c, const data::Dataset& train,
                                                         const data::TransformSpec& transform,
                                                         c10::Device device) {
  augment::ImageFormat fmt;
  fmt.channels = train.channels;
  fmt.height = train.height;
  fmt.width = train.width;
  fmt.mean = transform.mean;
  fmt.std = transform.std;
  try {
    return augment::Extractor::load(c.mix.extractor, fmt, device);
  } catch (const augment::ExtractorError& e) {
    throw config::ConfigError("$.mix.extractor.path: " + std::string(e.what()));
  }
}

namespace {

// The run of this harness that made the extractor, when its folder holds that run's completed result: its
// resolved config and world size (what the report needs to group by the extractor's origin); null otherwise.
json producing_run(const std::string& path) {
  std::string dir = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    const auto slash = path.rfind('/');
    if (path.compare(slash == std::string::npos ? 0 : slash + 1, std::string::npos,
                     "checkpoint.safetensors") != 0) {
      return nullptr;  // converted weights or TorchScript: known by the file's hash alone
    }
    dir = slash == std::string::npos ? "." : path.substr(0, slash);
  }
  std::ifstream in(dir + "/result.json");
  if (!in) return nullptr;
  try {
    const json r = json::parse(in);
    if (r.value("status", "") != "completed" || !r.contains("config")) return nullptr;
    const int world = r.contains("distributed") ? r["distributed"].value("world_size", 0) : 0;
    return {{"folder", dir}, {"config", r["config"]}, {"world_size", world}};
  } catch (const json::exception&) {
    return nullptr;
  }
}

}  // namespace

AttentionSetup prepare_attention(const RunConfig& c, const data::Dataset& train,
                                 const data::TransformSpec& transform, c10::Device device,
                                 const std::string& out_dir, FILE* out, bool write_cache,
                                 const std::function<bool()>& commit) {
  const auto& a = c.mix.attentive;
  if (a.grid > train.height || a.grid > train.width) {
    throw config::ConfigError("$.mix.grid: a " + std::to_string(a.grid) + "×" + std::to_string(a.grid) +
                              " grid does not fit " + std::to_string(train.height) + "×" +
                              std::to_string(train.width) + " images (some cells would hold no pixel)");
  }
  const std::shared_ptr<const augment::Extractor> ex = load_extractor(c, train, transform, device);
  AttentionSetup setup;
  setup.record = {{"extractor", ex->description()},
                  {"extractor_hash", ex->file_hash()},
                  {"map", {ex->map_channels(), ex->map_height(), ex->map_width()}},
                  {"cache", c.mix.cache}};
  if (json run = producing_run(c.mix.extractor.path); !run.is_null()) setup.record["extractor_run"] = run;
  std::fprintf(out, "attn  %s: %lld×%lld×%lld map, %s, %lld×%lld grid\n", ex->description().c_str(),
               static_cast<long long>(ex->map_channels()), static_cast<long long>(ex->map_height()),
               static_cast<long long>(ex->map_width()), c.mix.extractor.reduce.how.c_str(),
               static_cast<long long>(a.grid), static_cast<long long>(a.grid));
  if (!c.mix.cache) {
    setup.heatmaps = std::make_shared<augment::ExtractorHeatmaps>(ex);
    return setup;
  }

  // The cache depends on the extractor's bytes, how it is fed and reduced, and on which images (and their
  // normalisation): all of that is its key.
  json ej = to_json(c)["mix"]["extractor"];
  ej.erase("path");
  const std::map<std::string, std::string> key = {
      {"extractor_hash", ex->file_hash()},
      {"extractor_options", ej.dump()},
      {"dataset", data::to_json(c.dataset).dump()},
      {"images", std::to_string(train.size())},
      {"normalisation", json({{"mean", transform.mean}, {"std", transform.std}}).dump()}};
  const std::string path = out_dir + "/attention_cache.safetensors";
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  if (auto cached = augment::AttentionCache::load(path, key, train.height, train.width, &why)) {
    std::fprintf(out, "attn  cache: %lld heatmaps read from %s\n",
                 static_cast<long long>(cached->maps().size(0)), path.c_str());
    setup.heatmaps = std::make_shared<augment::AttentionCache>(std::move(*cached));
    setup.record["cache_built"] = false;
    return setup;
  }
  std::fprintf(out, "attn  cache: %s; building it over %lld training images\n", why.c_str(),
               static_cast<long long>(train.size()));
  data::LoaderOptions lo;
  lo.batch_size = c.eval_batch_size;
  lo.threads = c.loader_threads;
  lo.prefetch = std::max(2, 2 * c.loader_threads);
  lo.transform = transform;
  lo.transform.crop_padding = 0;  // the untransformed image; crops and flips are applied at batch time
  lo.transform.horizontal_flip = false;
  data::Loader loader(train, lo);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(train.size()));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  loader.start_epoch(0, ids);
  at::Tensor maps = at::empty({train.size(), ex->map_height(), ex->map_width()}, at::kFloat);
  harness::Progress progress("attention cache", loader.batches_in_epoch(), "img", out);
  std::int64_t done = 0;
  double seen = 0;
  while (auto b = loader.next()) {
    maps.index_copy_(0, b->indices, ex->heatmaps(b->images).to(at::kCPU));
    seen += static_cast<double>(b->indices.size(0));
    progress.update(++done, seen);
  }
  progress.finish();
  augment::AttentionCache cache(maps, ex->black_value(), train.height, train.width, ex->description());
  if (write_cache) cache.save(path, key, commit);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  setup.record["cache_built"] = true;
  setup.record["cache_build_seconds"] = secs;
  setup.heatmaps = std::make_shared<augment::AttentionCache>(std::move(cache));
  return setup;
}

}  // namespace acm::train
