// Helpers for tests that write real files: a temporary folder, byte writers, gzip, IDX and CIFAR builders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace acm::testing {

using Bytes = std::vector<std::uint8_t>;

// A fresh folder under $TMPDIR, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void make_dir(const std::string& path);
void remove_tree(const std::string& path);
void write_bytes(const std::string& path, const Bytes& bytes);
Bytes gzip(const Bytes& bytes);

// IDX (unsigned byte) with the given dimensions; `data` must hold their product.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data);
// n images of h×w with pixel (i, y, x) = (i + y + x) % 256, and labels i % classes.
Bytes idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w);
Bytes idx_labels(std::uint32_t n, std::uint32_t classes);
// Writes the four standard MNIST-style files (optionally gzipped) into dir.
void write_mnist_dir(const std::string& dir, std::uint32_t n_train, std::uint32_t n_test, bool gz);

// CIFAR binary records: label byte(s) then 3072 pixels with pixel k of record i = (i * 7 + k) % 256.
Bytes cifar_records(std::uint32_t n, int label_bytes, const std::vector<int>& label_mods);

// Encodes H×W pixels (interleaved, `channels` 1 = grey, 3 = RGB, 4 = Adobe-inverted CMYK) as a baseline JPEG
// with 4:4:4 sampling (grey: one component) at `quality`.
// `subsampled`: 4:2:0 chroma, as most camera JPEGs (and ImageNet's); otherwise 4:4:4.
Bytes jpeg_bytes(const Bytes& pixels, int width, int height, int channels, int quality = 95, bool subsampled = false);
// An ImageNet-style folder: ROOT/train/CLASS/IMG.JPEG and ROOT/val/CLASS/IMG.JPEG for classes c000, c001, ...;
// image j of class k is width×height, a flat colour per class (red = 40·k + 20) with a bright square at a
// position that depends on j, so that classes are learnable and images differ.
void write_image_folder(const std::string& root, int classes, int train_per_class, int val_per_class, int width,
                        int height);

// Reads --harness=PATH and --mpirun=PATH, which ctest passes to the tests that launch the real binary.
// The harness program under test: --harness=PATH, which CMake passes to every test binary that runs it.
std::string& harness_path();
void read_binary_flags(int argc, char** argv, std::string* harness, std::string* mpirun);

// The multi-rank tests' run: a GroupNorm ResNet-18 of width 8 on synthetic 3×16×16 images of 4 classes with
// augmentation off, 130 training images in global batches of 24 (divisible by 1, 2, 3 and 6): 5 steps. Few steps
// on purpose: this net on these data is chaotic once a pre-activation crosses zero. On an AVX-512 machine, 250
// images (10 steps) ended 2e-3 apart between NCHW and channels_last on one rank, and 1 and 2 ranks 1.3e-3 apart,
// from step 9 on. Over 5 steps, layouts, thread counts and rank counts agree to 3e-7 there, while a learning rate
// 10 % off moves the parameters by 2.9e-2: a 1e-5 bound separates rounding from error.
nlohmann::json multi_rank_run_config();

// A sweep spec of tiny runs: synthetic 1×16×16 images of 4 classes, a width-4 ResNet-18, batches of 16, the
// given axes; `train_size` 64 makes 4 steps an epoch.
nlohmann::json tiny_sweep_spec(const std::vector<nlohmann::json>& axes, int epochs = 1, int train_size = 64);

// Runs a shell command; returns its exit status and captures stdout+stderr in `output`.
int run_command(const std::string& command, std::string* output);

// Runs the project's venv Python on `script` (a path relative to the repository) with `args`, each quoted.
int run_venv_python(const std::string& script, const std::vector<std::string>& args, std::string* output);

// Starts argv[0] with stdout and stderr going to `log_path`; returns its pid.
int spawn(const std::vector<std::string>& argv, const std::string& log_path);
// Waits for the child: its exit code, or 128 + signal when a signal ended it.
int wait_exit(int pid);
// Polls `path` until it contains `text`; false after `timeout_s`.
bool wait_for_text(const std::string& path, const std::string& text, double timeout_s);
std::string read_text(const std::string& path);
bool exists(const std::string& path);

}  // namespace acm::testing
