/* onednn_dwf_avx512.c - the depthwise k x k forward and backward-data on AVX-512 (built with -mavx512f -mfma;
 * called only when the CPU has AVX-512F), k 3, 5, 7 on NHWC fp32: oneDNN 2.6's JIT runs these at 8-20% of
 * peak on NHWC. Both are one correlation, out[oh][ow] = sum wt[kh][kw] * in[oh*S + kh - P][ow*S + kw - P]:
 * the forward on x at stride S, padding p; the backward-data at stride 1 on dy with the kernel flipped and
 * padding k-1-p (out: dx). For each block of 16 channels the input rows are copied, as the window comes down,
 * into a ring of zero-padded rows (with the ReLU of relu_input applied there: no rectified copy of the
 * tensor), so the inner loop has no boundary tests. An output row is computed in blocks of 16 (8, 4, 2, 1)
 * columns whose accumulators stay in registers over the k x k taps; per kernel row its k weight vectors are
 * loaded once and each input vector once for the up to k FMAs that use it (the empty asm keeps GCC 12 from
 * folding that load into every FMA: load-bound, as onednn_dw_avx512.c measured). The channel tail of several
 * images shares one vector, as in onednn_dw_avx512.c (C = 20: a tail of 4 channels costs a quarter of a block
 * an image). The backward-data's input mask (relu_input: dx = 0 where x <= 0) is applied as dx is stored; dx
 * is overwritten. At 3x3 this is bound by memory, not arithmetic (see odn_dw_covers in onednn_dw.c). */
#include "onednn.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

/* Input rows are prefetched for the output row PF_AHEAD rows on, into L2 (T0, T1 and 2 or 4 rows ahead
 * measured alike, within the noise). */
#define PF_AHEAD 2
#define PF_HINT  _MM_HINT_T1

/* One correlation over images: in (hi x wi), out (ho x wo), c channels; wt [K*K][c] (transposed, flipped for
 * the backward-data); mask (out's shape) or NULL; relu: ReLU on in as it is loaded. */
struct cor {
    const float *in, *wt, *mask;
    float *out;
    int64_t hi, wi, ho, wo, c, pad;
    int relu;
};

/* One block of 16 lanes: channels [cb, cb+t) of gi images, as in onednn_dw_avx512.c: image i in lanes
 * [i*t, i*t+t) under m[i], its pointers at channel cb less i*t (lane l of a load reads channel l - i*t).
 * w: its weight vectors, tap j at w + j*ws (the transposed weights in place, or the tail's packed copy). */
struct blk {
    const float *in[16], *mask[16], *w;
    float *out[16];
    __mmask16 m[16];
    int gi;
    int64_t ws;
    float *ring; /* K slots of rw vectors */
};

/* Prefetch of the input rows a later output row brings in, of every image of the group: n streams of lines,
 * per of them at the start of each column block, so that the loads overlap the arithmetic (all at the row's
 * start, perf showed 23% of the samples on the prefetches, waiting for line-fill buffers; spread, 9%). */
struct pf {
    const char *at[32], *end[32];
    int cur, n;
    int64_t per;
};

AI void pf_lines(struct pf *f, int64_t lines)
{
    while (lines > 0 && f->cur < f->n) {
        if (f->at[f->cur] >= f->end[f->cur]) {
            f->cur++;
            continue;
        }
        _mm_prefetch(f->at[f->cur], PF_HINT);
        f->at[f->cur] += 64;
        lines--;
    }
}

/* The padded row width: the left padding, the image, and what the last output column reads. */
AI int64_t ring_w(const int K, const int S, const struct cor *q)
{
    const int64_t a = q->pad + q->wi, b = (q->wo - 1) * S + K;
    return a > b ? a : b;
}

/* Output columns [ow0, ow0+T) of output row oh: T accumulators over the K x K taps; xr[kh] the padded rows.
 * Per kernel row, K weight loads and (T-1)*S + K input loads feed T*K FMAs. */
AI void cols(const int K, const int S, const int T, const struct cor *q, const struct blk *k,
             const float *const *xr, int64_t oh, int64_t ow0, struct pf *f)
{
    pf_lines(f, f->per);
    __m512 acc[16];
#pragma GCC unroll 16
    for (int o = 0; o < T; o++)
        acc[o] = _mm512_setzero_ps();
#pragma GCC unroll 7
    for (int kh = 0; kh < K; kh++) {
        __m512 w[7];
#pragma GCC unroll 7
        for (int kw = 0; kw < K; kw++)
            w[kw] = _mm512_loadu_ps(k->w + (kh * K + kw) * k->ws);
        const float *x = xr[kh] + ow0 * S * 16;
        /* input column j feeds output o through tap kw = j - o*S */
#pragma GCC unroll 40
        for (int j = 0; j < (T - 1) * S + K; j++) {
            __m512 v = _mm512_load_ps(x + j * 16);
            __asm__("" : "+v"(v)); /* one load for all its FMAs (see the header) */
#pragma GCC unroll 16
            for (int o = 0; o < T; o++) {
                const int kw = j - o * S;
                if (kw >= 0 && kw < K)
                    acc[o] = _mm512_fmadd_ps(w[kw], v, acc[o]);
            }
        }
    }
    const int64_t c = q->c;
#pragma GCC unroll 16
    for (int o = 0; o < T; o++) {
        const int64_t off = (oh * q->wo + ow0 + o) * c;
        for (int i = 0; i < k->gi; i++) {
            __m512 v = acc[o];
            if (q->mask) { /* dx = 0 where x <= 0 (NaN too, as conv_mask_dx) */
                const __m512 x = _mm512_maskz_loadu_ps(k->m[i], k->mask[i] + off);
                v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), v);
            }
            _mm512_mask_storeu_ps(k->out[i] + off, k->m[i], v);
        }
    }
}

/* Output row oh of one block: padded rows [from, top + K) into its ring, then the row's columns. */
AI void row(const int K, const int S, const struct cor *q, const struct blk *k, const float *zrow, int64_t oh,
            int64_t from, struct pf *f)
{
    const int64_t c = q->c, hi = q->hi, wi = q->wi, p = q->pad, rw = ring_w(K, S, q), wo = q->wo,
                  top = oh * S;
    for (int64_t next = from; next < top + K; next++) {
        const int64_t ih = next - p;
        if (ih < 0 || ih >= hi)
            continue;
        float *dst = k->ring + ((next % K) * rw + p) * 16;
        const int64_t off = ih * wi * c;
        for (int64_t iw = 0; iw < wi; iw++) {
            __m512 v = _mm512_maskz_loadu_ps(k->m[0], k->in[0] + off + iw * c);
            for (int i = 1; i < k->gi; i++)
                v = _mm512_mask_loadu_ps(v, k->m[i], k->in[i] + off + iw * c);
            if (q->relu)
                v = _mm512_max_ps(v, _mm512_setzero_ps()); /* NaN -> 0, as conv_src */
            _mm512_store_ps(dst + iw * 16, v);
        }
    }
    const float *xr[7];
#pragma GCC unroll 7
    for (int r = 0; r < K; r++) {
        const int64_t ih = top + r - p;
        xr[r] = ih < 0 || ih >= hi ? zrow : k->ring + ((top + r) % K) * rw * 16;
    }
    int64_t ow = 0;
    for (; ow + 16 <= wo; ow += 16)
        cols(K, S, 16, q, k, xr, oh, ow, f);
    if (ow + 8 <= wo)
        cols(K, S, 8, q, k, xr, oh, ow, f), ow += 8;
    if (ow + 4 <= wo)
        cols(K, S, 4, q, k, xr, oh, ow, f), ow += 4;
    if (ow + 2 <= wo)
        cols(K, S, 2, q, k, xr, oh, ow, f), ow += 2;
    if (ow < wo)
        cols(K, S, 1, q, k, xr, oh, ow, f);
}

/* Blocks an image group has: each image's full blocks of 16 channels, then the tail of up to 16/t images
 * packed into one (one image when t > 8). */
static int64_t group_of(int64_t c)
{
    const int64_t t = c % 16;
    return t && t <= 8 ? 16 / t : 1;
}

size_t odn_dwf_work(const struct odn_win *g)
{
    const int64_t k = g->k, rw = g->w + k, nb = group_of(g->c) * (g->c / 16) + 1;
    return (size_t)((k * k + rw + nb * k * rw) * 16);
}

/* Images [n0, n1), a group at a time, row by row: every block of the group's output row oh (all channels of
 * its images) before row oh+1, so that each input row is read from memory once and each output line is
 * written whole while it is in L1 (block by block over the whole image: 1.33x oneDNN's time at 3x3 C36 32x32
 * forward; row by row 1.2-1.28x, measured on a noisy machine). work: odn_dwf_work floats, 64-byte aligned. */
AI void images(const int K, const int S, const struct cor *q, int64_t n0, int64_t n1, float *work)
{
    const int64_t c = q->c, rw = ring_w(K, S, q), isz = q->hi * q->wi * c, osz = q->ho * q->wo * c;
    const int64_t nbf = c / 16, t = c % 16, G = group_of(c), nbmax = G * nbf + (t ? 1 : 0);
    float *tw = work, *zrow = work + K * K * 16, *rings = zrow + rw * 16;
    for (int64_t j = 0; j < rw; j++)
        _mm512_store_ps(zrow + j * 16, _mm512_setzero_ps());
    for (int64_t r = 0; r < nbmax * K; r++) /* the rings' padding (rows are written only in [p, p + wi)) */
        for (int64_t j = 0; j < rw; j++)
            if (j < q->pad || j >= q->pad + q->wi)
                _mm512_store_ps(rings + (r * rw + j) * 16, _mm512_setzero_ps());
    const int64_t wo = q->wo, per_row = wo / 16 + (wo % 16 >= 8) + (wo % 8 >= 4) + (wo % 4 >= 2) + (wo % 2);
    for (int64_t n = n0; n < n1; n += G) {
        const int gn = (int)(n1 - n < G ? n1 - n : G);
        const int64_t calls = (gn * nbf + (t ? 1 : 0)) * per_row; /* column blocks an output row */
        struct blk tail = {.gi = gn, .w = tw, .ws = 16, .ring = rings + gn * nbf * K * rw * 16};
        if (t) {
            const int64_t cb = nbf * 16;
            for (int i = 0; i < gn; i++) {
                const int64_t at = cb - i * t;
                tail.in[i] = q->in + (n + i) * isz + at, tail.out[i] = q->out + (n + i) * osz + at;
                tail.mask[i] = q->mask ? q->mask + (n + i) * osz + at : NULL;
                tail.m[i] = (__mmask16)(((1u << t) - 1u) << (i * t));
            }
            for (int j = 0; j < K * K; j++) /* lane l: channel cb + l % t, zero past the group */
                for (int l = 0; l < 16; l++)
                    tw[j * 16 + l] = l < gn * t ? q->wt[j * c + cb + l % t] : 0.0f;
        }
        int64_t next = 0; /* the next padded row to bring into the rings */
        for (int64_t oh = 0; oh < q->ho; oh++) {
            const int64_t top = oh * S, from = next > top ? next : top;
            /* the rows output row oh + PF_AHEAD brings in, of every image of the group */
            struct pf f = {.n = 0};
            for (int64_t r = top + K + (PF_AHEAD - 1) * S; r < top + K + PF_AHEAD * S; r++) {
                const int64_t ih = r - q->pad;
                for (int i = 0; ih >= 0 && ih < q->hi && i < gn; i++, f.n++) {
                    f.at[f.n] = (const char *)(q->in + (n + i) * isz + ih * q->wi * c);
                    f.end[f.n] = f.at[f.n] + q->wi * c * 4;
                }
            }
            f.per = (f.n * (q->wi * c * 4 / 64 + 1) + calls - 1) / calls;
            struct blk k = {.gi = 1, .m = {0xFFFF}, .ws = c};
            for (int i = 0; i < gn; i++)
                for (int64_t cb = 0; cb + 16 <= c; cb += 16) {
                    k.w = q->wt + cb, k.ring = rings + (i * nbf + cb / 16) * K * rw * 16;
                    k.in[0] = q->in + (n + i) * isz + cb, k.out[0] = q->out + (n + i) * osz + cb;
                    k.mask[0] = q->mask ? q->mask + (n + i) * osz + cb : NULL;
                    row(K, S, q, &k, zrow, oh, from, &f);
                }
            if (t)
                row(K, S, q, &tail, zrow, oh, from, &f);
            pf_lines(&f, INT64_MAX);
            next = top + K;
        }
    }
}

#define IMAGES(K, S)                                                                                         \
    static __attribute__((noinline)) void images_##K##_##S(const struct cor *q, int64_t n0, int64_t n1,      \
                                                           float *work)                                      \
    {                                                                                                        \
        images(K, S, q, n0, n1, work);                                                                       \
    }
IMAGES(3, 1)
IMAGES(3, 2)
IMAGES(5, 1)
IMAGES(5, 2)
IMAGES(7, 1)
IMAGES(7, 2)

static void run(int64_t k, int64_t s, const struct cor *q, int64_t n0, int64_t n1, float *work)
{
    if (k == 3)
        (s == 1 ? images_3_1 : images_3_2)(q, n0, n1, work);
    else if (k == 5)
        (s == 1 ? images_5_1 : images_5_2)(q, n0, n1, work);
    else
        (s == 1 ? images_7_1 : images_7_2)(q, n0, n1, work);
}

void odn_dw_fwd_avx512(const struct odn_win *g, int relu, const float *x, const float *wt, float *y,
                       int64_t n0, int64_t n1, float *work)
{
    const struct cor q = {.in = x,
                          .wt = wt,
                          .out = y,
                          .hi = g->h,
                          .wi = g->w,
                          .ho = g->ho,
                          .wo = g->wo,
                          .c = g->c,
                          .pad = g->pad,
                          .relu = relu};
    run(g->k, g->stride, &q, n0, n1, work);
}

void odn_dw_bwd_data_avx512(const struct odn_win *g, const float *mask, const float *wt, const float *dy,
                            float *dx, int64_t n0, int64_t n1, float *work)
{
    const struct cor q = {.in = dy,
                          .wt = wt,
                          .mask = mask,
                          .out = dx,
                          .hi = g->ho,
                          .wi = g->wo,
                          .ho = g->h,
                          .wo = g->w,
                          .c = g->c,
                          .pad = g->k - 1 - g->pad};
    run(g->k, 1, &q, n0, n1, work);
}
