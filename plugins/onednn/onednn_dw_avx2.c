/* onednn_dw_avx2.c - AVX2/FMA depthwise k x k weight gradient (built with -mavx2 -mfma; called only when the
 * CPU has both), k 3, 5, 7 at stride 1 or 2. The design of onednn_dw_avx512.c on blocks of 8 channels and 16
 * registers: per image and block, x is copied into a zero-padded buffer ((h+2p) x (w+2p) x 8 floats, tail
 * lanes zero) so that the inner loop has no boundary tests, and the accumulators of a group of kernel rows
 * stay in registers across the whole image, one pass over the buffer per group; dy is read in place. 3x3:
 * all 9, two output columns a step sharing their x loads; 5x5: rows {0,1} and {2,3} likewise, then row 4
 * with separate accumulators for the two columns (else each would take a chain of two FMAs a step); 7x7: two
 * rows, one column a step, x as the FMA's memory operand. The next image is prefetched into L2 while one is
 * summed, at the start of each output row (spread into the inner loop as on AVX-512: 20% slower here,
 * measured), and each image's fp32 sums are added into the caller's double partial. Channel tails: masked
 * loads, never masked stores (microcoded on AMD); no packing of tails across images as on AVX-512. The empty
 * asm statements keep GCC 12 from holding the x vectors that the next step reloads in registers (predictive
 * commoning: the accumulators spill) and from folding one x load into each of two FMAs (checked in the
 * generated code). */
#include "onednn.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

enum { ONE, PAIR, PAIR_SEP }; /* one output column a step; two sharing accumulators; two with their own */

/* Prefetch of the next image into L2: two streams of lines (x, dy), per[] lines of each per output row. */
struct pf {
    const char *at[2], *end[2];
    int64_t per[2];
};

AI void pf_row(struct pf *f)
{
    for (int s = 0; s < 2; s++)
        for (int64_t i = 0; i < f->per[s] && f->at[s] < f->end[s]; i++, f->at[s] += 64)
            _mm_prefetch(f->at[s], _MM_HINT_T1);
}

AI __m256 ld(const float *p, const int full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/* sum[0, lanes) += v in double */
AI void fold(double *sum, __m256 v, int64_t lanes)
{
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                  hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    if (lanes == 8) {
        _mm256_storeu_pd(sum, _mm256_add_pd(_mm256_loadu_pd(sum), lo));
        _mm256_storeu_pd(sum + 4, _mm256_add_pd(_mm256_loadu_pd(sum + 4), hi));
    } else {
        double t[8];
        _mm256_storeu_pd(t, lo);
        _mm256_storeu_pd(t + 4, hi);
        for (int64_t j = 0; j < lanes; j++)
            sum[j] += t[j];
    }
}

/* Kernel rows [kh0, kh0+R) of a K x K window at stride S in MODE (R, K, S, MODE, full literals) over one
 * block: xb the padded block (row pitch wp vectors), d0p the image's dy at the block's first channel (pixel
 * stride c; masked loads unless full). The R*K sums are added into sum[(kh*K + kw)*c + cb], lanes channels.
 */
AI void dw_rows(const int K, const int R, const int S, const int MODE, const struct odn_win *g,
                const float *xb, const float *d0p, const int full, __m256i mask, int kh0, int64_t cb,
                int64_t lanes, double *sum, struct pf *f)
{
    const int64_t c = g->c, wp = g->w + 2 * g->pad, ho = g->ho, wo = g->wo;
    __m256 a[14], b[14];
#pragma GCC unroll 14
    for (int i = 0; i < R * K; i++)
        a[i] = b[i] = _mm256_setzero_ps();
    for (int64_t oh = 0; oh < ho; oh++) {
        const float *xr[7], *d = d0p + oh * wo * c;
#pragma GCC unroll 7
        for (int r = 0; r < R; r++)
            xr[r] = xb + (oh * S + kh0 + r) * wp * 8;
        pf_row(f);
        int64_t ow = 0;
        for (; MODE != ONE && ow + 1 < wo; ow += 2, d += 2 * c) {
#pragma GCC unroll 7
            for (int r = 0; r < R; r++) /* opaque row pointers (see the header) */
                __asm__("" : "+r"(xr[r]));
            const __m256 d0 = ld(d, full, mask), d1 = ld(d + c, full, mask);
#pragma GCC unroll 7
            for (int r = 0; r < R; r++) {
                /* column ow reads x[0, K), column ow+1 x[S, S+K) of this kernel row */
#pragma GCC unroll 9
                for (int j = 0; j < K + S; j++) {
                    __m256 xv = _mm256_load_ps(xr[r] + j * 8);
                    __asm__("" : "+x"(xv)); /* one load for both FMAs (see the header) */
                    if (j < K)
                        a[r * K + j] = _mm256_fmadd_ps(d0, xv, a[r * K + j]);
                    if (j >= S && MODE == PAIR_SEP)
                        b[r * K + j - S] = _mm256_fmadd_ps(d1, xv, b[r * K + j - S]);
                    if (j >= S && MODE == PAIR)
                        a[r * K + j - S] = _mm256_fmadd_ps(d1, xv, a[r * K + j - S]);
                }
                xr[r] += 2 * S * 8;
            }
        }
        for (; ow < wo; ow++, d += c) { /* ONE: every column; else the last of an odd wo */
#pragma GCC unroll 7
            for (int r = 0; r < R; r++)
                __asm__("" : "+r"(xr[r]));
            const __m256 d0 = ld(d, full, mask);
#pragma GCC unroll 7
            for (int r = 0; r < R; r++) {
#pragma GCC unroll 7
                for (int j = 0; j < K; j++)
                    a[r * K + j] = _mm256_fmadd_ps(d0, _mm256_load_ps(xr[r] + j * 8), a[r * K + j]);
                xr[r] += S * 8;
            }
        }
    }
#pragma GCC unroll 14
    for (int i = 0; i < R * K; i++) {
        __m256 v = a[i];
        if (MODE == PAIR_SEP)
            v = _mm256_add_ps(v, b[i]);
        fold(sum + (kh0 * K + i) * c + cb, v, lanes);
    }
}

/* One block of one image: x into the padded buffer xb (its border is zero already), then the row groups. */
AI void dw_block(const int K, const int S, const struct odn_win *g, int relu, const float *xn,
                 const float *dyn, const int full, __m256i mask, int64_t cb, float *xb, double *sum,
                 struct pf *f)
{
    const int64_t c = g->c, w = g->w, p = g->pad, wp = w + 2 * p, lanes = full ? 8 : c - cb;
    for (int64_t ih = 0; ih < g->h; ih++) {
        const float *src = xn + ih * w * c + cb;
        float *dst = xb + ((ih + p) * wp + p) * 8;
        for (int64_t iw = 0; iw < w; iw++) { /* relu_input: rectified here, no copy of the tensor */
            const __m256 v = ld(src + iw * c, full, mask);
            _mm256_store_ps(dst + iw * 8, relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v);
        }
    }
    const float *d = dyn + cb;
    if (K == 3) {
        dw_rows(3, 3, S, PAIR, g, xb, d, full, mask, 0, cb, lanes, sum, f);
    } else if (K == 5) {
        dw_rows(5, 2, S, PAIR, g, xb, d, full, mask, 0, cb, lanes, sum, f);
        dw_rows(5, 2, S, PAIR, g, xb, d, full, mask, 2, cb, lanes, sum, f);
        dw_rows(5, 1, S, PAIR_SEP, g, xb, d, full, mask, 4, cb, lanes, sum, f);
    } else {
        for (int kh0 = 0; kh0 < 6; kh0 += 2)
            dw_rows(7, 2, S, ONE, g, xb, d, full, mask, kh0, cb, lanes, sum, f);
        dw_rows(7, 1, S, ONE, g, xb, d, full, mask, 6, cb, lanes, sum, f);
    }
}

AI void dw_images(const int K, const int S, const struct odn_win *g, int relu, const float *x,
                  const float *dy, int64_t n0, int64_t n1, double *sum, float *work)
{
    const int64_t c = g->c, h = g->h, w = g->w, p = g->pad, wp = w + 2 * p;
    const int64_t xsz = h * w * c, dsz = g->ho * g->wo * c;
    const int64_t passes = K == 3 ? 1 : K == 5 ? 3 : 4, rows = (c + 7) / 8 * g->ho * passes; /* an image */
    for (int64_t i = 0; i < h + 2 * p; i++) /* the padded buffer's border */
        for (int64_t j = 0; j < wp; j++)
            if (i < p || i >= p + h || j < p || j >= p + w)
                _mm256_store_ps(work + (i * wp + j) * 8, _mm256_setzero_ps());
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(c - (c - 1) / 8 * 8)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int64_t n = n0; n < n1; n++) {
        const float *xn = x + n * xsz, *dyn = dy + n * dsz;
        struct pf f = {.at = {(const char *)(xn + xsz), (const char *)(dyn + dsz)}};
        f.end[0] = f.at[0] + (n + 1 < n1 ? xsz * 4 : 0);
        f.end[1] = f.at[1] + (n + 1 < n1 ? dsz * 4 : 0);
        f.per[0] = (xsz * 4 / 64 + rows) / rows;
        f.per[1] = (dsz * 4 / 64 + rows) / rows;
        int64_t cb = 0;
        for (; cb + 8 <= c; cb += 8) /* full blocks, then the tail: literal, no branch per load */
            dw_block(K, S, g, relu, xn, dyn, 1, tail, cb, work, sum, &f);
        if (cb < c)
            dw_block(K, S, g, relu, xn, dyn, 0, tail, cb, work, sum, &f);
    }
}

/* Images [n0, n1): sum += each image's sums; work: ODN_DW_WORK(g) floats, 64-byte aligned. */
void odn_dw_wei_avx2(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0,
                     int64_t n1, double *sum, float *work)
{
    const int64_t k = g->k, s = g->stride;
    if (k == 3 && s == 1)
        dw_images(3, 1, g, relu, x, dy, n0, n1, sum, work);
    else if (k == 3)
        dw_images(3, 2, g, relu, x, dy, n0, n1, sum, work);
    else if (k == 5 && s == 1)
        dw_images(5, 1, g, relu, x, dy, n0, n1, sum, work);
    else if (k == 5)
        dw_images(5, 2, g, relu, x, dy, n0, n1, sum, work);
    else if (s == 1)
        dw_images(7, 1, g, relu, x, dy, n0, n1, sum, work);
    else
        dw_images(7, 2, g, relu, x, dy, n0, n1, sum, work);
}
