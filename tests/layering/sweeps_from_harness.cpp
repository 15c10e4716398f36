// Against the layering on purpose: harness may not include sweeps/spec.h. tests/CMakeLists.txt expects this to fail to build.
#include "sweeps/spec.h"
