# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every component's CMakeLists.txt.

# berth_library(<name> SOURCES ... [DEPS ...] [PUBLIC_DEPS ...])
# A static library `berth_<name>` whose include root is src/ (so code includes "common/x.hpp").
function(berth_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(berth_${name} STATIC ${A_SOURCES})
  target_include_directories(berth_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(berth_${name} PUBLIC ${A_PUBLIC_DEPS} PRIVATE ${A_DEPS})
endfunction()

# berth_test(<name> LABEL unit|integration|e2e SOURCES ... [DEPS ...] [TIMEOUT s])
# One GoogleTest executable registered with CTest under the given label.
function(berth_test name)
  cmake_parse_arguments(A "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(BERTH_TESTS_ONLY_UNIT AND NOT A_LABEL STREQUAL "unit")
    return()
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_executable(${name} ${A_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_compile_definitions(${name} PRIVATE
    BERTH_SOURCE_DIR="${CMAKE_SOURCE_DIR}" BERTH_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${A_LABEL} TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "BERTH_BIN_DIR=${CMAKE_BINARY_DIR}/bin;BERTH_TEST_IMAGES=${CMAKE_BINARY_DIR}/test-images")
  if(NOT A_LABEL STREQUAL "unit")
    # Root tests share kernel state (cgroups, mounts, netns): never run them concurrently.
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# berth_binary(<name> SOURCES ... DEPS ...): an executable in build/bin.
function(berth_binary name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  if(BERTH_TESTS_ONLY_UNIT)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  install(TARGETS ${name} RUNTIME DESTINATION bin)
endfunction()
