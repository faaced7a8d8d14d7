/* onednn_dw_avx512.c - the depthwise k x k weight gradient on AVX-512 (built with -mavx512f -mfma; called
 * only when the CPU has AVX-512F), k 3, 5, 7 at stride 1 or 2; 8-12x oneDNN 2.6's at 5x5 (its gemm path).
 * Per image and block of 16 channels, ALL the k x k accumulators stay in registers across the whole image
 * (25 of the 32 zmm for 5x5; 7x7 in two passes of 4 and 3 kernel rows), two output columns a step: they share
 * k-s of the k input vectors of each kernel row, so a load of x feeds up to two FMAs (one load per FMA is
 * load-bound here: measured). The input rows are copied, as the window comes down, into a ring of
 * zero-padded rows, so the inner loop has no boundary tests; dy is read in place. The channel tail of several
 * images shares one vector (C = 20, 36: 4 channels, 4 images). While an image is summed, the next one's x
 * and dy are prefetched into L2 (without: 15-45% slower, bound by memory). Each image's fp32 sums are added
 * into the caller's double partial, images in order (deterministic, as onednn_dw.c needs). relu_input: x is
 * rectified as it is copied into the ring (no rectified copy of the tensor). */
#include "onednn.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

/* Prefetch of the next image into L2: two streams of lines (x, dy), per[] lines of each an output row, STEP
 * of them a step of the inner loop and the rest when the row starts (all at the row start: measured 5-15%
 * slower at C = 20, 36 when the machine's memory is busy). */
struct pf {
    const char *at[2], *end[2];
    int64_t per[2];
};

enum { STEP = 2 };

AI void pf_lines(struct pf *f, int s, int64_t lines)
{
    for (int64_t i = 0; i < lines && f->at[s] < f->end[s]; i++, f->at[s] += 64)
        _mm_prefetch(f->at[s], _MM_HINT_T1);
}

AI void pf_step(struct pf *f)
{
    pf_lines(f, 0, STEP);
    pf_lines(f, 1, STEP);
}

/* a += d * x[0, 16) and b += e * the same x, with one load; a += d * x (x from memory). In asm: from
 * intrinsics GCC 12 either folds the load into both FMAs (load-bound here) or, keeping x in a register,
 * writes FMA results into it and copies them back to the accumulators (40+ moves a step): both measured. */
AI void fma2(__m512 *a, __m512 *b, __m512 d, __m512 e, const float *x)
{
    __m512 t;
    __asm__("vmovups {%[x], %[t]|%[t], %[x]}\n\t"
            "vfmadd231ps {%[t], %[d], %[a]|%[a], %[d], %[t]}\n\t"
            "vfmadd231ps {%[t], %[e], %[b]|%[b], %[e], %[t]}"
            : [a] "+v"(*a), [b] "+v"(*b), [t] "=&v"(t)
            : [d] "v"(d), [e] "v"(e), [x] "m"(*(const __m512 *)x));
}

AI void fma1(__m512 *a, __m512 d, const float *x)
{
    __asm__("vfmadd231ps {%[x], %[d], %[a]|%[a], %[d], %[x]}"
            : [a] "+v"(*a)
            : [d] "v"(d), [x] "m"(*(const __m512 *)x));
}

/* What one pass sums: channels [cb, cb+t) of gi images. gi = 1: lanes under m[0] (all 16, or the channel
 * tail); gi > 1 packs the small tails of gi images into one vector, image i in lanes [i*t, i*t+t) (m[i]).
 * x[i] and dy[i] point at image i's channel cb, less i*t, so that lane l of a load reads channel l - i*t. */
struct blk {
    const float *x[16], *dy[16];
    __mmask16 m[16];
    int gi;
    int relu; /* relu_input: x rectified as it is copied into the ring */
    int64_t cb, t;
};

/* One pixel of every image of k: the floats at offset off from each x (or dy) pointer, merged by lanes. */
AI __m512 gather(const struct blk *k, const float *const *ptr, int64_t off)
{
    __m512 v = _mm512_maskz_loadu_ps(k->m[0], ptr[0] + off);
    for (int i = 1; i < k->gi; i++)
        v = _mm512_mask_loadu_ps(v, k->m[i], ptr[i] + off);
    return v;
}

/* sum[0, 16) += v in double, lanes under m */
AI void fold_lanes(double *sum, __m512 v, __mmask16 m)
{
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __mmask8 ml = (__mmask8)(m & 0xFF), mh = (__mmask8)(m >> 8);
    _mm512_mask_storeu_pd(sum, ml, _mm512_add_pd(_mm512_maskz_loadu_pd(ml, sum), lo));
    _mm512_mask_storeu_pd(sum + 8, mh, _mm512_add_pd(_mm512_maskz_loadu_pd(mh, sum + 8), hi));
}

/* sum[0, t) += v's sums of the channels of k: each image's fp32 sums added in double, images in order.
 * (Vector code only: a store of the accumulators to a stack array makes GCC copy them around in the loop.) */
AI void fold(const struct blk *k, double *sum, __m512 v)
{
    if (k->gi == 1) {
        fold_lanes(sum, v, k->m[0]);
        return;
    }
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int i = 0; i < k->gi; i++) /* image i's lanes down to 0 */
        fold_lanes(sum, _mm512_permutexvar_ps(_mm512_add_epi32(lane, _mm512_set1_epi32(i * (int)k->t)), v),
                   k->m[0]);
}

/* Kernel rows [kh0, kh0+R) of a K x K window at stride S (R, K, S literals) over the channels of k: the R*K
 * sums are added into sum[(kh*K + kw)*c + cb]. ring: R rows of wp vectors, padded row i in slot i % R, its p
 * left and right vectors zero; rows in the top or bottom padding read zrow (wp zero vectors). dy is read in
 * place (gi = 1) or packed a row at a time into drow (wo vectors). With few accumulators (3x3) the second
 * column gets its own (sep), so that an accumulator takes one FMA a step instead of a chain of two. */
AI void dw_rows(const int K, const int R, const int S, const struct odn_win *g, const struct blk *k, int kh0,
                float *ring, const float *zrow, float *drow, double *sum, struct pf *f)
{
    const int sep = 2 * R * K + 3 <= 32;
    const int64_t c = g->c, h = g->h, w = g->w, p = g->pad, wp = w + 2 * p, ho = g->ho, wo = g->wo;
    const int64_t ds = k->gi == 1 ? c : 16;             /* dy pixel stride */
    const __mmask16 dm = k->gi == 1 ? k->m[0] : 0xFFFF; /* its lanes (in place: not past the channels) */

    __m512 a[28], b[28];
#pragma GCC unroll 28
    for (int i = 0; i < R * K; i++)
        a[i] = b[i] = _mm512_setzero_ps();
    for (int r = 0; r < R; r++) /* the ring's left and right padding */
        for (int64_t j = 0; j < p; j++) {
            _mm512_store_ps(ring + (r * wp + j) * 16, _mm512_setzero_ps());
            _mm512_store_ps(ring + (r * wp + p + w + j) * 16, _mm512_setzero_ps());
        }
    int64_t next = 0; /* the next padded row to bring into the ring */
    for (int64_t oh = 0; oh < ho; oh++) {
        const int64_t top = oh * S + kh0; /* padded row of kernel row kh0 */
        if (next < top)
            next = top;
        for (; next < top + R; next++) {
            const int64_t ih = next - p;
            if (ih < 0 || ih >= h)
                continue;
            float *dst = ring + ((next % R) * wp + p) * 16;
            for (int64_t iw = 0; iw < w; iw++) {
                __m512 v = gather(k, k->x, (ih * w + iw) * c);
                _mm512_store_ps(dst + iw * 16, k->relu ? _mm512_max_ps(v, _mm512_setzero_ps()) : v);
            }
        }
        const float *xr[7];
#pragma GCC unroll 7
        for (int r = 0; r < R; r++) {
            const int64_t ih = top + r - p;
            xr[r] = ih < 0 || ih >= h ? zrow : ring + ((top + r) % R) * wp * 16;
        }
        const float *d = k->dy[0] + oh * wo * c;
        if (k->gi > 1) {
            for (int64_t ow = 0; ow < wo; ow++)
                _mm512_store_ps(drow + ow * 16, gather(k, k->dy, (oh * wo + ow) * c));
            d = drow;
        }
        pf_lines(f, 0, f->per[0] - wo / 2 * STEP);
        pf_lines(f, 1, f->per[1] - wo / 2 * STEP);
        int64_t ow = 0;
        for (; ow + 1 < wo; ow += 2, d += 2 * ds) {
            const __m512 d0 = _mm512_maskz_loadu_ps(dm, d), d1 = _mm512_maskz_loadu_ps(dm, d + ds);
            pf_step(f);
#pragma GCC unroll 7
            for (int r = 0; r < R; r++) {
                /* column ow reads x[0, K), column ow+1 x[S, S+K) of this kernel row */
#pragma GCC unroll 9
                for (int j = 0; j < K + S; j++) {
                    const float *q = xr[r] + j * 16;
                    if (j < S)
                        fma1(&a[r * K + j], d0, q);
                    else if (j >= K)
                        fma1(sep ? &b[r * K + j - S] : &a[r * K + j - S], d1, q);
                    else
                        fma2(&a[r * K + j], sep ? &b[r * K + j - S] : &a[r * K + j - S], d0, d1, q);
                }
                xr[r] += 2 * S * 16;
            }
        }
        if (ow < wo) { /* odd wo: the last column alone */
            const __m512 d0 = _mm512_maskz_loadu_ps(dm, d);
#pragma GCC unroll 7
            for (int r = 0; r < R; r++)
#pragma GCC unroll 7
                for (int j = 0; j < K; j++)
                    fma1(&a[r * K + j], d0, xr[r] + j * 16);
        }
    }
#pragma GCC unroll 28
    for (int i = 0; i < R * K; i++) {
        __m512 v = a[i];
        if (sep)
            v = _mm512_add_ps(v, b[i]);
        fold(k, sum + (kh0 * K + i) * c + k->cb, v);
    }
}

/* Every kernel row over the channels of k: 7x7 (49 accumulators) in two passes, rows 0-3 then 4-6. */
AI void dw_pass(const int K, const int S, const struct odn_win *g, const struct blk *k, float *ring,
                const float *zrow, float *drow, double *sum, struct pf *f)
{
    if (K == 7) {
        dw_rows(7, 4, S, g, k, 0, ring, zrow, drow, sum, f);
        dw_rows(7, 3, S, g, k, 4, ring, zrow, drow, sum, f);
    } else {
        dw_rows(K, K, S, g, k, 0, ring, zrow, drow, sum, f);
    }
}

/* Images [n0, n1): each image's full blocks of 16 channels, then the channel tail (t = c % 16) of up to 16/t
 * images at once (one image when t > 8): a tail of 4 channels costs a quarter of a block an image, not a
 * whole block (C = 20, 36: a third less arithmetic; measured 2-11% faster, the rest is memory). */
AI void dw_images(const int K, const int S, const struct odn_win *g, int relu, const float *x,
                  const float *dy, int64_t n0, int64_t n1, double *sum, float *work)
{
    const int64_t c = g->c, wp = g->w + 2 * g->pad, xsz = g->h * g->w * c, dsz = g->ho * g->wo * c;
    const int64_t nbf = c / 16, t = c % 16, G = t && t <= 8 ? 16 / t : 1, passes = K == 7 ? 2 : 1;
    int64_t rows = (nbf * g->ho + (t ? (g->ho + G - 1) / G : 0)) * passes; /* output rows summed an image */
    rows = rows < 1 ? 1 : rows;
    float *zrow = work, *drow = work + wp * 16, *ring = work + 2 * wp * 16;
    for (int64_t j = 0; j < wp; j++)
        _mm512_store_ps(zrow + j * 16, _mm512_setzero_ps());
    struct pf f = {{NULL, NULL}, {NULL, NULL}, {0, 0}};
    for (int64_t n = n0; n < n1; n += G) {
        const int gn = (int)(n1 - n < G ? n1 - n : G);
        struct blk k = {.gi = 1, .t = 16, .m = {0xFFFF}, .relu = relu};
        for (int i = 0; i < gn; i++) {
            /* the next image into L2 while this one (and the group's tail) is summed */
            const float *xn = x + (n + i) * xsz, *dyn = dy + (n + i) * dsz;
            f.at[0] = (const char *)(xn + xsz), f.at[1] = (const char *)(dyn + dsz);
            f.end[0] = f.at[0] + (n + i + 1 < n1 ? xsz * 4 : 0);
            f.end[1] = f.at[1] + (n + i + 1 < n1 ? dsz * 4 : 0);
            f.per[0] = (xsz * 4 / 64 + rows) / rows, f.per[1] = (dsz * 4 / 64 + rows) / rows;
            for (k.cb = 0; k.cb + 16 <= c; k.cb += 16) {
                k.x[0] = xn + k.cb, k.dy[0] = dyn + k.cb;
                dw_pass(K, S, g, &k, ring, zrow, drow, sum, &f);
            }
        }
        if (t) {
            k.gi = gn, k.cb = nbf * 16, k.t = t;
            for (int i = 0; i < gn; i++) {
                k.x[i] = x + (n + i) * xsz + k.cb - i * t, k.dy[i] = dy + (n + i) * dsz + k.cb - i * t;
                k.m[i] = (__mmask16)(((1u << t) - 1u) << (i * t));
            }
            dw_pass(K, S, g, &k, ring, zrow, drow, sum, &f);
        }
    }
}

/* One function per (k, stride): GCC allocates the registers of each on its own (all in one, some spill). */
#define DW_IMAGES(K, S)                                                                                      \
    static __attribute__((noinline)) void dw_images_##K##_##S(const struct odn_win *g, int relu,             \
                                                              const float *x, const float *dy, int64_t n0,   \
                                                              int64_t n1, double *sum, float *work)          \
    {                                                                                                        \
        dw_images(K, S, g, relu, x, dy, n0, n1, sum, work);                                                  \
    }
DW_IMAGES(3, 1)
DW_IMAGES(3, 2)
DW_IMAGES(5, 1)
DW_IMAGES(5, 2)
DW_IMAGES(7, 1)
DW_IMAGES(7, 2)

/* Images [n0, n1): sum += each image's sums; work: ODN_DW_WORK(g) floats, 64-byte aligned. */
void odn_dw_wei_avx512(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0,
                       int64_t n1, double *sum, float *work)
{
    const int64_t k = g->k, s = g->stride;
    if (k == 3 && s == 1)
        dw_images_3_1(g, relu, x, dy, n0, n1, sum, work);
    else if (k == 3)
        dw_images_3_2(g, relu, x, dy, n0, n1, sum, work);
    else if (k == 5 && s == 1)
        dw_images_5_1(g, relu, x, dy, n0, n1, sum, work);
    else if (k == 5)
        dw_images_5_2(g, relu, x, dy, n0, n1, sum, work);
    else if (s == 1)
        dw_images_7_1(g, relu, x, dy, n0, n1, sum, work);
    else
        dw_images_7_2(g, relu, x, dy, n0, n1, sum, work);
}
