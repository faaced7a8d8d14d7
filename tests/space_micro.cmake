# space_micro.cmake - the micro search space (spaces/micro) through tests/helpers/spacehelp.c: decisions,
# validation, DOT and weight counts by hand (static); every candidate at every position in search and
# final mode (ops: on ref, and on onednn against ref with identical weights, every op output and then the
# gradients of ref's backward run at onednn's activations; 77 without oneDNN); only the chosen path trains
# (paths); registered ops as candidates (extern); a short CIFAR-10 training (train: onednn when built, else
# ref; 77 without ENAS_DATA).
enas_add_test(test_space_micro unit/test_space_micro.c LABELS plugin ARGS ${ENAS_PLUGIN_OUTPUT_DIR} ref static)
target_link_libraries(test_space_micro PRIVATE spacehelp)
add_dependencies(test_space_micro space_micro ref loss_xent)
set(ENAS_MICRO_TRAIN_BACKEND ref)
if(TARGET onednn)
  add_dependencies(test_space_micro onednn)
  set(ENAS_MICRO_TRAIN_BACKEND onednn)
endif()
set(ENAS_MICRO_TESTS test_space_micro)
foreach(c "ops_ref;ref;ops" "ops_onednn;onednn;ops" "paths;ref;paths" "extern;ref;extern"
          "train;${ENAS_MICRO_TRAIN_BACKEND};train")
  list(GET c 0 name)
  list(GET c 1 be)
  list(GET c 2 part)
  add_test(NAME test_space_micro_${name} COMMAND test_space_micro ${ENAS_PLUGIN_OUTPUT_DIR} ${be} ${part})
  list(APPEND ENAS_MICRO_TESTS test_space_micro_${name})
endforeach()
set_tests_properties(${ENAS_MICRO_TESTS} PROPERTIES LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}"
                     SKIP_RETURN_CODE 77 TIMEOUT 300)
# the training run keeps to about 60 s of wall clock; spinning OpenMP workers would eat a shared core
set_tests_properties(test_space_micro_train PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} TIMEOUT 600
                     ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive")
# about 10 s alone on 2 cores; under load, spinning OpenMP workers would make that minutes
set_tests_properties(test_space_micro_ops_onednn PROPERTIES
                     ENVIRONMENT "${ENAS_TEST_ENV};OMP_WAIT_POLICY=passive")
