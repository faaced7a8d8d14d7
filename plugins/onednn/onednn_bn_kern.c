/* onednn_bn_kern.c - the two batch-norm loops over rows of c channels (NHWC, or N x C), written so that
 * the compiler vectorises them over the channels. This file is built twice: as is (portable, *_c) and
 * through onednn_bn_avx2.c with -mavx2 -mfma (*_avx2), which picks the one the CPU can run. */
#include "onednn.h"

#ifdef ODN_BN_AVX2
#define KFN(name) name##_avx2
#else
#define KFN(name) name##_c
#endif

/* One row of the fused-ReLU gradient sums. A function of its own: gcc 12 vectorises this select only here,
 * not inside the row loop ("no vectype", measured scalar: a quarter of a macro step). */
static inline void sums_relu_row(const float *restrict xr, const float *restrict yr, const float *restrict fa,
                                 const float *restrict fb, const float *restrict kk, int64_t c,
                                 float *restrict a1, float *restrict a2)
{
    for (int64_t j = 0; j < c; j++) {
        const float xv = xr[j], t = xv * fa[j] + fb[j];
        const float g = t > 0.0f ? yr[j] : 0.0f;
        a1[j] += g;
        a2[j] += g * (xv - kk[j]);
    }
}

/* y == NULL: s1 += sum (x - k), s2 += sum (x - k)^2 (shifted moments: no cancellation when |mean| >> std).
 * y != NULL (the output gradient): s1 += sum y, s2 += sum y * (x - k); with a fused ReLU (fwd: the forward's
 * a[c] then b[c], else NULL) y counts only where the forward's x * a + b was positive. */
void KFN(odn_bn_sums)(const float *x, const float *y, const float *fwd, int64_t r0, int64_t r1, int64_t c,
                      const float *k, float *s1, float *s2)
{
    float *restrict a1 = s1, *restrict a2 = s2;
    const float *restrict kk = k;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict xr = x + r * c;
        if (!y) {
            for (int64_t j = 0; j < c; j++) {
                const float d = xr[j] - kk[j];
                a1[j] += d;
                a2[j] += d * d;
            }
        } else if (!fwd) {
            const float *restrict yr = y + r * c;
            for (int64_t j = 0; j < c; j++) {
                a1[j] += yr[j];
                a2[j] += yr[j] * (xr[j] - kk[j]);
            }
        } else {
            sums_relu_row(xr, y + r * c, fwd, fwd + c, kk, c, a1, a2);
        }
    }
}

/* dy == NULL: out = x * a + b (forward), then ReLU when relu is set. Else out = dy * a + x * b + d (backward
 * to the input), where with a fused ReLU (fwd as in odn_bn_sums) dy counts only where it let x through. */
void KFN(odn_bn_affine)(const float *x, const float *dy, const float *fwd, int relu, int64_t r0, int64_t r1,
                        int64_t c, const float *a, const float *b, const float *d, float *out)
{
    const float *restrict aa = a, *restrict bb = b, *restrict dd = d;
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict xr = x + r * c;
        float *restrict o = out + r * c;
        if (!dy && !relu) {
            for (int64_t j = 0; j < c; j++)
                o[j] = xr[j] * aa[j] + bb[j];
        } else if (!dy) {
            for (int64_t j = 0; j < c; j++) {
                const float v = xr[j] * aa[j] + bb[j];
                o[j] = v > 0.0f ? v : 0.0f;
            }
        } else if (fwd) {
            const float *restrict yr = dy + r * c, *restrict fa = fwd, *restrict fb = fwd + c;
            for (int64_t j = 0; j < c; j++) {
                const float yv = yr[j], g = xr[j] * fa[j] + fb[j] > 0.0f ? yv : 0.0f;
                o[j] = g * aa[j] + xr[j] * bb[j] + dd[j];
            }
        } else {
            const float *restrict yr = dy + r * c;
            for (int64_t j = 0; j < c; j++)
                o[j] = yr[j] * aa[j] + xr[j] * bb[j] + dd[j];
        }
    }
}
