// Our Mixup and CutMix against timm's and torchvision's, element for element, on the same batch. The anchors
// run in the venv's Python (tests/augment/export_mix_references.py); their pairing is known (timm: the batch
// flipped; torchvision: rolled by one), λ is read off their targets, and the box off the pixels that changed.
// Both anchors' λ is the recipient's share: ours is its complement.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>

#include "acm/config.h"
#include "augment/cutmix.h"
#include "augment/fmix.h"
#include "augment/mixup.h"
#include "augment/resizemix.h"
#include "augment/saliencymix.h"
#include "models/weights.h"
#include "tests/test_util.h"

namespace acm::augment {
namespace {

class CrossCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new acm::testing::TempDir;
    status_ =
        acm::testing::run_venv_python("tests/augment/export_mix_references.py",
                                      {dir_->path(), std::string(ACM_SOURCE_DIR) + "/scripts"}, &output_);
    if (status_ == 0) {
      for (auto& [k, v] : models::read_safetensors(dir_->file("mix.safetensors")).tensors) t_[k] = v;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static at::Tensor pairing(const std::string& anchor, std::int64_t b) {
    at::Tensor p = at::empty({b}, at::kLong);
    for (std::int64_t i = 0; i < b; ++i) p[i] = anchor.rfind("timm", 0) == 0 ? b - 1 - i : (i + b - 1) % b;
    return p;
  }

  // Our λ (the donor's share), read off the anchor's targets: the weight of the partner's label.
  static at::Tensor donor_lambda(const at::Tensor& targets, const at::Tensor& labels,
                                 const at::Tensor& partner) {
    return targets.gather(1, labels.index_select(0, partner).unsqueeze(1)).squeeze(1).to(at::kDouble);
  }

  void check_mixup(const std::string& anchor) {
    ASSERT_EQ(status_, 0) << output_;
    const at::Tensor x = t_["input"], y = t_["labels"];
    const at::Tensor partner = pairing(anchor, x.size(0));
    const at::Tensor lambda = donor_lambda(t_[anchor + "/targets"], y, partner);
    const MixedBatch ours = MixupMixer::apply(x, y, 10, partner, lambda);
    EXPECT_TRUE(at::allclose(ours.images, t_[anchor + "/images"], 1e-6, 1e-6)) << anchor;
    EXPECT_TRUE(at::allclose(ours.targets, t_[anchor + "/targets"], 1e-6, 1e-6)) << anchor;
    EXPECT_GT(lambda[0].item<double>(), 0.0);
    EXPECT_LT(lambda[0].item<double>(), 1.0);
  }

  void check_cutmix(const std::string& anchor) {
    ASSERT_EQ(status_, 0) << output_;
    const at::Tensor x = t_["input"], y = t_["labels"], mixed = t_[anchor + "/images"];
    const at::Tensor partner = pairing(anchor, x.size(0));
    const at::Tensor changed = mixed[0].ne(x[0]).any(0);  // H×W
    const at::Tensor rows = changed.any(1).nonzero(), cols = changed.any(0).nonzero();
    ASSERT_GT(rows.numel(), 0) << anchor << ": the anchor pasted nothing with this seed";
    Box box;
    box.y0 = rows.min().item<std::int64_t>();
    box.y1 = rows.max().item<std::int64_t>() + 1;
    box.x0 = cols.min().item<std::int64_t>();
    box.x1 = cols.max().item<std::int64_t>() + 1;
    const MixedBatch ours = CutMixMixer::apply(x, y, 10, partner, box);
    EXPECT_TRUE(at::equal(ours.images, mixed)) << anchor << ": same box, same pixels";
    EXPECT_TRUE(at::allclose(ours.targets, t_[anchor + "/targets"], 1e-6, 1e-6)) << anchor;
    // The anchor's λ is the exact pasted area too: its complement is ours.
    const at::Tensor theirs = donor_lambda(t_[anchor + "/targets"], y, partner);
    EXPECT_NEAR(ours.lambda[0].item<double>(), theirs[0].item<double>(), 1e-6) << anchor;
  }

  static acm::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
  static std::map<std::string, at::Tensor> t_;
};

acm::testing::TempDir* CrossCheck::dir_ = nullptr;
int CrossCheck::status_ = -1;
std::string CrossCheck::output_;
std::map<std::string, at::Tensor> CrossCheck::t_;

TEST_F(CrossCheck, MixupEqualsTimm) { check_mixup("timm_mixup"); }
TEST_F(CrossCheck, MixupEqualsTorchvision) { check_mixup("tv_mixup"); }
TEST_F(CrossCheck, CutMixEqualsTimm) { check_cutmix("timm_cutmix"); }
TEST_F(CrossCheck, CutMixEqualsTorchvision) { check_cutmix("tv_cutmix"); }

// SaliencyMix's saliency, FMix's mask and ResizeMix's paste against references independent of our code
// (tests/augment/export_new_mix_references.py: NumPy from OpenCV's and FMix's definitions; torchvision's
// resize).
class NewMixers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new acm::testing::TempDir;
    status_ = acm::testing::run_venv_python("tests/augment/export_new_mix_references.py",
                                            {dir_->path(), std::string(ACM_SOURCE_DIR) + "/scripts"}, &output_);
    if (status_ == 0) {
      for (auto& [k, v] : models::read_safetensors(dir_->file("newmix.safetensors")).tensors) t_[k] = v;
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static acm::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
  static std::map<std::string, at::Tensor> t_;
};

acm::testing::TempDir* NewMixers::dir_ = nullptr;
int NewMixers::status_ = -1;
std::string NewMixers::output_;
std::map<std::string, at::Tensor> NewMixers::t_;

TEST_F(NewMixers, SaliencyMapAndPeakEqualTheSpectralResidualReference) {
  ASSERT_EQ(status_, 0) << output_;
  for (const char* c : {"3", "1"}) {
    const at::Tensor ref = t_[std::string("sal/map") + c];
    const at::Tensor ours = SaliencyMixMixer::saliency(t_[std::string("sal/input") + c]);
    ASSERT_EQ(ours.sizes(), ref.sizes());
    EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-9) << c << " channel(s)";
    EXPECT_TRUE(at::equal(SaliencyMixMixer::peaks(ours), SaliencyMixMixer::peaks(ref))) << c << " channel(s)";
  }
  // The faint-noise blob images: the peak falls on or next to the blob the reference script drew.
  const at::Tensor p = SaliencyMixMixer::peaks(t_["sal/map3"]);
  const at::Tensor blob = std::get<1>(t_["sal/input3"].select(1, 0).flatten(1).max(1));
  for (std::int64_t i = 0; i < p.size(0); i += 2) {
    const std::int64_t W = t_["sal/input3"].size(3);
    EXPECT_LE(std::abs(p[i][0].item<std::int64_t>() - blob[i].item<std::int64_t>() / W), 3) << i;
    EXPECT_LE(std::abs(p[i][1].item<std::int64_t>() - blob[i].item<std::int64_t>() % W), 3) << i;
  }
}

TEST_F(NewMixers, FMixMaskEqualsTheReferenceCodes) {
  ASSERT_EQ(status_, 0) << output_;
  for (const char* name : {"even", "odd", "flat"}) {
    const std::string k = std::string("fmix/") + name;
    const at::Tensor meta = t_[k + "/meta"];
    const std::int64_t h = meta[0].item<std::int64_t>(), w = meta[1].item<std::int64_t>(),
                       keep = meta[2].item<std::int64_t>();
    EXPECT_EQ(FMixMixer::param_shape(h, w), t_[k + "/param"].sizes().vec()) << name;
    const at::Tensor grey = FMixMixer::low_freq_image(t_[k + "/param"], t_[k + "/decay"].item<double>(), h, w);
    EXPECT_LT((grey - t_[k + "/grey"]).abs().max().item<double>(), 1e-12) << name;
    const at::Tensor donor = FMixMixer::donor_mask(grey, keep);
    EXPECT_TRUE(at::equal(donor.view({h, w}), 1 - t_[k + "/recipient"])) << name;
  }
}

TEST_F(NewMixers, ResizeMixPastesTorchvisionsResizeOfTheDonor) {
  ASSERT_EQ(status_, 0) << output_;
  const at::Tensor x = t_["resize/input"], b = t_["resize/box"];
  const std::int64_t n = x.size(0);
  const at::Tensor partner = (at::arange(n, at::kLong) + n - 1).remainder(n);  // torch.roll(x, 1, 0)
  const Box box{b[0].item<std::int64_t>(), b[1].item<std::int64_t>(), b[2].item<std::int64_t>(),
                b[3].item<std::int64_t>()};
  const MixedBatch ours = ResizeMixMixer::apply(x, at::arange(n, at::kLong), 10, partner, box);
  EXPECT_LT((ours.images - t_["resize/images"]).abs().max().item<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(ours.lambda[0].item<double>(), 11.0 * 9.0 / (24.0 * 20.0));
}

}  // namespace
}  // namespace acm::augment
