/* onednn_pool_avx2.c - AVX2 max / average pooling over NHWC (built with -mavx2 -mfma; called only when the
 * CPU has AVX2): each output pixel's channels in blocks of 8, then one block of 4, then single channels,
 * so that C = 20, 36, ... need no masked stores (microcoded on AMD). Max uses vmaxps / compare+blend,
 * never `best = v > best ? v : best` on memory, which gcc 12 turns into vmaskmovps (measured 10x slower).
 * The backward of max recomputes the first argmax per lane and adds dy where the position matches. */
#include "onednn.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* One output pixel's window, clipped to the image. */
struct win {
    int64_t h0, h1, w0, w1;
    float inv; /* 1 / number of cells */
};

static struct win window(const struct odn_win *g, int64_t oh, int64_t ow)
{
    int64_t r0 = oh * g->stride - g->pad, q0 = ow * g->stride - g->pad;
    struct win r = {r0 < 0 ? 0 : r0, r0 + g->k > g->h ? g->h : r0 + g->k, q0 < 0 ? 0 : q0,
                    q0 + g->k > g->w ? g->w : q0 + g->k, 0.0f};
    r.inv = 1.0f / (float)((r.h1 - r.h0) * (r.w1 - r.w0));
    return r;
}

static void fwd_pixel(const struct odn_win *g, int max, const float *xi, const struct win *r, float *y)
{
    const int64_t c = g->c, wc = g->w * c;
    int64_t j = 0;
    for (; j + 8 <= c; j += 8) {
        __m256 a = max ? _mm256_set1_ps(-INFINITY) : _mm256_setzero_ps();
        for (int64_t h = r->h0; h < r->h1; h++)
            for (int64_t w = r->w0; w < r->w1; w++) {
                const __m256 v = _mm256_loadu_ps(xi + h * wc + w * c + j);
                a = max ? _mm256_max_ps(v, a) : _mm256_add_ps(a, v); /* max_ps(NaN, a) = a: NaN never wins */
            }
        _mm256_storeu_ps(y + j, max ? a : _mm256_mul_ps(a, _mm256_set1_ps(r->inv)));
    }
    for (; j + 4 <= c; j += 4) {
        __m128 a = max ? _mm_set1_ps(-INFINITY) : _mm_setzero_ps();
        for (int64_t h = r->h0; h < r->h1; h++)
            for (int64_t w = r->w0; w < r->w1; w++) {
                const __m128 v = _mm_loadu_ps(xi + h * wc + w * c + j);
                a = max ? _mm_max_ps(v, a) : _mm_add_ps(a, v);
            }
        _mm_storeu_ps(y + j, max ? a : _mm_mul_ps(a, _mm_set1_ps(r->inv)));
    }
    for (; j < c; j++) {
        __m128 a = max ? _mm_set_ss(-INFINITY) : _mm_setzero_ps();
        for (int64_t h = r->h0; h < r->h1; h++)
            for (int64_t w = r->w0; w < r->w1; w++) {
                const __m128 v = _mm_load_ss(xi + h * wc + w * c + j);
                a = max ? _mm_max_ss(v, a) : _mm_add_ss(a, v);
            }
        _mm_store_ss(y + j, max ? a : _mm_mul_ss(a, _mm_set_ss(r->inv)));
    }
}

void odn_pool_fwd_avx2(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1)
{
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++) {
                const struct win r = window(g, oh, ow);
                fwd_pixel(g, max, x + n * g->h * g->w * g->c, &r, y + ((n * g->ho + oh) * g->wo + ow) * g->c);
            }
}

/* Max backward of 8 channels at offset j: the first maximum's window position, then dy added there. */
static void max_bwd8(const float *xi, float *dxi, int64_t wc, int64_t c, const struct win *r, __m256 d)
{
    __m256 best = _mm256_set1_ps(-INFINITY), idx = _mm256_setzero_ps();
    float p = 0.0f;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++, p += 1.0f) {
            const __m256 v = _mm256_loadu_ps(xi + h * wc + w * c);
            const __m256 m = _mm256_cmp_ps(v, best, _CMP_GT_OQ); /* strict: the first maximum stays */
            best = _mm256_blendv_ps(best, v, m);
            idx = _mm256_blendv_ps(idx, _mm256_set1_ps(p), m);
        }
    p = 0.0f;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++, p += 1.0f) {
            float *q = dxi + h * wc + w * c;
            const __m256 m = _mm256_cmp_ps(idx, _mm256_set1_ps(p), _CMP_EQ_OQ);
            _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), _mm256_and_ps(m, d)));
        }
}

static void max_bwd4(const float *xi, float *dxi, int64_t wc, int64_t c, const struct win *r, __m128 d)
{
    __m128 best = _mm_set1_ps(-INFINITY), idx = _mm_setzero_ps();
    float p = 0.0f;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++, p += 1.0f) {
            const __m128 v = _mm_loadu_ps(xi + h * wc + w * c);
            const __m128 m = _mm_cmpgt_ps(v, best);
            best = _mm_blendv_ps(best, v, m);
            idx = _mm_blendv_ps(idx, _mm_set1_ps(p), m);
        }
    p = 0.0f;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++, p += 1.0f) {
            float *q = dxi + h * wc + w * c;
            const __m128 m = _mm_cmpeq_ps(idx, _mm_set1_ps(p));
            _mm_storeu_ps(q, _mm_add_ps(_mm_loadu_ps(q), _mm_and_ps(m, d)));
        }
}

static void max_bwd1(const float *xi, float *dxi, int64_t wc, int64_t c, const struct win *r, float d)
{
    int64_t arg = r->h0 * wc + r->w0 * c;
    float best = -INFINITY;
    for (int64_t h = r->h0; h < r->h1; h++)
        for (int64_t w = r->w0; w < r->w1; w++)
            if (xi[h * wc + w * c] > best) {
                best = xi[h * wc + w * c];
                arg = h * wc + w * c;
            }
    dxi[arg] += d;
}

static void avg_bwd(float *dxi, int64_t wc, int64_t c, const struct win *r, const float *d)
{
    int64_t j = 0;
    for (; j + 8 <= c; j += 8) {
        const __m256 s = _mm256_mul_ps(_mm256_loadu_ps(d + j), _mm256_set1_ps(r->inv));
        for (int64_t h = r->h0; h < r->h1; h++)
            for (int64_t w = r->w0; w < r->w1; w++) {
                float *q = dxi + h * wc + w * c + j;
                _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), s));
            }
    }
    for (; j < c; j++) {
        const float s = d[j] * r->inv;
        for (int64_t h = r->h0; h < r->h1; h++)
            for (int64_t w = r->w0; w < r->w1; w++)
                dxi[h * wc + w * c + j] += s;
    }
}

void odn_pool_bwd_avx2(const struct odn_win *g, int max, const float *x, const float *dy, float *dx,
                       int64_t n0, int64_t n1)
{
    const int64_t c = g->c, wc = g->w * c, img = g->h * wc;
    memset(dx + n0 * img, 0, (size_t)((n1 - n0) * img) * sizeof *dx);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < g->ho; oh++)
            for (int64_t ow = 0; ow < g->wo; ow++) {
                const struct win r = window(g, oh, ow);
                const float *d = dy + ((n * g->ho + oh) * g->wo + ow) * c;
                float *dxi = dx + n * img;
                if (!max) { /* x is not read (it may be released: NO_INPUT_DATA) */
                    avg_bwd(dxi, wc, c, &r, d);
                    continue;
                }
                const float *xi = x + n * img;
                int64_t j = 0;
                for (; j + 8 <= c; j += 8)
                    max_bwd8(xi + j, dxi + j, wc, c, &r, _mm256_loadu_ps(d + j));
                for (; j + 4 <= c; j += 4)
                    max_bwd4(xi + j, dxi + j, wc, c, &r, _mm_loadu_ps(d + j));
                for (; j < c; j++)
                    max_bwd1(xi + j, dxi + j, wc, c, &r, d[j]);
            }
}
