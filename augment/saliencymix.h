// SaliencyMix (Uddin, Monira, Shin, Chung and Bae, "SaliencyMix: A Saliency Guided Data Augmentation Strategy
// for Better Regularization", ICLR 2021): CutMix whose box is centred on the donor's most salient pixel
// instead of a uniform point, so the pasted patch carries the donor's object.
//
// As the paper and its reference code do it: with probability p, κ ~ Beta(α, α) is the recipient's kept share,
// the box has sides H·sqrt(1−κ) and W·sqrt(1−κ) (truncated), centred on the peak of the donor's saliency map
// and clipped to the image; our λ (the donor's share) is the exact pasted area. The saliency map is the
// spectral residual of Hou and Zhang (CVPR 2007) as OpenCV's StaticSaliencySpectralResidual computes it, the
// reference code's choice: grey image (its weights 0.114, 0.587, 0.299 on channels 0, 1, 2, as cv2's BGR2GRAY
// sees the reference code's RGB tensor), bilinear resize to 64×64, log amplitude of the 2-D DFT minus its 3×3
// box blur, back through the inverse DFT with the original phase, squared magnitude after a 5×5 Gaussian blur
// (σ = 8), bilinear resize back. Where we differ from the reference code, on purpose: each sample's box is
// centred on its own donor's peak (the paper's definition), where the code centres one box for the whole
// batch on the first donor's. The peaks cross the device once per step (a B×2 copy).
#pragma once

#include "augment/method.h"
#include "augment/mixer.h"

namespace acm::augment {

class SaliencyMixMixer : public Mixer {
 public:
  // α = 1 and p = 0.5: the reference code's CIFAR command (--beta 1 --salmix_prob 0.5).
  explicit SaliencyMixMixer(double alpha = 1.0, double prob = 0.5);
  std::string name() const override { return "saliencymix"; }

  // The spectral-residual saliency of B×C×H×W images (C = 1 or 3): B×H×W float64, peak 1, on their device.
  static at::Tensor saliency(const at::Tensor& images, std::int64_t work_size = 64);
  // Each map's most salient pixel: B×2 int64 (y, x) on the CPU, the first in row-major order on ties.
  static at::Tensor peaks(const at::Tensor& maps);
  // The deterministic core: box i of sides (H, W)·sqrt(1−κ) centred on peaks[i], filled from images[partner[i]].
  static MixedBatch apply(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                          const at::Tensor& partner, const at::Tensor& peaks, double kappa);

 private:
  MixedBatch do_mix(const at::Tensor& images, const at::Tensor& labels, std::int64_t num_classes,
                    at::Generator& gen, const BatchInfo& info) const override;
  double alpha_, prob_;
};

// The table entry (method.h): fields alpha, prob.
Method saliencymix_method();

}  // namespace acm::augment
