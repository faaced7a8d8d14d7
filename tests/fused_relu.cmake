# fused_relu.cmake - the fused ReLUs (batch_norm relu=true, conv / sep_conv relu_input=true) against the same
# provider's unfused ops, bit for bit on ref; on onednn within 1e-5 (its fused and unfused kernels may round
# differently), also as other CPUs run it (cpu_views.cmake).
enas_add_test(test_fused_relu_ref unit/test_fused_relu.c helpers/ophelp.c helpers/ophelp_run.c LABELS unit
              ARGS $<TARGET_FILE:ref> 0)
add_dependencies(test_fused_relu_ref ref)
if(dnnl_FOUND)
  add_test(NAME test_fused_relu_onednn COMMAND test_fused_relu_ref $<TARGET_FILE:onednn> 1e-5)
  set_tests_properties(test_fused_relu_onednn PROPERTIES LABELS unit SKIP_RETURN_CODE 77
                       ENVIRONMENT "${ENAS_TEST_ENV}")
  add_dependencies(test_fused_relu_ref onednn)
endif()
