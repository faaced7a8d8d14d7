# controller.cmake - the ENAS controller (engine/controller/) over fake macro and micro decision lists.
enas_add_test(test_controller_grad unit/test_controller_grad.c unit/test_controller_fake.c LABELS unit)
enas_add_test(test_controller_sample unit/test_controller_sample.c unit/test_controller_fake.c LABELS unit)
enas_add_test(test_controller_learn unit/test_controller_learn.c unit/test_controller_fake.c LABELS unit)
# the skip KL forms (skip_kl): the skip rate each settles at with the KL alone
enas_add_test(test_controller_kl unit/test_controller_kl.c unit/test_controller_fake.c LABELS unit)
# the real micro space's sample order, and the controller over it (needs the plugins)
enas_add_test(test_controller_micro unit/test_controller_micro.c unit/test_controller_fake.c LABELS plugin
              ARGS ${ENAS_PLUGIN_OUTPUT_DIR})
target_link_libraries(test_controller_micro PRIVATE spacehelp)
add_dependencies(test_controller_micro space_micro ref loss_xent)
