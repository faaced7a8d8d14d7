/* tensor.h - the one tensor view that crosses the plugin boundary: dense fp32, NHWC for 4-D activations. */
#ifndef ENAS_TENSOR_H
#define ENAS_TENSOR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define ENAS_MAX_DIMS 4

/* A borrowed view. Layouts:
 *   4-D activations: N, H, W, C (channels last, row-major), every op and every provider;
 *   2-D logits and features: N, K.
 * data may be NULL where only the shape matters (shape inference, FLOP counts). */
struct enas_tensor {
    float *data;
    int ndim;                    /* 1 .. ENAS_MAX_DIMS */
    int64_t dims[ENAS_MAX_DIMS]; /* unused trailing dims are 1 */
};

static inline int64_t enas_tensor_numel(const struct enas_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

static inline int enas_tensor_same_shape(const struct enas_tensor *a, const struct enas_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

/* Index of the largest of k values (the first one on ties; NaN never wins: a NaN is passed over wherever it
 * is, column 0 included; 0 when every value is NaN). */
static inline int64_t enas_argmax(const float *row, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best] || (isnan(row[best]) && !isnan(row[j])))
            best = j;
    return best;
}

/* Fraction of rows of logits (N x K) whose argmax equals the label; labels must be in [0, K). */
static inline double enas_top1(const struct enas_tensor *logits, const int32_t *labels)
{
    int64_t n = logits->dims[0], k = logits->dims[1], correct = 0;
    for (int64_t i = 0; i < n; i++)
        correct += enas_argmax(logits->data + i * k, k) == labels[i];
    return n > 0 ? (double)correct / (double)n : 0.0;
}

#endif
