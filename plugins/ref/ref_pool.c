/* ref_pool.c - `max_pool` and `avg_pool` (k x k windows over NHWC; padded cells are ignored by max and
 * excluded from the average's count, as in TF SAME pooling and ENAS.md §2.2) and `global_avg_pool`
 * (N x H x W x C -> N x C). Padding is at most k-1, so every window holds at least one real cell.
 * Max-pool backward recomputes the argmax (the first maximum in window order) instead of saving it. */
#include "ref.h"

#include "op_attrs.h"

#include <math.h>

struct pool_state {
    struct ref_base base;
    struct opu_pool p; /* kernel, stride, padding; p.op names the op */
};

/* One output element's window clipped to the input: rows [h0, h1), columns [w0, w1). */
struct pool_win {
    int64_t h0, h1, w0, w1;
};

static struct pool_win pool_window(const struct pool_state *s, const struct enas_tensor *in, int64_t oh,
                                   int64_t ow)
{
    struct pool_win r = {oh * s->p.stride - s->p.pad, oh * s->p.stride - s->p.pad + s->p.k,
                         ow * s->p.stride - s->p.pad, ow * s->p.stride - s->p.pad + s->p.k};
    r.h0 = r.h0 < 0 ? 0 : r.h0;
    r.w0 = r.w0 < 0 ? 0 : r.w0;
    r.h1 = r.h1 > in->dims[1] ? in->dims[1] : r.h1;
    r.w1 = r.w1 > in->dims[2] ? in->dims[2] : r.w1;
    return r;
}

static enum enas_status pool_create_named(const struct enas_op_args *a, const char *op, void **state,
                                          struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, op, sizeof(struct pool_state), state, err);
    if (st == ENAS_OK)
        st = opu_pool_read(a, op, &((struct pool_state *)*state)->p, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

static enum enas_status max_pool_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    return pool_create_named(a, "max_pool", state, err);
}

static enum enas_status avg_pool_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    return pool_create_named(a, "avg_pool", state, err);
}

static enum enas_status pool_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err)
{
    return opu_pool_shape(&((const struct pool_state *)state)->p, in, n_in, out, err);
}

/* Offset of element (n, h, w, 0) of an NHWC tensor. */
static int64_t pool_at(const struct enas_tensor *t, int64_t n, int64_t h, int64_t w)
{
    return ((n * t->dims[1] + h) * t->dims[2] + w) * t->dims[3];
}

/* Max (max = 1) or mean of channel j of example n over window r; *arg gets the offset of the first
 * maximum in window order, which is where max pooling routes the gradient. */
static double pool_reduce(const struct enas_tensor *in, const struct pool_win *r, int64_t n, int64_t j,
                          int max, int64_t *arg)
{
    double acc = 0.0, best = -INFINITY;
    *arg = pool_at(in, n, r->h0, r->w0) + j;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++) {
            const int64_t i = pool_at(in, n, h, w) + j;
            const double v = (double)in->data[i];
            acc += v;
            if (v > best) {
                best = v;
                *arg = i;
            }
        }
    return max ? best : acc / (double)((r->h1 - r->h0) * (r->w1 - r->w0));
}

/* Routes dy of one output element back over its window into dx (which the caller zeroed). */
static void pool_route(const struct enas_tensor *in, const struct pool_win *r, int64_t n, int64_t j, int max,
                       double dy, float *dx)
{
    int64_t arg;
    if (max) {
        pool_reduce(in, r, n, j, 1, &arg);
        dx[arg] += (float)dy;
        return;
    }
    const double share = dy / (double)((r->h1 - r->h0) * (r->w1 - r->w0));
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++)
            dx[pool_at(in, n, h, w) + j] += (float)share;
}

/* Visits every output element (n, oh, ow, j): forward (dx == NULL) writes out, backward routes dy. */
static void pool_run(const struct pool_state *s, const struct enas_tensor *in, const struct enas_tensor *out,
                     const float *dy, float *dx)
{
    const int max = s->p.op[0] == 'm';
    for (int64_t n = 0; n < out->dims[0]; n++)
        for (int64_t oh = 0; oh < out->dims[1]; oh++)
            for (int64_t ow = 0; ow < out->dims[2]; ow++) {
                const struct pool_win r = pool_window(s, in, oh, ow);
                const int64_t o = pool_at(out, n, oh, ow);
                for (int64_t j = 0; j < in->dims[3]; j++) {
                    int64_t arg;
                    if (dx)
                        pool_route(in, &r, n, j, max, (double)dy[o + j], dx);
                    else
                        out->data[o + j] = (float)pool_reduce(in, &r, n, j, max, &arg);
                }
            }
}

static enum enas_status pool_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    pool_run(state, in[0], out, NULL, NULL);
    return ENAS_OK;
}

static enum enas_status pool_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    if (!din[0])
        return ENAS_OK;
    for (int64_t i = 0; i < enas_tensor_numel(in[0]); i++)
        din[0]->data[i] = 0.0f;
    pool_run(state, in[0], out, dout->data, din[0]->data);
    return ENAS_OK;
}

static enum enas_status gap_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)err;
    const int64_t n = in[0]->dims[0], hw = in[0]->dims[1] * in[0]->dims[2], c = in[0]->dims[3];
    for (int64_t b = 0; b < n; b++)
        for (int64_t j = 0; j < c; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < hw; p++)
                acc += (double)in[0]->data[(b * hw + p) * c + j];
            out->data[b * c + j] = (float)(acc / (double)hw);
        }
    return ENAS_OK;
}

static enum enas_status gap_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_tensor *const *din,
                                     struct enas_err *err)
{
    (void)state, (void)x, (void)n_in, (void)out, (void)err;
    const int64_t n = in[0]->dims[0], hw = in[0]->dims[1] * in[0]->dims[2], c = in[0]->dims[3];
    if (!din[0])
        return ENAS_OK;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t j = 0; j < c; j++)
                din[0]->data[(b * hw + p) * c + j] = (float)((double)dout->data[b * c + j] / (double)hw);
    return ENAS_OK;
}

/* Pooling counts no multiply-adds (there are no weights); see ref_plugin.c for the convention. */
#define POOL_DESC(var_, name_, create_, flags_)                                                              \
    const struct enas_op_desc var_ = {                                                                       \
        ENAS_DESC_INIT(struct enas_op_desc),                                                                 \
        .name = (name_),                                                                                     \
        .provider = "ref",                                                                                   \
        .attrs = pool_attrs,                                                                                 \
        .n_attrs = sizeof pool_attrs / sizeof pool_attrs[0],                                                 \
        .min_inputs = 1,                                                                                     \
        .max_inputs = 1,                                                                                     \
        .create = (create_),                                                                                 \
        .shape = pool_shape,                                                                                 \
        .madds = NULL,                                                                                       \
        .forward = pool_forward,                                                                             \
        .backward = pool_backward,                                                                           \
        .destroy = ref_state_destroy,                                                                        \
        .bwd_flags = (flags_),                                                                               \
    }

/* max backward reads x (the window maxima); average backward only dy and the shapes */
POOL_DESC(ref_max_pool_desc, "max_pool", max_pool_create, ENAS_OP_BWD_NO_OUTPUT_DATA);
POOL_DESC(ref_avg_pool_desc, "avg_pool", avg_pool_create,
          ENAS_OP_BWD_NO_INPUT_DATA | ENAS_OP_BWD_NO_OUTPUT_DATA);

const struct enas_op_desc ref_global_avg_pool_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "global_avg_pool",
    .provider = "ref",
    .min_inputs = 1,
    .max_inputs = 1,
    .create = ref_create_plain,
    .shape = opu_gap_shape,
    .madds = NULL,
    .forward = gap_forward,
    .backward = gap_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_INPUT_DATA | ENAS_OP_BWD_NO_OUTPUT_DATA, /* shapes only */
};
