# faults.cmake - a run folder under faults (label e2e; tests/cli/test_faults.sh PART): a crafted checkpoint per
# field, two searches on one folder, a restart before the first checkpoint, options on resume, a full disk,
# SIGKILL at random points, SIGINT while a resume skips done batches, the longest architecture through a
# checkpoint, pictures of a folder named "-x" and of a huge architecture. ckpt_tool crafts and inspects checkpoints (gen_cifar and ckpt_digest come from search.cmake).
add_executable(ckpt_tool helpers/ckpt_tool.c)
target_link_libraries(ckpt_tool PRIVATE enas_core)
foreach(part crafted lock fresh options disk kill skip longest pictures)
  add_test(NAME test_faults_${part}
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/cli/test_faults.sh ${part} $<TARGET_FILE:enas> ${ENAS_PLUGIN_OUTPUT_DIR}
                   $<TARGET_FILE:gen_cifar> $<TARGET_FILE:ckpt_digest> $<TARGET_FILE:ckpt_tool>)
  set_tests_properties(test_faults_${part} PROPERTIES LABELS e2e ENVIRONMENT "${ENAS_TEST_ENV}"
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
