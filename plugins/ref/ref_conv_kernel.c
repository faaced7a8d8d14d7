/* ref_conv_kernel.c - the one convolution behind conv, sep_conv (depthwise = groups == cin, pointwise =
 * 1x1) and factorized_reduce (1x1 stride 2, plain and shifted). Plain loops in the natural NHWC order,
 * with double accumulators so that the reference is more exact than any backend compared with it. */
#include "ref.h"

/* Offset of input pixel (n, ih, iw), or -1 when it lies in the zero padding. */
static int64_t conv_in_pixel(const struct ref_conv_geom *g, int64_t n, int64_t ih, int64_t iw)
{
    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
        return -1;
    return ((n * g->h + ih) * g->w + iw) * g->cin;
}

/* One output pixel: every output channel of y at (n, oh, ow). */
static void conv_fwd_pixel(const struct ref_conv_geom *g, const float *x, const float *w, const float *b,
                           int64_t n, int64_t oh, int64_t ow, float *y)
{
    const int64_t ipg = g->cin / g->groups, opg = g->cout / g->groups;
    for (int64_t o = 0; o < g->cout; o++) {
        const int64_t c0 = (o / opg) * ipg; /* first input channel of o's group */
        double acc = b ? (double)b[o] : 0.0;
        for (int64_t kh = 0; kh < g->k; kh++)
            for (int64_t kw = 0; kw < g->k; kw++) {
                int64_t px = conv_in_pixel(g, n, oh * g->stride - g->pad + kh, ow * g->stride - g->pad + kw);
                if (px < 0)
                    continue;
                const float *xp = x + px + c0, *wp = w + ((o * g->k + kh) * g->k + kw) * ipg;
                for (int64_t ci = 0; ci < ipg; ci++)
                    acc += (double)xp[ci] * (double)wp[ci];
            }
        y[o] = (float)acc;
    }
}

void ref_conv_fwd(const struct ref_conv_geom *g, const float *x, const float *w, const float *b, float *y)
{
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++)
                conv_fwd_pixel(g, x, w, b, n, oh, ow, y + ((n * g->ho + oh) * g->wo + ow) * g->ldy);
}

/* The gradient contributions of one output pixel (n, oh, ow) whose incoming gradient is dy. */
static void conv_bwd_pixel(const struct ref_conv_geom *g, const float *x, const float *w, const float *dy,
                           int64_t n, int64_t oh, int64_t ow, double *dx, double *dw, double *db)
{
    const int64_t ipg = g->cin / g->groups, opg = g->cout / g->groups;
    for (int64_t o = 0; o < g->cout; o++) {
        const double d = (double)dy[o];
        const int64_t c0 = (o / opg) * ipg;
        if (db)
            db[o] += d;
        for (int64_t kh = 0; kh < g->k; kh++)
            for (int64_t kw = 0; kw < g->k; kw++) {
                int64_t px = conv_in_pixel(g, n, oh * g->stride - g->pad + kh, ow * g->stride - g->pad + kw);
                if (px < 0)
                    continue;
                const int64_t wo = ((o * g->k + kh) * g->k + kw) * ipg;
                for (int64_t ci = 0; ci < ipg; ci++) {
                    if (dw)
                        dw[wo + ci] += d * (double)x[px + c0 + ci];
                    if (dx)
                        dx[px + c0 + ci] += d * (double)w[wo + ci];
                }
            }
    }
}

void ref_conv_bwd(const struct ref_conv_geom *g, const float *x, const float *w, const float *dy, double *dx,
                  double *dw, double *db)
{
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++)
                conv_bwd_pixel(g, x, w, dy + ((n * g->ho + oh) * g->wo + ow) * g->ldy, n, oh, ow, dx, dw, db);
}

double ref_conv_madds(const struct ref_conv_geom *g)
{
    const double in_per_group = (double)g->cin / (double)g->groups; /* exact: groups divides cin */
    return (double)g->n * (double)g->ho * (double)g->wo * (double)g->cout * (double)(g->k * g->k) *
           in_per_group;
}
