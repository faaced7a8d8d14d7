# config.cmake - tests of engine/settings/: loading, options and messages (test_config, with the small
# files in tests/data) and help / write-load round trip / shipped presets (test_config_io, with configs/).
enas_add_test(test_config unit/test_config.c LABELS unit ARGS ${CMAKE_CURRENT_SOURCE_DIR}/data)
# a FIFO as a settings file or an @include once blocked the reader: a hang must fail the test
set_tests_properties(test_config PROPERTIES TIMEOUT 60)
enas_add_test(test_config_io unit/test_config_io.c LABELS unit ARGS ${PROJECT_SOURCE_DIR}/configs
              ${ENAS_PLUGIN_OUTPUT_DIR})
add_dependencies(test_config_io space_macro space_micro)
