# plugins_cli.cmake - the enas program against plugins that crash, fail or misbehave, and plugin
# directories that cannot be opened (labels `e2e` and `plugin`).
add_test(NAME test_plugins_cli COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_plugins_cli.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} ${PROJECT_BINARY_DIR}/tests/fixtures $<TARGET_FILE:gen_cifar>)
set_tests_properties(test_plugins_cli PROPERTIES LABELS "e2e;plugin" ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 120)
