/* onednn_fr_avx512.c - `factorized_reduce` on AVX-512 (built with -mavx512f -mfma; called only when the CPU
 * has AVX-512F): one pass over the data per direction instead of oneDNN's two 1x1 convolutions with their
 * gather, scatter and interleave copies (which cost as much as the convolutions, bench_ops). Output row
 * (b, i) of y (n x ho x wo x 2hc) takes channels [0, hc) from W1 at pixels (2i, 2j) of x and [hc, 2hc) from
 * W2 at (2i+1, 2j+1), zero where that pixel is beyond the border; x is read in place (pixel stride 2*cin
 * along a row) and y written interleaved in place.
 * The forward and the backward-data are small matrix products per output row and path, out[p][c] =
 * sum_r in[p][r] * m[r][c], with P pixels x NV vectors of 16 output channels as accumulators in registers
 * (NV <= 4: 64 channels at a time; P = 8, 6 at NV = 4, then 4, 2, 1 for the row's rest): per r, NV weight
 * vectors are loaded once for the P pixels, and one broadcast a pixel. The forward: in = the sampled x,
 * m = W^T [cin][hc padded to 16]. The backward-data: in = dy's half, m = W [hc][cin padded to 16] (the
 * parameter's own row-major [O][1][1][I] layout), out = the sampled pixels of dx; the other pixels of dx (odd
 * columns of row 2i, even columns of row 2i+1) are stored as zeros in the same pass, so that dx is written
 * whole and once. The weight gradient, in the same pass over a group of output
 * rows (32 pixels or more) while its dy and x are in cache: g[o][k] += sum_p dy[p][o] * x[p][k], O output
 * channels (8, 6 at NV = 4, then 4, 2, 1) x NV vectors of 16 input channels in registers, loaded from and
 * stored back to the caller's fp32 buffer once per group. Channel counts need not be multiples of 16: the
 * last vector of a row is masked on the stores (and on the loads of x); the packed weights are zero-padded
 * and 64-byte aligned. The next row's (group's) lines are prefetched as the current one is computed. */
#include "onednn.h"

#include <immintrin.h>
#include <stdint.h>

#define AI static inline __attribute__((always_inline))

/* Software prefetch of the next output row's lines (forward: its x rows; backward: the next group's dy, x and
 * dx rows), spread over the steps of the current row's inner loops, one or two lines a step (all at the
 * row's start, prefetches wait for line-fill buffers; with the hardware prefetcher alone the forward took
 * 1.3x as long, bench_ops C36 32x32). A block takes the cursor of the current region into registers and
 * hands it back at its end. */
#define PF_HINT _MM_HINT_T0

struct pf {
    const char *at[3];
    int64_t left[3]; /* lines */
    int n, cur, two;
};

/* Adds bytes from p to f's regions (nothing for an empty one). */
static void pf_add(struct pf *f, const void *p, int64_t bytes)
{
    if (bytes <= 0)
        return;
    const char *a = (const char *)p - (uintptr_t)p % 64u, *e = (const char *)p + bytes;
    f->at[f->n] = a, f->left[f->n++] = (e - a + 63) / 64;
}

/* One or two lines a step over steps. */
static void pf_spread(struct pf *f, int64_t steps)
{
    int64_t lines = 0;
    for (int r = 0; r < f->n; r++)
        lines += f->left[r];
    f->two = lines > steps;
}

/* The current region's cursor (left 0: none). */
struct pfc {
    const char *at;
    int64_t left;
};

AI struct pfc pf_take(const struct pf *f)
{
    const struct pfc c = {f->cur < f->n ? f->at[f->cur] : NULL, f->cur < f->n ? f->left[f->cur] : 0};
    return c;
}

AI void pf_step(struct pfc *c, int two)
{
    if (c->left > 0) {
        _mm_prefetch(c->at, PF_HINT);
        if (two)
            _mm_prefetch(c->at + 64, PF_HINT);
        c->at += two ? 128 : 64, c->left -= two ? 2 : 1;
    }
}

AI void pf_give(struct pf *f, struct pfc c)
{
    if (f->cur < f->n) {
        f->at[f->cur] = c.at, f->left[f->cur] = c.left;
        f->cur += c.left <= 0;
    }
}

/* The lanes of the last of the vectors over n channels. */
static __mmask16 last_mask(int64_t n)
{
    const int64_t t = n % 16;
    return (__mmask16)(t ? (1u << t) - 1u : 0xFFFFu);
}

/* A row's product: np pixels, in at in + p*is (r values each), out at out + p*os (nc values each); m: r rows
 * of ms floats (a multiple of 16, 64-byte aligned, zero past nc). */
struct mm {
    const float *in, *m;
    float *out;
    int64_t is, ms, os, r, nc, np;
    struct pf *f;
};

/* P pixels from p0, NV vectors from channel cb (the last under `last`). */
AI void mm_blk(const int P, const int NV, const struct mm *q, int64_t p0, int64_t cb, __mmask16 last)
{
    __m512 acc[8][4];
    const float *ip[8];
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) {
        ip[p] = q->in + (p0 + p) * q->is;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[p][v] = _mm512_setzero_ps();
    }
    const float *m = q->m + cb;
    struct pfc c = pf_take(q->f);
    const int two = q->f->two;
    for (int64_t k = 0; k < q->r; k++, m += q->ms) {
        pf_step(&c, two);
        __m512 wv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            wv[v] = _mm512_load_ps(m + 16 * (int64_t)v);
#pragma GCC unroll 8
        for (int p = 0; p < P; p++) {
            const __m512 b = _mm512_set1_ps(ip[p][k]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[p][v] = _mm512_fmadd_ps(b, wv[v], acc[p][v]);
        }
    }
    pf_give(q->f, c);
#pragma GCC unroll 8
    for (int p = 0; p < P; p++) {
        float *o = q->out + (p0 + p) * q->os + cb;
#pragma GCC unroll 4
        for (int v = 0; v < NV - 1; v++)
            _mm512_storeu_ps(o + 16 * (int64_t)v, acc[p][v]);
        _mm512_mask_storeu_ps(o + 16 * (int64_t)(NV - 1), last, acc[p][NV - 1]);
    }
}

/* BLK(size, start) over [0, n) in blocks of big, then of 4, 2 and 1 (the sizes blocks() counts). */
#define OVER_BLOCKS(n, big, BLK)                                                                             \
    do {                                                                                                     \
        int64_t at_ = 0;                                                                                     \
        for (; at_ + (big) <= (n); at_ += (big))                                                             \
            BLK((big), at_);                                                                                 \
        if (at_ + 4 <= (n))                                                                                  \
            BLK(4, at_), at_ += 4;                                                                           \
        if (at_ + 2 <= (n))                                                                                  \
            BLK(2, at_), at_ += 2;                                                                           \
        if (at_ < (n))                                                                                       \
            BLK(1, at_);                                                                                     \
    } while (0)

/* fn_NV(q, start, mask) over [0, n) in steps of 64 channels: NV = 4 vectors, or 1-3 for the rest, whose
 * last vector is masked. */
#define OVER_VECTORS(n, fn, q)                                                                               \
    do {                                                                                                     \
        for (int64_t cb_ = 0; cb_ < (n); cb_ += 64) {                                                        \
            const int64_t left_ = (n)-cb_, nv_ = left_ >= 64 ? 4 : (left_ + 15) / 16;                        \
            const __mmask16 last_ = left_ >= 64 ? (__mmask16)0xFFFFu : last_mask(left_);                     \
            if (nv_ == 1)                                                                                    \
                fn##_1((q), cb_, last_);                                                                     \
            else if (nv_ == 2)                                                                               \
                fn##_2((q), cb_, last_);                                                                     \
            else if (nv_ == 3)                                                                               \
                fn##_3((q), cb_, last_);                                                                     \
            else                                                                                             \
                fn##_4((q), cb_, last_);                                                                     \
        }                                                                                                    \
    } while (0)

/* All pixels of the row for the NV vectors from channel cb: mm_cols_NV. */
#define MM_BLK(P, at) mm_blk((P), nv, q, (at), cb, last)
#define MM_COLS(NV)                                                                                          \
    static __attribute__((noinline)) void mm_cols_##NV(const struct mm *q, int64_t cb, __mmask16 last)       \
    {                                                                                                        \
        const int nv = (NV);                                                                                 \
        OVER_BLOCKS(q->np, nv == 4 ? 6 : 8, MM_BLK);                                                         \
    }
MM_COLS(1)
MM_COLS(2)
MM_COLS(3)
MM_COLS(4)

static void mm_run(const struct mm *q)
{
    OVER_VECTORS(q->nc, mm_cols, q);
}

/* The weight gradient of nr rows of np pixels: g[o][k] += sum over rows r and pixels p of
 * a[r*ar + p*as + o] * x[r*xr + p*xs + k], o < no, k < nk; g: rows of gs floats (a multiple of 16, 64-byte
 * aligned). */
struct gw {
    const float *a, *x;
    float *g;
    int64_t ar, as, xr, xs, gs, no, nk, nr, np;
    struct pf *f;
};

/* O output channels from o0, NV vectors of input channels from kb (the last under `last`). */
AI void gw_blk(const int O, const int NV, const struct gw *q, int64_t o0, int64_t kb, __mmask16 last)
{
    __m512 acc[8][4];
#pragma GCC unroll 8
    for (int o = 0; o < O; o++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[o][v] = _mm512_load_ps(q->g + (o0 + o) * q->gs + kb + 16 * (int64_t)v);
    struct pfc c = pf_take(q->f);
    const int two = q->f->two;
    for (int64_t r = 0; r < q->nr; r++) {
        const float *a = q->a + r * q->ar + o0, *x = q->x + r * q->xr + kb;
        for (int64_t p = 0; p < q->np; p++, a += q->as, x += q->xs) {
            pf_step(&c, two);
            __m512 xv[4];
#pragma GCC unroll 4
            for (int v = 0; v < NV - 1; v++)
                xv[v] = _mm512_loadu_ps(x + 16 * (int64_t)v);
            xv[NV - 1] = _mm512_maskz_loadu_ps(last, x + 16 * (int64_t)(NV - 1));
#pragma GCC unroll 8
            for (int o = 0; o < O; o++) {
                const __m512 b = _mm512_set1_ps(a[o]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    acc[o][v] = _mm512_fmadd_ps(b, xv[v], acc[o][v]);
            }
        }
    }
    pf_give(q->f, c);
#pragma GCC unroll 8
    for (int o = 0; o < O; o++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_store_ps(q->g + (o0 + o) * q->gs + kb + 16 * (int64_t)v, acc[o][v]);
}

/* All output channels for the NV vectors from input channel kb: gw_rows_NV. */
#define GW_BLK(O, at) gw_blk((O), nv, q, (at), kb, last)
#define GW_ROWS(NV)                                                                                          \
    static __attribute__((noinline)) void gw_rows_##NV(const struct gw *q, int64_t kb, __mmask16 last)       \
    {                                                                                                        \
        const int nv = (NV);                                                                                 \
        OVER_BLOCKS(q->no, nv == 4 ? 6 : 8, GW_BLK);                                                         \
    }
GW_ROWS(1)
GW_ROWS(2)
GW_ROWS(3)
GW_ROWS(4)

static void gw_run(const struct gw *q)
{
    if (q->nr > 0 && q->np > 0)
        OVER_VECTORS(q->nk, gw_rows, q);
}

/* Zeros over count pixels of c channels, at p + j*stride. */
static void zero_px(float *p, int64_t stride, int64_t c, int64_t count)
{
    const __m512 z = _mm512_setzero_ps();
    const __mmask16 last = last_mask(c);
    for (int64_t j = 0; j < count; j++, p += stride) {
        int64_t k = 0;
        for (; k + 16 < c; k += 16)
            _mm512_storeu_ps(p + k, z);
        _mm512_mask_storeu_ps(p + k, last, z);
    }
}

/* Blocks of big (8 or 6), then 4, 2, 1, over n. */
static int64_t blocks(int64_t n, int64_t big)
{
    int64_t b = n / big, rest = n % big;
    if (rest >= 4)
        b++, rest -= 4;
    return b + rest / 2 + rest % 2;
}

/* The inner-loop steps of mm_run (r per block) and gw_run (np per block). */
static int64_t mm_steps(const struct mm *q)
{
    int64_t steps = 0;
    for (int64_t cb = 0; q->np > 0 && cb < q->nc; cb += 64)
        steps += blocks(q->np, q->nc - cb > 48 ? 6 : 8) * q->r;
    return steps;
}

static int64_t gw_steps(const struct gw *q)
{
    int64_t steps = 0;
    for (int64_t kb = 0; q->np > 0 && kb < q->nk; kb += 64)
        steps += blocks(q->no, q->nk - kb > 48 ? 6 : 8) * q->np * q->nr;
    return steps;
}

void odn_fr_fwd_avx512(const struct odn_fr_geom *g, const float *x, const float *wt, float *y, int64_t r0,
                       int64_t r1)
{
    const int64_t h = g->h, w = g->w, ho = g->ho, wo = g->wo, cin = g->cin, hc = g->hc, cout = 2 * hc;
    const int64_t hp = ODN_FR_PAD(hc);
    for (int64_t row = r0; row < r1; row++) {
        const int64_t b = row / ho, i = row % ho, n2 = 2 * i + 1 < h ? w / 2 : 0; /* path 2's pixels inside */
        const float *x1 = x + (b * h + 2 * i) * w * cin;
        float *yr = y + row * wo * cout;
        struct pf f = {.n = 0};
        struct mm q1 = {.in = x1,
                        .m = wt,
                        .out = yr,
                        .is = 2 * cin,
                        .ms = hp,
                        .os = cout,
                        .r = cin,
                        .nc = hc,
                        .np = wo,
                        .f = &f};
        struct mm q2 = q1;
        q2.in = x1 + (w + 1) * cin, q2.m = wt + cin * hp, q2.out = yr + hc, q2.np = n2;
        if (row + 1 < g->n * ho) { /* the next row's input: its two rows (one at the bottom of an odd h) */
            const int64_t nb = (row + 1) / ho, ni = (row + 1) % ho, nr = 2 * ni + 1 < h ? 2 : 1;
            pf_add(&f, x + (nb * h + 2 * ni) * w * cin, nr * w * cin * 4);
        }
        pf_spread(&f, mm_steps(&q1) + mm_steps(&q2));
        mm_run(&q1);
        if (n2 > 0)
            mm_run(&q2);
        zero_px(yr + n2 * cout + hc, cout, hc, wo - n2); /* path 2 beyond the border */
    }
}

/* The backward over groups of output rows within an image, of 32 pixels or more (one row of 32 at 64x64,
 * two at 32x32, four at 16x16): dx row by row, then the weight gradient of the group, its accumulators loaded
 * and stored once for the group (row by row at 16x16 they cost a third as much as the FMAs). */
static int64_t group_rows(const struct odn_fr_geom *g, int64_t row, int64_t r1)
{
    const int64_t want = (32 + g->wo - 1) / g->wo, end = (row / g->ho + 1) * g->ho;
    const int64_t e = row + want < end ? row + want : end;
    return (e < r1 ? e : r1) - row;
}

void odn_fr_bwd_avx512(const struct odn_fr_geom *g, const float *x, const float *dy, const float *wp,
                       float *dx, float *acc, int64_t r0, int64_t r1)
{
    const int64_t h = g->h, w = g->w, ho = g->ho, wo = g->wo, cin = g->cin, hc = g->hc, cout = 2 * hc;
    const int64_t cp = ODN_FR_PAD(cin), rows = g->n * ho;
    for (int64_t row = r0, nr; row < r1; row += nr) {
        nr = group_rows(g, row, r1);
        const int64_t b = row / ho, i0 = row % ho;
        /* path 2's rows: those with 2i+1 < h (all but an odd h's last) */
        const int64_t nr2 = (i0 + nr < h / 2 ? i0 + nr : h / 2) - i0;
        const float *dyr = dy + row * wo * cout, *x1 = x + (b * h + 2 * i0) * w * cin;
        float *d1 = dx ? dx + (b * h + 2 * i0) * w * cin : NULL;
        struct pf f = {.n = 0};
        struct mm m1 = {.in = dyr,
                        .m = wp,
                        .out = d1,
                        .is = cout,
                        .ms = cp,
                        .os = 2 * cin,
                        .r = hc,
                        .nc = cin,
                        .np = dx ? wo : 0,
                        .f = &f};
        struct mm m2 = m1;
        m2.in = dyr + hc, m2.m = wp + hc * cp, m2.out = d1 ? d1 + (w + 1) * cin : NULL,
        m2.np = dx ? w / 2 : 0;
        struct gw g1 = {.a = dyr,
                        .x = x1,
                        .g = acc,
                        .ar = wo * cout,
                        .as = cout,
                        .xr = 2 * w * cin,
                        .xs = 2 * cin,
                        .gs = cp,
                        .no = hc,
                        .nk = cin,
                        .nr = acc ? nr : 0,
                        .np = wo,
                        .f = &f};
        struct gw g2 = g1;
        g2.a = dyr + hc, g2.x = x1 + (w + 1) * cin, g2.g = acc ? acc + hc * cp : NULL, g2.nr = acc ? nr2 : 0;
        g2.np = w / 2;
        const int64_t next = row + nr; /* the next group's dy, x rows (weight gradient) and dx rows */
        if (next < rows) {
            const int64_t nn = group_rows(g, next, rows), nb = next / ho, ni = next % ho;
            const int64_t xr = (2 * (ni + nn) < h ? 2 * (ni + nn) : h) - 2 * ni; /* its x rows */
            const int64_t at = (nb * h + 2 * ni) * w * cin, bytes = xr * w * cin * 4;
            pf_add(&f, dy + next * wo * cout, nn * wo * cout * 4);
            if (acc)
                pf_add(&f, x + at, bytes);
            if (dx)
                pf_add(&f, dx + at, bytes);
        }
        pf_spread(&f, (mm_steps(&m1) + mm_steps(&m2)) * nr + gw_steps(&g1) + gw_steps(&g2));
        for (int64_t r = 0; dx && r < nr; r++) {
            const int64_t i = i0 + r;
            m1.in = dyr + r * wo * cout, m1.out = d1 + 2 * r * w * cin;
            mm_run(&m1);
            zero_px(m1.out + cin, 2 * cin, cin, w / 2); /* the odd columns of row 2i */
            if (2 * i + 1 < h) {
                zero_px(m1.out + w * cin, 2 * cin, cin, (w + 1) / 2); /* the even columns of row 2i+1 */
                m2.in = m1.in + hc, m2.out = m1.out + (w + 1) * cin;
                mm_run(&m2);
            }
        }
        gw_run(&g1);
        gw_run(&g2);
    }
}
