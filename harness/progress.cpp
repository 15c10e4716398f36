#include "harness/progress.h"

#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include <cmath>

namespace acm::harness {

std::string format_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

namespace {
// A line redrawn in place only on the user's terminal. ACM_PROGRESS=live or plain decides outright. Open MPI
// gives every rank a pseudo-terminal whether or not mpirun's own output is one, so a rank it started cannot
// tell a terminal from a log file and prints plain lines.
bool live(FILE* out) {
  if (const char* force = std::getenv("ACM_PROGRESS")) {
    if (std::strcmp(force, "live") == 0) return true;
    if (std::strcmp(force, "plain") == 0) return false;
  }
  return ::isatty(::fileno(out)) != 0 && std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr;
}
}  // namespace

Progress::Progress(std::string label, std::int64_t total, std::string unit, FILE* out, double plain_every_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      tty_(live(out)),
      plain_every_s_(plain_every_s),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

std::string Progress::line(std::int64_t done, double items, const std::string& extra) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? items / elapsed : 0;
  const double eta =
      done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : NAN;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld | %s | %.0f %s/s | ETA %s", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_),
                format_duration(elapsed).c_str(), rate, unit_.c_str(), format_duration(eta).c_str());
  return extra.empty() ? std::string(buf) : std::string(buf) + " | " + extra;
}

void Progress::update(std::int64_t done, double items, const std::string& extra) {
  last_done_ = done;
  last_items_ = items;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (tty_ ? since < 0.2 : since < plain_every_s_) return;
  last_print_ = now;
  if (tty_) {
    std::fprintf(out_, "\r\033[K%s", line(done, items, extra).c_str());
  } else {
    std::fprintf(out_, "%s\n", line(done, items, extra).c_str());
  }
  std::fflush(out_);
}

void Progress::finish(const std::string& extra) {
  std::fprintf(out_, tty_ ? "\r\033[K%s\n" : "%s\n", line(last_done_, last_items_, extra).c_str());
  std::fflush(out_);
}

}  // namespace acm::harness
