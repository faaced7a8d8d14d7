# fileio.cmake - reading untrusted input files (engine/util/file.c): regular files of a bounded size only.
enas_add_test(test_fileio unit/test_fileio.c LABELS unit)
set_tests_properties(test_fileio PROPERTIES TIMEOUT 60)
