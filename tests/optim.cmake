# optim.cmake - the shared-weight optimizer (engine/train/optim.c): non-finite weights and statistics are caught
# at the step that made them. The search's own handling of them: tests/cli/test_numeric.sh.
enas_add_test(test_optim unit/test_optim.c LABELS unit)
