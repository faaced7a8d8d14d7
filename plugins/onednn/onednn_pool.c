/* onednn_pool.c - `max_pool` and `avg_pool` (ref's semantics: padded cells ignored by max and excluded
 * from the average's count; max routes the gradient to the first maximum in window order) on hand
 * kernels: oneDNN 2.6's pooling is slow on NHWC (79 ms for a 3x3 max pool that a plain AVX2 loop does in 3 ms
 * on the AMD machine of the reference notes). 3x3 at stride 1 (the search spaces' pools) runs the separable
 * kernels of onednn_pool3_kern.c, any other window the per-pixel ones here and in onednn_pool_avx2.c. In
 * training on AVX-512BW, the 3x3 max pool saves each output's winning cell in forward and its backward reads
 * those instead of x (onednn_maxpool3_avx512.c). Images are split statically over the threads. Portable C
 * kernels here, AVX2 in onednn_pool_avx2.c. */
#include "onednn.h"

#include "op_attrs.h"

#include <math.h>
#include <omp.h>
#include <string.h>

struct pool_state {
    struct odn_base base;
    struct opu_pool p; /* kernel, stride, padding; p.op names the op */
};

/* ---- portable kernels ---- */

static int64_t clip(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void odn_pool_fwd_c(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1)
{
    const int64_t c = g->c;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++) {
                const int64_t r0 = oh * g->stride - g->pad, q0 = ow * g->stride - g->pad;
                const int64_t hh0 = clip(r0, 0, g->h), hh1 = clip(r0 + g->k, 0, g->h);
                const int64_t w0 = clip(q0, 0, g->w), w1 = clip(q0 + g->k, 0, g->w);
                float *yp = y + ((n * g->ho + oh) * g->wo + ow) * c;
                for (int64_t j = 0; j < c; j++)
                    yp[j] = max ? -INFINITY : 0.0f;
                for (int64_t h = hh0; h < hh1; h++)
                    for (int64_t w = w0; w < w1; w++) {
                        const float *xp = x + ((n * g->h + h) * g->w + w) * c;
                        for (int64_t j = 0; j < c; j++)
                            yp[j] = max ? (xp[j] > yp[j] ? xp[j] : yp[j]) : yp[j] + xp[j];
                    }
                if (!max) {
                    const float inv = 1.0f / (float)((hh1 - hh0) * (w1 - w0));
                    for (int64_t j = 0; j < c; j++)
                        yp[j] *= inv;
                }
            }
}

void odn_pool_bwd_c(const struct odn_win *g, int max, const float *x, const float *dy, float *dx, int64_t n0,
                    int64_t n1)
{
    const int64_t c = g->c;
    memset(dx + n0 * g->h * g->w * c, 0, (size_t)((n1 - n0) * g->h * g->w * c) * sizeof *dx);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++) {
                const int64_t r0 = oh * g->stride - g->pad, q0 = ow * g->stride - g->pad;
                const int64_t h0 = clip(r0, 0, g->h), h1 = clip(r0 + g->k, 0, g->h);
                const int64_t w0 = clip(q0, 0, g->w), w1 = clip(q0 + g->k, 0, g->w);
                const float *d = dy + ((n * g->ho + oh) * g->wo + ow) * c;
                const float inv = 1.0f / (float)((h1 - h0) * (w1 - w0));
                for (int64_t j = 0; j < c; j++) {
                    int64_t arg = ((n * g->h + h0) * g->w + w0) * c + j;
                    float best = -INFINITY;
                    for (int64_t h = h0; h < h1; h++)
                        for (int64_t w = w0; w < w1; w++) {
                            const int64_t i = ((n * g->h + h) * g->w + w) * c + j;
                            if (max && x[i] > best) {
                                best = x[i];
                                arg = i;
                            } else if (!max) {
                                dx[i] += d[j] * inv;
                            }
                        }
                    if (max)
                        dx[arg] += d[j];
                }
            }
}

/* ---- the ops ---- */

static enum enas_status pool_create_named(const struct enas_op_args *a, const char *op, void **state,
                                          struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, op, sizeof(struct pool_state), state, err);
    if (st == ENAS_OK)
        st = opu_pool_read(a, op, &((struct pool_state *)*state)->p, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
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

static struct odn_win pool_win(const struct pool_state *s, const struct enas_tensor *in)
{
    struct odn_win g = {.n = in->dims[0],
                        .h = in->dims[1],
                        .w = in->dims[2],
                        .c = in->dims[3],
                        .ho = opu_out_size(in->dims[1], s->p.k, s->p.stride, s->p.pad),
                        .wo = opu_out_size(in->dims[2], s->p.k, s->p.stride, s->p.pad),
                        .k = s->p.k,
                        .stride = s->p.stride,
                        .pad = s->p.pad};
    return g;
}

/* The ENAS pools: 3x3, stride 1, padding 1 (the separable kernels of onednn_pool3_kern.c). */
static int pool3(const struct odn_win *g)
{
    return g->k == 3 && g->stride == 1 && g->pad == 1 && g->ho == g->h && g->wo == g->w;
}

/* Runs forward (dx == NULL) or backward over the images, split statically over the threads. */
static enum enas_status pool_run(const struct pool_state *s, struct enas_exec *x, const struct odn_win *g,
                                 const float *in, const float *dy, float *y_or_dx, int backward,
                                 struct enas_err *err)
{
    const int max = s->p.op[0] == 'm', avx2 = s->base.be->avx2, avx512 = s->base.be->avx512, sep = pool3(g),
              bw = s->base.be->avx512bw;
    int nt = odn_threads(s->base.be, g->n * g->h * g->w * g->c);
    nt = (int64_t)nt > g->n ? (int)g->n : nt;
    /* 3x3 max pool in training on AVX-512BW: the forward saves each output's winning cell, the backward
     * routes dy by it (a forward that saved nothing leaves x->saved NULL: the recomputing kernels) */
    const int map_fwd = sep && max && bw && !backward && x->save;
    const uint8_t *map_in = sep && max && backward ? x->saved : NULL;
    uint8_t *map = map_fwd ? opu_save(x, s->p.op, odn_maxpool3_map_bytes(g), err) : NULL;
    if (map_fwd && !map)
        return ENAS_ERR_NOMEM;
    const int64_t per = !sep ? 0 : map_fwd ? ODN_MAXPOOL3_WORK(g) : ODN_POOL3_WORK(g);
    float *work = sep && !map_in ? opu_scratch(x, s->p.op, (size_t)(nt * per) * sizeof *work, err) : NULL;
    if (sep && !map_in && !work)
        return ENAS_ERR_NOMEM;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int64_t n0 = g->n * t / T, n1 = g->n * (t + 1) / T;
        float *w = work ? work + t * per : NULL;
        if (map_in)
            odn_maxpool3_bwd_avx512(g, map_in, dy, y_or_dx, n0, n1);
        else if (map_fwd)
            odn_maxpool3_fwd_avx512(g, in, y_or_dx, map, n0, n1, w);
        else if (sep && backward)
            (avx512 ? odn_pool3_bwd_avx512
             : avx2 ? odn_pool3_bwd_avx2
                    : odn_pool3_bwd_c)(g, max, in, dy, y_or_dx, n0, n1, w);
        else if (sep)
            (avx512 ? odn_pool3_fwd_avx512
             : avx2 ? odn_pool3_fwd_avx2
                    : odn_pool3_fwd_c)(g, max, in, y_or_dx, n0, n1, w);
        else if (backward && avx2)
            odn_pool_bwd_avx2(g, max, in, dy, y_or_dx, n0, n1);
        else if (backward)
            odn_pool_bwd_c(g, max, in, dy, y_or_dx, n0, n1);
        else if (avx2)
            odn_pool_fwd_avx2(g, max, in, y_or_dx, n0, n1);
        else
            odn_pool_fwd_c(g, max, in, y_or_dx, n0, n1);
    }
    return ENAS_OK;
}

static enum enas_status pool_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct odn_win g = pool_win(state, in[0]);
    return pool_run(state, x, &g, in[0]->data, NULL, out->data, 0, err);
}

static enum enas_status pool_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)n_in, (void)out;
    if (!din[0])
        return ENAS_OK;
    struct odn_win g = pool_win(state, in[0]);
    return pool_run(state, x, &g, in[0]->data, dout->data, din[0]->data, 1, err);
}

#define POOL_DESC(var_, name_, create_, flags_)                                                              \
    const struct enas_op_desc var_ = {                                                                       \
        ENAS_DESC_INIT(struct enas_op_desc),                                                                 \
        .name = (name_),                                                                                     \
        .provider = "onednn",                                                                                \
        .attrs = pool_attrs,                                                                                 \
        .n_attrs = sizeof pool_attrs / sizeof pool_attrs[0],                                                 \
        .min_inputs = 1,                                                                                     \
        .max_inputs = 1,                                                                                     \
        .create = (create_),                                                                                 \
        .shape = pool_shape,                                                                                 \
        .madds = NULL,                                                                                       \
        .forward = pool_forward,                                                                             \
        .backward = pool_backward,                                                                           \
        .destroy = odn_state_destroy,                                                                        \
        .bwd_flags = (flags_),                                                                               \
    }

/* max backward reads x (the window maxima); average backward only dy and the shapes */
POOL_DESC(odn_max_pool_desc, "max_pool", max_pool_create, ENAS_OP_BWD_NO_OUTPUT_DATA);
POOL_DESC(odn_avg_pool_desc, "avg_pool", avg_pool_create,
          ENAS_OP_BWD_NO_INPUT_DATA | ENAS_OP_BWD_NO_OUTPUT_DATA);
