# lint.cmake - the tree's style, checked by tools/lint.sh so that CI fails on drift: every C file formatted
# as .clang-format says (test_format), and clang-tidy's checks of .clang-tidy over every file this build
# compiles (test_tidy, from this build's compile_commands.json). Skipped (77) where the tools are missing.
add_test(NAME test_format COMMAND ${PROJECT_SOURCE_DIR}/tools/lint.sh format)
add_test(NAME test_tidy COMMAND ${PROJECT_SOURCE_DIR}/tools/lint.sh tidy ${PROJECT_BINARY_DIR})
set_tests_properties(test_format test_tidy PROPERTIES LABELS lint SKIP_RETURN_CODE 77 TIMEOUT 600)
# engine/README.md's naming rule (enas__<module>_ where the module is the file or its folder), checked on
# what the engine's objects export
add_test(NAME test_names COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_names.sh $<TARGET_OBJECTS:enas_core>
         COMMAND_EXPAND_LISTS)
set_tests_properties(test_names PROPERTIES LABELS lint)
