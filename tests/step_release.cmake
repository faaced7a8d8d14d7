# step_release.cmake - api->release (tensors a space will not pass on) through the engine, on each backend.
foreach(be ref onednn)
  enas_add_test(test_step_release_${be} unit/test_step_release.c LABELS unit
                ARGS ${ENAS_PLUGIN_OUTPUT_DIR} ${be})
  add_dependencies(test_step_release_${be} ref loss_xent)
  if(TARGET onednn)
    add_dependencies(test_step_release_${be} onednn)
  endif()
endforeach()
