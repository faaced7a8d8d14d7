/* onednn_dw.c - the depthwise k x k weight gradient, written by hand: oneDNN 2.6 has no JIT path for
 * depthwise 5x5 backward-weights on this CPU (a gemm path at 1-2% of peak, measured). Images are split
 * statically over the threads; each image is summed in fp32 and added into the thread's double partial, and
 * the partials are added in thread order, so that the result is deterministic for a given thread count.
 * Portable C here (any k, stride, padding; one image at a time through a float buffer); the AVX2 and
 * AVX-512 kernels (onednn_dw_avx2.c, onednn_dw_avx512.c: k 3, 5, 7 at stride 1 or 2) take the thread's
 * images at once and add each image's sums into the partial themselves. relu (relu_input): x is rectified as
 * it is read. Below, the dispatchers of the AVX-512 depthwise forward and backward-data
 * (onednn_dwf_avx512.c). */
#include "onednn.h"

#include <omp.h>
#include <stdint.h>
#include <string.h>

void odn_dw_wei_c(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0, int64_t n1,
                  float *acc)
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
                        if (relu)
                            for (int64_t j = 0; j < c; j++)
                                a[j] += d[j] * (xp[j] > 0.0f ? xp[j] : 0.0f);
                        else
                            for (int64_t j = 0; j < c; j++)
                                a[j] += d[j] * xp[j];
                    }
                }
            }
}

/* The backend's threads, but no more than there are images (the kernels split images). */
static int dw_threads(const struct odn_backend *be, const struct odn_win *g)
{
    const int want = be->threads < 1 ? 1 : be->threads;
    return (int64_t)want > g->n ? (int)g->n : want;
}

void odn_dw_wei(const struct odn_backend *be, const struct odn_win *g, int relu, const float *x,
                const float *dy, float *grad, double *part)
{
    const int64_t kkc = g->k * g->k * g->c;
    const int want = dw_threads(be, g);
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
            odn_dw_wei_avx512(g, relu, x, dy, n0, n1, p, wk);
        } else if (fast && be->avx2) {
            odn_dw_wei_avx2(g, relu, x, dy, n0, n1, p, wk);
        } else {
            for (int64_t n = n0; n < n1; n++) {
                odn_dw_wei_c(g, relu, x, dy, n, n + 1, acc);
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

/* The depthwise forward and backward-data by the AVX-512 kernels (onednn_dwf_avx512.c): the weights
 * transposed to [kh][kw][c] (flipped for the backward-data) at the front of scratch, then each thread's
 * work; images split statically over the threads. */
int odn_dw_covers(const struct odn_backend *be, const struct odn_win *g, int bwd_data, int relu)
{
    /* Backward-data at stride 2 (a transposed convolution with holes) stays on oneDNN: not written yet.
     * 3x3 without relu_input stays on oneDNN too: bound by memory there, and oneDNN's loses less to it
     * (bench_ops, one thread, N=128, ms hand / oneDNN, two runs: fwd C36 32x32 5.6 / 4.7, 5.5 / 4.8, C72
     * 16x16 2.4 / 1.7, 2.0 / 1.5, C144 8x8 0.67 / 0.58 twice, C40 16x16 1.06 / 0.90, 0.67 / 0.63; only C20
     * 32x32 wins, 2.2 / 2.5, 2.2 / 2.3; bwd_data within 0.9-1.2x). With relu_input the hand kernels win at
     * 3x3 as well: they save the rectified copy and the mask pass (fwd C20 32x32 2.6 against 4.3 for the copy
     * and oneDNN, C36 5.5 against 11.2). */
    return be->avx512 && (g->k == 5 || g->k == 7 || (g->k == 3 && relu)) &&
           (g->stride == 1 || (g->stride == 2 && !bwd_data)) && g->pad >= 0 && g->pad <= g->k / 2 &&
           g->ho >= 1 && g->wo >= 1 && g->c >= 1 && g->n >= 1;
}

static float *dwf_weights(const struct odn_win *g, const float *w, int flip, void *scratch)
{
    float *wt = (float *)(((uintptr_t)scratch + 63u) & ~(uintptr_t)63u);
    const int64_t k = g->k, kk = k * k, c = g->c;
    for (int64_t i = 0; i < kk; i++) {
        const int64_t src = flip ? kk - 1 - i : i; /* flipped: (k-1-kh, k-1-kw) */
        for (int64_t j = 0; j < c; j++)
            wt[i * c + j] = w[j * kk + src];
    }
    return wt;
}

static float *dwf_work(const struct odn_win *g, float *wt)
{
    return (float *)(((uintptr_t)(wt + g->k * g->k * g->c) + 63u) & ~(uintptr_t)63u);
}

/* The forward (bwd 0: in = x, ReLU of it with relu) or the backward-data (bwd 1: in = dy, the flipped
 * kernel, dx zeroed where mask <= 0 when mask is not NULL) over the images, split over the threads. */
static int dwf_run(const struct odn_backend *be, const struct odn_win *g, int bwd, int relu,
                   const float *mask, const float *in, const float *w, float *out, void *scratch)
{
    if (!odn_dw_covers(be, g, bwd, bwd ? mask != NULL : relu))
        return 0;
    float *wt = dwf_weights(g, w, bwd, scratch), *work = dwf_work(g, wt);
#pragma omp parallel num_threads(dw_threads(be, g))
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t n0 = g->n * t / nt, n1 = g->n * (t + 1) / nt;
        float *wk = work + (size_t)t * odn_dwf_work(g);
        if (bwd)
            odn_dw_bwd_data_avx512(g, mask, wt, in, out, n0, n1, wk);
        else
            odn_dw_fwd_avx512(g, relu, in, wt, out, n0, n1, wk);
    }
    return 1;
}

int odn_dw_fwd(const struct odn_backend *be, const struct odn_win *g, int relu, const float *x,
               const float *w, float *y, void *scratch)
{
    return dwf_run(be, g, 0, relu, NULL, x, w, y, scratch);
}

int odn_dw_bwd_data(const struct odn_backend *be, const struct odn_win *g, const float *mask, const float *w,
                    const float *dy, float *dx, void *scratch)
{
    return dwf_run(be, g, 1, 0, mask, dy, w, dx, scratch);
}
