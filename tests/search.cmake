# search.cmake - the search end to end (label e2e): every space on every backend.
add_executable(gen_cifar helpers/gen_cifar.c)
add_executable(ckpt_digest helpers/ckpt_digest.c)
target_link_libraries(ckpt_digest PRIVATE enas_core)
foreach(space micro macro)
  foreach(be ref onednn)
    add_test(NAME test_search_${space}_${be}
             COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_search.sh $<TARGET_FILE:enas> ${ENAS_PLUGIN_OUTPUT_DIR}
                     $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest> ${be} ${space})
    set_tests_properties(test_search_${space}_${be} PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}"
                         SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
endforeach()
# the epoch end's measurements, the controller's validation passes and the TF presets
add_test(NAME test_epoch_end COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_epoch_end.sh $<TARGET_FILE:enas>
                                     ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest>
                                     ${PROJECT_SOURCE_DIR}/configs)
set_tests_properties(test_epoch_end PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 600)
