/* onednn_pool3_kern.c - 3x3 pooling at stride 1 with padding 1 (every pool of the ENAS search spaces), as
 * separable passes over whole NHWC rows: each loop runs over W*C contiguous floats, so that the compiler
 * vectorises it whatever C is, and a window costs 2 + 2 operations instead of 8.
 * - max forward: column maximum of the (2 or 3) rows, then the maximum of each pixel and its neighbours.
 * - avg forward: the same with sums, times 1 / (rows * columns) of the clipped window (padding excluded).
 * - avg backward: dx is the 3x3 box sum of dy / count, separable the same way.
 * - max backward: the first maximum of each window in window order (rows, then columns; strict >, so NaN
 *   and -inf never win and a window of those routes to its first cell), found separably (each input row's
 *   three-column maxima serve three output rows), then each input's dx gathered from the outputs whose
 *   window holds it, in one sweep down the rows.
 * Every loop is flat over a row (per-pixel factors are rows of their own), so C = 20 vectorises as well as
 * C = 16. Same results as ref (max exactly; averages up to the order of the float sums). Built three times:
 * as is (portable, *_c), through onednn_pool3_avx2.c (*_avx2) and through onednn_pool3_avx512.c (*_avx512:
 * 16 lanes, compares into mask registers). Measured against oneDNN 2.6's NHWC pooling and against the time
 * of streaming the same bytes (tools/bench_ops): the forwards and the average backward run at that memory
 * floor; the max backward at about twice it, bound by its loads in cache (hand-written AVX-512 intrinsics
 * were no faster than gcc's vectorisation of these loops). */
#include "onednn.h"

#include <math.h>
#include <string.h>

#if defined(ODN_POOL3_AVX512)
#define KFN(name) name##_avx512
#elif defined(ODN_POOL3_AVX2)
#define KFN(name) name##_avx2
#else
#define KFN(name) name##_c
#endif

static inline float fmax_first(float a, float b) /* b unless a is larger: NaN never wins over b */
{
    return a > b ? a : b;
}

/* v = column reduction of rows r[0..2] (a row outside the image: a row of -inf for max, of 0 for sums), in
 * one pass. */
static void cols(const float *const *r, int64_t wc, int max, float *restrict v)
{
    const float *restrict r0 = r[0], *restrict r1 = r[1], *restrict r2 = r[2];
    if (max)
        for (int64_t i = 0; i < wc; i++)
            v[i] = fmax_first(r2[i], fmax_first(r1[i], fmax_first(r0[i], -INFINITY)));
    else
        for (int64_t i = 0; i < wc; i++)
            v[i] = r0[i] + r1[i] + r2[i];
}

/* y = maximum of each pixel of v and its left and right neighbours (clipped). */
static void rows3_max(const float *restrict v, int64_t w, int64_t c, float *restrict y)
{
    const int64_t wc = w * c;
    if (w == 1) {
        for (int64_t i = 0; i < c; i++)
            y[i] = v[i];
        return;
    }
    for (int64_t i = 0; i < c; i++)
        y[i] = fmax_first(v[i + c], v[i]);
    for (int64_t i = c; i < wc - c; i++)
        y[i] = fmax_first(v[i + c], fmax_first(v[i], v[i - c]));
    for (int64_t i = wc - c; i < wc; i++)
        y[i] = fmax_first(v[i], v[i - c]);
}

/* y = (sum of each pixel of v and its left and right neighbours, clipped) * sc, one flat loop per part so
 * that any C vectorises (sc: a factor per element). */
static void rows3_sum(const float *restrict v, int64_t w, int64_t c, const float *restrict sc,
                      float *restrict y)
{
    const int64_t wc = w * c;
    if (w == 1) {
        for (int64_t i = 0; i < c; i++)
            y[i] = v[i] * sc[i];
        return;
    }
    for (int64_t i = 0; i < c; i++)
        y[i] = (v[i] + v[i + c]) * sc[i];
    for (int64_t i = c; i < wc - c; i++)
        y[i] = (v[i - c] + v[i] + v[i + c]) * sc[i];
    for (int64_t i = wc - c; i < wc; i++)
        y[i] = (v[i - c] + v[i]) * sc[i];
}

static int64_t lo(int64_t oh)
{
    return oh > 0 ? oh - 1 : 0;
}

static int64_t hi(int64_t oh, int64_t h)
{
    return oh + 2 < h ? oh + 2 : h;
}

/* sc[p*c + j] = r / columns of pixel p's clipped window, for every element of a row. */
static void col_scale(int64_t w, int64_t c, float r, float *restrict sc)
{
    for (int64_t p = 0; p < w; p++) {
        const float f = r / (float)((p + 2 < w ? p + 2 : w) - (p > 0 ? p - 1 : 0));
        for (int64_t j = 0; j < c; j++)
            sc[p * c + j] = f;
    }
}

void KFN(odn_pool3_fwd)(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1,
                        float *work)
{
    const int64_t wc = g->w * g->c, img = g->h * wc;
    float *v = work, *sc = work + wc, *pad = work + 4 * wc; /* sc: the factors of windows of 1, 2, 3 rows */
    if (!max)
        for (int r = 1; r <= 3; r++)
            col_scale(g->w, g->c, 1.0f / (float)r, sc + (r - 1) * wc);
    for (int64_t i = 0; i < wc; i++)
        pad[i] = max ? -INFINITY : 0.0f;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->h; oh++) {
            const int64_t h0 = lo(oh), h1 = hi(oh, g->h);
            const float *r[3];
            for (int a = 0; a < 3; a++)
                r[a] = oh - 1 + a >= 0 && oh - 1 + a < g->h ? x + n * img + (oh - 1 + a) * wc : pad;
            cols(r, wc, max, v);
            if (max)
                rows3_max(v, g->w, g->c, y + n * img + oh * wc);
            else
                rows3_sum(v, g->w, g->c, sc + (h1 - h0 - 1) * wc, y + n * img + oh * wc);
        }
}

/* Max backward, separably: the first maximum of a window in window order (rows, then columns) is the first
 * maximum of the first row whose maximum is the window's (strict >), so each input row's three-column
 * maxima and their first column (hmax_row) serve the three output rows above, at and below it
 * (win_row). */

/* hm = maximum of each pixel's (clipped) three columns of row xr, hb = the first column b (0..2: ow-1+b)
 * holding it; strict > from -inf, so NaN and -inf never win and a row of those keeps its first valid column.
 */
#define ODN_HMAX_TERM(b, off)                                                                                \
    do {                                                                                                     \
        const float v_ = xr[i + (off)];                                                                      \
        const int w_ = v_ > m;                                                                               \
        m = w_ ? v_ : m;                                                                                     \
        k = w_ ? (float)(b) : k;                                                                             \
    } while (0)

static void hmax_row(const float *restrict xr, int64_t w, int64_t c, float *restrict hm, float *restrict hb)
{
    const int64_t wc = w * c;
    if (w == 1) {
        for (int64_t i = 0; i < c; i++) {
            float m = -INFINITY, k = 1.0f;
            ODN_HMAX_TERM(1, 0);
            hm[i] = m, hb[i] = k;
        }
        return;
    }
    for (int64_t i = 0; i < c; i++) {
        float m = -INFINITY, k = 1.0f;
        ODN_HMAX_TERM(1, 0);
        ODN_HMAX_TERM(2, c);
        hm[i] = m, hb[i] = k;
    }
    for (int64_t i = c; i < wc - c; i++) {
        float m = -INFINITY, k = 0.0f;
        ODN_HMAX_TERM(0, -c);
        ODN_HMAX_TERM(1, 0);
        ODN_HMAX_TERM(2, c);
        hm[i] = m, hb[i] = k;
    }
    for (int64_t i = wc - c; i < wc; i++) {
        float m = -INFINITY, k = 0.0f;
        ODN_HMAX_TERM(0, -c);
        ODN_HMAX_TERM(1, 0);
        hm[i] = m, hb[i] = k;
    }
}

/* The winning cell 3a + b of each element of an output row from the hmax_row results of its window's rows
 * (m[a], b[a] for a = 0..2; a row outside the image has m = -inf, so it never wins), a0: the first row in
 * the image, whose first valid cell takes a window of -inf and NaN. */
static void win_row(const float *const *m, const float *const *b, int a0, int64_t wc, float *restrict idx)
{
    const float *restrict m0 = m[0], *restrict m1 = m[1], *restrict m2 = m[2];
    const float *restrict b0 = b[0], *restrict b1 = b[1], *restrict b2 = b[2], *restrict bf = b[a0];
    const float base = (float)(3 * a0);
    for (int64_t i = 0; i < wc; i++) {
        float best = -INFINITY, k = base + bf[i];
        const float v0 = m0[i], v1 = m1[i], v2 = m2[i];
        const float k0 = b0[i], k1 = 3.0f + b1[i], k2 = 6.0f + b2[i];
        const int w0 = v0 > best;
        best = w0 ? v0 : best;
        k = w0 ? k0 : k;
        const int w1 = v1 > best;
        best = w1 ? v1 : best;
        k = w1 ? k1 : k;
        const int w2 = v2 > best;
        k = w2 ? k2 : k;
        idx[i] = k;
    }
}

/* dx of elements [i0, i1) of one input row, gathered: output (oh, ow) = (h + 1 - a, w + 1 - b) sends its dy
 * here when its winning cell is 3a + b, for a in 0..2 (rows ri/rd: idx and dy of output row h + 1 - a) and
 * b in [b0, b1]. The edge columns (a narrower b range) go through the plain loop, the rest through the
 * unrolled one, which gcc vectorises. */
#define ODN_GATHER_TERM(a,                                                                                   \
                        b) /* both loads unconditional and the select its own statement: gcc vectorises */   \
    const float v##a##b = d_##a[i + (1 - (b)) * c];                                                          \
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
 * from the outputs whose window holds it. work: a -inf row, a row of -1 (no cell) and three (hm, hb) row
 * pairs, one per input row mod 3. */
static void gather_row(const struct odn_win *g, const float *idx, const float *dy, const float *none,
                       int64_t h, float *dx)
{
    const int64_t c = g->c, wc = g->w * c;
    const float *ri[3], *rd[3];
    for (int a = 0; a < 3; a++) {
        const int64_t oh = h + 1 - a;
        const int in = oh >= 0 && oh < g->h;
        ri[a] = in ? idx + (oh % 3) * wc : none;
        rd[a] = in ? dy + oh * wc : none;
    }
    float *d = dx + h * wc;
    if (g->w == 1) {
        max_gather(ri, rd, c, 0, c, 1, 1, d);
        return;
    }
    max_gather(ri, rd, c, 0, c, 0, 1, d);
    max_gather(ri, rd, c, c, wc - c, 0, 2, d);
    max_gather(ri, rd, c, wc - c, wc, 1, 2, d);
}

/* Max backward of one image as one sweep down the rows, so that x, dy and dx stream in together: at output
 * row oh, the row maxima of input row oh + 1, the winning cells of output row oh, then input row oh - 1's
 * dx, gathered from output rows oh - 2 .. oh. work: a -inf row, a row of -1 (no cell), three (hm, hb) row
 * pairs (input row mod 3) and three rows of winning cells (output row mod 3). */
static void max_bwd_image(const struct odn_win *g, const float *x, const float *dy, float *dx, float *idx,
                          const float *ninf, const float *none, float *hrows)
{
    const int64_t c = g->c, wc = g->w * c;
    for (int64_t oh = 0; oh < g->h; oh++) {
        if (oh == 0)
            hmax_row(x, g->w, c, hrows, hrows + wc);
        if (oh + 1 < g->h) {
            float *hr = hrows + ((oh + 1) % 3) * 2 * wc;
            hmax_row(x + (oh + 1) * wc, g->w, c, hr, hr + wc);
        }
        const float *m[3], *b[3];
        int a0 = -1;
        for (int a = 0; a < 3; a++) {
            const int64_t h = oh - 1 + a;
            const int in = h >= 0 && h < g->h;
            m[a] = in ? hrows + (h % 3) * 2 * wc : ninf;
            b[a] = in ? hrows + (h % 3) * 2 * wc + wc : none;
            if (in && a0 < 0)
                a0 = a;
        }
        win_row(m, b, a0, wc, idx + (oh % 3) * wc);
        if (oh >= 1)
            gather_row(g, idx, dy, none, oh - 1, dx);
    }
    gather_row(g, idx, dy, none, g->h - 1, dx);
}

void KFN(odn_pool3_bwd)(const struct odn_win *g, int max, const float *x, const float *dy, float *dx,
                        int64_t n0, int64_t n1, float *work)
{
    const int64_t wc = g->w * g->c, img = g->h * wc;
    if (max) {
        for (int64_t i = 0; i < wc; i++)
            work[i] = -INFINITY, work[wc + i] = -1.0f;
        for (int64_t n = n0; n < n1; n++)
            max_bwd_image(g, x + n * img, dy + n * img, dx + n * img, work + 8 * wc, work, work + wc,
                          work + 2 * wc);
        return;
    }
    /* dx[h] = sum over the outputs oh next to h of dy[oh] / count(oh, ow), the count being rows * columns of
     * output (oh, ow)'s window: v = the rows' sum of dy / rows(oh), times 1 / columns(ow) per element, then
     * the sum of each pixel's neighbours. */
    float *v = work, *sc = work + wc, *one = work + 2 * wc, *zero = work + 3 * wc;
    col_scale(g->w, g->c, 1.0f, sc);
    for (int64_t i = 0; i < wc; i++)
        one[i] = 1.0f, zero[i] = 0.0f;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t h = 0; h < g->h; h++) {
            const float *dr[3];
            float r[3];
            for (int a = 0; a < 3; a++) {
                const int64_t oh = h - 1 + a;
                const int in = oh >= 0 && oh < g->h;
                dr[a] = in ? dy + n * img + oh * wc : zero;
                r[a] = in ? 1.0f / (float)(hi(oh, g->h) - lo(oh)) : 0.0f;
            }
            const float *restrict d0 = dr[0], *restrict d1 = dr[1], *restrict d2 = dr[2];
            for (int64_t i = 0; i < wc; i++)
                v[i] = (d0[i] * r[0] + d1[i] * r[1] + d2[i] * r[2]) * sc[i];
            rows3_sum(v, g->w, g->c, one, dx + n * img + h * wc);
        }
}
