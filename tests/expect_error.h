// EXPECT that a call throws E with a message holding every given part (file names, offsets, allowed values).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace acm::testing {

template <typename E, typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const E& e) {
    for (const auto& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message: " << e.what() << "\nlacks: " << p;
    }
  }
}

}  // namespace acm::testing
