/* test_controller_grad.c - enas__controller_backward against central finite differences of
 * w_lp * log_prob + w_skip * skip_penalty re-scored for a fixed architecture, on the fake macro (skip
 * bits, QUERY and STEP anchors) and micro (warm-up anchors, tanh_reduce, bias_init, logit_bias) lists,
 * the micro list both in decision order and in the micro space's sample order (x input, y input, x op,
 * y op: the walk is not the architecture's order), with 1 and 2 LSTM layers, temperature on and off, tanh
 * on and off; plus sample/score agreement.
 * Besides a sampled architecture, each list is checked on hand-made ones, so that every path is
 * taken whatever the sampler draws: micro inputs on the newest anchor (its embedding feeds the next
 * step, so the gradient reaches an earlier step both through the attention key and through the
 * input) and on the warm-up anchors (zero embedding); macro layers with no skip (zero input), with
 * every skip, and with some. */
#include "check.h"
#include "test_controller_fake.h"

#include <stdlib.h>

static const double W_LP = 0.7, W_SKIP = 1.3;

static double loss_of(struct enas_controller *c, const int *arch)
{
    struct enas_ctrl_sample s;
    struct enas_err err;
    if (enas__controller_score(c, arch, &s, &err) != ENAS_OK) {
        fprintf(stderr, "score failed: %s\n", err.msg);
        return NAN;
    }
    return W_LP * s.log_prob + W_SKIP * s.skip_penalty;
}

/* Larger weights than the U(-0.1, 0.1) init, so that the tanh and sigmoid curvature takes part. */
static void spread(struct enas_controller *c, struct enas_rng *r)
{
    size_t n;
    struct enas_param *const *p = enas__controller_params(c, &n);
    for (size_t i = 0; i < n; i++) {
        if (strstr(p[i]->name, "b_soft"))
            continue;
        for (int64_t j = 0; j < enas_tensor_numel(&p[i]->value); j++)
            p[i]->value.data[j] = (float)(0.8 * enas__rng_uniform(r) - 0.4);
    }
}

/* Compares one element; returns its relative error. */
static double check_elem(struct enas_controller *c, const int *arch, struct enas_param *p, int64_t j,
                         float *an)
{
    float w0 = p->value.data[j], wp = w0 + 1e-3f, wm = w0 - 1e-3f;
    p->value.data[j] = wp;
    double lp = loss_of(c, arch);
    p->value.data[j] = wm;
    double lm = loss_of(c, arch);
    p->value.data[j] = w0;
    double fd = (lp - lm) / ((double)wp - (double)wm), g = (double)an[j];
    double scale = fmax(fabs(fd), fabs(g));
    double rel = fabs(fd - g) / (scale + 1e-6);
    CHECK_MSG(fabs(fd - g) <= 1e-3 * scale + 1e-6, "%s[%lld]: analytic %.9g, finite difference %.9g", p->name,
              (long long)j, g, fd);
    return rel;
}

/* Hand-made architectures (variant 1 or 2; see the top comment). */
static void craft(const struct ctrl_fake *f, int variant, int *arch)
{
    size_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        const struct enas_decision *d = &f->d[i];
        int k = (int)d->n_candidates;
        if (d->kind == ENAS_CHOICE_ANY) {
            /* variant 1: decision i has no skip when i % 3 == 1, all when i % 3 == 2, alternating
             * otherwise; variant 2: the complement */
            for (int j = 0; j < k; j++) {
                int on = i % 3 == 1 ? 0 : i % 3 == 2 ? 1 : (j + (int)i) % 2;
                arch[pos++] = variant == 1 ? on : !on;
            }
        } else if (d->role == ENAS_ROLE_INPUT) {
            /* variant 1: the newest anchor; variant 2: a warm-up anchor (0 or 1) */
            arch[pos++] = variant == 1 ? k - 1 : (int)(i / 2) % 2;
        } else {
            arch[pos++] = (int)(i * 7 + (unsigned)variant) % k;
        }
    }
}

static void grad_check(const char *what, const struct enas_space_desc *desc, struct ctrl_fake *f,
                       struct enas_ctrl_opts o, uint64_t seed, int variant)
{
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_rng r;
    CHECK_MSG(enas__controller_create(&o, desc, f, &c, &err) == ENAS_OK, "%s: %s", what, err.msg);
    if (!c)
        return;
    enas__rng_seed(&r, seed, 1);
    spread(c, &r);
    size_t len = enas__controller_arch_len(c), n;
    int *arch = calloc(len, sizeof *arch);
    struct enas_ctrl_sample s, s2;
    if (variant) {
        craft(f, variant, arch);
        CHECK(enas__controller_score(c, arch, &s, &err) == ENAS_OK);
    } else {
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        /* scoring the sampled arch reproduces every number */
        CHECK(enas__controller_score(c, arch, &s2, &err) == ENAS_OK);
        CHECK(s.log_prob == s2.log_prob && s.entropy == s2.entropy && s.skip_penalty == s2.skip_penalty &&
              s.skip_rate == s2.skip_rate);
    }
    enas__controller_zero_grad(c);
    CHECK(enas__controller_backward(c, W_LP, W_SKIP, &err) == ENAS_OK);
    struct enas_param *const *p = enas__controller_params(c, &n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t numel = enas_tensor_numel(&p[i]->value);
        float *an = malloc((size_t)numel * sizeof *an);
        memcpy(an, p[i]->grad, (size_t)numel * sizeof *an);
        double gmax = 0;
        for (int64_t j = 0; j < numel; j++)
            gmax = fmax(gmax, fabs((double)an[j]));
        /* every parameter but a saturated bias takes part in the loss */
        CHECK_MSG(gmax > 1e-6 || strstr(p[i]->name, "b_soft"), "%s: %s has no gradient", what, p[i]->name);
        int64_t checks = numel < 40 ? numel : 40;
        for (int64_t k = 0; k < checks; k++) {
            int64_t j = numel < 40 ? k : (int64_t)enas__rng_below(&r, (uint64_t)numel);
            worst = fmax(worst, check_elem(c, arch, p[i], j, an));
        }
        free(an);
    }
    printf("%-30s arch_len %3zu  log_prob %8.4f  skip %.4f  max rel err %.2e\n", what, len, s.log_prob,
           s.skip_penalty, worst);
    free(arch);
    enas__controller_destroy(c);
}

int main(void)
{
    struct ctrl_fake f;
    char what[64];
    const struct enas_space_desc *plain = &ctrl_fake_desc, *ordered = &ctrl_fake_ordered_desc;
    for (int layers = 1; layers <= 2; layers++)
        for (int ti = 0; ti < 2; ti++) {
            double t = ti ? 2.5 : 0;
            ctrl_fake_macro(&f, 4, 0);
            snprintf(what, sizeof what, "macro L=4 layers=%d T=%g", layers, t);
            grad_check(what, plain, &f, ctrl_fake_opts(16, layers, 1.5, t), 11u + (uint64_t)layers, 0);
            ctrl_fake_micro(&f, 2, 3);
            snprintf(what, sizeof what, "micro 2x3 layers=%d T=%g", layers, t);
            grad_check(what, plain, &f, ctrl_fake_opts(16, layers, 1.1, t), 21u + (uint64_t)layers, 0);
            ctrl_fake_micro_tf_order(&f);
            snprintf(what, sizeof what, "micro TF order layers=%d T=%g", layers, t);
            grad_check(what, ordered, &f, ctrl_fake_opts(16, layers, 1.1, t), 51u + (uint64_t)layers, 0);
        }
    for (int v = 1; v <= 2; v++) {
        ctrl_fake_macro(&f, 6, 0);
        snprintf(what, sizeof what, "macro L=6 hand-made %d", v);
        grad_check(what, plain, &f, ctrl_fake_opts(16, 1, 1.5, 0), 31u + (uint64_t)v, v);
        ctrl_fake_micro(&f, 2, 4);
        snprintf(what, sizeof what, "micro 2x4 hand-made %d", v);
        grad_check(what, plain, &f, ctrl_fake_opts(16, 2, 1.1, 1.7), 41u + (uint64_t)v, v);
        ctrl_fake_micro_tf_order(&f);
        snprintf(what, sizeof what, "micro TF order hand-made %d", v);
        grad_check(what, ordered, &f, ctrl_fake_opts(16, 2, 1.1, 1.7), 61u + (uint64_t)v, v);
    }
    /* the skip KL's other forms: on the sampling Bernoulli sigma(2q), summed instead of averaged */
    for (int form = 1; form < 4; form++) {
        struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.5, 0);
        o.skip_kl_sampling = form & 1;
        o.skip_kl_sum = form >> 1;
        ctrl_fake_macro(&f, 6, 0);
        snprintf(what, sizeof what, "macro L=6 skip KL %s, %s", o.skip_kl_sampling ? "sampling" : "logit",
                 o.skip_kl_sum ? "sum" : "mean");
        grad_check(what, plain, &f, o, 71u + (uint64_t)form, 0);
        grad_check(what, plain, &f, o, 81u + (uint64_t)form, 1);
    }
    ctrl_fake_macro(&f, 5, 1);
    grad_check("macro+any_op no tanh", plain, &f, ctrl_fake_opts(12, 1, 0, 0), 5, 0);
    ctrl_fake_micro(&f, 2, 3);
    grad_check("micro h=64 no tanh", plain, &f, ctrl_fake_opts(64, 1, 0, 0), 6, 0);
    ctrl_fake_micro_tf_order(&f);
    grad_check("micro TF order h=64 no tanh", ordered, &f, ctrl_fake_opts(64, 1, 0, 0), 7, 0);
    return check_exit("test_controller_grad");
}
