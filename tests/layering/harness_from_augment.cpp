// Against the layering on purpose: augment may not include harness/train/trainer.h. tests/CMakeLists.txt expects this to fail to build.
#include "harness/train/trainer.h"
