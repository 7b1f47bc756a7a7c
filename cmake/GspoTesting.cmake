# gspo_add_test(NAME <target> SOURCES ... [LIBS ...] [LABELS ...])
#
# One CTest entry per test binary: a LibTorch process pays about a second of start-up, so a
# binary runs all its cases in one process. GoogleTest's own filter still selects cases.
find_package(GTest REQUIRED)

function(gspo_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${T_NAME} PRIVATE
    GSPO_SOURCE_DIR="${CMAKE_SOURCE_DIR}" GSPO_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --gtest_brief=1)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 600)
endfunction()
