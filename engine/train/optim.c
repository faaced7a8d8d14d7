/* optim.c - SGD with momentum, gradient clipping and the learning-rate schedule. */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct enas_sgd {
    struct enas_sgd_opts o;
    float **buf; /* momentum buffers, one per parameter index, made on first use */
    size_t n_buf;
};

enum enas_status enas__optim_sgd_create(const struct enas_sgd_opts *o, struct enas_sgd **out,
                                        struct enas_err *err)
{
    struct enas_sgd *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "optimizer: out of memory");
    s->o = *o;
    *out = s;
    return ENAS_OK;
}

void enas__optim_sgd_destroy(struct enas_sgd *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_buf; i++)
        free(s->buf[i]);
    free(s->buf);
    free(s);
}

float *enas__optim_sgd_buffer(struct enas_sgd *s, size_t i, size_t numel)
{
    if (i >= s->n_buf) {
        size_t n = i + 1 > 2 * s->n_buf ? i + 1 : 2 * s->n_buf;
        float **b = realloc(s->buf, n * sizeof *b);
        if (!b)
            return NULL;
        memset(b + s->n_buf, 0, (n - s->n_buf) * sizeof *b);
        s->buf = b;
        s->n_buf = n;
    }
    if (!s->buf[i] && numel)
        s->buf[i] = calloc(numel, sizeof(float));
    return s->buf[i];
}

/* A weight the optimizer moves: every one with a gradient, used in this step or not. */
static int moves(const struct enas_param *p)
{
    return p->grad && !(p->flags & ENAS_PARAM_BUFFER);
}

/* A weight with gradient in this step (the others' gradients are zero). */
static int trains(const struct enas_param *p)
{
    return p->used && moves(p);
}

int64_t enas__optim_first_nonfinite(const float *v, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return j;
    return -1;
}

static enum enas_status nonfinite(const struct enas_param *p, const char *what, const float *v, int64_t k,
                                  struct enas_err *err)
{
    const int64_t j = enas__optim_first_nonfinite(v, k);
    if (j < 0)
        return ENAS_OK;
    return enas_err_set(err, ENAS_ERR_NUMERIC, "%s '%s' is %g at index %lld", what, p->name,
                        isnan(v[j]) ? (double)NAN : (double)v[j], (long long)j); /* "nan", not "-nan" */
}

enum enas_status enas__optim_sgd_step(struct enas_sgd *s, struct enas_param *const *params, size_t n,
                                      double lr, struct enas_err *err)
{
    const float m = (float)s->o.momentum, wd = (float)s->o.weight_decay, step = (float)lr;
    enum enas_status st = ENAS_OK;
    for (size_t i = 0; i < n; i++) {
        struct enas_param *p = params[i];
        if (!moves(p)) { /* a statistic the step's forward updated (BN running mean and variance) */
            if (p->used && st == ENAS_OK)
                st = nonfinite(p, "the statistic", p->value.data, enas_tensor_numel(&p->value), err);
            p->used = 0;
            continue;
        }
        int64_t k = enas_tensor_numel(&p->value);
        float *w = p->value.data, *g = p->grad;
        float *b = m != 0.0f ? enas__optim_sgd_buffer(s, i, (size_t)k) : NULL;
        if (m != 0.0f && !b)
            return enas_err_set(err, ENAS_ERR_NOMEM, "optimizer: out of memory for '%s'", p->name);
        const float d = (p->flags & ENAS_PARAM_NO_DECAY) ? 0.0f : wd;
        for (int64_t j = 0; j < k; j++) {
            float gj = g[j] + d * w[j];
            if (b) {
                b[j] = m * b[j] + gj;
                gj = s->o.nesterov ? gj + m * b[j] : b[j];
            }
            w[j] -= step * gj;
            g[j] = 0.0f;
        }
        p->used = 0;
        /* finite gradients can still overflow a weight or its momentum (a huge learning rate) */
        if (st == ENAS_OK)
            st = nonfinite(p, "the weight", w, k, err);
        if (st == ENAS_OK && b)
            st = nonfinite(p, "the momentum of", b, k, err);
    }
    return st;
}

double enas__optim_grad_norm(struct enas_param *const *params, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!trains(params[i]))
            continue;
        int64_t k = enas_tensor_numel(&params[i]->value);
        for (int64_t j = 0; j < k; j++)
            sum += (double)params[i]->grad[j] * (double)params[i]->grad[j];
    }
    return sqrt(sum);
}

double enas__optim_grad_clip(struct enas_param *const *params, size_t n, double max_norm)
{
    double norm = enas__optim_grad_norm(params, n);
    if (max_norm <= 0.0 || !(norm > max_norm))
        return norm;
    /* as torch.nn.utils.clip_grad_norm_: scale by max / (norm + 1e-6) */
    float scale = (float)(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; i++) {
        if (!trains(params[i]))
            continue;
        int64_t k = enas_tensor_numel(&params[i]->value);
        for (int64_t j = 0; j < k; j++)
            params[i]->grad[j] *= scale;
    }
    return norm;
}

void enas__optim_grad_zero(struct enas_param *const *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (params[i]->grad)
            memset(params[i]->grad, 0, (size_t)enas_tensor_numel(&params[i]->value) * sizeof(float));
        params[i]->used = 0;
    }
}

double enas__optim_lr_cosine(int epoch, double lr_max, double lr_min, int t0, int tmul)
{
    if (t0 < 1)
        t0 = 1;
    if (tmul < 1)
        tmul = 1;
    long long start = 0, len = t0;
    while (epoch >= start + len) { /* find the cycle that holds this epoch */
        start += len;
        len *= tmul;
    }
    double t = (double)(epoch - start) / (double)len;
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + cos(3.14159265358979323846 * t));
}
