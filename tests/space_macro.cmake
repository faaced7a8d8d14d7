# space_macro.cmake - the macro search space (spaces/macro): unit checks on ref, the same network on
# onednn against ref (77 without oneDNN), and a short CIFAR-10 training run (77 without the data).
enas_add_test(test_space_macro unit/test_space_macro.c LABELS plugin ARGS ${ENAS_PLUGIN_OUTPUT_DIR} ref unit)
target_link_libraries(test_space_macro PRIVATE spacehelp)
add_dependencies(test_space_macro space_macro ref loss_xent)
if(TARGET onednn)
  add_dependencies(test_space_macro onednn)
endif()
add_test(NAME test_space_macro_onednn COMMAND test_space_macro ${ENAS_PLUGIN_OUTPUT_DIR} onednn unit)
# ENAS_DATA from the environment, else ./data under the source root
add_test(NAME test_space_macro_train COMMAND test_space_macro ${ENAS_PLUGIN_OUTPUT_DIR} onednn train)
set_tests_properties(test_space_macro_onednn test_space_macro_train PROPERTIES LABELS plugin
                     ENVIRONMENT "${ENAS_TEST_ENV}" SKIP_RETURN_CODE 77)
set_tests_properties(test_space_macro_train PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} TIMEOUT 900)
