// Against the layering on purpose: results may not include harness/train/config.h. tests/CMakeLists.txt expects this to fail to build.
#include "harness/train/config.h"
