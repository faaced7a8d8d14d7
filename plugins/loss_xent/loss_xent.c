/* loss_xent.c - the `cross_entropy` loss: mean softmax cross-entropy over the batch, its gradient,
 * and top-1 accuracy. Computed in double per row so that large logits neither overflow nor lose the
 * small probabilities. */
#include <math.h>
#include <stdint.h>

#include "enas/plugin.h"

static enum enas_status xent_check(const struct enas_tensor *logits, const int32_t *labels,
                                   const struct enas_tensor *dlogits, struct enas_err *err)
{
    if (logits->ndim != 2 || logits->dims[0] < 1 || logits->dims[1] < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cross_entropy: logits must be N x K, got %d-D",
                            logits->ndim);
    if (dlogits && !enas_tensor_same_shape(logits, dlogits))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cross_entropy: dlogits shape differs from logits");
    for (int64_t i = 0; i < logits->dims[0]; i++)
        if (labels[i] < 0 || labels[i] >= logits->dims[1])
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "cross_entropy: row %lld: label %d is not in [0, %lld)", (long long)i,
                                (int)labels[i], (long long)logits->dims[1]);
    return ENAS_OK;
}

static enum enas_status xent_compute(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                     struct enas_tensor *dlogits, struct enas_loss_result *out,
                                     struct enas_err *err)
{
    (void)state;
    enum enas_status st = xent_check(logits, labels, dlogits, err);
    if (st != ENAS_OK)
        return st;
    const int64_t n = logits->dims[0], k = logits->dims[1];
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = logits->data + i * k;
        double mx = (double)row[0];
        for (int64_t j = 1; j < k; j++)
            mx = (double)row[j] > mx ? (double)row[j] : mx;
        double sum = 0.0;
        for (int64_t j = 0; j < k; j++)
            sum += exp((double)row[j] - mx);
        double log_z = mx + log(sum);
        total += log_z - (double)row[labels[i]];
        if (dlogits) {
            /* d(mean loss)/d logit = (softmax - onehot) / N */
            float *g = dlogits->data + i * k;
            for (int64_t j = 0; j < k; j++)
                g[j] = (float)((exp((double)row[j] - log_z) - (j == labels[i])) / (double)n);
        }
    }
    out->loss = total / (double)n;
    out->accuracy = enas_top1(logits, labels);
    return ENAS_OK;
}

static const struct enas_loss_desc xent_desc = {
    ENAS_DESC_INIT(struct enas_loss_desc),
    .name = "cross_entropy",
    .description = "mean softmax cross-entropy with top-1 accuracy",
    .compute = xent_compute,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st != ENAS_OK)
        return st;
    return api->register_loss(h, &xent_desc, err);
}
