# controller.cmake - the ENAS controller (engine/controller*.c) over fake macro and micro decision lists.
enas_add_test(test_controller_grad unit/test_controller_grad.c unit/test_controller_fake.c LABELS unit)
enas_add_test(test_controller_sample unit/test_controller_sample.c unit/test_controller_fake.c LABELS unit)
enas_add_test(test_controller_learn unit/test_controller_learn.c unit/test_controller_fake.c LABELS unit)
