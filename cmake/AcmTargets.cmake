# acm_add_library(<name> SOURCES ... [PLAIN_SOURCES ...] [DEPS ...]): one library per top-level folder.
# PLAIN_SOURCES are files that never include LibTorch: they skip the precompiled header, whose ~700 MB would cost
# each of them ~10 s to load.
# Warnings are on, and every target reuses the one precompiled LibTorch header of cmake/pch so that no
# translation unit parses <torch/torch.h> twice.
#
# Layering, enforced by the compiler: includes are written from the repository root (#include
# "models/resnet.h"), but the root itself is on no target's include path. Each library exposes only its own
# folder (acm_expose: build/include/<target>/<folder> links to the folder) and sees the folders of the targets
# it links, so an include against the layering (augment including sweeps/, say) fails to compile:
#   common ← models ← augment ← harness ← sweeps ← cli (the program);   results ← common, augment (method table)
# tests/layering checks that it does.

set(ACM_GENERATED_DIR "${PROJECT_BINARY_DIR}/generated")

function(acm_target_defaults target)
  target_include_directories(${target} PUBLIC "${ACM_GENERATED_DIR}")
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(ACM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ACM_USE_PCH AND NOT target STREQUAL "acm_pch")
    target_precompile_headers(${target} REUSE_FROM acm_pch)
  endif()
endfunction()

# Puts `folder` (relative to the repository) on the include path of `target` and of whatever links it.
function(acm_expose target folder)
  set(root "${PROJECT_BINARY_DIR}/include/${target}")
  file(MAKE_DIRECTORY "${root}")
  if(NOT EXISTS "${root}/${folder}")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/${folder}" "${root}/${folder}" SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC "${root}")
endfunction()

function(acm_plain_sources)
  if(ARGN)
    set_source_files_properties(${ARGN} DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
endfunction()

# The library exposes the folder it is declared in.
function(acm_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PLAIN_SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES} ${ARG_PLAIN_SOURCES})
  acm_plain_sources(${ARG_PLAIN_SOURCES})
  add_library(acm::${name} ALIAS ${name})
  acm_target_defaults(${name})
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  acm_expose(${name} "${folder}")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

if(NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(ACM_CCACHE ccache)
  if(ACM_CCACHE)
    # PCH needs these sloppiness settings for ccache to hit (PITFALLS.md); BASEDIR makes paths relative so that
    # a fresh clone elsewhere hits the cache the last one filled.
    set(CMAKE_CXX_COMPILER_LAUNCHER "${CMAKE_COMMAND};-E;env;CCACHE_BASEDIR=${PROJECT_SOURCE_DIR};CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;${ACM_CCACHE}")
  endif()
endif()
