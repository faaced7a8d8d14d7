# loader.cmake - tests of the host, registry and plugin loader (label `plugin`), their fixtures, the
# out-of-tree plugin build, and the exported-symbol check.
include(${CMAKE_CURRENT_LIST_DIR}/fixtures/fixtures.cmake)

# One executable, one CTest test per case: `test_loader FIXTURE_ROOT CASE`.
enas_add_test(test_loader unit/test_loader.c LABELS plugin ARGS ${ENAS_FIXTURES} all_cases)
foreach(c good symlink order bad_abi bad_desc_abi no_entry init_fails dup dup_op missing_member bad_name
          undefined_symbol not_a_plugin all dirs empty_dir list msg_no_nul strings many too_many long_path guard)
  add_test(NAME loader_${c} COMMAND test_loader ${ENAS_FIXTURES} ${c})
  set_tests_properties(loader_${c} PROPERTIES LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}")
endforeach()
enas_add_test(test_registry unit/test_registry.c LABELS plugin)
enas_add_test(test_host unit/test_host.c LABELS plugin ARGS ${ENAS_FIXTURES}/good ${ENAS_FIXTURES}/backend_no_nul
              ${ENAS_FIXTURES}/crash_backend)

# load_dir DIR NAME...: loads DIR, exits 0 iff nothing failed and every NAME is registered.
add_executable(load_dir helpers/load_dir.c)
target_link_libraries(load_dir PRIVATE enas_core)
add_test(NAME load_dir_good COMMAND load_dir ${ENAS_FIXTURES}/good good_space good_conv good_be)
add_test(NAME load_dir_missing_name COMMAND load_dir ${ENAS_FIXTURES}/good no_such_thing)
add_test(NAME load_dir_failing_plugin COMMAND load_dir ${ENAS_FIXTURES}/init_fails)
set_tests_properties(load_dir_good load_dir_missing_name load_dir_failing_plugin PROPERTIES
                     LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}")
set_tests_properties(load_dir_missing_name load_dir_failing_plugin PROPERTIES WILL_FAIL TRUE)

# A third-party plugin built against the installed headers through pkg-config: it loads, and its op
# runs forward and backward in the engine next to the ref backend's ops.
add_executable(run_oot_op helpers/run_oot_op.c)
target_link_libraries(run_oot_op PRIVATE enas_core)
target_include_directories(run_oot_op PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME outoftree_plugin
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/outoftree/run_test.sh ${PROJECT_BINARY_DIR}
                 ${CMAKE_CURRENT_LIST_DIR}/outoftree $<TARGET_FILE:load_dir> ${CMAKE_COMMAND}
                 $<TARGET_FILE:run_oot_op> ${ENAS_PLUGIN_OUTPUT_DIR} $<TARGET_FILE:enas> $<TARGET_FILE:gen_cifar>)
set_tests_properties(outoftree_plugin PROPERTIES LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 300)

# An installed enas finds its installed plugins with no --plugin-dir, wherever the prefix is, and still
# after the prefix is moved.
add_test(NAME install_finds_plugins
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/outoftree/install_test.sh ${PROJECT_BINARY_DIR} ${CMAKE_COMMAND}
                 ${ENAS_PLUGIN_OUTPUT_DIR})
set_tests_properties(install_finds_plugins PROPERTIES LABELS plugin ENVIRONMENT "${ENAS_TEST_ENV}" TIMEOUT 120)

# Plugins export enas_plugin_init and nothing else.
set(ENAS_CHECK_EXPORTS sh ${PROJECT_SOURCE_DIR}/tools/check_exports.sh)
add_test(NAME check_exports_plugins COMMAND ${ENAS_CHECK_EXPORTS} ${PROJECT_BINARY_DIR}/plugins)
add_test(NAME check_exports_fixture_good COMMAND ${ENAS_CHECK_EXPORTS} ${ENAS_FIXTURES}/good)
add_test(NAME check_exports_catches_extra_symbol COMMAND ${ENAS_CHECK_EXPORTS} ${ENAS_FIXTURES}/no_entry)
set_tests_properties(check_exports_plugins check_exports_fixture_good check_exports_catches_extra_symbol
                     PROPERTIES LABELS plugin)
set_tests_properties(check_exports_catches_extra_symbol PROPERTIES WILL_FAIL TRUE)
