/* onednn_fr.c - `factorized_reduce` as in ref (ENAS.md §2.4): path 1 samples pixels (2i, 2j), path 2 the
 * shifted (2i+1, 2j+1) (zero beyond the border), each through a 1x1 convolution to out/2 channels, joined
 * along C. Path 1 is a 1x1 stride-2 oneDNN convolution on x itself; path 2's pixels are gathered into a
 * dense tensor first and go through a plain 1x1 stride-1 one (oneDNN has no negative padding for the
 * shift). In backward, path 1's data gradient overwrites all of dx (zeros off its pixels), and path 2's is
 * scattered onto its own pixels after it. */
#include "onednn.h"

#include "op_attrs.h"

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
    struct odn_conv_cfg c = {.cin = s->d.cin, .cout = s->d.cout / 2, .k = 1, .stride = 2, .pad = 0, .groups = 1};
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
#pragma omp parallel for num_threads(odn_threads(s->base.be, n * ho * wo * c)) schedule(static)
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
#pragma omp parallel for num_threads(odn_threads(s->base.be, m * hc)) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        float *wp = whole + i * 2 * hc + p * hc, *hp = half + i * hc;
        memcpy(to_whole ? wp : hp, to_whole ? hp : wp, (size_t)hc * sizeof(float));
    }
}

static enum enas_status fr_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct fr_state *s = state;
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
