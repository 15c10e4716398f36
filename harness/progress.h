// Progress of long work: "label 120/2000 | 41.2 s | 3100 img/s | ETA 1m02s | extra".
// On a terminal the line is redrawn in place (at most ~5 times a second); otherwise a plain line is printed
// every `plain_every_s` seconds and at the end, so logs stay readable. Ranks started by Open MPI's mpirun
// print plain lines (their pseudo-terminal is not the user's); ACM_PROGRESS=live|plain overrides.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace acm::harness {

std::string format_duration(double seconds);  // "42.0s", "3m05s", "2h14m"

class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit, FILE* out = stdout,
           double plain_every_s = 10.0);
  // `done` steps of `total` finished, `items` units processed so far (for the rate), `extra` appended.
  void update(std::int64_t done, double items, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  std::string line(std::int64_t done, double items, const std::string& extra) const;
  std::string label_, unit_;
  std::int64_t total_;
  FILE* out_;
  bool tty_;
  double plain_every_s_;
  std::chrono::steady_clock::time_point start_, last_print_;
  std::int64_t last_done_ = 0;
  double last_items_ = 0;
};

}  // namespace acm::harness
