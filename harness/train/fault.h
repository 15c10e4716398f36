// Faults injected on purpose, for the tests of error propagation across ranks. ACM_FAULT_INJECT=KIND:RANK:STEP
// makes rank RANK fail:
//   setup  a failed check before training (STEP is ignored; give 0)
//   throw  an exception at global step STEP
//   nan    a non-finite loss at global step STEP
//   kill   SIGKILL to itself at global step STEP
//   overflow  fp16: an infinite scaled loss at global step STEP (the loss scale must skip the step and back off)
// Unset or empty: no fault. Anything else is a config::ConfigError naming the variable and the allowed kinds.
#pragma once

#include <cstdint>
#include <string>

namespace acm::train {

struct Fault {
  std::string kind;  // empty: none
  int rank = -1;
  std::int64_t step = -1;

  bool at(const std::string& k, int r, std::int64_t s) const { return kind == k && rank == r && step == s; }
  // Throws the injected setup failure on its rank.
  void check_setup(int r) const;
  // Throws, or kills this process, where a "throw" or "kill" fault is due; "nan" is read by the caller.
  void check_step(int r, std::int64_t global_step) const;
};

Fault fault_from_environment();

}  // namespace acm::train
