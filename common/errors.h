// What a failure means to the user: a ConfigError is bad input (a config, a spec, a flag) and exits with 2;
// anything else exits with 1. The CLI, the sweep scheduler and the agreed checks across ranks all ask
// exit_code_of, so one failure has one exit code wherever it is caught.
#pragma once

#include <exception>
#include <stdexcept>

namespace acm::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 2 for a ConfigError, 1 otherwise.
int exit_code_of(std::exception_ptr e);

}  // namespace acm::config
