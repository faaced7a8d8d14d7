# onednn.cmake - the onednn provider (plugins/onednn) against ref, both loaded side by side by the fake host
# (unit/ophelp*.c): parity of every op, primitive caching across batch sizes, gradient accumulation and
# finite differences. Only where oneDNN was found.
if(dnnl_FOUND)
  enas_add_test(test_onednn_parity unit/test_onednn_parity.c unit/ophelp.c unit/ophelp_run.c LABELS unit
                ARGS $<TARGET_FILE:ref> $<TARGET_FILE:onednn>)
  add_dependencies(test_onednn_parity ref onednn)
  # LeakSanitizer crashes ("Tracer caught signal 11") scanning the thread-local storage of libgomp's
  # worker threads that oneDNN leaves behind; leaks are still checked, TLS is just not a root.
  set_tests_properties(test_onednn_parity PROPERTIES ENVIRONMENT "${ENAS_TEST_ENV}")
  # The same with the portable C kernels instead of the AVX2 ones.
  add_test(NAME test_onednn_parity_portable COMMAND test_onednn_parity $<TARGET_FILE:ref> $<TARGET_FILE:onednn>)
  set_tests_properties(test_onednn_parity_portable PROPERTIES LABELS unit SKIP_RETURN_CODE 77
                       ENVIRONMENT "${ENAS_TEST_ENV};ENAS_ONEDNN_PORTABLE=1")
  # And the AVX2 kernels where the CPU has AVX-512 (which the depthwise weight gradient would take).
  add_test(NAME test_onednn_parity_avx2 COMMAND test_onednn_parity $<TARGET_FILE:ref> $<TARGET_FILE:onednn>)
  set_tests_properties(test_onednn_parity_avx2 PROPERTIES LABELS unit SKIP_RETURN_CODE 77
                       ENVIRONMENT "${ENAS_TEST_ENV};ENAS_ONEDNN_NO_AVX512=1")
endif()
