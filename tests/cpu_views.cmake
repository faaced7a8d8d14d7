# cpu_views.cmake - the kernels other CPUs take, tested on whatever CPU runs the suite. Two views beside the
# machine's own: an AVX2-only CPU (oneDNN capped with ONEDNN_MAX_CPU_ISA=AVX2, the project's AVX-512 kernels
# off) and an x86-64 without AVX2 (oneDNN capped to SSE4.1, the project's portable C kernels). The op parity
# test, the engine's training step and both spaces' onednn-against-ref checks run in each view, and a short
# search per space compares every view's losses with the reference backend's (tests/cli/test_cpu_views.sh).
set(ENAS_VIEW_avx2 "ONEDNN_MAX_CPU_ISA=AVX2;ENAS_ONEDNN_NO_AVX512=1")
set(ENAS_VIEW_portable "ONEDNN_MAX_CPU_ISA=SSE41;ENAS_ONEDNN_PORTABLE=1")
if(dnnl_FOUND)
  foreach(view avx2 portable)
    set(env "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive;${ENAS_VIEW_${view}}")
    add_test(NAME test_onednn_parity_${view} COMMAND $<TARGET_FILE:test_onednn_parity> $<TARGET_FILE:ref>
             $<TARGET_FILE:onednn>)
    add_test(NAME test_fused_relu_onednn_${view} COMMAND $<TARGET_FILE:test_fused_relu_ref>
             $<TARGET_FILE:onednn> 1e-5)
    add_test(NAME test_step_onednn_${view} COMMAND $<TARGET_FILE:test_step_onednn> ${ENAS_PLUGIN_OUTPUT_DIR} onednn)
    add_test(NAME test_step_release_onednn_${view} COMMAND $<TARGET_FILE:test_step_release_onednn>
             ${ENAS_PLUGIN_OUTPUT_DIR} onednn)
    add_test(NAME test_space_macro_onednn_${view} COMMAND $<TARGET_FILE:test_space_macro> ${ENAS_PLUGIN_OUTPUT_DIR}
             onednn unit)
    add_test(NAME test_space_micro_ops_onednn_${view} COMMAND $<TARGET_FILE:test_space_micro>
             ${ENAS_PLUGIN_OUTPUT_DIR} onednn ops)
    set_tests_properties(test_onednn_parity_${view} test_fused_relu_onednn_${view} test_step_onednn_${view}
                         test_step_release_onednn_${view} test_space_macro_onednn_${view}
                         test_space_micro_ops_onednn_${view}
                         PROPERTIES LABELS "unit;view" SKIP_RETURN_CODE 77 TIMEOUT 300 ENVIRONMENT "${env}")
  endforeach()
endif()
foreach(space micro macro)
  add_test(NAME test_cpu_views_${space}
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_cpu_views.sh $<TARGET_FILE:enas> ${ENAS_PLUGIN_OUTPUT_DIR}
                   $<TARGET_FILE:gen_cifar> ${space})
  set_tests_properties(test_cpu_views_${space} PROPERTIES LABELS "e2e;view" SKIP_RETURN_CODE 77 TIMEOUT 300
                       ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive")
endforeach()
