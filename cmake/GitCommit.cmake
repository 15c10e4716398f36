# Run at every build (cmake -P): writes ${OUT} with the commit the sources are at, "-dirty" when tracked files
# differ from it. configure_file rewrites the file only when that changes, so only its one includer recompiles.
execute_process(COMMAND git -C "${SRC}" rev-parse HEAD OUTPUT_VARIABLE ACM_GIT_COMMIT
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git -C "${SRC}" status --porcelain --untracked-files=no
                OUTPUT_VARIABLE _dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(_dirty)
  string(APPEND ACM_GIT_COMMIT "-dirty")
endif()
if(NOT ACM_GIT_COMMIT)
  set(ACM_GIT_COMMIT "unknown")
endif()
file(WRITE "${OUT}.tmp" "// Generated at build time by cmake/GitCommit.cmake.\n#pragma once\n#define ACM_GIT_COMMIT \"${ACM_GIT_COMMIT}\"\n")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
file(REMOVE "${OUT}.tmp")
