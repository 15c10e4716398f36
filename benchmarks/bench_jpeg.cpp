// JPEG folder reading on one thread: images/s of the ImageNet reader (harness/data/image_folder.h) over a
// list of files, the same path the loader takes (read the file, decode the crop's region at the chosen DCT
// scale, resample), for the evaluation crop (Resize + CenterCrop) or training's RandomResizedCrop.
// benchmarks/bench_jpeg.py runs it beside torchvision.io and PIL on the same files and prints the ratios.
//
//   bench_jpeg --files LIST --crop center|random_resized [--size 224] [--resize 256] [--oversample 2]
//              [--repeat 3]
// Prints one JSON line: {"images": N, "images_per_s": median over repeats, "seconds": [...], ...}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "harness/data/image_folder.h"

int main(int argc, char** argv) {
  std::string list, crop = "center";
  acm::data::ImageGeometry g;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--files") list = v;
    else if (k == "--crop") crop = v;
    else if (k == "--size") g.image_size = std::atoll(v.c_str());
    else if (k == "--resize") g.resize = std::atoll(v.c_str());
    else if (k == "--oversample") g.decode_oversample = std::atof(v.c_str());
    else if (k == "--repeat") repeat = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "bench_jpeg: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (list.empty() || (crop != "center" && crop != "random_resized")) {
    std::fprintf(stderr, "usage: bench_jpeg --files LIST --crop center|random_resized [--size S] [--resize R] "
                         "[--oversample X] [--repeat N]\n");
    return 2;
  }
  std::vector<std::string> files;
  std::ifstream in(list);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) files.push_back(line);
  }
  if (files.empty()) {
    std::fprintf(stderr, "bench_jpeg: %s lists no files\n", list.c_str());
    return 2;
  }
  g.train_crop = crop;
  const acm::data::FileImages images(files, g);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(3 * g.image_size * g.image_size));
  std::vector<double> seconds;
  unsigned checksum = 0;
  for (int r = 0; r <= repeat; ++r) {  // pass 0 warms the page cache and the decoder's buffers
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto idx = static_cast<std::int64_t>(i);
      if (crop == "center") {
        images.read(idx, out.data());
      } else {
        images.read_augmented(idx, out.data(), {0, static_cast<std::uint64_t>(r)});
      }
      checksum += out[out.size() / 2];
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) seconds.push_back(s);
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  std::printf("{\"images\": %zu, \"images_per_s\": %.2f, \"seconds\": [", files.size(),
              static_cast<double>(files.size()) / median);
  for (std::size_t k = 0; k < seconds.size(); ++k) std::printf("%s%.4f", k ? ", " : "", seconds[k]);
  std::printf("], \"crop\": \"%s\", \"oversample\": %g, \"checksum\": %u}\n", crop.c_str(), g.decode_oversample,
              checksum);
  return 0;
}
