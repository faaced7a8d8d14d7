# loss_reward.cmake - the in-tree loss and reward plugins, loaded from build/plugins.
enas_add_test(test_loss_reward unit/test_loss_reward.c LABELS plugin ARGS ${ENAS_PLUGIN_OUTPUT_DIR})
add_dependencies(test_loss_reward loss_xent reward_accuracy reward_efficiency)
