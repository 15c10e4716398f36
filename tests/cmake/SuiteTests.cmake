# Included by ctest (TEST_INCLUDE_FILES): one ctest test per GoogleTest suite of EXE, named PREFIX + suite. A
# suite is one process, so LibTorch loads once per suite rather than once per case; the list comes from the
# binary itself (--gtest_list_tests), so no suite can be left out. Set before including: EXE, PREFIX, LABELS,
# ENV.
execute_process(COMMAND "${EXE}" --gtest_list_tests OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  add_test("${PREFIX}LIST_FAILED" "${EXE}" --gtest_list_tests)
  return()
endif()
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ ]+)\\.( +#.*)?$")
    set(suite "${CMAKE_MATCH_1}")
    add_test("${PREFIX}${suite}" "${EXE}" "--gtest_filter=${suite}.*")
    set_tests_properties("${PREFIX}${suite}" PROPERTIES LABELS "${LABELS}" ENVIRONMENT "${ENV}")
  endif()
endforeach()
