// Extractors against Python: a hand-built block-mean extractor, torchvision's ResNet-18 through TorchScript and
// converted weights, every bad-extractor case and the attention cache against a fresh pass — the files are
// exported by tests/augment/export_extractors.py in the venv's Python (label anchor).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>

#include <torch/torch.h>

#include "acm/config.h"
#include "augment/attention.h"
#include "augment/attention_cache.h"
#include "augment/attentive_cutmix.h"
#include "augment/extractor.h"
#include "augment/gallery.h"
#include "harness/data/loader.h"
#include "harness/data/synthetic.h"
#include "models/registry.h"
#include "models/weights.h"
#include "tests/augment/mix_contract.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::augment {
namespace {

using acm::testing::expect_error;

// A fixed set of heatmaps, the hand-built source of the contract tests.
// ---- the resize rule ------------------------------------------------------------------------------------

// ---- top-N cells ----------------------------------------------------------------------------------------

// ---- the mixed batch ------------------------------------------------------------------------------------

// The single-pass CPU kernels against their ATen forms (which CUDA and channels-last tensors take), bit for
// bit.
// ---- extractors -----------------------------------------------------------------------------------------

class Extractors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new acm::testing::TempDir;
    status_ =
        acm::testing::run_venv_python("tests/augment/export_extractors.py",
                                      {dir_->path(), std::string(ACM_SOURCE_DIR) + "/scripts"}, &output_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(status_, 0) << output_; }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static ImageFormat format(std::int64_t c, std::int64_t h, std::int64_t w) {
    ImageFormat f;
    f.channels = c;
    f.height = h;
    f.width = w;
    return f;
  }
  static std::shared_ptr<const Extractor> load(const std::string& path, const ImageFormat& f,
                                               const std::string& reduce = "mean", std::int64_t channel = 0) {
    ExtractorSpec s;
    s.path = path;
    s.reduce.how = reduce;
    s.reduce.channel = channel;
    return Extractor::load(s, f, c10::kCPU);
  }

  static acm::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
};
acm::testing::TempDir* Extractors::dir_ = nullptr;
int Extractors::status_ = -1;
std::string Extractors::output_;

// Images whose bright 4×4 blocks are known: the block-mean extractor's heatmap is 1 there and 0 elsewhere.
TEST_F(Extractors, HandBuiltExtractorChoosesTheDonorsBrightBlocks) {
  const std::int64_t b = 6;
  at::Tensor images = at::zeros({b, 1, 28, 28});
  std::vector<std::vector<std::int64_t>> bright(b);
  at::Generator g = gen(12);
  for (std::int64_t i = 0; i < b; ++i) {
    const at::Tensor cells = at::randperm(49, g, at::kLong).slice(0, 0, 2);
    for (std::int64_t k = 0; k < 2; ++k) {
      const std::int64_t cell = cells[k].item<std::int64_t>(), r = cell / 7, c = cell % 7;
      images[i][0].slice(0, 4 * r, 4 * r + 4).slice(1, 4 * c, 4 * c + 4).fill_(1.0 + static_cast<double>(i));
      bright[i].push_back(cell);
    }
    std::sort(bright[i].begin(), bright[i].end());
  }
  const auto ex = load(file("blockmean.pt"), format(1, 28, 28));
  EXPECT_EQ(ex->map_height(), 7);
  AttentiveOptions o;
  o.top_n = 2;
  const AttentiveCutMixMixer mixer(o, std::make_shared<ExtractorHeatmaps>(ex));
  const Batch in{images, at::arange(b, at::kLong) % kClasses};
  at::Generator mg = gen(13);
  const MixedBatch m = mixer.mix(in.images, in.labels, kClasses, mg);
  expect_contract(in, m, false);
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t d = m.partner[i].item<std::int64_t>();
    at::Tensor sel = at::zeros({7, 7}, at::kByte);
    for (std::int64_t cell : bright[d]) sel.view({-1})[cell] = 1;
    EXPECT_TRUE(at::equal(m.mask[i], cell_mask(sel.unsqueeze(0), 28, 28)[0])) << "sample " << i;
  }
}

TEST_F(Extractors, TorchvisionResNet18ViaTorchScriptGivesPythonsChannelMean) {
  std::map<std::string, at::Tensor> io;
  for (auto& [k, v] : models::read_safetensors(file("resnet18_io.safetensors")).tensors) io[k] = v;
  const auto ex = load(file("resnet18.pt"), format(3, 64, 64));
  EXPECT_EQ(ex->map_channels(), 512);
  EXPECT_EQ(ex->map_height(), 2);
  const at::Tensor ours = ex->heatmaps(io["input"]);
  ASSERT_EQ(ours.sizes(), io["heatmap"].sizes());
  EXPECT_TRUE(at::allclose(ours, io["heatmap"], 1e-5, 1e-6))
      << (ours - io["heatmap"]).abs().max().item<double>();
}

TEST_F(Extractors, HarnessCheckpointsAndConvertedWeightsLoadTheirNetwork) {
  models::ModelSpec spec;
  spec.num_classes = 5;
  spec.in_channels = 1;
  spec.stem = models::Stem::kCifar;
  spec.width = 4;
  models::Classifier net = models::create("resnet18", spec);
  net->eval();
  for (const char* fmt : {"acm-checkpoint-v1", "acm-weights-v1"}) {
    models::TensorFile f = models::module_state(*net);
    if (std::string(fmt) == "acm-checkpoint-v1") {
      for (auto& [name, t] : f.tensors) name = "model/" + name;
    }
    f.metadata = models::model_metadata("resnet18", spec);
    f.metadata["format"] = fmt;
    const std::string path = file(std::string(fmt) + ".safetensors");
    models::write_safetensors(path, f);
    const auto ex = load(path, format(1, 16, 16));
    const at::Tensor x = at::randn({3, 1, 16, 16});
    torch::NoGradGuard ng;
    EXPECT_TRUE(at::allclose(ex->heatmaps(x), net->features(x).mean(1), 1e-5, 1e-6)) << fmt;
    EXPECT_NE(ex->description().find("resnet18"), std::string::npos);
  }
  // A grey data set feeds a 3-channel network its channel repeated.
  spec.in_channels = 3;
  models::Classifier rgb = models::create("resnet18", spec);
  models::TensorFile f = models::module_state(*rgb);
  f.metadata = models::model_metadata("resnet18", spec);
  f.metadata["format"] = "acm-weights-v1";
  models::write_safetensors(file("rgb.safetensors"), f);
  const at::Tensor grey = at::randn({2, 1, 16, 16});
  rgb->eval();
  torch::NoGradGuard ng;
  EXPECT_TRUE(at::allclose(load(file("rgb.safetensors"), format(1, 16, 16))->heatmaps(grey),
                           rgb->features(grey.expand({-1, 3, -1, -1}).contiguous()).mean(1), 1e-5, 1e-6));
  expect_error<ExtractorError>([&] { load(file("rgb.safetensors"), format(2, 16, 16)); },
                               {"takes 3-channel images and the data has 2"});
}

TEST_F(Extractors, EveryBadExtractorFailsAtLoadWithWhatAndWhere) {
  const ImageFormat f = format(2, 16, 16);
  expect_error<ExtractorError>([&] { load(file("absent.pt"), f); }, {"absent.pt", "no such file"});
  expect_error<ExtractorError>([&] { load(dir_->path(), f); }, {"without checkpoint.safetensors"});
  std::ofstream(file("junk.bin")) << "this is not a network at all";
  expect_error<ExtractorError>([&] { load(file("junk.bin"), f); },
                               {"junk.bin", "neither a TorchScript archive nor a safetensors checkpoint"});
  std::ofstream(file("fake.zip"), std::ios::binary)
      << std::string("PK\x03\x04", 4) << "garbage garbage garbage";
  expect_error<ExtractorError>([&] { load(file("fake.zip"), f); }, {"fake.zip", "not a TorchScript module"});
  models::TensorFile plain;
  plain.tensors.emplace_back("w", at::zeros({2}));
  models::write_safetensors(file("plain.safetensors"), plain);
  expect_error<ExtractorError>([&] { load(file("plain.safetensors"), f); },
                               {"neither a harness checkpoint nor converted weights"});
  plain.metadata["format"] = "acm-weights-v1";
  models::write_safetensors(file("nometa.safetensors"), plain);
  expect_error<ExtractorError>([&] { load(file("nometa.safetensors"), f); },
                               {"nometa.safetensors", "no 'arch'"});
  expect_error<ExtractorError>([&] { load(file("flat.pt"), f); },
                               {"flat.pt", "its output is 2×512", "B×C×h×w"});
  expect_error<ExtractorError>([&] { load(file("tuple.pt"), f); }, {"tuple.pt", "not a tensor"});
  expect_error<ExtractorError>([&] { load(file("pool1.pt"), f); }, {"pool1.pt", "1×1 for 16×16 inputs"});
  expect_error<ExtractorError>([&] { load(file("rgb.pt"), f); }, {"rgb.pt", "fails on a batch of 2×16×16"});
  expect_error<ExtractorError>([&] { load(file("blockmean.pt"), f, "channel", 2); },
                               {"channel 2 asked for", "2 channels (0..1)"});
  // The one that works, for contrast: a grey image into the RGB TorchScript network is repeated to 3
  // channels.
  EXPECT_EQ(load(file("rgb.pt"), format(1, 16, 16))->map_channels(), 4);
}

TEST_F(Extractors, CachedHeatmapsThroughCropAndFlipEqualAFreshPass) {
  data::SyntheticSpec ss;
  ss.train_size = 64;
  ss.channels = 1;
  ss.height = ss.width = 16;
  ss.num_classes = 4;
  const data::Dataset ds = data::make_synthetic(ss).train;
  for (bool normalised : {false, true}) {
    data::LoaderOptions plain;
    plain.batch_size = 64;
    plain.threads = 0;
    if (normalised) {
      plain.transform.mean = {0.3};
      plain.transform.std = {0.2};
    }
    ImageFormat f = format(1, 16, 16);
    f.mean = plain.transform.mean;
    f.std = plain.transform.std;
    const auto ex = load(file("pointwise.pt"), f);
    // The cache: heatmaps of the untransformed images, by index.
    data::Loader untransformed(ds, plain);
    std::vector<std::int64_t> ids(64);
    std::iota(ids.begin(), ids.end(), 0);
    const data::Batch whole = untransformed.assemble(0, 0, ids.data(), 64);
    const AttentionCache cache(ex->heatmaps(whole.images), ex->black_value(), 16, 16, "test");
    // Training batches: random crops with padding 3 and flips.
    data::LoaderOptions aug = plain;
    aug.transform.crop_padding = 3;
    aug.transform.horizontal_flip = true;
    data::Loader loader(ds, aug);
    std::vector<std::int64_t> some = {5, 17, 0, 63, 22, 40, 41, 9};
    const data::Batch b = loader.assemble(2, 0, some.data(), static_cast<std::int64_t>(some.size()));
    ASSERT_GT(b.geometry.select(1, 2).sum().item<std::int64_t>(), 0) << "some flips";
    ASSERT_GT(b.geometry.slice(1, 0, 2).abs().sum().item<std::int64_t>(), 0) << "some shifts";
    const BatchInfo info{b.indices, b.geometry};
    EXPECT_TRUE(
        at::allclose(cache.transformed_maps(b.indices, b.geometry), ex->heatmaps(b.images), 1e-6, 1e-6))
        << "normalised " << normalised;
    const ExtractorHeatmaps fresh(ex);
    for (std::int64_t grid : {7, 16, 5}) {
      EXPECT_TRUE(at::allclose(cache.grid_maps(b.images, info, grid), fresh.grid_maps(b.images, info, grid),
                               1e-6, 1e-6))
          << "grid " << grid << " normalised " << normalised;
    }
  }
}

}  // namespace
}  // namespace acm::augment
