# numeric.cmake - a search whose weights, statistics or controller blow up stops at once, naming the tensor,
# the step and the architecture, and keeps its last finite checkpoint (tests/cli/test_numeric.sh).
add_test(NAME test_numeric COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_numeric.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar>)
set_tests_properties(test_numeric PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 300)
