/* reward_accuracy.c - the default controller reward `accuracy`: the fraction of one validation
 * minibatch the child classifies correctly (top-1), as the reference trainer's reward_accuracy. */
#include "enas/plugin.h"

static enum enas_status acc_compute(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                    const struct enas_child_info *info, double *reward, struct enas_err *err)
{
    (void)state;
    (void)info;
    if (logits->ndim != 2 || logits->dims[0] < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "accuracy: logits must be N x K with N >= 1");
    for (int64_t i = 0; i < logits->dims[0]; i++)
        if (labels[i] < 0 || labels[i] >= logits->dims[1])
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "accuracy: row %lld: label %d is not in [0, %lld)",
                                (long long)i, (int)labels[i], (long long)logits->dims[1]);
    *reward = enas_top1(logits, labels);
    return ENAS_OK;
}

static const struct enas_reward_desc acc_desc = {
    ENAS_DESC_INIT(struct enas_reward_desc),
    .name = "accuracy",
    .description = "top-1 accuracy on one validation minibatch (the reference reward)",
    .compute = acc_compute,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st != ENAS_OK)
        return st;
    return api->register_reward(h, &acc_desc, err);
}
