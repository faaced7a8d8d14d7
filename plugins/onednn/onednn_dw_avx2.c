/* onednn_dw_avx2.c - AVX2/FMA depthwise weight gradient (built with -mavx2 -mfma; called only when the CPU
 * has both). For one output row, kernel row and block of 8 channels, the k accumulators of the kernel
 * columns stay in registers across the whole row, so each FMA costs one load of x; channel tails use
 * masked loads (never masked stores, which are microcoded on AMD). k other than 3, 5, 7 goes to the C code. */
#include "onednn.h"

#include <immintrin.h>
#include <string.h>

static inline __m256 ld(const float *p, int full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/* One output row oh of image n, kernel row kh (input row ih), channels [cb, cb+8): acc[kw] += sums. */
static inline __attribute__((always_inline)) void dw_row(const int K, const struct odn_win *g, const float *xrow,
                                                          const float *dyrow, int64_t cb, const int full,
                                                          __m256i mask, float *acc_kh)
{
    const int64_t c = g->c, s = g->stride, p = g->pad, w = g->w;
    __m256 a[7], b[7]; /* two output columns at a time: 2k independent FMA chains hide the latency */
    for (int kw = 0; kw < K; kw++)
        a[kw] = b[kw] = _mm256_setzero_ps();
    int64_t ow = 0;
    for (; ow + 1 < g->wo; ow += 2) {
        const __m256 d0 = ld(dyrow + ow * c + cb, full, mask), d1 = ld(dyrow + (ow + 1) * c + cb, full, mask);
        const int64_t i0 = ow * s - p, i1 = i0 + s;
        if (s == 1 && i0 >= 0 && i1 + K <= w) {
            /* stride 1: the two columns share K-1 inputs; K+1 loads along one pointer, no spills */
            const float *q = xrow + i0 * c + cb;
            for (int j = 0; j <= K; j++, q += c) {
                const __m256 xv = ld(q, full, mask);
                if (j < K)
                    a[j] = _mm256_fmadd_ps(d0, xv, a[j]);
                if (j >= 1)
                    b[j - 1] = _mm256_fmadd_ps(d1, xv, b[j - 1]);
            }
        } else if (i0 >= 0 && i1 + K <= w) {
            for (int kw = 0; kw < K; kw++) {
                a[kw] = _mm256_fmadd_ps(d0, ld(xrow + (i0 + kw) * c + cb, full, mask), a[kw]);
                b[kw] = _mm256_fmadd_ps(d1, ld(xrow + (i1 + kw) * c + cb, full, mask), b[kw]);
            }
        } else {
            for (int kw = 0; kw < K; kw++) {
                if (i0 + kw >= 0 && i0 + kw < w)
                    a[kw] = _mm256_fmadd_ps(d0, ld(xrow + (i0 + kw) * c + cb, full, mask), a[kw]);
                if (i1 + kw >= 0 && i1 + kw < w)
                    b[kw] = _mm256_fmadd_ps(d1, ld(xrow + (i1 + kw) * c + cb, full, mask), b[kw]);
            }
        }
    }
    for (; ow < g->wo; ow++) {
        const __m256 d = ld(dyrow + ow * c + cb, full, mask);
        const int64_t iw0 = ow * s - p;
        for (int kw = 0; kw < K; kw++)
            if (iw0 + kw >= 0 && iw0 + kw < w)
                a[kw] = _mm256_fmadd_ps(d, ld(xrow + (iw0 + kw) * c + cb, full, mask), a[kw]);
    }
    for (int kw = 0; kw < K; kw++)
        a[kw] = _mm256_add_ps(a[kw], b[kw]);
    for (int kw = 0; kw < K; kw++) {
        float *dst = acc_kh + kw * c + cb;
        if (full) {
            _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), a[kw]));
        } else {
            float t[8];
            _mm256_storeu_ps(t, a[kw]);
            for (int64_t j = 0; j < c - cb; j++)
                dst[j] += t[j];
        }
    }
}

static inline __attribute__((always_inline)) void dw_image(const int K, const struct odn_win *g, const float *x,
                                                            const float *dy, int64_t n, float *acc)
{
    const int64_t c = g->c;
    for (int64_t oh = 0; oh < g->ho; oh++)
        for (int kh = 0; kh < K; kh++) {
            const int64_t ih = oh * g->stride - g->pad + kh;
            if (ih < 0 || ih >= g->h)
                continue;
            const float *xrow = x + (n * g->h + ih) * g->w * c, *dyrow = dy + (n * g->ho + oh) * g->wo * c;
            for (int64_t cb = 0; cb < c; cb += 8) {
                const int full = cb + 8 <= c;
                const int rest = full ? 8 : (int)(c - cb);
                const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest),
                                                        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                if (full) /* literal: each variant is compiled without a branch per load */
                    dw_row(K, g, xrow, dyrow, cb, 1, mask, acc + kh * K * c);
                else
                    dw_row(K, g, xrow, dyrow, cb, 0, mask, acc + kh * K * c);
            }
        }
}

void odn_dw_wei_avx2(const struct odn_win *g, const float *x, const float *dy, int64_t n0, int64_t n1, float *acc)
{
    if (g->k != 3 && g->k != 5 && g->k != 7) {
        odn_dw_wei_c(g, x, dy, n0, n1, acc);
        return;
    }
    memset(acc, 0, (size_t)(g->k * g->k * g->c) * sizeof *acc);
    for (int64_t n = n0; n < n1; n++) {
        if (g->k == 3)
            dw_image(3, g, x, dy, n, acc);
        else if (g->k == 5)
            dw_image(5, g, x, dy, n, acc);
        else
            dw_image(7, g, x, dy, n, acc);
    }
}
