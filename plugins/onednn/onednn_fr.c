/* onednn_fr.c - `factorized_reduce` as in ref (ENAS.md §2.4): path 1 samples pixels (2i, 2j), path 2 the
 * shifted (2i+1, 2j+1) (zero beyond the border), each through a 1x1 convolution to out/2 channels, joined
 * along C. Where the CPU has AVX-512F, the hand kernels of onednn_fr_avx512.c do each direction in one pass
 * (sampled pixels read in place, the interleaved output and all of dx written in place, the weight gradient
 * in the backward-data's pass); output rows are split statically over the threads, and the weight gradient
 * is summed in fp32 over runs of up to 1024 output pixels, per thread in double, and over the threads in
 * thread order (deterministic for a given thread count). Elsewhere (and under ENAS_ONEDNN_NO_AVX512 or
 * ENAS_ONEDNN_PORTABLE, which keep this path tested) oneDNN: path 1 is a 1x1 stride-2 oneDNN convolution on
 * x itself; path 2's pixels are gathered into a dense tensor first and go through a plain 1x1 stride-1 one
 * (oneDNN has no negative padding for the shift). In backward, path 1's data gradient overwrites all of dx
 * (zeros off its pixels), and path 2's is scattered onto its own pixels after it. */
#include "onednn.h"

#include "op_attrs.h"

#include <omp.h>
#include <stdint.h>
#include <string.h>

struct fr_state {
    struct odn_base base;
    struct opu_fr d; /* attributes and parameters */
    struct odn_conv path[2];
};

static void fr_destroy(void *state)
{
    struct fr_state *s = state;
    if (!s)
        return;
    odn_conv_fini(&s->path[0]);
    odn_conv_fini(&s->path[1]);
    odn_state_destroy(s);
}

static enum enas_status fr_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, "factorized_reduce", sizeof(struct fr_state), state, err);
    if (st == ENAS_OK)
        st = opu_fr_read(a, &((struct fr_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
        *state = NULL;
    }
    if (st != ENAS_OK)
        return st;
    struct fr_state *s = *state;
    struct odn_conv_cfg c = {
        .cin = s->d.cin, .cout = s->d.cout / 2, .k = 1, .stride = 2, .pad = 0, .groups = 1};
    odn_conv_init(&s->path[0], &s->base, "factorized_reduce", &c);
    c.stride = 1;
    odn_conv_init(&s->path[1], &s->base, "factorized_reduce", &c);
    return ENAS_OK;
}

static enum enas_status fr_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    return opu_fr_shape(&((const struct fr_state *)state)->d, in, n_in, out, err);
}

static double fr_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_fr_madds(&((const struct fr_state *)state)->d, in, n_in);
}

/* Between x (n x h x w x c) and the dense samples sub (n x ho x wo x c) of path `shift` (0 or 1):
 * gather (to_sub) copies x into sub, zeros beyond the border; scatter copies sub onto those pixels of x. */
static void fr_move(const struct fr_state *s, const struct enas_tensor *t, float *xd, float *sub, int shift,
                    int to_sub)
{
    const int64_t n = t->dims[0], h = t->dims[1], w = t->dims[2], c = t->dims[3];
    const int64_t ho = (h + 1) / 2, wo = (w + 1) / 2;
    const size_t row = (size_t)c * sizeof(float);
#pragma omp parallel for num_threads(odn_threads(s->base.be, n *ho *wo *c)) schedule(static)
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < ho; i++)
            for (int64_t j = 0; j < wo; j++) {
                const int64_t ih = 2 * i + shift, iw = 2 * j + shift;
                float *sp = sub + ((b * ho + i) * wo + j) * c;
                const int in = ih < h && iw < w;
                float *xp = in ? xd + ((b * h + ih) * w + iw) * c : NULL;
                if (to_sub && xp)
                    memcpy(sp, xp, row);
                else if (to_sub)
                    memset(sp, 0, row);
                else if (xp)
                    memcpy(xp, sp, row);
            }
}

/* Between the interleaved output (m pixels x 2*half) and path p's dense half (m x half). */
static void fr_half(const struct fr_state *s, float *whole, float *half, int64_t m, int64_t hc, int p,
                    int to_whole)
{
#pragma omp parallel for num_threads(odn_threads(s->base.be, m *hc)) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        float *wp = whole + i * 2 * hc + p * hc, *hp = half + i * hc;
        memcpy(to_whole ? wp : hp, to_whole ? hp : wp, (size_t)hc * sizeof(float));
    }
}

/* ---- the AVX-512 path ---- */

static struct odn_fr_geom fr_geom(const struct fr_state *s, const struct enas_tensor *t)
{
    const int64_t h = t->dims[1], w = t->dims[2];
    const struct odn_fr_geom g = {.n = t->dims[0],
                                  .h = h,
                                  .w = w,
                                  .ho = (h + 1) / 2,
                                  .wo = (w + 1) / 2,
                                  .cin = s->d.cin,
                                  .hc = s->d.cout / 2};
    return g;
}

/* Threads for the n*ho output rows: odn_threads on x's size, no more than there are rows. */
static int fr_threads(const struct fr_state *s, const struct odn_fr_geom *g)
{
    const int t = odn_threads(s->base.be, g->n * g->h * g->w * g->cin);
    return (int64_t)t > g->n * g->ho ? (int)(g->n * g->ho) : t;
}

/* The two weight matrices into dst ([2][rows][ld], zero-padded): transposed (the forward's W^T, rows = cin)
 * or as they are (the backward-data's, rows = hc). */
static void fr_pack(const struct fr_state *s, int transpose, float *dst, int64_t ld)
{
    const int64_t cin = s->d.cin, hc = s->d.cout / 2, rows = transpose ? cin : hc;
    memset(dst, 0, (size_t)(2 * rows * ld) * sizeof *dst);
    for (int p = 0; p < 2; p++) {
        const float *w = (p ? s->d.w2 : s->d.w1)->value.data; /* [hc][1][1][cin] */
        float *d = dst + p * rows * ld;
        for (int64_t o = 0; o < hc; o++)
            for (int64_t k = 0; k < cin; k++)
                d[transpose ? k * ld + o : o * ld + k] = w[o * cin + k];
    }
}

static enum enas_status fr_forward_hand(struct fr_state *s, struct enas_exec *x, const struct enas_tensor *t,
                                        struct enas_tensor *out, struct enas_err *err)
{
    const struct odn_fr_geom g = fr_geom(s, t);
    const int64_t hp = ODN_FR_PAD(g.hc), rows = g.n * g.ho;
    float *wt =
        opu_scratch(x, "factorized_reduce", (size_t)(2 * g.cin * hp) * sizeof(float), err); /* 64-aligned */
    if (!wt)
        return ENAS_ERR_NOMEM;
    fr_pack(s, 1, wt, hp);
    const int want = fr_threads(s, &g);
    if (want == 1) { /* no parallel region for one thread (the gradient checks' many small calls) */
        odn_fr_fwd_avx512(&g, t->data, wt, out->data, 0, rows);
        return ENAS_OK;
    }
#pragma omp parallel num_threads(want)
    {
        const int64_t i = omp_get_thread_num(), nt = omp_get_num_threads();
        odn_fr_fwd_avx512(&g, t->data, wt, out->data, rows * i / nt, rows * (i + 1) / nt);
    }
    return ENAS_OK;
}

/* One thread's rows [r0, r1) of the backward: dx, and with acc (2*hc rows of ODN_FR_PAD(cin) floats) the
 * weight gradient, summed in fp32 there over whole images of up to 1024 output pixels together (one image
 * when it has more) and added into part (2*hc*cin doubles) after each such run (after every image, the
 * flushes took a fifth of the time at C72 16x16). */
static void fr_bwd_rows(const struct odn_fr_geom *g, const struct enas_tensor *t,
                        const struct enas_tensor *dout, const float *wp, float *dx, float *acc, double *part,
                        int64_t r0, int64_t r1)
{
    const int64_t cp = ODN_FR_PAD(g->cin), px = g->ho * g->wo, run = (px < 1024 ? 1024 / px : 1) * g->ho;
    if (part)
        memset(part, 0, (size_t)(2 * g->hc * g->cin) * sizeof *part);
    for (int64_t r = r0, e; r < r1; r = e) {
        e = (r / run + 1) * run < r1 ? (r / run + 1) * run : r1;
        if (acc)
            memset(acc, 0, (size_t)(2 * g->hc * cp) * sizeof *acc);
        odn_fr_bwd_avx512(g, t->data, dout->data, wp, dx, acc, r, e);
        for (int64_t o = 0; acc && part && o < 2 * g->hc; o++)
            for (int64_t k = 0; k < g->cin; k++)
                part[o * g->cin + k] += (double)acc[o * cp + k];
    }
}

static enum enas_status fr_backward_hand(struct fr_state *s, struct enas_exec *x, const struct enas_tensor *t,
                                         const struct enas_tensor *dout, float *dx, struct enas_err *err)
{
    const struct odn_fr_geom g = fr_geom(s, t);
    float *grad[2] = {s->d.w1->grad, s->d.w2->grad};
    const int wgt = grad[0] || grad[1], want = fr_threads(s, &g);
    if (!dx && !wgt)
        return ENAS_OK;
    const int64_t cp = ODN_FR_PAD(g.cin), rows = g.n * g.ho, na = 2 * g.hc * cp, np = 2 * g.hc * g.cin;
    /* wp, then per thread its fp32 sums (na floats, a multiple of 16) and its double partial (np) */
    const size_t bytes = (size_t)na * sizeof(float) * (1u + (wgt ? (size_t)want : 0u)) +
                         (wgt ? (size_t)want * (size_t)np * sizeof(double) : 0u);
    float *wp = opu_scratch(x, "factorized_reduce", bytes, err); /* 64-byte aligned, as are its parts */
    if (!wp)
        return ENAS_ERR_NOMEM;
    float *accs = wgt ? wp + na : NULL;
    double *parts = wgt ? (double *)(accs + (size_t)want * (size_t)na) : NULL;
    int used = 1;
    fr_pack(s, 0, wp, cp);
    if (want == 1) {
        fr_bwd_rows(&g, t, dout, wp, dx, accs, parts, 0, rows);
    } else {
#pragma omp parallel num_threads(want)
        {
            const int i = omp_get_thread_num(), nt = omp_get_num_threads();
            if (i == 0)
                used = nt;
            fr_bwd_rows(&g, t, dout, wp, dx, wgt ? accs + (size_t)i * (size_t)na : NULL,
                        wgt ? parts + (size_t)i * (size_t)np : NULL, rows * i / nt, rows * (i + 1) / nt);
        }
    }
    for (int p = 0; wgt && p < 2; p++)
        for (int64_t j = 0; grad[p] && j < g.hc * g.cin; j++) {
            double sum = 0.0;
            for (int i = 0; i < used; i++)
                sum += parts[(size_t)i * (size_t)np + (size_t)(p * g.hc * g.cin + j)];
            grad[p][j] += (float)sum;
        }
    return ENAS_OK;
}

/* ---- the oneDNN path ---- */

static enum enas_status fr_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct fr_state *s = state;
    if (s->base.be->avx512)
        return fr_forward_hand(s, x, in[0], out, err);
    const int64_t n = out->dims[0], ho = out->dims[1], wo = out->dims[2], m = n * ho * wo, hc = s->d.cout / 2;
    float *sub = opu_scratch(x, "factorized_reduce", (size_t)(m * s->d.cin) * sizeof(float), err);
    float *y = opu_scratch(x, "factorized_reduce", (size_t)(m * hc) * sizeof(float), err);
    if (!sub || !y)
        return ENAS_ERR_NOMEM;
    enum enas_status st = ENAS_OK;
    const struct enas_tensor *t = in[0];
    for (int p = 0; p < 2 && st == ENAS_OK; p++) {
        const float *w = (p ? s->d.w2 : s->d.w1)->value.data;
        if (p == 0) {
            st = odn_conv_fwd(&s->path[0], x, n, t->dims[1], t->dims[2], t->data, w, NULL, y, err);
        } else {
            fr_move(s, t, t->data, sub, 1, 1);
            st = odn_conv_fwd(&s->path[1], x, n, ho, wo, sub, w, NULL, y, err);
        }
        if (st == ENAS_OK)
            fr_half(s, out->data, y, m, hc, p, 1);
    }
    return st;
}

static enum enas_status fr_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, const struct enas_tensor *out,
                                    const struct enas_tensor *dout, struct enas_tensor *const *din,
                                    struct enas_err *err)
{
    (void)n_in;
    struct fr_state *s = state;
    if (s->base.be->avx512)
        return fr_backward_hand(s, x, in[0], dout, din[0] ? din[0]->data : NULL, err);
    const int64_t n = out->dims[0], ho = out->dims[1], wo = out->dims[2], m = n * ho * wo, hc = s->d.cout / 2;
    const size_t sb = (size_t)(m * s->d.cin) * sizeof(float);
    float *sub = opu_scratch(x, "factorized_reduce", sb, err);
    float *dsub = din[0] ? opu_scratch(x, "factorized_reduce", sb, err) : NULL;
    float *dy = opu_scratch(x, "factorized_reduce", (size_t)(m * hc) * sizeof(float), err);
    if (!sub || !dy || (din[0] && !dsub))
        return ENAS_ERR_NOMEM;
    const struct enas_tensor *t = in[0];
    enum enas_status st = ENAS_OK;
    for (int p = 0; p < 2 && st == ENAS_OK; p++) {
        struct enas_param *w = p ? s->d.w2 : s->d.w1;
        fr_half(s, dout->data, dy, m, hc, p, 0);
        if (p == 0) { /* dx: all of it, zero where path 1 samples nothing (path 2's pixels among them) */
            st = odn_conv_bwd(&s->path[0], x, n, t->dims[1], t->dims[2], t->data, w->value.data, dy,
                              din[0] ? din[0]->data : NULL, w->grad, NULL, err);
            continue;
        }
        fr_move(s, t, t->data, sub, 1, 1);
        st = odn_conv_bwd(&s->path[1], x, n, ho, wo, sub, w->value.data, dy, dsub, w->grad, NULL, err);
        if (st == ENAS_OK && din[0])
            fr_move(s, t, din[0]->data, dsub, 1, 0);
    }
    return st;
}

const struct enas_op_desc odn_factorized_reduce_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "factorized_reduce",
    .provider = "onednn",
    .attrs = fr_attrs,
    .n_attrs = sizeof fr_attrs / sizeof fr_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = fr_create,
    .shape = fr_shape,
    .madds = fr_madds,
    .forward = fr_forward,
    .backward = fr_backward,
    .destroy = fr_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
