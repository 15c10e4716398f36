// unit_tests' main: GoogleTest, and --harness=PATH for the tests that run the program (train, gallery).
#include <gtest/gtest.h>

#include <string>

#include "tests/test_util.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string mpirun;
  acm::testing::read_binary_flags(argc, argv, &acm::testing::harness_path(), &mpirun);
  return RUN_ALL_TESTS();
}
