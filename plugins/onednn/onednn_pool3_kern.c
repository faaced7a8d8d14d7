/* onednn_pool3_kern.c - 3x3 pooling at stride 1 with padding 1 (every pool of the ENAS search spaces), as
 * separable passes over whole NHWC rows: each loop runs over W*C contiguous floats, so that the compiler
 * vectorises it whatever C is, and a window costs 2 + 2 operations instead of 8.
 * - max forward: column maximum of the (2 or 3) rows, then the maximum of each pixel and its neighbours.
 * - avg forward: the same with sums, times 1 / (rows * columns) of the clipped window (padding excluded).
 * - avg backward: dx is the 3x3 box sum of dy / count, separable the same way.
 * - max backward: the first maximum of each window in window order (rows, then columns; strict >, so NaN
 *   and -inf never win and a window of those routes to its first cell), then dy added there.
 * Same results as ref (max exactly; averages up to the order of the float sums). Built twice, like
 * onednn_bn_kern.c: as is (portable, *_c) and through onednn_pool3_avx2.c (*_avx2). */
#include "onednn.h"

#include <math.h>
#include <string.h>

#ifdef ODN_POOL3_AVX2
#define KFN(name) name##_avx2
#else
#define KFN(name) name##_c
#endif

static inline float fmax_first(float a, float b) /* b unless a is larger: NaN never wins over b */
{
    return a > b ? a : b;
}

/* v = column reduction of rows [h0, h1) of one image (row stride wc); max: -inf start. */
static void cols(const float *restrict x, int64_t h0, int64_t h1, int64_t wc, int max, float *restrict v)
{
    for (int64_t i = 0; i < wc; i++)
        v[i] = max ? -INFINITY : 0.0f;
    for (int64_t h = h0; h < h1; h++) {
        const float *restrict xr = x + h * wc;
        if (max)
            for (int64_t i = 0; i < wc; i++)
                v[i] = fmax_first(xr[i], v[i]);
        else
            for (int64_t i = 0; i < wc; i++)
                v[i] += xr[i];
    }
}

/* y = reduction of each pixel of v with its left and right neighbours (clipped), times scale[w] for sums. */
static void rows3(const float *restrict v, int64_t w, int64_t c, int max, const float *restrict scale,
                  float *restrict y)
{
    const int64_t wc = w * c;
    if (w == 1) {
        for (int64_t i = 0; i < c; i++)
            y[i] = max ? v[i] : v[i] * scale[0];
        return;
    }
    if (max) {
        for (int64_t i = 0; i < c; i++)
            y[i] = fmax_first(v[i + c], v[i]);
        for (int64_t i = c; i < wc - c; i++)
            y[i] = fmax_first(v[i + c], fmax_first(v[i], v[i - c]));
        for (int64_t i = wc - c; i < wc; i++)
            y[i] = fmax_first(v[i], v[i - c]);
        return;
    }
    for (int64_t i = 0; i < c; i++)
        y[i] = (v[i] + v[i + c]) * scale[0];
    for (int64_t p = 1; p < w - 1; p++) {
        const float s = scale[p];
        for (int64_t j = p * c; j < (p + 1) * c; j++)
            y[j] = (v[j - c] + v[j] + v[j + c]) * s;
    }
    for (int64_t i = wc - c; i < wc; i++)
        y[i] = (v[i - c] + v[i]) * scale[w - 1];
}

static int64_t lo(int64_t oh)
{
    return oh > 0 ? oh - 1 : 0;
}

static int64_t hi(int64_t oh, int64_t h)
{
    return oh + 2 < h ? oh + 2 : h;
}

/* 1 / columns of each pixel's clipped window, times r. */
static void col_scale(int64_t w, float r, float *scale)
{
    for (int64_t p = 0; p < w; p++)
        scale[p] = r / (float)((p + 2 < w ? p + 2 : w) - (p > 0 ? p - 1 : 0));
}

void KFN(odn_pool3_fwd)(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1,
                        float *work)
{
    const int64_t wc = g->w * g->c, img = g->h * wc;
    float *v = work, *scale = work + wc;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->h; oh++) {
            const int64_t h0 = lo(oh), h1 = hi(oh, g->h);
            cols(x + n * img, h0, h1, wc, max, v);
            if (!max)
                col_scale(g->w, 1.0f / (float)(h1 - h0), scale);
            rows3(v, g->w, g->c, max, scale, y + n * img + oh * wc);
        }
}

/* First maximum of window cells [dw0, dw1] x 3 rows in window order (strict >: NaN and -inf never win, and
 * idx keeps the first valid cell k0), for output elements [i0, i1); rows outside the image are -inf rows. */
static inline void argmax_cols(const float *const *rows, int64_t c, int64_t i0, int64_t i1, int dw0, int dw1, float k0,
                        float *restrict idx)
{
    const float *restrict r0 = rows[0], *restrict r1 = rows[1], *restrict r2 = rows[2];
    for (int64_t i = i0; i < i1; i++) {
        float b = -INFINITY, id = k0;
        for (int dw = dw0; dw <= dw1; dw++) {
            const float v0 = r0[i + dw * c];
            const int w0 = v0 > b;
            b = w0 ? v0 : b;
            id = w0 ? (float)(dw + 1) : id;
        }
        for (int dw = dw0; dw <= dw1; dw++) {
            const float v1 = r1[i + dw * c];
            const int w1 = v1 > b;
            b = w1 ? v1 : b;
            id = w1 ? (float)(3 + dw + 1) : id;
        }
        for (int dw = dw0; dw <= dw1; dw++) {
            const float v2 = r2[i + dw * c];
            const int w2 = v2 > b;
            b = w2 ? v2 : b;
            id = w2 ? (float)(6 + dw + 1) : id;
        }
        idx[i] = id;
    }
}

/* The winning cell k = 3*dh + dw of each element of output row oh (idx: that row of the image's idx).
 * ninf: a row of w*c -inf standing for the rows above and below the image. */
static void max_idx_row(const struct odn_win *g, const float *x, int64_t oh, const float *ninf, float *idx)
{
    const int64_t c = g->c, wc = g->w * c;
    const float *rows[3];
    for (int r = 0; r < 3; r++) {
        const int64_t h = oh - 1 + r;
        rows[r] = h >= 0 && h < g->h ? x + h * wc : ninf;
    }
    const float k0 = (float)(3 * (lo(oh) - (oh - 1))); /* the first valid cell: row lo(oh), column ow-1 */
    if (g->w == 1) {
        argmax_cols(rows, c, 0, c, 0, 0, k0 + 1.0f, idx);
    } else {
        argmax_cols(rows, c, 0, c, 0, 1, k0 + 1.0f, idx);
        argmax_cols(rows, c, c, wc - c, -1, 1, k0, idx);
        argmax_cols(rows, c, wc - c, wc, -1, 0, k0, idx);
    }
}

/* dx of elements [i0, i1) of one input row, gathered: output (oh, ow) = (h + 1 - a, w + 1 - b) sends its dy
 * here when its winning cell is 3a + b, for a in 0..2 (rows ri/rd: idx and dy of output row h + 1 - a) and
 * b in [b0, b1]. The edge columns (a narrower b range) go through the plain loop, the rest through the
 * unrolled one, which gcc vectorises. */
#define ODN_GATHER_TERM(a, b) /* both loads unconditional and the select its own statement: gcc vectorises */ \
    const float v##a##b = d_##a[i + (1 - (b)) * c];                                                            \
    const float t##a##b = i_##a[i + (1 - (b)) * c] == (float)(3 * (a) + (b)) ? v##a##b : 0.0f

static void max_gather(const float *const *ri, const float *const *rd, int64_t c, int64_t i0, int64_t i1,
                       int b0, int b1, float *restrict dx)
{
    const float *restrict i_0 = ri[0], *restrict i_1 = ri[1], *restrict i_2 = ri[2];
    const float *restrict d_0 = rd[0], *restrict d_1 = rd[1], *restrict d_2 = rd[2];
    if (b0 == 0 && b1 == 2) {
        for (int64_t i = i0; i < i1; i++) {
            ODN_GATHER_TERM(0, 0);
            ODN_GATHER_TERM(1, 0);
            ODN_GATHER_TERM(2, 0);
            ODN_GATHER_TERM(0, 1);
            ODN_GATHER_TERM(1, 1);
            ODN_GATHER_TERM(2, 1);
            ODN_GATHER_TERM(0, 2);
            ODN_GATHER_TERM(1, 2);
            ODN_GATHER_TERM(2, 2);
            dx[i] = t00 + t10 + t20 + t01 + t11 + t21 + t02 + t12 + t22;
        }
        return;
    }
    for (int64_t i = i0; i < i1; i++) {
        float acc = 0.0f;
        for (int b = b0; b <= b1; b++) {
            const int64_t o = i + (1 - b) * c;
            const float v0 = d_0[o], v1 = d_1[o], v2 = d_2[o];
            const float t0 = i_0[o] == (float)b ? v0 : 0.0f;
            const float t1 = i_1[o] == (float)(3 + b) ? v1 : 0.0f;
            const float t2 = i_2[o] == (float)(6 + b) ? v2 : 0.0f;
            acc += t0 + t1 + t2;
        }
        dx[i] = acc;
    }
}

/* Max backward of one image: the winning cells of every output (idx: h*w*c), then each input's dx gathered
 * from the outputs whose window holds it. work: a -inf row and a row of -1 (no cell) beside it. */
static void max_bwd_image(const struct odn_win *g, const float *x, const float *dy, float *dx, float *idx,
                          const float *ninf, const float *none)
{
    const int64_t c = g->c, wc = g->w * c;
    for (int64_t oh = 0; oh < g->h; oh++)
        max_idx_row(g, x, oh, ninf, idx + oh * wc);
    for (int64_t h = 0; h < g->h; h++) {
        const float *ri[3], *rd[3];
        for (int a = 0; a < 3; a++) {
            const int64_t oh = h + 1 - a;
            const int in = oh >= 0 && oh < g->h;
            ri[a] = in ? idx + oh * wc : none;
            rd[a] = in ? dy + oh * wc : none;
        }
        float *d = dx + h * wc;
        if (g->w == 1) {
            max_gather(ri, rd, c, 0, c, 1, 1, d);
        } else {
            max_gather(ri, rd, c, 0, c, 0, 1, d);
            max_gather(ri, rd, c, c, wc - c, 0, 2, d);
            max_gather(ri, rd, c, wc - c, wc, 1, 2, d);
        }
    }
}

void KFN(odn_pool3_bwd)(const struct odn_win *g, int max, const float *x, const float *dy, float *dx, int64_t n0,
                        int64_t n1, float *work)
{
    const int64_t wc = g->w * g->c, img = g->h * wc;
    float *v = work, *scale = work + wc;
    if (max) {
        for (int64_t i = 0; i < wc; i++)
            work[i] = -INFINITY, work[wc + i] = -1.0f;
        for (int64_t n = n0; n < n1; n++)
            max_bwd_image(g, x + n * img, dy + n * img, dx + n * img, work + 2 * wc, work, work + wc);
        return;
    }
    /* dx[h] = sum over the outputs oh next to h of dy[oh] / count(oh, ow), the count being rows * columns of
     * output (oh, ow)'s window: rows(oh) per row, columns(ow) per pixel */
    for (int64_t n = n0; n < n1; n++)
        for (int64_t h = 0; h < g->h; h++) {
            const float *d = dy + n * img;
            for (int64_t i = 0; i < wc; i++)
                v[i] = 0.0f;
            for (int64_t oh = lo(h); oh < hi(h, g->h); oh++) {
                const float r = 1.0f / (float)(hi(oh, g->h) - lo(oh));
                const float *restrict dr = d + oh * wc;
                for (int64_t i = 0; i < wc; i++)
                    v[i] += dr[i] * r;
            }
            col_scale(g->w, 1.0f, scale);
            for (int64_t p = 0; p < g->w; p++)
                for (int64_t j = p * g->c; j < (p + 1) * g->c; j++)
                    v[j] *= scale[p];
            for (int64_t p = 0; p < g->w; p++)
                scale[p] = 1.0f;
            rows3(v, g->w, g->c, 0, scale, dx + n * img + h * wc);
        }
}
