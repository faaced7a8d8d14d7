# step.cmake - reverse-mode execution and training through the engine, on each backend.
foreach(be ref onednn)
  enas_add_test(test_step_${be} unit/test_step.c LABELS unit ARGS ${ENAS_PLUGIN_OUTPUT_DIR} ${be})
  add_dependencies(test_step_${be} ref loss_xent)
  if(TARGET onednn)
    add_dependencies(test_step_${be} onednn)
  endif()
endforeach()
