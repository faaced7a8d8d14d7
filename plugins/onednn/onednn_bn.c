/* onednn_bn.c - `batch_norm` with ref's semantics (PyTorch convention: biased batch variance to normalise,
 * unbiased in the running update; running statistics in inference) on hand-written NHWC passes: oneDNN's
 * NHWC batch norm is 1.7-2x slower than its blocked one here (measured), and the network stays NHWC.
 * Statistics: rows are cut into fixed chunks summed in fp32, and the chunk sums are added in double in
 * chunk order, so that the result does not depend on the thread count. Forward in training saves
 * [mean, 1/std] (2*C doubles); backward treats a call with nothing saved as an inference call.
 * relu (as ref): the output is ReLU(BN(x)); backward recomputes the ReLU's mask from the input with the
 * forward's coefficients, so that it never reads the output (which a space may release). */
#include "onednn.h"

#include "op_attrs.h"

#include <math.h>
#include <string.h>

#define BN_CHUNK 256 /* rows per fp32 partial sum */

struct bn_state {
    struct odn_base base;
    struct opu_bn d; /* attributes and parameters */
};

static enum enas_status bn_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, "batch_norm", sizeof(struct bn_state), state, err);
    if (st == ENAS_OK)
        st = opu_bn_read(a, &((struct bn_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

static enum enas_status bn_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    return opu_bn_shape(&((const struct bn_state *)state)->d, in, n_in, out, err);
}

/* Per-channel sums over all m rows (see odn_bn_sums), in double: S1, S2 = sums + c. */
static enum enas_status bn_sums(const struct bn_state *s, struct enas_exec *x, const float *xd,
                                const float *dy, const float *fwd, int64_t m, const float *k, double *sums,
                                struct enas_err *err)
{
    const int64_t c = s->d.c, nch = (m + BN_CHUNK - 1) / BN_CHUNK;
    float *part = opu_scratch0(x, "batch_norm", (size_t)(nch * 2 * c) * sizeof *part, err);
    if (!part)
        return ENAS_ERR_NOMEM;
    const int avx2 = s->base.be->avx2;
#pragma omp parallel for num_threads(odn_threads(s->base.be, m *c)) schedule(static)
    for (int64_t i = 0; i < nch; i++) {
        const int64_t r0 = i * BN_CHUNK, r1 = r0 + BN_CHUNK < m ? r0 + BN_CHUNK : m;
        float *p = part + i * 2 * c;
        if (avx2)
            odn_bn_sums_avx2(xd, dy, fwd, r0, r1, c, k, p, p + c);
        else
            odn_bn_sums_c(xd, dy, fwd, r0, r1, c, k, p, p + c);
    }
    memset(sums, 0, (size_t)(2 * c) * sizeof *sums);
    for (int64_t i = 0; i < nch; i++)
        for (int64_t j = 0; j < 2 * c; j++)
            sums[j] += (double)part[i * 2 * c + j];
    return ENAS_OK;
}

static void bn_affine(const struct bn_state *s, const float *xd, const float *dy, const float *fwd, int64_t m,
                      const float *a, const float *b, const float *d, float *out)
{
    const int64_t c = s->d.c, nch = (m + BN_CHUNK - 1) / BN_CHUNK;
    const int avx2 = s->base.be->avx2;
#pragma omp parallel for num_threads(odn_threads(s->base.be, m *c)) schedule(static)
    for (int64_t i = 0; i < nch; i++) {
        const int64_t r0 = i * BN_CHUNK, r1 = r0 + BN_CHUNK < m ? r0 + BN_CHUNK : m;
        if (avx2)
            odn_bn_affine_avx2(xd, dy, fwd, s->d.relu, r0, r1, c, a, b, d, out);
        else
            odn_bn_affine_c(xd, dy, fwd, s->d.relu, r0, r1, c, a, b, d, out);
    }
}

/* Training: batch statistics into stats = [mean, 1/std] and the running update (ref's formulas). */
static enum enas_status bn_batch_stats(struct bn_state *s, struct enas_exec *x, const struct enas_tensor *in,
                                       double *stats, float *tmp, struct enas_err *err)
{
    const int64_t c = s->d.c, m = enas_tensor_numel(in) / c;
    if (m < 2)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batch_norm: input 0: training needs more than one value per channel, got "
                            "N*H*W = %lld",
                            (long long)m);
    double *sums = (double *)(tmp + 4 * c);
    memcpy(tmp, in->data, (size_t)c * sizeof *tmp); /* the shift: the first row */
    enum enas_status st = bn_sums(s, x, in->data, NULL, NULL, m, tmp, sums, err);
    if (st != ENAS_OK)
        return st;
    float *rm = s->d.mean->value.data, *rv = s->d.var->value.data;
    const double mo = s->d.momentum;
    for (int64_t j = 0; j < c; j++) {
        const double d1 = sums[j] / (double)m, var0 = sums[c + j] / (double)m - d1 * d1;
        const double mean = (double)tmp[j] + d1, var = var0 > 0.0 ? var0 : 0.0;
        rm[j] = (float)((1.0 - mo) * (double)rm[j] + mo * mean);
        rv[j] = (float)((1.0 - mo) * (double)rv[j] + mo * var * (double)m / (double)(m - 1));
        stats[j] = mean;
        stats[c + j] = 1.0 / sqrt(var + s->d.eps);
    }
    return ENAS_OK;
}

static void bn_running_stats(const struct bn_state *s, double *stats)
{
    for (int64_t j = 0; j < s->d.c; j++) {
        stats[j] = (double)s->d.mean->value.data[j];
        stats[s->d.c + j] = 1.0 / sqrt((double)s->d.var->value.data[j] + s->d.eps);
    }
}

/* tmp: 6*c floats then 2*c doubles. */
static size_t bn_tmp_bytes(int64_t c)
{
    return (size_t)(6 * c) * sizeof(float) + (size_t)(2 * c) * sizeof(double);
}

/* The forward's per-channel out = x * a + b coefficients from [mean, 1/std], in float as forward uses them.
 */
static void bn_coeffs(const struct bn_state *s, const double *stats, float *a, float *b)
{
    const int64_t c = s->d.c;
    for (int64_t j = 0; j < c; j++) {
        const double g = s->d.gamma ? (double)s->d.gamma->value.data[j] : 1.0;
        const double be = s->d.beta ? (double)s->d.beta->value.data[j] : 0.0;
        a[j] = (float)(g * stats[c + j]);
        b[j] = (float)(be - g * stats[c + j] * stats[j]);
    }
}

static enum enas_status bn_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct bn_state *s = state;
    const int64_t c = s->d.c, m = enas_tensor_numel(in[0]) / c;
    const size_t bytes = 2 * (size_t)c * sizeof(double);
    double *stats =
        x->training ? opu_save(x, "batch_norm", bytes, err) : opu_scratch(x, "batch_norm", bytes, err);
    float *tmp = opu_scratch(x, "batch_norm", bn_tmp_bytes(c), err);
    if (!stats || !tmp)
        return ENAS_ERR_NOMEM;
    if (x->training) {
        enum enas_status st = bn_batch_stats(s, x, in[0], stats, tmp, err);
        if (st != ENAS_OK)
            return st;
    } else {
        bn_running_stats(s, stats);
    }
    float *a = tmp, *b = tmp + c;
    bn_coeffs(s, stats, a, b);
    bn_affine(s, in[0]->data, NULL, NULL, m, a, b, NULL, out->data);
    return ENAS_OK;
}

/* dx = g/std * (dy - [batch] (mean(dy) + xhat * mean(dy * xhat))) = A dy + B x + D per channel. */
static enum enas_status bn_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, const struct enas_tensor *out,
                                    const struct enas_tensor *dout, struct enas_tensor *const *din,
                                    struct enas_err *err)
{
    (void)n_in, (void)out;
    struct bn_state *s = state;
    const int64_t c = s->d.c, m = enas_tensor_numel(in[0]) / c;
    const int batch = x->saved != NULL;
    double *rs = opu_scratch(x, "batch_norm", 2 * (size_t)c * sizeof *rs, err);
    float *tmp = opu_scratch(x, "batch_norm", bn_tmp_bytes(c), err);
    if (!rs || !tmp)
        return ENAS_ERR_NOMEM;
    const double *stats = x->saved;
    if (!stats) {
        bn_running_stats(s, rs);
        stats = rs;
    }
    float *kmean = tmp + 3 * c, *fwd = s->d.relu ? tmp + 4 * c : NULL;
    double *sums = (double *)(tmp + 6 * c);
    if (fwd)
        bn_coeffs(s, stats, fwd, fwd + c);
    for (int64_t j = 0; j < c; j++)
        kmean[j] = (float)stats[j];
    enum enas_status st = bn_sums(s, x, in[0]->data, dout->data, fwd, m, kmean, sums, err);
    if (st != ENAS_OK)
        return st;
    for (int64_t j = 0; j < c; j++) {
        /* sum dy*(x - kmean) -> sum dy*xhat, with the rounding of kmean taken back out */
        const double sxh = (sums[c + j] - sums[j] * (stats[j] - (double)kmean[j])) * stats[c + j];
        if (s->d.gamma)
            s->d.gamma->grad[j] += (float)sxh;
        if (s->d.beta)
            s->d.beta->grad[j] += (float)sums[j];
        const double g = s->d.gamma ? (double)s->d.gamma->value.data[j] : 1.0, A = g * stats[c + j];
        const double B = batch ? -A * sxh * stats[c + j] / (double)m : 0.0;
        const double D = batch ? -A * sums[j] / (double)m - B * stats[j] : 0.0;
        tmp[j] = (float)A, tmp[c + j] = (float)B, tmp[2 * c + j] = (float)D;
    }
    if (din[0])
        bn_affine(s, in[0]->data, dout->data, fwd, m, tmp, tmp + c, tmp + 2 * c, din[0]->data);
    return ENAS_OK;
}

const struct enas_op_desc odn_batch_norm_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "batch_norm",
    .provider = "onednn",
    .attrs = bn_attrs,
    .n_attrs = sizeof bn_attrs / sizeof bn_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = bn_create,
    .shape = bn_shape,
    .madds = NULL,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = odn_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
