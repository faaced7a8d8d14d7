# nni_presets.cmake - NNI v2.7's ENAS example as presets (configs/nni_macro.cfg, configs/nni_micro.cfg):
# the space settings they rely on and micro's scoring mode (test_nni_spaces: macro, micro, ctrl, eval on ref),
# and each preset loading and running one shared-weight step and one controller update on generated data
# (test_nni_presets, label e2e).
enas_add_test(test_nni_spaces unit/test_nni_spaces.c LABELS plugin ARGS ${ENAS_PLUGIN_OUTPUT_DIR} ref macro)
target_link_libraries(test_nni_spaces PRIVATE spacehelp)
add_dependencies(test_nni_spaces space_macro space_micro ref loss_xent)
set(ENAS_NNI_TESTS test_nni_spaces)
foreach(part micro ctrl eval)
  add_test(NAME test_nni_spaces_${part} COMMAND test_nni_spaces ${ENAS_PLUGIN_OUTPUT_DIR} ref ${part})
  list(APPEND ENAS_NNI_TESTS test_nni_spaces_${part})
endforeach()
set_tests_properties(${ENAS_NNI_TESTS} PROPERTIES LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}"
                     SKIP_RETURN_CODE 77 TIMEOUT 300)
add_test(NAME test_nni_presets
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_nni_presets.sh $<TARGET_FILE:enas> ${ENAS_PLUGIN_OUTPUT_DIR}
                 $<TARGET_FILE:gen_cifar> ${PROJECT_SOURCE_DIR}/configs)
set_tests_properties(test_nni_presets PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}" SKIP_RETURN_CODE 77
                     TIMEOUT 600)
