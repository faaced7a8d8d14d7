/* controller_adam.c - the controller's optimizer: global-norm clipping and Adam over its own
 * parameters (TF uses Adam with beta1 = 0, eps = 1e-3 and no clipping; NNI PyTorch defaults and clip 5;
 * the caller picks). */
#include "controller/controller_impl.h"

#include <math.h>
#include <string.h>

void enas__controller_zero_grad(struct enas_controller *c)
{
    memset(c->grad, 0, c->n_val * sizeof *c->grad);
}

double enas__controller_grad_norm(const struct enas_controller *c)
{
    double s = 0;
    for (size_t i = 0; i < c->n_val; i++)
        s += (double)c->grad[i] * (double)c->grad[i];
    return sqrt(s);
}

enum enas_status enas__controller_step(struct enas_controller *c, double lr, double beta1, double beta2,
                                       double eps, double clip, double *norm, struct enas_err *err)
{
    if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(clip >= 0))
        return enas_err_set(
            err, ENAS_ERR_INVALID_ARG,
            "controller: Adam needs lr >= 0, betas in [0, 1), eps > 0, clip >= 0 (got %g, %g, %g, "
            "%g, %g)",
            lr, beta1, beta2, eps, clip);
    double n = enas__controller_grad_norm(c);
    if (norm)
        *norm = n;
    if (!isfinite(n)) {
        enas__controller_zero_grad(c); /* a poisoned aggregate must not leak into the next one */
        return enas_err_set(err, ENAS_ERR_NUMERIC, "controller: gradient norm is not finite; step skipped");
    }
    double scale = clip > 0 && n > clip ? clip / n : 1.0;
    c->adam_t++;
    double bc1 = 1 - pow(beta1, (double)c->adam_t), bc2 = 1 - pow(beta2, (double)c->adam_t);
    for (size_t i = 0; i < c->n_val; i++) {
        double g = scale * (double)c->grad[i];
        double m = beta1 * (double)c->am[i] + (1 - beta1) * g;
        double v = beta2 * (double)c->av[i] + (1 - beta2) * g * g;
        c->am[i] = (float)m;
        c->av[i] = (float)v;
        c->val[i] -= (float)(lr * (m / bc1) / (sqrt(v / bc2) + eps));
        c->grad[i] = 0.0f;
    }
    return ENAS_OK;
}
