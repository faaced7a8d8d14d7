/* onednn_maxpool3_avx512.c - 3x3 max pool at stride 1, padding 1 (the search spaces' max pools) for
 * training, on AVX-512F/BW/VL: the forward also writes each output's winning cell, 3a + b in one byte, into
 * the call's saved memory, and the backward routes dy by those bytes alone. The backward then streams dy
 * and a quarter-size byte map instead of x and dy, and does not find the maxima again. Measured
 * (tools/bench_ops, one thread, N=128; oneDNN 2.6's own NHWC pooling as the peer): backward 5-9x oneDNN's
 * (0.8-1.2x the time of streaming its bytes; the recomputing kernel of onednn_pool3_kern.c: 2.7-3.8x,
 * about 2x), forward 5.5-8.9x (1.0-1.3x; the plain forward: 6-12x). The forward does twice the work of the
 * plain one, and keeps up with memory only because it prefetches the rows ahead. The plugin calls these
 * only when the CPU has AVX-512BW and VL and the call is recorded for backward (x->save set).
 *
 * The winning cell is the one the other kernels and ref route to: the first maximum in window order (rows,
 * then columns; strict >, so NaN and -inf never win, and a window of those takes its first cell inside the
 * image). Found separably, as onednn_pool3_kern.c's backward does: each input row's three-column maxima and
 * their first column serve the three output rows above, at and below it. */
#include "onednn.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

/* The byte map: one byte per output element (N*H*W*C); every load and store of it is masked to the row. */
size_t odn_maxpool3_map_bytes(const struct odn_win *g)
{
    return (size_t)(g->n * g->h * g->w * g->c);
}

AI __mmask16 lanes(int64_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1u);
}

/* hm, hb for 16 elements of input row xr at i: the maximum of each element's (clipped) three columns and
 * the first column b (0..2: ow - 1 + b, one byte) holding it. m0, m2: the lanes whose left and right
 * neighbours lie inside the row (the others read as -inf and never win; masked loads touch nothing
 * outside), t: the lanes inside the row; k: the first column inside the image (1 for the first pixel, else
 * 0), which a row of -inf and NaN keeps. Strict >, as everywhere: the first column among equal maxima. */
AI void hmax16(const float *xr, int64_t i, int64_t c, __mmask16 m0, __mmask16 m2, __mmask16 t, __m128i k,
               __m512 *mo, __m128i *ko)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const __m512 v0 = _mm512_mask_loadu_ps(ninf, m0, xr + i - c), v1 = _mm512_mask_loadu_ps(ninf, t, xr + i),
                 v2 = _mm512_mask_loadu_ps(ninf, m2, xr + i + c);
    __m512 m = _mm512_max_ps(v0, ninf); /* v0 if v0 > -inf, else -inf (NaN too) */
    if (m0 != 0xFFFF)                   /* an edge vector: the first pixel's column 0 is outside */
        k = _mm_mask_mov_epi8(k, _mm512_cmp_ps_mask(v0, ninf, _CMP_GT_OQ), _mm_setzero_si128());
    const __mmask16 w1 = _mm512_cmp_ps_mask(v1, m, _CMP_GT_OQ);
    m = _mm512_max_ps(v1, m);
    k = _mm_mask_mov_epi8(k, w1, _mm_set1_epi8(1));
    const __mmask16 w2 = _mm512_cmp_ps_mask(v2, m, _CMP_GT_OQ);
    *mo = _mm512_max_ps(v2, m);
    *ko = _mm_mask_mov_epi8(k, w2, _mm_set1_epi8(2));
}

/* One vector of output row oh, in one pass with the row maxima of input row oh + 1 (xr; NULL past the last
 * row), which go to the ring (hm2, hb2) for the next two output rows: masks and kf as in hmax16 (edge
 * vectors only); rows oh - 1 (p0, q0: a row of -inf when outside) and oh (p1, q1) from the ring. The window
 * takes the first row whose maximum is the largest (strict >; hm is never NaN); a0 = 1 (oh = 0): row oh's
 * cell when every row is -inf. */
AI void out16(const float *xr, int64_t i, int64_t c, __mmask16 m0, __mmask16 m2, __mmask16 t, __m128i kf,
              const float *p0, const uint8_t *q0, const float *p1, const uint8_t *q1, float *hm2,
              uint8_t *hb2, int a0, float *y, uint8_t *map)
{
    __m512 v2 = _mm512_set1_ps(-INFINITY);
    __m128i b2 = _mm_setzero_si128();
    if (xr) {
        hmax16(xr, i, c, m0, m2, t, kf, &v2, &b2);
        _mm512_storeu_ps(hm2 + i, v2);
        _mm_storeu_si128((__m128i *)(hb2 + i), b2);
    }
    const __m512 v0 = _mm512_loadu_ps(p0 + i), v1 = _mm512_loadu_ps(p1 + i);
    const __m128i b1 = _mm_loadu_si128((const __m128i *)(q1 + i));
    __m128i k = a0 == 0 ? _mm_loadu_si128((const __m128i *)(q0 + i)) : _mm_add_epi8(b1, _mm_set1_epi8(3));
    const __mmask16 w1 = _mm512_cmp_ps_mask(v1, v0, _CMP_GT_OQ);
    __m512 best = _mm512_max_ps(v1, v0);
    k = _mm_mask_add_epi8(k, w1, b1, _mm_set1_epi8(3));
    const __mmask16 w2 = _mm512_cmp_ps_mask(v2, best, _CMP_GT_OQ);
    best = _mm512_max_ps(v2, best);
    k = _mm_mask_add_epi8(k, w2, b2, _mm_set1_epi8(6));
    if (t == 0xFFFF) {
        _mm512_storeu_ps(y + i, best);
        _mm_storeu_si128((__m128i *)(map + i), k);
    } else {
        _mm512_mask_storeu_ps(y + i, t, best);
        _mm_mask_storeu_epi8(map + i, t, k);
    }
}

/* Rows ahead that the kernels prefetch (past the tensor's end: prefetches do not fault). */
enum { PF = 2 };

/* Rows of work (floats): three (hm, hb) pairs (input row mod 3), a row of -inf; each wc + 16 long. */
#define ROW(g) ((g)->w * (g)->c + 16)

void odn_maxpool3_fwd_avx512(const struct odn_win *g, const float *x, float *y, uint8_t *map, int64_t n0,
                             int64_t n1, float *work)
{
    const int64_t c = g->c, wc = g->w * c, img = g->h * wc, row = ROW(g);
    const __mmask16 all = 0xFFFF;
    float *hm[3], *ninf = work + 6 * row;
    uint8_t *hb[3];
    for (int a = 0; a < 3; a++)
        hm[a] = work + 2 * a * row, hb[a] = (uint8_t *)(work + (2 * a + 1) * row);
    for (int64_t i = 0; i < row; i++)
        ninf[i] = -INFINITY;
    for (int64_t n = n0; n < n1; n++) {
        const float *xn = x + n * img;
        /* row 0's maxima: a pass of their own, every later row's in its output row's pass */
        for (int64_t i = 0; i < wc; i += 16) {
            const __mmask16 first = lanes(c - i);
            __m512 m;
            __m128i k;
            hmax16(xn, i, c, (__mmask16)(~first & lanes(wc - i)), lanes(wc - c - i), lanes(wc - i),
                   _mm_maskz_mov_epi8(first, _mm_set1_epi8(1)), &m, &k);
            _mm512_storeu_ps(hm[0] + i, m);
            _mm_storeu_si128((__m128i *)(hb[0] + i), k);
        }
        for (int64_t oh = 0; oh < g->h; oh++) {
            const float *xr = oh + 1 < g->h ? xn + (oh + 1) * wc : NULL;
            const float *p0 = oh > 0 ? hm[(oh - 1) % 3] : ninf, *p1 = hm[oh % 3];
            const uint8_t *q0 = oh > 0 ? hb[(oh - 1) % 3] : (const uint8_t *)ninf, *q1 = hb[oh % 3];
            float *hm2 = hm[(oh + 1) % 3], *yr = y + n * img + oh * wc;
            uint8_t *hb2 = hb[(oh + 1) % 3], *mr = map + n * img + oh * wc;
            const int a0 = oh > 0 ? 0 : 1;
            /* the next rows, PF rows ahead: x into L1, y (and its map row) for writing; without, the
             * loads and stores of this row wait on memory with the ALUs idle (measured: 1.3-1.7x slower) */
            {
                const char *px = (const char *)(xn + (oh + 1 + PF) * wc), *py = (const char *)(yr + PF * wc);
                const char *pm = (const char *)(mr + PF * wc);
                for (int64_t b = 0; b < wc * 4; b += 64) {
                    _mm_prefetch(px + b, _MM_HINT_T0);
                    _mm_prefetch(py + b, _MM_HINT_ET0);
                }
                for (int64_t b = 0; b < wc; b += 64)
                    _mm_prefetch(pm + b, _MM_HINT_ET0);
            }
            int64_t i = 0;
            for (; i < wc && (i < c || i + 16 + c > wc); i += 16) {
                const __mmask16 first = lanes(c - i);
                out16(xr, i, c, (__mmask16)(~first & lanes(wc - i)), lanes(wc - c - i), lanes(wc - i),
                      _mm_maskz_mov_epi8(first, _mm_set1_epi8(1)), p0, q0, p1, q1, hm2, hb2, a0, yr, mr);
            }
            if (xr && a0 == 0)
                for (; i + 16 + c <= wc; i += 16)
                    out16(xr, i, c, all, all, all, _mm_setzero_si128(), p0, q0, p1, q1, hm2, hb2, 0, yr, mr);
            else
                for (; i + 16 + c <= wc; i += 16)
                    out16(xr, i, c, all, all, all, _mm_setzero_si128(), p0, q0, p1, q1, hm2, hb2, a0, yr, mr);
            for (; i < wc; i += 16)
                out16(xr, i, c, all, lanes(wc - c - i), lanes(wc - i), _mm_setzero_si128(), p0, q0, p1, q1,
                      hm2, hb2, a0, yr, mr);
        }
    }
}

/* acc += the dy of output row (d, map row r) that input element i of the row a rows below it gets, per
 * column shift b: output (ow = w + 1 - b)'s dy where that output's winning cell is 3a + b. e0, e2: the lanes
 * whose output one pixel to the right (b = 0) or left (b = 2) lies inside the row (the others would read the
 * next or previous row's bytes, or past the tensor); every load is masked (to e, then to the match), so
 * nothing outside is touched. */
AI __m512 gather3(__m512 acc, const uint8_t *r, const float *d, int64_t i, int64_t c, int a, __mmask16 e0,
                  __mmask16 t, __mmask16 e2)
{
    const __mmask16 e[3] = {e0, t, e2};
    for (int b = 0; b < 3; b++) {
        const int64_t off = (1 - b) * c;
        if (!e[b]) /* the first (b = 2) or last (b = 0) pixel: no output there */
            continue;
        const __mmask16 hit = _mm_mask_cmpeq_epi8_mask(e[b], _mm_maskz_loadu_epi8(e[b], r + i + off),
                                                       _mm_set1_epi8((char)(3 * a + b)));
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(hit, d + i + off));
    }
    return acc;
}

/* One vector of input row h: e0, t, e2 as in gather3; r, d: NULL for rows outside the image. One sum per
 * row a, added at the end: shorter chains of dependent adds. */
AI void bwd16(const uint8_t *const *r, const float *const *d, int64_t i, int64_t c, __mmask16 e0, __mmask16 t,
              __mmask16 e2, float *o)
{
    __m512 acc = _mm512_setzero_ps();
    for (int a = 0; a < 3; a++)
        if (r[a])
            acc = gather3(acc, r[a], d[a], i, c, a, e0, t, e2);
    if (t == 0xFFFF)
        _mm512_storeu_ps(o + i, acc);
    else
        _mm512_mask_storeu_ps(o + i, t, acc);
}

/* One input row: the edge vectors (the first and last pixel's, and a partial last vector) with their
 * masks, the rest with none. */
AI void bwd_row(const uint8_t *const *r, const float *const *d, int64_t wc, int64_t c, float *o)
{
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i < wc && (i < c || i + 16 + c > wc); i += 16)
        bwd16(r, d, i, c, lanes(wc - c - i), lanes(wc - i), (__mmask16)(~lanes(c - i) & lanes(wc - i)), o);
    for (; i + 16 + c <= wc; i += 16)
        bwd16(r, d, i, c, all, all, all, o);
    for (; i < wc; i += 16)
        bwd16(r, d, i, c, lanes(wc - c - i), lanes(wc - i), lanes(wc - i), o);
}

void odn_maxpool3_bwd_avx512(const struct odn_win *g, const uint8_t *map, const float *dy, float *dx,
                             int64_t n0, int64_t n1)
{
    const int64_t c = g->c, wc = g->w * c, img = g->h * wc;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t h = 0; h < g->h; h++) {
            const uint8_t *r[3];
            const float *d[3];
            for (int a = 0; a < 3; a++) { /* output row h + 1 - a sends to input row h through cells 3a + b */
                const int64_t oh = h + 1 - a;
                const int in = oh >= 0 && oh < g->h;
                r[a] = in ? map + n * img + oh * wc : NULL;
                d[a] = in ? dy + n * img + oh * wc : NULL;
            }
            float *o = dx + n * img + h * wc;
            { /* dy and map PF rows ahead, dx for writing, as in the forward */
                const char *pd = (const char *)(dy + n * img + (h + 1 + PF) * wc),
                           *po = (const char *)(o + PF * wc);
                const char *pm = (const char *)(map + n * img + (h + 1 + PF) * wc);
                for (int64_t b = 0; b < wc * 4; b += 64) {
                    _mm_prefetch(pd + b, _MM_HINT_T0);
                    _mm_prefetch(po + b, _MM_HINT_ET0);
                }
                for (int64_t b = 0; b < wc; b += 64)
                    _mm_prefetch(pm + b, _MM_HINT_T0);
            }
            if (r[0] && r[1] && r[2]) { /* an inner row: every row's pointers known to be there */
                const uint8_t *const rr[3] = {r[0], r[1], r[2]};
                const float *const dd[3] = {d[0], d[1], d[2]};
                bwd_row(rr, dd, wc, c, o);
            } else {
                bwd_row(r, d, wc, c, o);
            }
        }
}
