/* onednn_dw.c - the depthwise k x k weight gradient, written by hand: oneDNN 2.6 has no JIT path for
 * depthwise 5x5 backward-weights on this CPU (a gemm path at 1-2% of peak, measured). Images are split
 * statically over the threads; each image is summed in fp32 and added into the thread's double partial, and
 * the partials are added in thread order, so that the result is deterministic for a given thread count.
 * Portable C here (any k, stride, padding; one image at a time through a float buffer); the AVX2 and
 * AVX-512 kernels (onednn_dw_avx2.c, onednn_dw_avx512.c: k 3, 5, 7 at stride 1 or 2) take the thread's
 * images at once and add each image's sums into the partial themselves. */
#include "onednn.h"

#include <omp.h>
#include <stdint.h>
#include <string.h>

void odn_dw_wei_c(const struct odn_win *g, const float *x, const float *dy, int64_t n0, int64_t n1, float *acc)
{
    const int64_t k = g->k, c = g->c;
    memset(acc, 0, (size_t)(k * k * c) * sizeof *acc);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t kh = 0; kh < k; kh++) {
                const int64_t ih = oh * g->stride - g->pad + kh;
                if (ih < 0 || ih >= g->h)
                    continue;
                for (int64_t ow = 0; ow < g->wo; ow++) {
                    const float *d = dy + ((n * g->ho + oh) * g->wo + ow) * c;
                    for (int64_t kw = 0; kw < k; kw++) {
                        const int64_t iw = ow * g->stride - g->pad + kw;
                        if (iw < 0 || iw >= g->w)
                            continue;
                        const float *xp = x + ((n * g->h + ih) * g->w + iw) * c;
                        float *a = acc + (kh * k + kw) * c;
                        for (int64_t j = 0; j < c; j++)
                            a[j] += d[j] * xp[j];
                    }
                }
            }
}

void odn_dw_wei(const struct odn_backend *be, const struct odn_win *g, const float *x, const float *dy,
                float *grad, double *part)
{
    const int64_t kkc = g->k * g->k * g->c;
    int want = be->threads < 1 ? 1 : be->threads;
    want = (int64_t)want > g->n ? (int)g->n : want;
    const int fast = (g->k == 3 || g->k == 5 || g->k == 7) && (g->stride == 1 || g->stride == 2);
    int used = 1;
    memset(part, 0, (size_t)want * (size_t)kkc * sizeof *part);
    float *fbuf = (float *)(part + (size_t)want * (size_t)kkc);
    /* the intrinsic kernels' work: 64-byte aligned, ODN_DW_WORK(g) floats (a multiple of 16) a thread */
    float *work = (float *)(((uintptr_t)(fbuf + (size_t)want * (size_t)kkc) + 63u) & ~(uintptr_t)63u);
#pragma omp parallel num_threads(want)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t n0 = g->n * t / nt, n1 = g->n * (t + 1) / nt;
        double *p = part + (size_t)t * (size_t)kkc;
        float *acc = fbuf + (size_t)t * (size_t)kkc, *wk = work + (size_t)t * ODN_DW_WORK(g);
        if (t == 0)
            used = nt;
        if (fast && be->avx512) {
            odn_dw_wei_avx512(g, x, dy, n0, n1, p, wk);
        } else if (fast && be->avx2) {
            odn_dw_wei_avx2(g, x, dy, n0, n1, p, wk);
        } else {
            for (int64_t n = n0; n < n1; n++) {
                odn_dw_wei_c(g, x, dy, n, n + 1, acc);
                for (int64_t i = 0; i < kkc; i++)
                    p[i] += (double)acc[i];
            }
        }
    }
    const int64_t k = g->k, c = g->c;
    for (int64_t i = 0; i < kkc; i++) {
        double sum = 0.0;
        for (int t = 0; t < used; t++)
            sum += part[(size_t)t * (size_t)kkc + (size_t)i];
        const int64_t kk = i / c, j = i % c; /* internal [kh][kw][c] -> the parameter's [c][kh][kw] */
        grad[j * k * k + kk] += (float)sum;
    }
}
