# onednn.cmake - the onednn provider (plugins/onednn) against ref, both loaded side by side by the fake host
# (helpers/ophelp*.c): parity of every op, primitive caching across batch sizes, gradient accumulation and
# finite differences. Only where oneDNN was found.
if(dnnl_FOUND)
  enas_add_test(test_onednn_parity unit/test_onednn_parity.c helpers/ophelp.c helpers/ophelp_run.c LABELS unit
                ARGS $<TARGET_FILE:ref> $<TARGET_FILE:onednn>)
  add_dependencies(test_onednn_parity ref onednn)
  # LeakSanitizer crashes ("Tracer caught signal 11") scanning the thread-local storage of libgomp's
  # worker threads that oneDNN leaves behind; leaks are still checked, TLS is just not a root.
  set_tests_properties(test_onednn_parity PROPERTIES ENVIRONMENT "${ENAS_TEST_ENV}")
  # The same as an AVX2-only and an older x86-64 CPU see it: cpu_views.cmake.
endif()
