# tensor.cmake - the inline tensor helpers plugins use (include/enas/tensor.h): enas_argmax, enas_top1.
enas_add_test(test_tensor unit/test_tensor.c LABELS unit)
