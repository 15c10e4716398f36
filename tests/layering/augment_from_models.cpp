// Against the layering on purpose: models may not include augment/mixer.h. tests/CMakeLists.txt expects this to fail to build.
#include "augment/mixer.h"
