/* onednn_misc.c - the weightless elementwise and joining ops with ref's semantics: `relu` (gradient 0 at
 * 0), `identity`, `sum` (1..16 inputs of one shape, added in input order), `concat` (1..16 4-D inputs
 * along C) and `global_avg_pool` (N x H x W x C -> N x C). Plain loops that the compiler vectorises,
 * split over the backend's OpenMP threads when the tensor is large enough to pay for the fork. */
#include "onednn.h"

#include <string.h>

static enum enas_status relu_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    const struct odn_base *b = state;
    const int64_t n = enas_tensor_numel(in[0]);
    const float *xd = in[0]->data;
    float *y = out->data;
#pragma omp parallel for num_threads(odn_threads(b->be, n)) schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = xd[i] > 0.0f ? xd[i] : 0.0f;
    return ENAS_OK;
}

static enum enas_status relu_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)x, (void)n_in, (void)out, (void)err;
    const struct odn_base *b = state;
    if (!din[0])
        return ENAS_OK;
    const int64_t n = enas_tensor_numel(in[0]);
    const float *xd = in[0]->data, *dy = dout->data;
    float *dx = din[0]->data;
#pragma omp parallel for num_threads(odn_threads(b->be, n)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float d = dy[i]; /* loaded unconditionally, so the select needs no (mispredicted) branch */
        dx[i] = xd[i] > 0.0f ? d : 0.0f;
    }
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
static void pass_grad(float *restrict dst, const float *restrict src, int64_t n, int add)
{
    if (!add) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    for (int64_t i = 0; i < n; i++)
        dst[i] += src[i];
}

static enum enas_status identity_backward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          const struct enas_tensor *out, const struct enas_tensor *dout,
                                          struct enas_tensor *const *din, struct enas_err *err)
{
    (void)n_in, (void)out, (void)err;
    if (!din[0])
        return ENAS_OK;
    const struct odn_base *b = state;
    const int64_t n = enas_tensor_numel(in[0]), blk = 16384;
    const int add = opu_adds(x, 0);
#pragma omp parallel for num_threads(odn_threads(b->be, n)) schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += blk)
        pass_grad(din[0]->data + i0, dout->data + i0, i0 + blk < n ? blk : n - i0, add);
    return ENAS_OK;
}

static enum enas_status sum_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)err;
    const struct odn_base *b = state;
    const int64_t n = enas_tensor_numel(in[0]), blk = 4096; /* one pass, in blocks the threads share */
    float *y = out->data;
#pragma omp parallel for num_threads(odn_threads(b->be, n)) schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += blk) {
        const int64_t m = i0 + blk < n ? blk : n - i0;
        float *restrict yb = y + i0;
        memcpy(yb, in[0]->data + i0, (size_t)m * sizeof(float));
        for (size_t k = 1; k < n_in; k++) { /* ((x0 + x1) + x2) ...: ref's order */
            const float *restrict xb = in[k]->data + i0;
            for (int64_t i = 0; i < m; i++)
                yb[i] += xb[i];
        }
    }
    return ENAS_OK;
}

static enum enas_status sum_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_tensor *const *din,
                                     struct enas_err *err)
{
    (void)out, (void)err;
    const struct odn_base *b = state;
    const int64_t n = enas_tensor_numel(in[0]), blk = 16384;
    unsigned char add[OPU_MAX_INPUTS];
    for (size_t i = 0; i < n_in; i++)
        add[i] = din[i] && opu_adds(x, i);
#pragma omp parallel for num_threads(odn_threads(b->be, n)) schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += blk) { /* dout's block stays in cache for every input */
        const int64_t m = i0 + blk < n ? blk : n - i0;
        for (size_t i = 0; i < n_in; i++)
            if (din[i])
                pass_grad(din[i]->data + i0, dout->data + i0, m, add[i]);
    }
    return ENAS_OK;
}

/* Copies between the inputs and their channel slices of the output: to_out 1 is forward, 0 backward (add[i]:
 * din[i] += its slice). */
static void concat_copy(const struct odn_base *b, const struct enas_tensor *const *in,
                        struct enas_tensor *const *din, const unsigned char *add, size_t n_in, float *whole,
                        int64_t c_total, int to_out)
{
    const int64_t pixels = in[0]->dims[0] * in[0]->dims[1] * in[0]->dims[2];
#pragma omp parallel for num_threads(odn_threads(b->be, pixels *c_total)) schedule(static)
    for (int64_t p = 0; p < pixels; p++) {
        int64_t off = 0;
        for (size_t i = 0; i < n_in; i++) {
            const int64_t c = in[i]->dims[3];
            float *slice = whole + p * c_total + off;
            if (to_out)
                memcpy(slice, in[i]->data + p * c, (size_t)c * sizeof(float));
            else if (din[i])
                pass_grad(din[i]->data + p * c, slice, c, add[i]);
            off += c;
        }
    }
}

static enum enas_status concat_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)err;
    concat_copy(state, in, NULL, NULL, n_in, out->data, out->dims[3], 1);
    return ENAS_OK;
}

static enum enas_status concat_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, const struct enas_tensor *out,
                                        const struct enas_tensor *dout, struct enas_tensor *const *din,
                                        struct enas_err *err)
{
    (void)out, (void)err;
    unsigned char add[OPU_MAX_INPUTS];
    for (size_t i = 0; i < n_in; i++)
        add[i] = din[i] && opu_adds(x, i);
    concat_copy(state, in, din, add, n_in, dout->data, dout->dims[3], 0);
    return ENAS_OK;
}

static enum enas_status gap_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    const struct odn_base *b = state;
    const int64_t n = in[0]->dims[0], hw = in[0]->dims[1] * in[0]->dims[2], c = in[0]->dims[3];
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for num_threads(odn_threads(b->be, n *hw *c)) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *y = out->data + i * c;
        const float *xd = in[0]->data + i * hw * c;
        memset(y, 0, (size_t)c * sizeof *y);
        for (int64_t p = 0; p < hw; p++)
            for (int64_t j = 0; j < c; j++)
                y[j] += xd[p * c + j];
        for (int64_t j = 0; j < c; j++)
            y[j] *= inv;
    }
    return ENAS_OK;
}

static enum enas_status gap_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_tensor *const *din,
                                     struct enas_err *err)
{
    (void)x, (void)n_in, (void)out, (void)err;
    const struct odn_base *b = state;
    const int64_t n = in[0]->dims[0], hw = in[0]->dims[1] * in[0]->dims[2], c = in[0]->dims[3];
    if (!din[0])
        return ENAS_OK;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for num_threads(odn_threads(b->be, n *hw *c)) schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t j = 0; j < c; j++)
                din[0]->data[(i * hw + p) * c + j] = dout->data[i * c + j] * inv;
    return ENAS_OK;
}

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
        .provider = "onednn",                                                                                \
        .min_inputs = 1,                                                                                     \
        .max_inputs = (max_in_),                                                                             \
        .create = odn_create_plain,                                                                          \
        .shape = opu_##prefix_##_shape,                                                                      \
        .madds = NULL,                                                                                       \
        .forward = prefix_##_forward,                                                                        \
        .backward = prefix_##_backward,                                                                      \
        .destroy = odn_state_destroy,                                                                        \
        .bwd_flags = (flags_),                                                                               \
    }

MISC_DESC(odn_relu_desc, "relu", 1, relu, 0);
MISC_DESC(odn_identity_desc, "identity", 1, identity, BWD_PASS_THROUGH);
MISC_DESC(odn_sum_desc, "sum", OPU_MAX_INPUTS, sum, BWD_PASS_THROUGH);
MISC_DESC(odn_concat_desc, "concat", OPU_MAX_INPUTS, concat, BWD_ADDS);
MISC_DESC(odn_global_avg_pool_desc, "global_avg_pool", 1, gap, BWD_SHAPES_ONLY);
