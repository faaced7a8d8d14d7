# retrain.cmake - enas retrain and enas eval on generated data (tests/cli/test_retrain.sh): a small fixed
# network learns and eval recounts its numbers; a stopped retrain resumes bit for bit; bad architectures,
# damaged model files and the other command's run folders are refused by name.
foreach(part learn resume errors)
  add_test(NAME test_retrain_${part} COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_retrain.sh $<TARGET_FILE:enas>
           ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest> ${part})
  set_tests_properties(test_retrain_${part} PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive"
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
# pictures for enas eval --images (stb's writer)
add_executable(cifar_png helpers/cifar_png.c)
target_link_libraries(cifar_png PRIVATE PkgConfig::STB)
add_test(NAME test_eval_images COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_retrain.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:cifar_png> images)
set_tests_properties(test_eval_images PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive"
                     TIMEOUT 600)
add_test(NAME test_export_onnx COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_retrain.sh $<TARGET_FILE:enas>
         ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:gen_cifar> $<TARGET_FILE:cifar_png> export)
set_tests_properties(test_export_onnx PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive"
                     SKIP_RETURN_CODE 77 TIMEOUT 600)
