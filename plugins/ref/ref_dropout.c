/* ref_dropout.c - `dropout` (per element, keep_prob attribute) and `drop_path` (per example, keep
 * probability from the call's x->arg). Both are inverted: kept values are scaled by 1/keep, so that
 * inference is the identity. The mask (0 or 1/keep per element / example) is saved for backward; a call
 * that saved nothing was an identity call and its backward copies dout. */
#include "ref.h"

#include "op_attrs.h"

#include <math.h>
#include <string.h>

struct dropout_state {
    struct ref_base base;
    double keep;
};

static enum enas_status dropout_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, "dropout", sizeof(struct dropout_state), state, err);
    if (st == ENAS_OK)
        st = opu_keep_read(a, &((struct dropout_state *)*state)->keep, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

/* Draws n_mask Bernoulli(keep) values scaled by 1/keep into saved memory, then y = x * mask, one mask
 * value per `group` consecutive elements (1 for dropout, H*W*C for drop path). keep < 1 here. */
static enum enas_status drop_apply(const char *op, struct enas_exec *x, double keep, int64_t group,
                                   const struct enas_tensor *in, struct enas_tensor *out,
                                   struct enas_err *err)
{
    const int64_t total = enas_tensor_numel(in), n_mask = total / group;
    float *mask = opu_save0(x, op, (size_t)n_mask * sizeof *mask, err);
    if (!mask)
        return ENAS_ERR_NOMEM;
    for (int64_t i = 0; i < n_mask; i++)
        mask[i] = opu_uniform(x) < keep ? (float)(1.0 / keep) : 0.0f;
    for (int64_t i = 0; i < total; i++)
        out->data[i] = in->data[i] * mask[i / group];
    return ENAS_OK;
}

/* The backward of both: dx = dy * mask (one mask value per `group` elements), or dy when forward saved
 * no mask. */
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
    for (int64_t i = 0; i < total; i++)
        din->data[i] = dout->data[i] * mask[i / group];
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

/* NaN (no argument) or keep >= 1 means no drop path for this call, as does inference. */
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

const struct enas_op_desc ref_dropout_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "dropout",
    .provider = "ref",
    .attrs = dropout_attrs,
    .n_attrs = sizeof dropout_attrs / sizeof dropout_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = dropout_create,
    .shape = opu_dropout_shape,
    .madds = NULL,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = ref_state_destroy,
};

const struct enas_op_desc ref_drop_path_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "drop_path",
    .provider = "ref",
    .min_inputs = 1,
    .max_inputs = 1,
    .create = ref_create_plain,
    .shape = opu_drop_path_shape,
    .madds = NULL,
    .forward = drop_path_forward,
    .backward = drop_path_backward,
    .destroy = ref_state_destroy,
};
