#include "tests/test_util.h"

#include "acm/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <chrono>
#include <thread>

#include <ftw.h>
#include <sys/stat.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace acm::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/acm-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

// POSIX, not std::filesystem: libtorch.so exports std::filesystem symbols of its own that crash when called
// from here (see docs/build-and-pitfalls.md).
void remove_tree(const std::string& path) {
  ::nftw(
      path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) throw std::runtime_error("mkdir " + path);
}

TempDir::~TempDir() { remove_tree(path_); }

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

Bytes gzip(const Bytes& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes idx_images(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  Bytes data;
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t y = 0; y < h; ++y)
      for (std::uint32_t x = 0; x < w; ++x) data.push_back(static_cast<std::uint8_t>((i + y + x) % 256));
  return idx_bytes({n, h, w}, data);
}

Bytes idx_labels(std::uint32_t n, std::uint32_t classes) {
  Bytes data;
  for (std::uint32_t i = 0; i < n; ++i) data.push_back(static_cast<std::uint8_t>(i % classes));
  return idx_bytes({n}, data);
}

void write_mnist_dir(const std::string& dir, std::uint32_t n_train, std::uint32_t n_test, bool gz) {
  auto put = [&](const std::string& name, const Bytes& b) {
    if (gz) {
      write_bytes(dir + "/" + name + ".gz", gzip(b));
    } else {
      write_bytes(dir + "/" + name, b);
    }
  };
  put("train-images-idx3-ubyte", idx_images(n_train, 28, 28));
  put("train-labels-idx1-ubyte", idx_labels(n_train, 10));
  put("t10k-images-idx3-ubyte", idx_images(n_test, 28, 28));
  put("t10k-labels-idx1-ubyte", idx_labels(n_test, 10));
}

Bytes cifar_records(std::uint32_t n, int label_bytes, const std::vector<int>& label_mods) {
  Bytes b;
  for (std::uint32_t i = 0; i < n; ++i) {
    for (int l = 0; l < label_bytes; ++l) b.push_back(static_cast<std::uint8_t>(i % label_mods[l]));
    for (int k = 0; k < 3072; ++k) b.push_back(static_cast<std::uint8_t>((i * 7 + k) % 256));
  }
  return b;
}

Bytes jpeg_bytes(const Bytes& pixels, int width, int height, int channels, int quality, bool subsampled) {
  tjhandle tj = tjInitCompress();
  if (!tj) throw std::runtime_error("tjInitCompress failed");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const int format = channels == 1 ? TJPF_GRAY : channels == 4 ? TJPF_CMYK : TJPF_RGB;
  const int rc = tjCompress2(tj, pixels.data(), width, 0, height, format, &buf, &size,
                             channels == 1 ? TJSAMP_GRAY : subsampled ? TJSAMP_420 : TJSAMP_444, quality, 0);
  if (rc != 0) {
    const std::string msg = tjGetErrorStr2(tj);
    tjDestroy(tj);
    throw std::runtime_error("tjCompress2: " + msg);
  }
  Bytes out(buf, buf + size);
  tjFree(buf);
  tjDestroy(tj);
  return out;
}

void write_image_folder(const std::string& root, int classes, int train_per_class, int val_per_class, int width,
                        int height) {
  make_dir(root);
  for (const char* split : {"train", "val"}) {
    make_dir(root + "/" + split);
    const int per_class = std::string(split) == "train" ? train_per_class : val_per_class;
    for (int k = 0; k < classes; ++k) {
      char cls[16];
      std::snprintf(cls, sizeof cls, "c%03d", k);
      const std::string dir = root + "/" + split + "/" + cls;
      make_dir(dir);
      for (int j = 0; j < per_class; ++j) {
        Bytes px(static_cast<std::size_t>(width) * height * 3);
        const int side = std::max(2, std::min(width, height) / 4);
        const int oy = (j * 5) % (height - side), ox = (j * 7) % (width - side);
        for (int y = 0; y < height; ++y) {
          for (int x = 0; x < width; ++x) {
            const bool square = y >= oy && y < oy + side && x >= ox && x < ox + side;
            std::uint8_t* p = px.data() + (static_cast<std::size_t>(y) * width + x) * 3;
            p[0] = static_cast<std::uint8_t>(square ? 250 : (40 * k + 20) % 256);
            p[1] = static_cast<std::uint8_t>(square ? 250 : 100);
            p[2] = static_cast<std::uint8_t>(square ? 250 : 60);
          }
        }
        char name[32];
        std::snprintf(name, sizeof name, "/%s_%d.JPEG", cls, j);
        write_bytes(dir + name, jpeg_bytes(px, width, height, 3));
      }
    }
  }
}

std::string& harness_path() {
  static std::string path;
  return path;
}

void read_binary_flags(int argc, char** argv, std::string* harness, std::string* mpirun) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--harness=", 0) == 0) *harness = a.substr(10);
    if (a.rfind("--mpirun=", 0) == 0) *mpirun = a.substr(9);
  }
}

int run_command(const std::string& command, std::string* output) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_venv_python(const std::string& script, const std::vector<std::string>& args, std::string* output) {
  auto quote = [](const std::string& a) { return "'" + a + "'"; };
  std::string cmd = quote(ACM_PYTHON) + " " + quote(std::string(ACM_SOURCE_DIR) + "/" + script);
  for (const auto& a : args) cmd += " " + quote(a);
  return run_command(cmd, output);
}

int spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool wait_for_text(const std::string& path, const std::string& text, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (read_text(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

nlohmann::json multi_rank_run_config() {
  return {{"dataset",
           {{"name", "synthetic"},
            {"train_size", 130},
            {"test_size", 50},
            {"channels", 3},
            {"height", 16},
            {"width", 16},
            {"classes", 4}}},
          {"model", "resnet18"},
          {"model_options", {{"width", 8}, {"norm", "group"}}},
          {"epochs", 1},
          {"batch_size", 24},
          {"eval_batch_size", 16},
          {"optimizer", {{"lr", 0.01}}},
          {"schedule", {{"name", "constant"}}},
          {"mix", {{"method", "none"}}},
          {"augment", {{"crop_padding", 0}, {"horizontal_flip", false}}},
          {"threads", 1},
          {"loader_threads", 0},
          {"distributed", {{"bucket_mb", 0.1}, {"first_bucket_mb", 0.02}}}};
}

nlohmann::json tiny_sweep_spec(const std::vector<nlohmann::json>& axes, int epochs, int train_size) {
  return {{"name", "tiny"},
          {"description", "test"},
          {"base",
           {{"dataset",
             {{"name", "synthetic"},
              {"train_size", train_size},
              {"test_size", 16},
              {"channels", 1},
              {"height", 16},
              {"width", 16},
              {"classes", 4}}},
            {"model_options", {{"width", 4}}},
            {"epochs", epochs},
            {"batch_size", 16},
            {"eval_batch_size", 16},
            {"threads", 1},
            {"loader_threads", 0},
            {"schedule", {{"name", "constant"}}},
            {"optimizer", {{"lr", 0.05}}}}},
          {"axes", nlohmann::json(axes)}};
}

}  // namespace acm::testing
