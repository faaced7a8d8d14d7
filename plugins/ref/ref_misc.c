/* ref_misc.c - the weightless elementwise and joining ops: `relu`, `identity`, `sum` (1..16 inputs of
 * one shape) and `concat` (1..16 4-D inputs with equal N, H, W, joined along C in input order). */
#include "ref.h"

#include <string.h>

/* relu and identity: one input of any shape, output of the same shape. */
static enum enas_status relu_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)err;
    for (int64_t i = 0; i < enas_tensor_numel(in[0]); i++)
        out->data[i] = in[0]->data[i] > 0.0f ? in[0]->data[i] : 0.0f;
    return ENAS_OK;
}

/* The gradient at exactly 0 is taken as 0, as in PyTorch and TF. */
static enum enas_status relu_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)out, (void)err;
    for (int64_t i = 0; din[0] && i < enas_tensor_numel(in[0]); i++)
        din[0]->data[i] = in[0]->data[i] > 0.0f ? dout->data[i] : 0.0f;
    return ENAS_OK;
}

static enum enas_status identity_forward(void *state, struct enas_exec *x,
                                         const struct enas_tensor *const *in, size_t n_in,
                                         struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)err;
    memcpy(out->data, in[0]->data, (size_t)enas_tensor_numel(in[0]) * sizeof(float));
    return ENAS_OK;
}

static enum enas_status identity_backward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          const struct enas_tensor *out, const struct enas_tensor *dout,
                                          struct enas_tensor *const *din, struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)out, (void)err;
    if (din[0])
        memcpy(din[0]->data, dout->data, (size_t)enas_tensor_numel(in[0]) * sizeof(float));
    return ENAS_OK;
}

static enum enas_status sum_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)err;
    for (int64_t e = 0; e < enas_tensor_numel(in[0]); e++) {
        double acc = 0.0;
        for (size_t i = 0; i < n_in; i++)
            acc += (double)in[i]->data[e];
        out->data[e] = (float)acc;
    }
    return ENAS_OK;
}

static enum enas_status sum_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_tensor *const *din,
                                     struct enas_err *err)
{
    (void)state, (void)x, (void)out, (void)err;
    for (size_t i = 0; i < n_in; i++)
        if (din[i])
            memcpy(din[i]->data, dout->data, (size_t)enas_tensor_numel(in[0]) * sizeof(float));
    return ENAS_OK;
}

/* Copies between the inputs and their channel slices of the output: to_out 1 is forward, 0 backward. */
static void concat_copy(const struct enas_tensor *const *in, struct enas_tensor *const *din, size_t n_in,
                        float *whole, int64_t c_total, int to_out)
{
    const int64_t pixels = in[0]->dims[0] * in[0]->dims[1] * in[0]->dims[2];
    int64_t off = 0;
    for (size_t i = 0; i < n_in; i++) {
        const int64_t c = in[i]->dims[3];
        const int skip = !to_out && !din[i]; /* no gradient wanted for this input */
        for (int64_t p = 0; !skip && p < pixels; p++) {
            float *slice = whole + p * c_total + off;
            if (to_out)
                memcpy(slice, in[i]->data + p * c, (size_t)c * sizeof(float));
            else
                memcpy(din[i]->data + p * c, slice, (size_t)c * sizeof(float));
        }
        off += c;
    }
}

static enum enas_status concat_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)err;
    concat_copy(in, NULL, n_in, out->data, out->dims[3], 1);
    return ENAS_OK;
}

static enum enas_status concat_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, const struct enas_tensor *out,
                                        const struct enas_tensor *dout, struct enas_tensor *const *din,
                                        struct enas_err *err)
{
    (void)state, (void)x, (void)out, (void)err;
    concat_copy(in, din, n_in, dout->data, dout->dims[3], 0);
    return ENAS_OK;
}

/* None of these has weights: madds is NULL (0), the convention of ref_plugin.c. */
/* backward reads only the shapes of its input and output */
#define BWD_SHAPES_ONLY (ENAS_OP_BWD_NO_INPUT_DATA | ENAS_OP_BWD_NO_OUTPUT_DATA)

#define MISC_DESC(var_, name_, max_in_, prefix_, flags_)                                                       \
    const struct enas_op_desc var_ = {                                                                       \
        ENAS_DESC_INIT(struct enas_op_desc),                                                                 \
        .name = (name_),                                                                                     \
        .provider = "ref",                                                                                   \
        .min_inputs = 1,                                                                                     \
        .max_inputs = (max_in_),                                                                             \
        .create = ref_create_plain,                                                                          \
        .shape = opu_##prefix_##_shape,                                                                      \
        .madds = NULL,                                                                                       \
        .forward = prefix_##_forward,                                                                        \
        .backward = prefix_##_backward,                                                                      \
        .destroy = ref_state_destroy,                                                                        \
        .bwd_flags = (flags_),                                                                               \
    }

MISC_DESC(ref_relu_desc, "relu", 1, relu, 0);
MISC_DESC(ref_identity_desc, "identity", 1, identity, BWD_SHAPES_ONLY);
MISC_DESC(ref_sum_desc, "sum", OPU_MAX_INPUTS, sum, BWD_SHAPES_ONLY);
MISC_DESC(ref_concat_desc, "concat", OPU_MAX_INPUTS, concat, BWD_SHAPES_ONLY);
