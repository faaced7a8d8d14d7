/* test_controller_sample.c - what the controller samples when its parameters are set by hand (a large
 * bias wins, zeroed attention gives uniform inputs and fair skip bits, and the log-probability, entropy
 * and KL are the closed forms), parameter names and shapes, the Adam step and clipping, determinism,
 * and the errors that name a decision. */
#include "check.h"
#include "test_controller_fake.h"

#include <stdlib.h>

static struct enas_controller *make(struct ctrl_fake *f, struct enas_ctrl_opts o)
{
    struct enas_controller *c = NULL;
    struct enas_err err;
    CHECK_MSG(enas__ctrl_create(&o, &ctrl_fake_desc, f, &c, &err) == ENAS_OK, "%s", err.msg);
    return c;
}

static void zero_params(struct enas_controller *c)
{
    size_t n;
    struct enas_param *const *p = enas__ctrl_params(c, &n);
    for (size_t i = 0; i < n; i++)
        memset(p[i]->value.data, 0, (size_t)enas_tensor_numel(&p[i]->value) * sizeof(float));
}

static void test_names(void)
{
    struct ctrl_fake f;
    ctrl_fake_micro(&f, 2, 5);
    struct enas_controller *c = make(&f, ctrl_fake_opts(64, 2, 1.1, 0));
    if (!c)
        return;
    static const char *const want[] = {"ctrl.lstm0.w", "ctrl.lstm1.w", "ctrl.g_emb", "ctrl.w_soft.g0",
                                       "ctrl.b_soft.g0", "ctrl.w_emb.g0", "ctrl.attn1", "ctrl.attn2", "ctrl.v"};
    static const int64_t numel[] = {128 * 256, 128 * 256, 64, 64 * 5, 5, 5 * 64, 64 * 64, 64 * 64, 64};
    size_t n;
    struct enas_param *const *p = enas__ctrl_params(c, &n);
    CHECK(n == sizeof want / sizeof want[0] && enas__ctrl_arch_len(c) == 40);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++) {
        CHECK_MSG(strcmp(p[i]->name, want[i]) == 0 && enas_tensor_numel(&p[i]->value) == numel[i], "%zu: %s", i,
                  p[i]->name);
        CHECK(p[i]->grad && enas__ctrl_adam_m(c, i) && enas__ctrl_adam_v(c, i));
    }
    /* bias_init of the normal cell's ops; everything else within U(-0.1, 0.1) */
    const float *b = enas__ctrl_param(c, "ctrl.b_soft.g0")->value.data;
    CHECK(b[0] == 10 && b[1] == 10 && b[2] == 0 && b[4] == 0);
    const float *w = enas__ctrl_param(c, "ctrl.lstm1.w")->value.data;
    float lo = 1, hi = -1;
    for (int i = 0; i < 128 * 256; i++) {
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    CHECK(lo >= -0.1f && hi <= 0.1f && lo < -0.09f && hi > 0.09f);
    CHECK(enas__ctrl_param(c, "ctrl.nope") == NULL && enas__ctrl_adam_m(c, n) == NULL);
    enas__ctrl_destroy(c);
}

/* Micro, tanh off: zero weights and b_soft = +10 on candidate 2: ops pick 2, inputs are uniform. */
static void test_bias_wins(void)
{
    struct ctrl_fake f;
    ctrl_fake_micro(&f, 2, 5);
    struct enas_controller *c = make(&f, ctrl_fake_opts(32, 1, 0, 0));
    if (!c)
        return;
    zero_params(c);
    enas__ctrl_param(c, "ctrl.b_soft.g0")->value.data[2] = 10;
    struct enas_rng r;
    enas__rng_seed(&r, 3, 0);
    int arch[40], ops = 0, twos = 0, first_in[2] = {0, 0}, last_in[6] = {0};
    struct enas_err err;
    struct enas_ctrl_sample s;
    enum { N = 600 };
    for (int k = 0; k < N; k++) {
        CHECK(enas__ctrl_sample(c, &r, arch, &s, &err) == ENAS_OK);
        for (int i = 1; i < 40; i += 2) {
            ops++;
            twos += arch[i] == 2;
        }
        first_in[arch[0]]++;  /* normal node 0, x input: 2 anchors */
        last_in[arch[38]]++;  /* reduce node 4, y input: 6 anchors */
        CHECK(s.skip_penalty == 0 && s.skip_rate == 0);
    }
    printf("op == 2: %.4f, node-0 input 0: %.3f\n", (double)twos / ops, (double)first_in[0] / N);
    CHECK((double)twos / ops > 0.95);
    CHECK(fabs((double)first_in[0] / N - 0.5) < 0.07);
    for (int j = 0; j < 6; j++)
        CHECK_MSG(fabs((double)last_in[j] / N - 1.0 / 6) < 0.05, "candidate %d: %d of %d", j, last_in[j], N);
    enas__ctrl_destroy(c);
}

/* Macro L=12 with zero weights: every distribution is uniform, so log_prob = entropy = 12 log 6 + 66 log 2,
 * bits are fair, and the penalty is the mean of i * KL(0.5 || 0.4) over layers i = 1..11. */
static void test_fair_skips(void)
{
    struct ctrl_fake f;
    ctrl_fake_macro(&f, 12, 0);
    struct enas_controller *c = make(&f, ctrl_fake_opts(32, 1, 1.5, 0));
    if (!c)
        return;
    zero_params(c);
    struct enas_rng r;
    enas__rng_seed(&r, 4, 0);
    int arch[78];
    double rate = 0, want_lp = 12 * log(6.0) + 66 * log(2.0);
    double kl = 0.5 * log(0.5 / 0.4) + 0.5 * log(0.5 / 0.6);
    struct enas_err err;
    struct enas_ctrl_sample s;
    enum { N = 300 };
    for (int k = 0; k < N; k++) {
        CHECK(enas__ctrl_sample(c, &r, arch, &s, &err) == ENAS_OK);
        rate += s.skip_rate / N;
        CHECK_NEAR(s.log_prob, want_lp, 1e-9);
        CHECK_NEAR(s.entropy, want_lp, 1e-9);
        CHECK_NEAR(s.skip_penalty, 6 * kl, 1e-12);
    }
    printf("skip rate with zero attention: %.4f\n", rate);
    CHECK(fabs(rate - 0.5) < 0.02);
    enas__ctrl_destroy(c);
}

/* Same seed and stream: the same architectures; Adam moves each weight by about lr on its first step
 * (m_hat / sqrt(v_hat) = sign(g)), clipping reports the norm before clipping, and steps zero the grads. */
static void test_step(void)
{
    struct ctrl_fake f;
    ctrl_fake_macro(&f, 6, 0);
    struct enas_controller *a = make(&f, ctrl_fake_opts(16, 1, 1.5, 0));
    struct enas_controller *b = make(&f, ctrl_fake_opts(16, 1, 1.5, 0));
    if (!a || !b)
        return;
    struct enas_rng ra, rb;
    enas__rng_seed(&ra, 9, 2);
    enas__rng_seed(&rb, 9, 2);
    int xa[21], xb[21];
    struct enas_ctrl_sample s;
    struct enas_err err;
    for (int k = 0; k < 20; k++) {
        CHECK(enas__ctrl_sample(a, &ra, xa, &s, &err) == ENAS_OK);
        CHECK(enas__ctrl_sample(b, &rb, xb, &s, &err) == ENAS_OK);
        CHECK(memcmp(xa, xb, sizeof xa) == 0);
    }
    CHECK(enas__ctrl_backward(a, 1.0, 0.8, &err) == ENAS_OK);
    double before = enas__ctrl_grad_norm(a), norm = 0;
    size_t n;
    struct enas_param *w = enas__ctrl_params(a, &n)[0];
    float w0 = w->value.data[5], g0 = w->grad[5];
    CHECK(before > 0 && g0 != 0);
    CHECK(enas__ctrl_step(a, 0.01, 0.9, 0.999, 1e-12, before / 2, &norm, &err) == ENAS_OK);
    CHECK_NEAR(norm, before, 1e-12);
    CHECK_NEAR(w->value.data[5], (double)w0 - (g0 > 0 ? 0.01 : -0.01), 1e-5);
    CHECK(enas__ctrl_grad_norm(a) == 0 && *enas__ctrl_adam_t(a) == 1);
    CHECK_ERR(enas__ctrl_step(a, 0.01, 1.0, 0.999, 1e-3, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, "Adam");
    w->grad[0] = NAN;
    CHECK_ERR(enas__ctrl_step(a, 0.01, 0.0, 0.999, 1e-3, 0, NULL, &err), err, ENAS_ERR_NUMERIC, "not finite");
    CHECK(w->grad[0] == 0 && w->value.data[0] == w->value.data[0]);
    enas__ctrl_destroy(a);
    enas__ctrl_destroy(b);
}

static void test_errors(void)
{
    struct ctrl_fake f;
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.1, 0);
    ctrl_fake_micro(&f, 1, 3);
    f.d[4].n_candidates = 4; /* node 1 x input: 3 anchors exist */
    CHECK_ERR(enas__ctrl_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_1_x_input'");
    CHECK(c == NULL);
    ctrl_fake_micro(&f, 2, 3);
    f.d[15].n_candidates = 6; /* reduce node 0 y op */
    CHECK_ERR(enas__ctrl_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_0_x_op' and 'reduce_node_0_y_op'");
    ctrl_fake_micro(&f, 1, 2);
    f.d[0].new_scope = 0;
    CHECK_ERR(enas__ctrl_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG, "new scope");
    ctrl_fake_macro(&f, 3, 0);
    o.skip_target = 0;
    CHECK_ERR(enas__ctrl_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG, "skip_target");
    o.skip_target = 0.4;
    CHECK(enas__ctrl_create(&o, &ctrl_fake_desc, &f, &c, &err) == ENAS_OK);
    if (!c)
        return;
    CHECK_ERR(enas__ctrl_backward(c, 1, 0, &err), err, ENAS_ERR_INVALID_ARG, "before any sample");
    int arch[6] = {0, 0, 2, 5, 1, 0}; /* the one bit of 'InputChoice3' is not 0/1 */
    struct enas_ctrl_sample s;
    CHECK_ERR(enas__ctrl_score(c, arch, &s, &err), err, ENAS_ERR_INVALID_ARG, "arch[2] = 2");
    CHECK(strstr(err.msg, "'InputChoice3'") != NULL);
    arch[2] = 1;
    arch[0] = 6;
    CHECK_ERR(enas__ctrl_score(c, arch, &s, &err), err, ENAS_ERR_INVALID_ARG, "'LayerChoice1'");
    arch[0] = 5;
    CHECK(enas__ctrl_score(c, arch, &s, &err) == ENAS_OK && fabs(s.skip_rate - 2.0 / 3) < 1e-15);
    enas__ctrl_destroy(c);
}

int main(void)
{
    test_names();
    test_bias_wins();
    test_fair_skips();
    test_step();
    test_errors();
    return check_exit("test_controller_sample");
}
