#include "harness/data/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "harness/data/error.h"

namespace acm::data {

void fail_at(const std::string& file, std::int64_t offset, const std::string& what) {
  throw DataError(file + ": offset " + std::to_string(offset) + ": " + what);
}

void fail_file(const std::string& file, const std::string& what) { throw DataError(file + ": " + what); }

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string find_plain_or_gz(const std::string& path, const std::string& what_for) {
  if (file_exists(path)) return path;
  if (file_exists(path + ".gz")) return path + ".gz";
  throw DataError("missing file: " + path + " (nor " + path + ".gz) — " + what_for);
}

void read_file_into(const std::string& path, std::vector<std::uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw DataError("missing file: " + path + " (" + std::strerror(errno) + ")");
    fail_file(path, std::string("cannot open: ") + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) fail_file(path, "not a regular file");
  bytes.resize(static_cast<std::size_t>(st.st_size));  // no allocation once the buffer has grown
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_at(path, static_cast<std::int64_t>(got), n < 0 ? std::string("read error: ") + std::strerror(errno) : "read error: the file shrank while being read");
    got += static_cast<std::size_t>(n);
  }
}

namespace {

std::vector<std::uint8_t> read_raw(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw DataError("missing file: " + path + " (" + std::strerror(errno) + ")");
  }
  if (!S_ISREG(st.st_mode)) fail_file(path, "not a regular file");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail_file(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f.get());
  if (got != bytes.size()) fail_at(path, static_cast<std::int64_t>(got), "read error");
  return bytes;
}

// Inflates a gzip file (several members allowed, as `cat a.gz b.gz` makes). The ISIZE trailer only sizes the
// first allocation; the stream itself decides the length.
std::vector<std::uint8_t> gunzip(const std::string& path, const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> out;
  if (in.size() >= 18) {
    const std::uint8_t* t = in.data() + in.size() - 4;
    out.reserve(static_cast<std::size_t>(t[0]) | (static_cast<std::size_t>(t[1]) << 8) |
                (static_cast<std::size_t>(t[2]) << 16) | (static_cast<std::size_t>(t[3]) << 24));
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) fail_file(path, "zlib initialisation failed");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  std::uint8_t chunk[1 << 16];
  int rc = Z_OK;
  while (true) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      const auto off = static_cast<std::int64_t>(zs.total_in);
      inflateEnd(&zs);
      fail_at(path, off,
              "truncated gzip stream: the compressed data ends before the end of the stream (" +
                  std::to_string(out.size()) + " bytes inflated so far)");
    }
    const auto off = static_cast<std::int64_t>(in.size() - zs.avail_in);
    const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
    inflateEnd(&zs);
    fail_at(path, off, "corrupt gzip data (" + msg + ") at this compressed byte offset");
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

FileBytes read_file_bytes(const std::string& path) {
  FileBytes result;
  result.path = path;
  std::vector<std::uint8_t> raw = read_raw(path);
  if (raw.empty()) fail_file(path, "file is empty (0 bytes)");
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
    result.gzipped = true;
    result.bytes = gunzip(path, raw);
    if (result.bytes.empty()) fail_file(path, "gzip stream inflates to 0 bytes");
  } else {
    result.bytes = std::move(raw);
  }
  return result;
}

}  // namespace acm::data
