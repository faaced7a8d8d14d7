/* ref_bn.c - `batch_norm` over the last axis of NHWC (4-D) or N x C (2-D) input, PyTorch convention:
 * training normalises with the biased batch variance and updates running = (1-m)*running + m*batch with
 * the UNBIASED variance; inference uses the running statistics. Parameters "gamma" (ONE) and "beta" (ZERO)
 * when affine; buffers "running_mean" (ZERO) and "running_var" (ONE). Forward in training saves the batch
 * mean and 1/std (2*C doubles); backward treats a call with nothing saved as an inference call.
 * relu: the output is ReLU(BN(x)); backward recomputes the ReLU's mask from the input (it never reads the
 * output, which a space may release), so that a BN-ReLU pair keeps one tensor on the tape instead of two. */
#include "ref.h"

#include "op_attrs.h"

#include <math.h>

struct bn_state {
    struct ref_base base;
    struct opu_bn d; /* attributes and parameters */
};

static enum enas_status bn_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, "batch_norm", sizeof(struct bn_state), state, err);
    if (st == ENAS_OK)
        st = opu_bn_read(a, &((struct bn_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

static enum enas_status bn_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    return opu_bn_shape(&((const struct bn_state *)state)->d, in, n_in, out, err);
}

/* Batch mean and biased variance per channel, in double, over the m rows of c values. */
static void bn_moments(const float *xd, int64_t m, int64_t c, double *mean, double *var)
{
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < c; j++)
            mean[j] += (double)xd[r * c + j];
    for (int64_t j = 0; j < c; j++)
        mean[j] /= (double)m;
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < c; j++) {
            double d = (double)xd[r * c + j] - mean[j];
            var[j] += d * d;
        }
    for (int64_t j = 0; j < c; j++)
        var[j] /= (double)m;
}

/* Training: batch statistics into stats = [mean, 1/std], and the running update. */
static enum enas_status bn_batch_stats(struct bn_state *s, const struct enas_tensor *in, double *stats,
                                       struct enas_err *err)
{
    const int64_t c = s->d.c, m = enas_tensor_numel(in) / c;
    if (m < 2) /* the unbiased variance of the running update needs two values, as in PyTorch */
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batch_norm: input 0: training needs more than one value "
                            "per channel, got N*H*W = %lld",
                            (long long)m);
    double *mean = stats, *istd = stats + c;
    bn_moments(in->data, m, c, mean, istd);
    float *rm = s->d.mean->value.data, *rv = s->d.var->value.data;
    const double mo = s->d.momentum;
    for (int64_t j = 0; j < c; j++) {
        double var = istd[j];
        rm[j] = (float)((1.0 - mo) * (double)rm[j] + mo * mean[j]);
        rv[j] = (float)((1.0 - mo) * (double)rv[j] + mo * var * (double)m / (double)(m - 1));
        istd[j] = 1.0 / sqrt(var + s->d.eps);
    }
    return ENAS_OK;
}

/* Inference: the running statistics as [mean, 1/std]. */
static void bn_running_stats(const struct bn_state *s, double *stats)
{
    for (int64_t j = 0; j < s->d.c; j++) {
        stats[j] = (double)s->d.mean->value.data[j];
        stats[s->d.c + j] = 1.0 / sqrt((double)s->d.var->value.data[j] + s->d.eps);
    }
}

/* The normalised, scaled and shifted value of x in channel j: forward's output before the ReLU. */
static float bn_value(const struct bn_state *s, float x, const double *stats, int64_t j)
{
    double g = s->d.gamma ? (double)s->d.gamma->value.data[j] : 1.0;
    double b = s->d.beta ? (double)s->d.beta->value.data[j] : 0.0;
    return (float)(g * ((double)x - stats[j]) * stats[s->d.c + j] + b);
}

static enum enas_status bn_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct bn_state *s = state;
    const int64_t c = s->d.c, m = enas_tensor_numel(in[0]) / c;
    const size_t bytes = 2 * (size_t)c * sizeof(double);
    double *stats =
        x->training ? opu_save0(x, "batch_norm", bytes, err) : opu_scratch0(x, "batch_norm", bytes, err);
    if (!stats)
        return ENAS_ERR_NOMEM;
    if (x->training) {
        enum enas_status st = bn_batch_stats(s, in[0], stats, err);
        if (st != ENAS_OK)
            return st;
    } else {
        bn_running_stats(s, stats);
    }
    const float *xd = in[0]->data;
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < c; j++) {
            float y = bn_value(s, xd[r * c + j], stats, j);
            out->data[r * c + j] = s->d.relu && !(y > 0.0f) ? 0.0f : y;
        }
    return ENAS_OK;
}

/* dx = gamma/std * (dy - [batch] (mean(dy) + xhat * mean(dy * xhat))): with batch statistics the
 * mean and variance depend on x too. sums = [sum dy, sum dy*xhat] per channel. */
static void bn_dx(const struct bn_state *s, const float *xd, const float *dy, const double *stats,
                  const double *sums, int batch, int64_t m, float *dx)
{
    const int64_t c = s->d.c;
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < c; j++) {
            double g = s->d.gamma ? (double)s->d.gamma->value.data[j] : 1.0;
            double d = (double)dy[r * c + j];
            if (batch) {
                double xhat = ((double)xd[r * c + j] - stats[j]) * stats[c + j];
                d -= (sums[j] + xhat * sums[c + j]) / (double)m;
            }
            dx[r * c + j] = (float)(g * stats[c + j] * d);
        }
}

static enum enas_status bn_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, const struct enas_tensor *out,
                                    const struct enas_tensor *dout, struct enas_tensor *const *din,
                                    struct enas_err *err)
{
    (void)n_in, (void)out;
    struct bn_state *s = state;
    const int64_t c = s->d.c, m = enas_tensor_numel(in[0]) / c;
    const double *stats = x->saved;
    double *sums = opu_scratch0(x, "batch_norm", 2 * (size_t)c * sizeof *sums, err);
    if (!sums)
        return ENAS_ERR_NOMEM;
    if (!stats) { /* nothing saved: forward ran in inference mode */
        double *rs = opu_scratch0(x, "batch_norm", 2 * (size_t)c * sizeof *rs, err);
        if (!rs)
            return ENAS_ERR_NOMEM;
        bn_running_stats(s, rs);
        stats = rs;
    }
    const float *xd = in[0]->data, *dy = dout->data;
    if (s->d.relu) { /* the gradient through the ReLU: zero where the output was cut to 0 */
        float *dm = opu_scratch0(x, "batch_norm", (size_t)(m * c) * sizeof *dm, err);
        if (!dm)
            return ENAS_ERR_NOMEM;
        for (int64_t i = 0; i < m * c; i++)
            dm[i] = bn_value(s, xd[i], stats, i % c) > 0.0f ? dy[i] : 0.0f;
        dy = dm;
    }
    for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < c; j++) {
            sums[j] += (double)dy[r * c + j];
            sums[c + j] += (double)dy[r * c + j] * ((double)xd[r * c + j] - stats[j]) * stats[c + j];
        }
    if (s->d.gamma)
        ref_grad_add(s->d.gamma, sums + c);
    if (s->d.beta)
        ref_grad_add(s->d.beta, sums);
    if (din[0])
        bn_dx(s, xd, dy, stats, sums, x->saved != NULL, m, din[0]->data);
    return ENAS_OK;
}

const struct enas_op_desc ref_batch_norm_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "batch_norm",
    .provider = "ref",
    .attrs = bn_attrs,
    .n_attrs = sizeof bn_attrs / sizeof bn_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = bn_create,
    .shape = bn_shape,
    .madds = NULL,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
