# ref_ops.cmake - the reference ops (plugins/ref) through the real ref.so loaded by a fake host
# (helpers/ophelp*.c): forward values, parameters and errors (test_ref_ops), and finite-difference
# gradients of every op (test_ref_grad).
foreach(t test_ref_ops test_ref_grad)
  enas_add_test(${t} unit/${t}.c helpers/ophelp.c helpers/ophelp_run.c LABELS unit ARGS $<TARGET_FILE:ref>)
  add_dependencies(${t} ref)
endforeach()
