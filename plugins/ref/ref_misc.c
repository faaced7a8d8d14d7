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

/* dst = src, or dst += src (add): the pass-through gradients of identity, sum and concat. */
static void pass_grad(float *dst, const float *src, int64_t n, int add)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = add ? dst[i] + src[i] : src[i];
}

static enum enas_status identity_backward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          const struct enas_tensor *out, const struct enas_tensor *dout,
                                          struct enas_tensor *const *din, struct enas_err *err)
{
    (void)state, (void)n_in, (void)out, (void)err;
    if (din[0])
        pass_grad(din[0]->data, dout->data, enas_tensor_numel(in[0]), opu_adds(x, 0));
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
    (void)state, (void)out, (void)err;
    for (size_t i = 0; i < n_in; i++)
        if (din[i])
            pass_grad(din[i]->data, dout->data, enas_tensor_numel(in[0]), opu_adds(x, i));
    return ENAS_OK;
}

/* Copies between the inputs and their channel slices of the output: x NULL is forward, else backward (din[i]
 * overwritten, or added to where the engine asks). */
static void concat_copy(struct enas_exec *x, const struct enas_tensor *const *in,
                        struct enas_tensor *const *din, size_t n_in, float *whole, int64_t c_total)
{
    const int64_t pixels = in[0]->dims[0] * in[0]->dims[1] * in[0]->dims[2];
    int64_t off = 0;
    for (size_t i = 0; i < n_in; i++) {
        const int64_t c = in[i]->dims[3];
        const int skip = x && !din[i]; /* no gradient wanted for this input */
        const int add = x && !skip && opu_adds(x, i);
        for (int64_t p = 0; !skip && p < pixels; p++) {
            float *slice = whole + p * c_total + off;
            if (!x)
                memcpy(slice, in[i]->data + p * c, (size_t)c * sizeof(float));
            else
                pass_grad(din[i]->data + p * c, slice, c, add);
        }
        off += c;
    }
}

static enum enas_status concat_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)err;
    concat_copy(NULL, in, NULL, n_in, out->data, out->dims[3]);
    return ENAS_OK;
}

static enum enas_status concat_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, const struct enas_tensor *out,
                                        const struct enas_tensor *dout, struct enas_tensor *const *din,
                                        struct enas_err *err)
{
    (void)state, (void)out, (void)err;
    concat_copy(x, in, din, n_in, dout->data, dout->dims[3]);
    return ENAS_OK;
}

/* None of these has weights: madds is NULL (0), the convention of ref_plugin.c. */
/* backward reads only the shapes of its input and output */
#define BWD_SHAPES_ONLY (ENAS_OP_BWD_NO_INPUT_DATA | ENAS_OP_BWD_NO_OUTPUT_DATA)
/* ... and adds into gradients that other readers began (grad_accumulates) */
#define BWD_ADDS (BWD_SHAPES_ONLY | ENAS_OP_BWD_ACCUMULATE)
/* ... and din[i] = dout: one input may take dout's buffer (its din[i] is then NULL) */
#define BWD_PASS_THROUGH (BWD_ADDS | ENAS_OP_BWD_PASS_THROUGH)

#define MISC_DESC(var_, name_, max_in_, prefix_, flags_)                                                     \
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
MISC_DESC(ref_identity_desc, "identity", 1, identity, BWD_PASS_THROUGH);
MISC_DESC(ref_sum_desc, "sum", OPU_MAX_INPUTS, sum, BWD_PASS_THROUGH);
MISC_DESC(ref_concat_desc, "concat", OPU_MAX_INPUTS, concat, BWD_ADDS);
