/* oot_reward.c - a third-party plugin: reward `oot_reward` (validation accuracy minus a penalty per
 * million child parameters) and op `oot_scale` (provider `oot`: y = a * x, with its backward). */
#include <enas/enas.h>

#include <string.h>

/* ---- reward ---- */

struct oot_state {
    const struct enas_host_api *api;
    double penalty;
};

static const struct enas_setting oot_settings[] = {
    {.key = "penalty",
     .type = ENAS_SET_FLOAT,
     .def = 0.01,
     .min = -ENAS_UNBOUNDED, /* negative: bigger children are rewarded (the test uses both signs) */
     .max = ENAS_UNBOUNDED,
     .help = "reward lost per million child parameters"},
};

static enum enas_status oot_create(const struct enas_create_args *a, void **state, struct enas_err *err)
{
    struct oot_state *s = a->api->alloc(sizeof *s);
    *state = s;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "oot_reward: out of memory");
    s->api = a->api;
    s->penalty = a->api->cfg_float(a->cfg, "penalty");
    return ENAS_OK;
}

static enum enas_status oot_compute(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                    const struct enas_child_info *info, double *reward, struct enas_err *err)
{
    const struct oot_state *s = state;
    int64_t n = logits->dims[0], k = logits->dims[1], correct = 0;
    if (logits->ndim != 2 || n < 1 || k < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "oot_reward: logits must be N x K");
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits->data + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (row[j] > row[best])
                best = j;
        correct += best == labels[i];
    }
    double penalty = s ? s->penalty : 0.01;
    *reward = (double)correct / (double)n - penalty * (double)info->child_params / 1e6;
    return ENAS_OK;
}

static void oot_destroy(void *state)
{
    struct oot_state *s = state;
    if (s)
        s->api->free(s);
}

static const struct enas_reward_desc oot_reward = {
    ENAS_DESC_INIT(struct enas_reward_desc),
    .name = "oot_reward",
    .description = "accuracy minus a penalty per million parameters (out-of-tree example)",
    .settings = oot_settings,
    .n_settings = 1,
    .create = oot_create,
    .compute = oot_compute,
    .destroy = oot_destroy,
};

/* ---- op: y = a * x, with a learnable scalar a ---- */

struct scale {
    const struct enas_host_api *api;
    struct enas_param *a; /* engine-owned: the optimizer and checkpoints see it */
};

static const struct enas_setting scale_attrs[] = {
    {.key = "init",
     .type = ENAS_SET_FLOAT,
     .def = 2.0,
     .min = -ENAS_UNBOUNDED,
     .max = ENAS_UNBOUNDED,
     .help = "initial value of the factor a"},
};

static enum enas_status scale_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    struct scale *s = a->api->alloc(sizeof *s);
    *state = s;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "oot_scale: out of memory");
    s->api = a->api;
    struct enas_tensor shape = {NULL, 1, {1, 1, 1, 1}};
    struct enas_init init = {ENAS_INIT_CONST, a->api->cfg_float(a->attrs, "init"), 0};
    return a->api->param_create(a->host, a->scope, "a", &shape, &init, 0, &s->a, err);
}

static enum enas_status scale_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                    struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    if (n_in != 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "oot_scale: takes 1 input, got %zu", n_in);
    *out = *in[0];
    out->data = NULL;
    return ENAS_OK;
}

static enum enas_status scale_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    const struct scale *s = state;
    (void)x, (void)n_in, (void)err;
    const float a = s->a->value.data[0];
    int64_t n = enas_tensor_numel(in[0]);
    for (int64_t i = 0; i < n; i++)
        out->data[i] = a * in[0]->data[i];
    return ENAS_OK;
}

static enum enas_status scale_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, const struct enas_tensor *out,
                                       const struct enas_tensor *dout, struct enas_tensor *const *din,
                                       struct enas_err *err)
{
    const struct scale *s = state;
    (void)x, (void)n_in, (void)out, (void)err;
    const float a = s->a->value.data[0];
    int64_t n = enas_tensor_numel(dout);
    double da = 0.0;
    for (int64_t i = 0; i < n; i++) {
        da += (double)in[0]->data[i] * (double)dout->data[i];
        if (din[0])
            din[0]->data[i] = a * dout->data[i];
    }
    s->a->grad[0] += (float)da;
    return ENAS_OK;
}

static void scale_destroy(void *state)
{
    struct scale *s = state;
    if (s)
        s->api->free(s);
}

static const struct enas_op_desc oot_scale = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "oot_scale",
    .provider = "oot",
    .attrs = scale_attrs,
    .n_attrs = 1,
    .min_inputs = 1,
    .max_inputs = 1,
    .create = scale_create,
    .shape = scale_shape,
    .forward = scale_forward,
    .backward = scale_backward,
    .destroy = scale_destroy,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st == ENAS_OK)
        st = api->register_reward(h, &oot_reward, err);
    if (st == ENAS_OK)
        st = api->register_op(h, &oot_scale, err);
    return st;
}
