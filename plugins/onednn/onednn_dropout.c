/* onednn_dropout.c - `dropout` (per element, keep_prob attribute) and `drop_path` (per example, keep
 * probability from x->arg), inverted as in ref: kept values scaled by 1/keep. The masks are drawn from the
 * call's random stream in the same order as ref draws them, so both providers drop the same elements. */
#include "onednn.h"

#include "op_attrs.h"

#include <math.h>
#include <string.h>

struct dropout_state {
    struct odn_base base;
    double keep;
};

static enum enas_status dropout_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, "dropout", sizeof(struct dropout_state), state, err);
    if (st == ENAS_OK)
        st = opu_keep_read(a, &((struct dropout_state *)*state)->keep, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

/* Saves n_mask Bernoulli(keep)/keep values, then y = x * mask[i / group]. */
static enum enas_status drop_apply(const char *op, struct enas_exec *x, double keep, int64_t group,
                                   const struct enas_tensor *in, struct enas_tensor *out,
                                   struct enas_err *err)
{
    const int64_t total = enas_tensor_numel(in), n_mask = total / group;
    float *mask = opu_save(x, op, (size_t)n_mask * sizeof *mask, err);
    if (!mask)
        return ENAS_ERR_NOMEM;
    const float kept = (float)(1.0 / keep);
    for (int64_t i = 0; i < n_mask; i++) /* sequential: the draws must come in ref's order */
        mask[i] = opu_uniform(x) < keep ? kept : 0.0f;
    for (int64_t m = 0; m < n_mask; m++)
        for (int64_t j = 0; j < group; j++)
            out->data[m * group + j] = in->data[m * group + j] * mask[m];
    return ENAS_OK;
}

static void drop_backward_apply(const struct enas_exec *x, int64_t group, const struct enas_tensor *dout,
                                struct enas_tensor *din)
{
    const int64_t total = enas_tensor_numel(dout);
    const float *mask = x->saved;
    if (!din)
        return;
    if (!mask) {
        memcpy(din->data, dout->data, (size_t)total * sizeof(float));
        return;
    }
    for (int64_t m = 0; m < total / group; m++)
        for (int64_t j = 0; j < group; j++)
            din->data[m * group + j] = dout->data[m * group + j] * mask[m];
}

static enum enas_status dropout_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    const struct dropout_state *s = state;
    if (x->training && s->keep < 1.0)
        return drop_apply("dropout", x, s->keep, 1, in[0], out, err);
    memcpy(out->data, in[0]->data, (size_t)enas_tensor_numel(in[0]) * sizeof(float));
    return ENAS_OK;
}

static enum enas_status dropout_backward(void *state, struct enas_exec *x,
                                         const struct enas_tensor *const *in, size_t n_in,
                                         const struct enas_tensor *out, const struct enas_tensor *dout,
                                         struct enas_tensor *const *din, struct enas_err *err)
{
    (void)state, (void)in, (void)n_in, (void)out, (void)err;
    drop_backward_apply(x, 1, dout, din[0]);
    return ENAS_OK;
}

static enum enas_status drop_path_forward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)n_in;
    const double keep = x->arg;
    if (x->training && !isnan(keep) && keep < 1.0) {
        if (!(keep > 0.0))
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "drop_path: keep probability %g is not in (0, 1]",
                                keep);
        return drop_apply("drop_path", x, keep, enas_tensor_numel(in[0]) / in[0]->dims[0], in[0], out, err);
    }
    memcpy(out->data, in[0]->data, (size_t)enas_tensor_numel(in[0]) * sizeof(float));
    return ENAS_OK;
}

static enum enas_status drop_path_backward(void *state, struct enas_exec *x,
                                           const struct enas_tensor *const *in, size_t n_in,
                                           const struct enas_tensor *out, const struct enas_tensor *dout,
                                           struct enas_tensor *const *din, struct enas_err *err)
{
    (void)state, (void)n_in, (void)out, (void)err;
    drop_backward_apply(x, enas_tensor_numel(in[0]) / in[0]->dims[0], dout, din[0]);
    return ENAS_OK;
}

const struct enas_op_desc odn_dropout_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "dropout",
    .provider = "onednn",
    .attrs = dropout_attrs,
    .n_attrs = sizeof dropout_attrs / sizeof dropout_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = dropout_create,
    .shape = opu_dropout_shape,
    .madds = NULL,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = odn_state_destroy,
};

const struct enas_op_desc odn_drop_path_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "drop_path",
    .provider = "onednn",
    .min_inputs = 1,
    .max_inputs = 1,
    .create = odn_create_plain,
    .shape = opu_drop_path_shape,
    .madds = NULL,
    .forward = drop_path_forward,
    .backward = drop_path_backward,
    .destroy = odn_state_destroy,
};
