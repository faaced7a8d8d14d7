/* reward_efficiency.c - example of a custom reward, written as a third party would write one:
 * `efficient_accuracy` = top-1 accuracy - weight * size / scale, where size is the child's parameter
 * count or its forward multiply-adds per image. Select it with `--reward efficient_accuracy` and tune it
 * in its own config section (`efficient_accuracy: { metric = "madds"; weight = 0.05; };`) or with
 * `--efficient-accuracy.weight 0.05`. */
#include <math.h>
#include <string.h>

#include "enas/plugin.h"

struct eff_state {
    void (*free)(void *p); /* the host's free: destroy gets no API table */
    int use_madds;
    double weight, scale;
};

static const struct enas_setting eff_settings[] = {
    {.key = "metric",
     .type = ENAS_SET_STRING,
     .def_str = "params",
     .choices = "params|madds",
     .help = "what is penalised: the child's parameter count or its multiply-adds per image"},
    {.key = "weight",
     .type = ENAS_SET_FLOAT,
     .def = 0.02,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "penalty per `scale` units of the metric, in accuracy points (0.02 = 2% per unit)"},
    {.key = "scale",
     .type = ENAS_SET_FLOAT,
     .def = 1e6,
     .min = 1e-12,
     .max = ENAS_UNBOUNDED,
     .help = "unit of the metric (1e6: per million parameters or multiply-adds)"},
};

static enum enas_status eff_create(const struct enas_create_args *a, void **state, struct enas_err *err)
{
    struct eff_state *s = a->api->alloc(sizeof *s);
    *state = s;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "efficient_accuracy: out of memory");
    s->free = a->api->free;
    s->use_madds = strcmp(a->api->cfg_string(a->cfg, "metric"), "madds") == 0;
    s->weight = a->api->cfg_float(a->cfg, "weight");
    s->scale = a->api->cfg_float(a->cfg, "scale");
    return ENAS_OK;
}

static enum enas_status eff_compute(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                    const struct enas_child_info *info, double *reward, struct enas_err *err)
{
    const struct eff_state *s = state;
    if (logits->ndim != 2 || logits->dims[0] < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "efficient_accuracy: logits must be N x K with N >= 1");
    for (int64_t i = 0; i < logits->dims[0]; i++)
        if (labels[i] < 0 || labels[i] >= logits->dims[1])
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "efficient_accuracy: row %lld: label %d out of range", (long long)i,
                                (int)labels[i]);
    double size = s->use_madds ? info->child_madds : (double)info->child_params;
    *reward = enas_top1(logits, labels) - s->weight * size / s->scale;
    return ENAS_OK;
}

static void eff_destroy(void *state)
{
    struct eff_state *s = state;
    if (s)
        s->free(s);
}

static const struct enas_reward_desc eff_desc = {
    ENAS_DESC_INIT(struct enas_reward_desc),
    .name = "efficient_accuracy",
    .description = "example custom reward: accuracy minus a penalty on child parameters or multiply-adds",
    .settings = eff_settings,
    .n_settings = sizeof eff_settings / sizeof eff_settings[0],
    .create = eff_create,
    .compute = eff_compute,
    .destroy = eff_destroy,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st != ENAS_OK)
        return st;
    return api->register_reward(h, &eff_desc, err);
}
