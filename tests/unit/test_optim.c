/* test_optim.c - the shared-weight optimizer's guard against non-finite values (engine/train/optim.c): an
 * update that leaves a weight at infinity, or a statistic buffer (BN running variance) the step's forward
 * made NaN, is reported with the parameter's name and the index; finite updates still happen as before, and
 * the global gradient norm is not finite when one gradient is not. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "train/optim.h"

static struct enas_param param(const char *name, float *v, float *g, int64_t n, unsigned flags)
{
    struct enas_param p = {name, {v, 1, {n, 1, 1, 1}}, g, flags, 1};
    return p;
}

/* A weight the sampled child does not use for k steps still decays and moves with its momentum, step by
 * step as PyTorch's SGD (NNI) and TF's momentum optimizer do: b = m b + (g + wd w); w -= lr b. */
static void unused_weights(void)
{
    struct enas_err err = {0};
    struct enas_sgd *s = NULL;
    const struct enas_sgd_opts o = {.momentum = 0.9, .weight_decay = 0.01};
    CHECK(enas__optim_sgd_create(&o, &s, &err) == ENAS_OK);
    float w[2] = {1, -2}, g[2] = {0.5f, 0.25f}, u[2] = {3, 4}, gu[2] = {1, -1};
    struct enas_param a = param("net.used.w", w, g, 2, 0), b = param("net.unused.w", u, gu, 2, 0);
    struct enas_param *ps[] = {&a, &b};
    double ref_u[2] = {3, 4}, ref_b[2] = {0, 0}, ref_g[2] = {1, -1};
    const double lr = 0.1;
    for (int step = 0; step < 6; step++) {
        a.used = 1;
        b.used = step == 0; /* used once, then not for 5 steps: its gradient stays zero */
        CHECK(enas__optim_sgd_step(s, ps, 2, lr, &err) == ENAS_OK);
        for (int j = 0; j < 2; j++) {
            ref_b[j] = 0.9 * ref_b[j] + ((step == 0 ? ref_g[j] : 0.0) + 0.01 * ref_u[j]);
            ref_u[j] -= lr * ref_b[j];
            CHECK_MSG(fabs((double)u[j] - ref_u[j]) < 1e-5, "step %d: unused weight [%d] = %.7g, want %.7g",
                      step, j, (double)u[j], ref_u[j]);
        }
        g[0] = 0.5f, g[1] = 0.25f; /* the used weight gets a gradient every step */
    }
    CHECK(!b.used && gu[0] == 0.0f && gu[1] == 0.0f);
    enas__optim_sgd_destroy(s);
}

int main(void)
{
    struct enas_err err = {0};
    struct enas_sgd *s = NULL;
    const struct enas_sgd_opts o = {0.9, 0, 0.0};
    CHECK(enas__optim_sgd_create(&o, &s, &err) == ENAS_OK);

    float w[3] = {1, 2, 3}, g[3] = {1, 1, 1}, bn[2] = {1, 1};
    struct enas_param a = param("net.a.w", w, g, 3, 0),
                      b = param("net.bn.running_var", bn, NULL, 2, ENAS_PARAM_BUFFER);
    struct enas_param *ps[] = {&a, &b};

    /* finite: updated, gradients zeroed, used cleared */
    CHECK(enas__optim_sgd_step(s, ps, 2, 0.5, &err) == ENAS_OK);
    CHECK(w[0] == 0.5f && w[2] == 2.5f && g[1] == 0.0f && !a.used && !b.used);

    /* a finite gradient that overflows a weight */
    g[1] = -FLT_MAX;
    a.used = b.used = 1;
    CHECK_ERR(enas__optim_sgd_step(s, ps, 2, 4.0, &err), err, ENAS_ERR_NUMERIC,
              "the weight 'net.a.w' is inf at index 1");
    CHECK(!a.used && !b.used && g[1] == 0.0f); /* the step still ran through every parameter */

    /* a statistic the forward updated; one not used in this step is not examined */
    w[1] = 1.0f;
    memset(enas__optim_sgd_buffer(s, 0, 3), 0, 3 * sizeof(float));
    bn[1] = NAN;
    a.used = 1, b.used = 1;
    CHECK_ERR(enas__optim_sgd_step(s, ps, 2, 0.1, &err), err, ENAS_ERR_NUMERIC,
              "the statistic 'net.bn.running_var' is nan at index 1");
    a.used = 1, b.used = 0;
    CHECK(enas__optim_sgd_step(s, ps, 2, 0.1, &err) == ENAS_OK);

    /* the gradient norm sees a non-finite gradient, clipped or not */
    g[2] = INFINITY;
    a.used = 1;
    CHECK(!isfinite(enas__optim_grad_clip(ps, 1, 5.0)));
    CHECK(!isfinite(enas__optim_grad_clip(ps, 1, 0.0)));
    CHECK(enas__optim_first_nonfinite(g, 3) == 2 && enas__optim_first_nonfinite(w, 3) == -1);

    enas__optim_sgd_destroy(s);
    unused_weights();
    return check_exit("test_optim");
}
