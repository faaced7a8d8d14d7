/* test_controller_kl.c - the sampled-action entropy term (entropy_mode sampled), and where the skip KL alone
 * drives the skip rate, for each form of skip_kl. With the
 * reward term off (w_lp = 0) the controller minimises only KL(Bernoulli(s) || 0.4). With TF's and NNI's form
 * s = sigma(q) for a bit sampled with probability sigma(2q), so q goes to logit(0.4) and the bits come on
 * with probability sigma(2 logit(0.4)) = 0.3077 (the 0.31 of TF runs); with the sampling form s = sigma(2q)
 * and the rate goes to 0.4 itself. */
#include "check.h"
#include "test_controller_fake.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The mean skip rate over `samples` samples after `updates` Adam steps on the KL alone. */
static double settled_rate(int sampling, int updates, int samples)
{
    struct ctrl_fake f;
    ctrl_fake_macro(&f, 6, 0);
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.5, 0);
    o.skip_kl_sampling = sampling;
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_rng r;
    enas__rng_seed(&r, 7, 1);
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err) == ENAS_OK, "%s", err.msg);
    if (!c)
        return NAN;
    int *arch = calloc(enas__controller_arch_len(c), sizeof *arch);
    struct enas_ctrl_sample s;
    for (int u = 0; u < updates; u++) {
        enas__controller_zero_grad(c);
        for (int k = 0; k < 4; k++) {
            CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
            CHECK(enas__controller_backward(c, 0.0, 0.25, &err) == ENAS_OK);
        }
        CHECK(enas__controller_step(c, 0.02, 0.9, 0.999, 1e-8, 0.0, NULL, &err) == ENAS_OK);
    }
    double rate = 0;
    for (int k = 0; k < samples; k++) {
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        rate += s.skip_rate;
    }
    free(arch);
    enas__controller_destroy(c);
    return rate / samples;
}

/* entropy_mode sampled: for one decision the term is CE * exp(-CE) of the sampled choice, CE = log_prob. */
static void sampled_entropy(void)
{
    struct ctrl_fake f;
    ctrl_fake_macro(&f, 1, 0); /* one op decision, no skips */
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.5, 0);
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_rng r;
    enas__rng_seed(&r, 3, 1);
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err) == ENAS_OK, "%s", err.msg);
    if (!c)
        return;
    int arch[1];
    for (int k = 0; k < 20; k++) {
        struct enas_ctrl_sample s;
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        const double want = s.log_prob * exp(-s.log_prob);
        CHECK_MSG(fabs(s.entropy_sampled - want) < 1e-12, "sample %d: CE*exp(-CE) %.12g, want %.12g", k,
                  s.entropy_sampled, want);
        CHECK_MSG(s.entropy > 0 && s.entropy != s.entropy_sampled, "sample %d: exact entropy %.6g", k,
                  s.entropy);
    }
    enas__controller_destroy(c);
}

int main(void)
{
    sampled_entropy();
    const double tf = 1.0 / (1.0 + exp(-2.0 * log(0.4 / 0.6)));
    const double logit = settled_rate(0, 400, 4000), sampling = settled_rate(1, 400, 4000);
    printf("skip rate settles at %.4f (logit form; sigma(2 logit(0.4)) = %.4f) and %.4f (sampling form)\n",
           logit, tf, sampling);
    CHECK_MSG(fabs(logit - tf) < 0.02, "logit form: skip rate %.4f, want %.4f", logit, tf);
    CHECK_MSG(fabs(sampling - 0.4) < 0.02, "sampling form: skip rate %.4f, want 0.4", sampling);
    return check_exit("test_controller_kl");
}
