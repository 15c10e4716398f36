#include "harness/train/fault.h"

#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "common/errors.h"

namespace acm::train {

void Fault::check_setup(int r) const {
  if (at("setup", r, 0)) throw std::runtime_error("injected fault: setup check on this rank");
}

void Fault::check_step(int r, std::int64_t global_step) const {
  if (at("throw", r, global_step)) {
    throw std::runtime_error("injected fault: exception at global step " + std::to_string(global_step));
  }
  if (at("kill", r, global_step)) std::raise(SIGKILL);
}

Fault fault_from_environment() {
  const char* v = std::getenv("ACM_FAULT_INJECT");
  Fault f;
  if (!v || !*v) return f;
  const std::string text = v;
  const auto a = text.find(':'), b = text.find(':', a == std::string::npos ? a : a + 1);
  try {
    if (a == std::string::npos || b == std::string::npos) throw std::invalid_argument("form");
    f.kind = text.substr(0, a);
    f.rank = std::stoi(text.substr(a + 1, b - a - 1));
    f.step = std::stoll(text.substr(b + 1));
  } catch (const std::exception&) {
    f.kind.clear();
  }
  if (f.kind != "setup" && f.kind != "throw" && f.kind != "nan" && f.kind != "kill" && f.kind != "overflow") {
    throw config::ConfigError("ACM_FAULT_INJECT=" + text +
                              ": expected KIND:RANK:STEP with KIND one of setup, throw, nan, kill, overflow");
  }
  return f;
}

}  // namespace acm::train
