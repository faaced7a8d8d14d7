# cli.cmake - the enas program end to end (label `e2e`).
add_test(NAME test_cli COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_cli.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} ${PROJECT_BINARY_DIR}/tests/fixtures/all ${PROJECT_SOURCE_DIR}/configs)
# a FIFO given as a settings or architecture file once blocked: a hang must fail the test
set_tests_properties(test_cli PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV};ENAS_DATA=" TIMEOUT 120)
