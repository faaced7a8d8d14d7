/* onednn_dw_avx512.c - the depthwise weight gradient of onednn_dw_avx2.c on AVX-512 (built with -mavx512f
 * -mfma; called only when the CPU has AVX-512F): 16 channels a vector, channel tails through mask registers
 * (cheap here, unlike AVX2's masked moves), and 32 vector registers, so the 2k accumulators of two output
 * columns, their dy and the shared x loads all stay in registers. k other than 3, 5, 7 goes to the C code. */
#include "onednn.h"

#include <immintrin.h>
#include <string.h>

/* One output row of image n, kernel row (input row xrow), channels [cb, cb+16) under mask m:
 * acc_kh[kw] += the row's sums. */
static inline __attribute__((always_inline)) void dw_row16(const int K, const struct odn_win *g, const float *xrow,
                                                            const float *dyrow, int64_t cb, __mmask16 m,
                                                            float *acc_kh)
{
    const int64_t c = g->c, s = g->stride, p = g->pad, w = g->w;
    __m512 a[7], b[7];
    for (int kw = 0; kw < K; kw++)
        a[kw] = b[kw] = _mm512_setzero_ps();
    int64_t ow = 0;
    for (; ow + 1 < g->wo; ow += 2) {
        const __m512 d0 = _mm512_maskz_loadu_ps(m, dyrow + ow * c + cb);
        const __m512 d1 = _mm512_maskz_loadu_ps(m, dyrow + (ow + 1) * c + cb);
        const int64_t i0 = ow * s - p, i1 = i0 + s;
        if (s == 1 && i0 >= 0 && i1 + K <= w) { /* the two columns share K-1 inputs */
            const float *q = xrow + i0 * c + cb;
            for (int j = 0; j <= K; j++, q += c) {
                const __m512 xv = _mm512_maskz_loadu_ps(m, q);
                if (j < K)
                    a[j] = _mm512_fmadd_ps(d0, xv, a[j]);
                if (j >= 1)
                    b[j - 1] = _mm512_fmadd_ps(d1, xv, b[j - 1]);
            }
        } else {
            for (int kw = 0; kw < K; kw++) {
                if (i0 + kw >= 0 && i0 + kw < w)
                    a[kw] = _mm512_fmadd_ps(d0, _mm512_maskz_loadu_ps(m, xrow + (i0 + kw) * c + cb), a[kw]);
                if (i1 + kw >= 0 && i1 + kw < w)
                    b[kw] = _mm512_fmadd_ps(d1, _mm512_maskz_loadu_ps(m, xrow + (i1 + kw) * c + cb), b[kw]);
            }
        }
    }
    for (; ow < g->wo; ow++) {
        const __m512 d = _mm512_maskz_loadu_ps(m, dyrow + ow * c + cb);
        const int64_t iw0 = ow * s - p;
        for (int kw = 0; kw < K; kw++)
            if (iw0 + kw >= 0 && iw0 + kw < w)
                a[kw] = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, xrow + (iw0 + kw) * c + cb), a[kw]);
    }
    for (int kw = 0; kw < K; kw++) {
        float *dst = acc_kh + kw * c + cb;
        const __m512 sum = _mm512_add_ps(a[kw], b[kw]);
        _mm512_mask_storeu_ps(dst, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst), sum));
    }
}

static inline __attribute__((always_inline)) void dw_image16(const int K, const struct odn_win *g, const float *x,
                                                              const float *dy, int64_t n, float *acc)
{
    const int64_t c = g->c;
    for (int64_t oh = 0; oh < g->ho; oh++)
        for (int kh = 0; kh < K; kh++) {
            const int64_t ih = oh * g->stride - g->pad + kh;
            if (ih < 0 || ih >= g->h)
                continue;
            const float *xrow = x + (n * g->h + ih) * g->w * c, *dyrow = dy + (n * g->ho + oh) * g->wo * c;
            for (int64_t cb = 0; cb < c; cb += 16) {
                const int64_t rest = c - cb < 16 ? c - cb : 16;
                const __mmask16 m = (__mmask16)((1u << rest) - 1u);
                dw_row16(K, g, xrow, dyrow, cb, m, acc + kh * K * c);
            }
        }
}

void odn_dw_wei_avx512(const struct odn_win *g, const float *x, const float *dy, int64_t n0, int64_t n1,
                       float *acc)
{
    if (g->k != 3 && g->k != 5 && g->k != 7) {
        odn_dw_wei_c(g, x, dy, n0, n1, acc);
        return;
    }
    memset(acc, 0, (size_t)(g->k * g->k * g->c) * sizeof *acc);
    for (int64_t n = n0; n < n1; n++) {
        if (g->k == 3)
            dw_image16(3, g, x, dy, n, acc);
        else if (g->k == 5)
            dw_image16(5, g, x, dy, n, acc);
        else
            dw_image16(7, g, x, dy, n, acc);
    }
}
