// Against the layering on purpose: common may not include models/model.h. tests/CMakeLists.txt expects this to fail to build.
#include "models/model.h"
