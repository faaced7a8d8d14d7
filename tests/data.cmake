# data.cmake - tests of the CIFAR-10 reader, augmentation and batcher (engine/data/: cifar10.c, augment.c,
# batcher.c). test_cifar10_real reads the real set through $ENAS_DATA or ./data from the source root
# and skips (77) without it.
enas_add_test(test_cifar10 unit/test_cifar10.c LABELS unit)
# a FIFO among the batch files once blocked the reader: a hang must fail the test
set_tests_properties(test_cifar10 PROPERTIES TIMEOUT 60)
enas_add_test(test_cifar10_real unit/test_cifar10.c ARGS real LABELS unit)
set_tests_properties(test_cifar10_real PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
enas_add_test(test_augment unit/test_augment.c LABELS unit)
enas_add_test(test_batcher unit/test_batcher.c LABELS unit)
# a hang at shutdown must fail the test, not stall the suite
set_tests_properties(test_batcher PROPERTIES TIMEOUT 120)
