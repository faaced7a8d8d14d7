# checkpoint.cmake - the checkpoint file format.
enas_add_test(test_checkpoint unit/test_checkpoint.c LABELS unit)
