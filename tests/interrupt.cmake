# interrupt.cmake - SIGINT inside a controller update stops the search at once, and the cut update is
# abandoned so that a resumed run ends bit for bit as an uninterrupted one (tests/cli/test_interrupt.sh).
add_test(NAME test_interrupt COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_interrupt.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest>)
set_tests_properties(test_interrupt PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 300)
# the same at exact points, set under gdb: a stop just after the last sample of an update or a derivation
add_test(NAME test_interrupt_points COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_interrupt_points.sh
         $<TARGET_FILE:enas> ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest>)
set_tests_properties(test_interrupt_points PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}"
                     SKIP_RETURN_CODE 77 TIMEOUT 300)
