/* onednn_bn_kern.c - the two batch-norm loops over rows of c channels (NHWC, or N x C). Rows are taken R at a
 * time as one flat span of R*c floats, R = 8 / gcd(c, 8), so that every span is whole 8-float vectors
 * (C = 20 or 36: two rows, 40 or 72 floats) with the per-channel vectors repeated R times; leftover rows
 * go one at a time. Each span loop is a small function of its own, the form gcc 12 vectorises (selects
 * included). This file is built twice: as is (portable, *_c) and through onednn_bn_avx2.c with -mavx2
 * -mfma (*_avx2), which picks the one the CPU can run. */
#include "onednn.h"

#ifdef ODN_BN_AVX2
#define KFN(name) name##_avx2
#else
#define KFN(name) name##_c
#endif

#define SPAN_MAX 512 /* floats in a span; wider ones (large odd C) go row by row */

/* Rows per span for c channels. */
static int64_t span_rows(int64_t c)
{
    int64_t g = c, b = 8; /* gcd(c, 8) */
    while (b) {
        const int64_t t = g % b;
        g = b;
        b = t;
    }
    const int64_t r = 8 / g;
    return r * c <= SPAN_MAX ? r : 1;
}

/* v (c values) repeated r times into rep (r*c). NULL in, NULL out. */
static const float *repeat(const float *v, int64_t c, int64_t r, float *rep)
{
    if (!v)
        return NULL;
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++)
            rep[i * c + j] = v[j];
    return rep;
}

static inline void span_moments(const float *restrict x, const float *restrict k, int64_t n,
                                float *restrict a1, float *restrict a2)
{
    for (int64_t j = 0; j < n; j++) {
        const float d = x[j] - k[j];
        a1[j] += d;
        a2[j] += d * d;
    }
}

static inline void span_gsums(const float *restrict x, const float *restrict y, const float *restrict k,
                              int64_t n, float *restrict a1, float *restrict a2)
{
    for (int64_t j = 0; j < n; j++) {
        a1[j] += y[j];
        a2[j] += y[j] * (x[j] - k[j]);
    }
}

static inline void span_gsums_relu(const float *restrict x, const float *restrict y, const float *restrict fa,
                                   const float *restrict fb, const float *restrict k, int64_t n,
                                   float *restrict a1, float *restrict a2)
{
    for (int64_t j = 0; j < n; j++) {
        const float xv = x[j], t = xv * fa[j] + fb[j];
        const float g = t > 0.0f ? y[j] : 0.0f;
        a1[j] += g;
        a2[j] += g * (xv - k[j]);
    }
}

/* y == NULL: s1 += sum (x - k), s2 += sum (x - k)^2 (shifted moments: no cancellation when |mean| >> std).
 * y != NULL (the output gradient): s1 += sum y, s2 += sum y * (x - k); with a fused ReLU (fwd: the forward's
 * a[c] then b[c], else NULL) y counts only where the forward's x * a + b was positive. */
void KFN(odn_bn_sums)(const float *x, const float *y, const float *fwd, int64_t r0, int64_t r1, int64_t c,
                      const float *k, float *s1, float *s2)
{
    const int64_t R = span_rows(c), w = R * c;
    float kr[SPAN_MAX], far[SPAN_MAX], fbr[SPAN_MAX], a1[SPAN_MAX], a2[SPAN_MAX];
    float *acc1 = R > 1 ? a1 : s1, *acc2 = R > 1 ? a2 : s2; /* R == 1: straight into s1, s2 */
    const float *kk = R > 1 ? repeat(k, c, R, kr) : k;
    const float *fa = fwd ? (R > 1 ? repeat(fwd, c, R, far) : fwd) : NULL;
    const float *fb = fwd ? (R > 1 ? repeat(fwd + c, c, R, fbr) : fwd + c) : NULL;
    for (int64_t j = 0; R > 1 && j < w; j++)
        a1[j] = a2[j] = 0.0f;
    /* whole spans, then the leftover rows one at a time with the first c of each vector */
    for (int64_t r = r0; r < r1;) {
        const int64_t n = r + R <= r1 ? w : c;
        const float *xs = x + r * c;
        if (!y)
            span_moments(xs, kk, n, acc1, acc2);
        else if (!fwd)
            span_gsums(xs, y + r * c, kk, n, acc1, acc2);
        else
            span_gsums_relu(xs, y + r * c, fa, fb, kk, n, acc1, acc2);
        r += n / c;
    }
    for (int64_t i = 0; R > 1 && i < R; i++)
        for (int64_t j = 0; j < c; j++) {
            s1[j] += a1[i * c + j];
            s2[j] += a2[i * c + j];
        }
}

static inline void span_fwd(const float *restrict x, const float *restrict a, const float *restrict b,
                            int64_t n, float *restrict o)
{
    for (int64_t j = 0; j < n; j++)
        o[j] = x[j] * a[j] + b[j];
}

static inline void span_fwd_relu(const float *restrict x, const float *restrict a, const float *restrict b,
                                 int64_t n, float *restrict o)
{
    for (int64_t j = 0; j < n; j++) {
        const float v = x[j] * a[j] + b[j];
        o[j] = v > 0.0f ? v : 0.0f;
    }
}

static inline void span_bwd(const float *restrict x, const float *restrict y, const float *restrict a,
                            const float *restrict b, const float *restrict d, int64_t n, float *restrict o)
{
    for (int64_t j = 0; j < n; j++)
        o[j] = y[j] * a[j] + x[j] * b[j] + d[j];
}

static inline void span_bwd_relu(const float *restrict x, const float *restrict y, const float *restrict fa,
                                 const float *restrict fb, const float *restrict a, const float *restrict b,
                                 const float *restrict d, int64_t n, float *restrict o)
{
    for (int64_t j = 0; j < n; j++) {
        const float xv = x[j], yv = y[j], g = xv * fa[j] + fb[j] > 0.0f ? yv : 0.0f;
        o[j] = g * a[j] + xv * b[j] + d[j];
    }
}

/* One span (or row) of the affine pass. */
static inline void affine_span(const float *x, const float *dy, const float *fa, const float *fb, int relu,
                               const float *a, const float *b, const float *d, int64_t n, float *o)
{
    if (!dy && !relu)
        span_fwd(x, a, b, n, o);
    else if (!dy)
        span_fwd_relu(x, a, b, n, o);
    else if (fa)
        span_bwd_relu(x, dy, fa, fb, a, b, d, n, o);
    else
        span_bwd(x, dy, a, b, d, n, o);
}

/* dy == NULL: out = x * a + b (forward), then ReLU when relu is set. Else out = dy * a + x * b + d (backward
 * to the input), where with a fused ReLU (fwd as in odn_bn_sums) dy counts only where it let x through. */
void KFN(odn_bn_affine)(const float *x, const float *dy, const float *fwd, int relu, int64_t r0, int64_t r1,
                        int64_t c, const float *a, const float *b, const float *d, float *out)
{
    const int64_t R = span_rows(c), w = R * c;
    float ar[SPAN_MAX], br[SPAN_MAX], dr[SPAN_MAX], far[SPAN_MAX], fbr[SPAN_MAX];
    const float *aa = R > 1 ? repeat(a, c, R, ar) : a, *bb = R > 1 ? repeat(b, c, R, br) : b;
    const float *dd = R > 1 ? repeat(d, c, R, dr) : d;
    const float *fa = dy && fwd ? (R > 1 ? repeat(fwd, c, R, far) : fwd) : NULL;
    const float *fb = dy && fwd ? (R > 1 ? repeat(fwd + c, c, R, fbr) : fwd + c) : NULL;
    for (int64_t r = r0; r < r1;) { /* whole spans, then the leftover rows */
        const int64_t n = r + R <= r1 ? w : c;
        affine_span(x + r * c, dy ? dy + r * c : NULL, fa, fb, relu, aa, bb, dd, n, out + r * c);
        r += n / c;
    }
}
