# Third-party dependencies, each found once, here.
#
# LibTorch: the one inside the project's virtual environment (ACM_PYTHON), found through
# torch.utils.cmake_prefix_path and nothing else, so a LibTorch on a default path can never win.
# A cluster's own LibTorch can be given instead with -DTorch_DIR=... and -DACM_NCCL_ROOT=....

if(ACM_PYTHON)
  execute_process(
    COMMAND "${ACM_PYTHON}" -c "import torch, os; print(torch.utils.cmake_prefix_path); print(os.path.dirname(os.path.dirname(torch.__file__)))"
    OUTPUT_VARIABLE _acm_py_out RESULT_VARIABLE _acm_py_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _acm_py_rc EQUAL 0)
    message(FATAL_ERROR "ACM_PYTHON=${ACM_PYTHON} cannot import torch; run scripts/setup first")
  endif()
  string(REPLACE "\n" ";" _acm_py_out "${_acm_py_out}")
  list(GET _acm_py_out 0 _acm_torch_prefix)
  list(GET _acm_py_out 1 ACM_SITE_PACKAGES)
  set(Torch_DIR "${_acm_torch_prefix}/Torch" CACHE PATH "LibTorch's CMake package (from ACM_PYTHON)" FORCE)
  if(NOT ACM_NCCL_ROOT)
    set(ACM_NCCL_ROOT "${ACM_SITE_PACKAGES}/nvidia/nccl" CACHE PATH "NCCL that torch itself loads" FORCE)
  endif()
endif()

# The build machines have the CUDA toolkit but no GPU: architecture detection would fail, so name one.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "9.0")
endif()
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()

find_package(Torch CONFIG REQUIRED NO_DEFAULT_PATH PATHS "${Torch_DIR}")
# For our own CUDA targets; Torch reads TORCH_CUDA_ARCH_LIST and warns if this is set before it is found.
if(NOT CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
if(NOT TORCH_CUDA_LIBRARIES AND NOT TARGET torch_cuda)
  message(FATAL_ERROR "The LibTorch at ${Torch_DIR} has no CUDA: the project builds its CUDA/NCCL code in every "
                      "build. Use the pinned CUDA wheel (scripts/setup).")
endif()
message(STATUS "acm: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# Torch's CMake config links the CUDA toolkit's libcudart/libnvrtc (/usr/local/cuda), but libtorch_cuda.so loads the
# wheel's copies (nvidia/cu13/lib). Point both interface targets at the wheel's files so one process holds one
# CUDA runtime: the one torch was built and tested with.
if(ACM_SITE_PACKAGES)
  file(GLOB _acm_cudart "${ACM_SITE_PACKAGES}/nvidia/cu*/lib/libcudart.so.*" "${ACM_SITE_PACKAGES}/nvidia/cuda_runtime/lib/libcudart.so.*")
  file(GLOB _acm_nvrtc "${ACM_SITE_PACKAGES}/nvidia/cu*/lib/libnvrtc.so.*" "${ACM_SITE_PACKAGES}/nvidia/cuda_nvrtc/lib/libnvrtc.so.*")
  list(FILTER _acm_nvrtc EXCLUDE REGEX "(alt|builtins)")
  if(_acm_cudart AND TARGET torch::cudart)
    list(GET _acm_cudart 0 _acm_cudart)
    set_property(TARGET torch::cudart PROPERTY INTERFACE_LINK_LIBRARIES "${_acm_cudart}")
    message(STATUS "acm: CUDA runtime ${_acm_cudart}")
  endif()
  if(_acm_nvrtc AND TARGET caffe2::nvrtc)
    list(GET _acm_nvrtc 0 _acm_nvrtc)
    set_property(TARGET caffe2::nvrtc PROPERTY INTERFACE_LINK_LIBRARIES "${_acm_nvrtc}")
    # TORCH_LIBRARIES also names the toolkit's libnvrtc.so directly.
    list(TRANSFORM TORCH_LIBRARIES REPLACE "^.*/libnvrtc\\.so$" "${_acm_nvrtc}")
  endif()
endif()

# NCCL: the library file torch's own libtorch_cuda.so loads (libnccl.so.2 of the nvidia-nccl wheel), linked by
# full path. find_library would pick the CUDA toolkit's copy and a process would load two NCCLs.
find_path(ACM_NCCL_INCLUDE_DIR nccl.h PATHS "${ACM_NCCL_ROOT}/include" NO_DEFAULT_PATH REQUIRED)
set(ACM_NCCL_LIBRARY "${ACM_NCCL_ROOT}/lib/libnccl.so.2" CACHE FILEPATH "NCCL library torch loads")
if(NOT EXISTS "${ACM_NCCL_LIBRARY}")
  message(FATAL_ERROR "NCCL library not found at ${ACM_NCCL_LIBRARY} (set ACM_NCCL_ROOT)")
endif()
add_library(acm_nccl SHARED IMPORTED GLOBAL)
set_target_properties(acm_nccl PROPERTIES IMPORTED_LOCATION "${ACM_NCCL_LIBRARY}"
                                          INTERFACE_INCLUDE_DIRECTORIES "${ACM_NCCL_INCLUDE_DIR}")
add_library(acm::nccl ALIAS acm_nccl)
# The CUDA runtime's headers for our CUDA/NCCL sources: the toolkit's that Torch's config found (the wheel's
# include folder lacks crt/ and cannot stand alone). Torch's targets do not carry them, and a node whose toolkit
# headers are not on the compiler's default path (most clusters) would otherwise not find cuda_runtime_api.h.
if(CUDAToolkit_INCLUDE_DIRS)
  list(GET CUDAToolkit_INCLUDE_DIRS 0 ACM_CUDA_INCLUDE_DIR)
else()
  find_path(ACM_CUDA_INCLUDE_DIR cuda_runtime_api.h PATHS /usr/local/cuda/include REQUIRED)
endif()
set_property(TARGET acm_nccl APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${ACM_CUDA_INCLUDE_DIR}")
message(STATUS "acm: CUDA headers ${ACM_CUDA_INCLUDE_DIR}")
message(STATUS "acm: NCCL ${ACM_NCCL_LIBRARY}")

find_package(MPI REQUIRED COMPONENTS C)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PNG REQUIRED)
# libjpeg-turbo's libjpeg API (Debian: libjpeg62-turbo-dev) decodes ImageNet's JPEGs: it can skip rows and crop
# columns, which the TurboJPEG 2.x API cannot. The TurboJPEG API (libturbojpeg0-dev, no CMake config) writes the
# tests' JPEGs.
find_package(JPEG REQUIRED)
find_library(ACM_TURBOJPEG_LIBRARY turbojpeg REQUIRED)
find_path(ACM_TURBOJPEG_INCLUDE_DIR turbojpeg.h REQUIRED)
add_library(acm_turbojpeg UNKNOWN IMPORTED)
set_target_properties(acm_turbojpeg PROPERTIES IMPORTED_LOCATION "${ACM_TURBOJPEG_LIBRARY}"
                                               INTERFACE_INCLUDE_DIRECTORIES "${ACM_TURBOJPEG_INCLUDE_DIR}")
add_library(acm::turbojpeg ALIAS acm_turbojpeg)
find_package(Threads REQUIRED)
if(ACM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(ACM_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# The torch wheel's libraries live in site-packages; executables find them through their RUNPATH.
set(CMAKE_BUILD_RPATH_USE_ORIGIN OFF)
