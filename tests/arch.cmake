# arch.cmake - architecture exchange formats (ENAS.md §10) over generic decisions.
enas_add_test(test_arch unit/test_arch.c LABELS unit)
