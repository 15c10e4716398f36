// Common corruptions for robustness evaluation, written from the published CIFAR-10-C definitions (Hendrycks
// and Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and Perturbations", ICLR 2019,
// make_cifar_c.py), with their five severities. They act on pixel-space images in [0, 1] and return images
// clipped to [0, 1]:
//   gaussian_noise  x + N(0, c²),              c = 0.04, 0.06, 0.08, 0.09, 0.10
//   shot_noise      Poisson(x·c) / c,          c = 500, 250, 100, 75, 50
//   gaussian_blur   Gaussian of σ = c·side/32 (skimage's: radius ⌊4σ + 0.5⌋, edge pixels repeated),
//                   c = 0.4, 0.6, 0.7, 0.8, 1.0 (CIFAR's σ for 32-pixel images, scaled to the image's side)
//   contrast        (x − m)·c + m, m each channel's mean, c = 0.75, 0.5, 0.4, 0.3, 0.15
//   brightness      HSV value + c, clipped (hue and saturation kept), c = 0.05, 0.1, 0.15, 0.2, 0.3
//   jpeg            JPEG round trip through libjpeg-turbo at quality c = 80, 65, 58, 50, 40 (4:2:0 chroma, as
//                   PIL saves; grey images as grey JPEGs)
//   pixelate        box-filter resize to ⌊c·side⌋ and back (PIL's BOX filter on 8-bit images, each pass
//                   rounded to a byte as PIL's), c = 0.95, 0.9, 0.85, 0.75, 0.65
// The random ones draw from the generator they are given; split into a draw and a deterministic part so a test
// can feed a reference's draws.
#pragma once

#include <string>
#include <vector>

// Declared only: the config (which has no LibTorch) reads the names from here.
namespace at {
class Tensor;
class Generator;
}  // namespace at

namespace acm::train {

// Every corruption, in the order results list them.
const std::vector<std::string>& corruption_names();
// The CIFAR-10-C parameter c of `name` at `severity` (1..5); std::invalid_argument otherwise.
double corruption_parameter(const std::string& name, int severity);

// The random part of a corruption of B×C×H×W float32 CPU images: standard normal noise (gaussian_noise),
// Poisson counts of x·c (shot_noise); undefined for the deterministic ones.
at::Tensor corruption_draws(const std::string& name, int severity, const at::Tensor& images, at::Generator& gen);
// The corruption given its draws. JPEG first rounds the images to 8 bits, as the published pipeline saves
// uint8 images.
at::Tensor apply_corruption(const std::string& name, int severity, const at::Tensor& images, const at::Tensor& draws);
// Both.
at::Tensor corrupt(const std::string& name, int severity, const at::Tensor& images, at::Generator& gen);

}  // namespace acm::train
