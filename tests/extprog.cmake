# extprog.cmake - launching the external drawing programs (dot, gnuplot).
enas_add_test(test_extprog unit/test_extprog.c LABELS unit)
