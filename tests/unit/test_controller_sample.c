/* test_controller_sample.c - what the controller samples when its parameters are set by hand (a large
 * bias wins, zeroed attention gives uniform inputs and fair skip bits, and the log-probability, entropy
 * and KL are the closed forms), parameter names and shapes, the Adam step and clipping, determinism,
 * and the errors that name a decision. The space's sample order: the walk with the micro space's order
 * is ENAS.md §4.3's step sequence (against TF's sampler written out here), and is the walk of a space
 * whose decision order is that order (samples, log-probabilities and gradients bit for bit); an older
 * descriptor's order is not read; a bad order is an error naming the space and the entry. */
#include "check.h"
#include "test_controller_fake.h"

#include <stddef.h>
#include <stdlib.h>

static struct enas_controller *make(struct ctrl_fake *f, struct enas_ctrl_opts o)
{
    struct enas_controller *c = NULL;
    struct enas_err err;
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_desc, f, &c, &err) == ENAS_OK, "%s", err.msg);
    return c;
}

static void zero_params(struct enas_controller *c)
{
    size_t n;
    struct enas_param *const *p = enas__controller_params(c, &n);
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
    static const char *const want[] = {"ctrl.lstm0.w",   "ctrl.lstm1.w",   "ctrl.g_emb",
                                       "ctrl.w_soft.g0", "ctrl.b_soft.g0", "ctrl.w_emb.g0",
                                       "ctrl.attn1",     "ctrl.attn2",     "ctrl.v"};
    static const int64_t numel[] = {128 * 256, 128 * 256, 64, 64 * 5, 5, 5 * 64, 64 * 64, 64 * 64, 64};
    size_t n;
    struct enas_param *const *p = enas__controller_params(c, &n);
    CHECK(n == sizeof want / sizeof want[0] && enas__controller_arch_len(c) == 40);
    for (size_t i = 0; i < n && i < sizeof want / sizeof want[0]; i++) {
        CHECK_MSG(strcmp(p[i]->name, want[i]) == 0 && enas_tensor_numel(&p[i]->value) == numel[i], "%zu: %s",
                  i, p[i]->name);
        CHECK(p[i]->grad && enas__controller_adam_m(c, i) && enas__controller_adam_v(c, i));
    }
    /* bias_init of the normal cell's ops; everything else within U(-0.1, 0.1) */
    const float *b = enas__controller_param(c, "ctrl.b_soft.g0")->value.data;
    CHECK(b[0] == 10 && b[1] == 10 && b[2] == 0 && b[4] == 0);
    const float *w = enas__controller_param(c, "ctrl.lstm1.w")->value.data;
    float lo = 1, hi = -1;
    for (int i = 0; i < 128 * 256; i++) {
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    CHECK(lo >= -0.1f && hi <= 0.1f && lo < -0.09f && hi > 0.09f);
    CHECK(enas__controller_param(c, "ctrl.nope") == NULL && enas__controller_adam_m(c, n) == NULL);
    enas__controller_destroy(c);
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
    enas__controller_param(c, "ctrl.b_soft.g0")->value.data[2] = 10;
    struct enas_rng r;
    enas__rng_seed(&r, 3, 0);
    int arch[40], ops = 0, twos = 0, first_in[2] = {0, 0}, last_in[6] = {0};
    struct enas_err err;
    struct enas_ctrl_sample s;
    enum { N = 600 };
    for (int k = 0; k < N; k++) {
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        for (int i = 1; i < 40; i += 2) {
            ops++;
            twos += arch[i] == 2;
        }
        first_in[arch[0]]++; /* normal node 0, x input: 2 anchors */
        last_in[arch[38]]++; /* reduce node 4, y input: 6 anchors */
        CHECK(s.skip_penalty == 0 && s.skip_rate == 0);
    }
    printf("op == 2: %.4f, node-0 input 0: %.3f\n", (double)twos / ops, (double)first_in[0] / N);
    CHECK((double)twos / ops > 0.95);
    CHECK(fabs((double)first_in[0] / N - 0.5) < 0.07);
    for (int j = 0; j < 6; j++)
        CHECK_MSG(fabs((double)last_in[j] / N - 1.0 / 6) < 0.05, "candidate %d: %d of %d", j, last_in[j], N);
    enas__controller_destroy(c);
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
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        rate += s.skip_rate / N;
        CHECK_NEAR(s.log_prob, want_lp, 1e-9);
        CHECK_NEAR(s.entropy, want_lp, 1e-9);
        CHECK_NEAR(s.skip_penalty, 6 * kl, 1e-12);
    }
    printf("skip rate with zero attention: %.4f\n", rate);
    CHECK(fabs(rate - 0.5) < 0.02);
    enas__controller_destroy(c);
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
        CHECK(enas__controller_sample(a, &ra, xa, &s, &err) == ENAS_OK);
        CHECK(enas__controller_sample(b, &rb, xb, &s, &err) == ENAS_OK);
        CHECK(memcmp(xa, xb, sizeof xa) == 0);
    }
    CHECK(enas__controller_backward(a, 1.0, 0.8, &err) == ENAS_OK);
    double before = enas__controller_grad_norm(a), norm = 0;
    size_t n;
    struct enas_param *w = enas__controller_params(a, &n)[0];
    float w0 = w->value.data[5], g0 = w->grad[5];
    CHECK(before > 0 && g0 != 0);
    CHECK(enas__controller_step(a, 0.01, 0.9, 0.999, 1e-12, before / 2, &norm, &err) == ENAS_OK);
    CHECK_NEAR(norm, before, 1e-12);
    CHECK_NEAR(w->value.data[5], (double)w0 - (g0 > 0 ? 0.01 : -0.01), 1e-5);
    CHECK(enas__controller_grad_norm(a) == 0 && *enas__controller_adam_t(a) == 1);
    CHECK_ERR(enas__controller_step(a, 0.01, 1.0, 0.999, 1e-3, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "Adam");
    w->grad[0] = NAN;
    CHECK_ERR(enas__controller_step(a, 0.01, 0.0, 0.999, 1e-3, 0, NULL, &err), err, ENAS_ERR_NUMERIC,
              "not finite");
    CHECK(w->grad[0] == 0 && w->value.data[0] == w->value.data[0]);
    enas__controller_destroy(a);
    enas__controller_destroy(b);
}

static void test_errors(void)
{
    struct ctrl_fake f;
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.1, 0);
    ctrl_fake_micro(&f, 1, 3);
    f.d[4].n_candidates = 4; /* node 1 x input: 3 anchors exist */
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_1_x_input'");
    CHECK(c == NULL);
    ctrl_fake_micro(&f, 2, 3);
    f.d[15].n_candidates = 6; /* reduce node 0 y op */
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_0_x_op' and 'reduce_node_0_y_op'");
    ctrl_fake_micro(&f, 1, 2);
    f.d[0].new_scope = 0;
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "new scope");
    ctrl_fake_macro(&f, 3, 0);
    o.skip_target = 0;
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "skip_target");
    o.skip_target = 0.4;
    CHECK(enas__controller_create(&o, &ctrl_fake_desc, &f, &c, &err) == ENAS_OK);
    if (!c)
        return;
    CHECK_ERR(enas__controller_backward(c, 1, 0, &err), err, ENAS_ERR_INVALID_ARG, "before any sample");
    int arch[6] = {0, 0, 2, 5, 1, 0}; /* the one bit of 'InputChoice3' is not 0/1 */
    struct enas_ctrl_sample s;
    CHECK_ERR(enas__controller_score(c, arch, &s, &err), err, ENAS_ERR_INVALID_ARG, "arch[2] = 2");
    CHECK(strstr(err.msg, "'InputChoice3'") != NULL);
    arch[2] = 1;
    arch[0] = 6;
    CHECK_ERR(enas__controller_score(c, arch, &s, &err), err, ENAS_ERR_INVALID_ARG, "'LayerChoice1'");
    arch[0] = 5;
    CHECK(enas__controller_score(c, arch, &s, &err) == ENAS_OK && fabs(s.skip_rate - 2.0 / 3) < 1e-15);
    enas__controller_destroy(c);
}

/* Weights U(-0.5, 0.5) everywhere (b_soft too), so that the walk's order shows in every number. */
static void spread(struct enas_controller *c, uint64_t seed)
{
    struct enas_rng r;
    enas__rng_seed(&r, seed, 5);
    size_t n;
    struct enas_param *const *p = enas__controller_params(c, &n);
    for (size_t i = 0; i < n; i++)
        for (int64_t j = 0; j < enas_tensor_numel(&p[i]->value); j++)
            p[i]->value.data[j] = (float)(enas__rng_uniform(&r) - 0.5);
}

/* ENAS.md §4.3 written out: TF MicroController's sampler (one LSTM layer, no temperature) scoring an
 * architecture in TF's integer-string order with the controller's parameters. Per cell: two warm-up steps
 * on g_emb (anchors of zero embedding); per node two input steps (attention over the cell's anchors, input
 * <- the chosen anchor), two op steps (h W_soft + b_soft, op_tanh_reduce, the normal cell's constant bias,
 * input <- W_emb[op]) and one more step whose h is the node's anchor (input <- g_emb). The reduction cell
 * goes on from the normal cell's LSTM state. */
enum { TF_H = 16, TF_OPS = 5, TF_ANCHORS = 16 };

struct tf_ref {
    const float *w, *gemb, *wsoft, *bsoft, *wemb, *a1, *a2, *v;
    double c[TF_H], h[TF_H], lp, ent;
};

static void tf_step(struct tf_ref *r, const double *x)
{
    double z[4 * TF_H];
    for (int k = 0; k < 4 * TF_H; k++) {
        double s = 0;
        for (int i = 0; i < TF_H; i++)
            s += x[i] * (double)r->w[i * 4 * TF_H + k] + r->h[i] * (double)r->w[(TF_H + i) * 4 * TF_H + k];
        z[k] = s;
    }
    for (int j = 0; j < TF_H; j++) {
        double ig = 1 / (1 + exp(-z[j])), fg = 1 / (1 + exp(-z[TF_H + j])),
               og = 1 / (1 + exp(-z[2 * TF_H + j]));
        r->c[j] = fg * r->c[j] + ig * tanh(z[3 * TF_H + j]);
        r->h[j] = og * tanh(r->c[j]);
    }
}

/* c * tanh(logits) (+ bias); the cross-entropy of choice ch and the entropy */
static void tf_choose(struct tf_ref *r, double *l, int k, double cmul, const float *bias, int ch)
{
    double m = -INFINITY, z = 0, ent = 0;
    for (int j = 0; j < k; j++) {
        l[j] = cmul * tanh(l[j]) + (bias ? (double)bias[j] : 0.0);
        m = fmax(m, l[j]);
    }
    for (int j = 0; j < k; j++)
        z += exp(l[j] - m);
    double lse = m + log(z);
    for (int j = 0; j < k; j++)
        ent -= exp(l[j] - lse) * (l[j] - lse);
    r->lp += lse - l[ch];
    r->ent += ent;
}

/* h M for an h x m matrix M */
static void tf_vecmat(const double *h, const float *m, int cols, double *out)
{
    for (int k = 0; k < cols; k++) {
        out[k] = 0;
        for (int i = 0; i < TF_H; i++)
            out[k] += h[i] * (double)m[i * cols + k];
    }
}

static void tf_score(struct enas_controller *c, const int *arch, int nodes, double *lp, double *ent)
{
    static const float normal_bias[TF_OPS] = {0.25f, 0.25f, -0.25f, -0.25f, -0.25f};
    struct tf_ref r = {enas__controller_param(c, "ctrl.lstm0.w")->value.data,
                       enas__controller_param(c, "ctrl.g_emb")->value.data,
                       enas__controller_param(c, "ctrl.w_soft.g0")->value.data,
                       enas__controller_param(c, "ctrl.b_soft.g0")->value.data,
                       enas__controller_param(c, "ctrl.w_emb.g0")->value.data,
                       enas__controller_param(c, "ctrl.attn1")->value.data,
                       enas__controller_param(c, "ctrl.attn2")->value.data,
                       enas__controller_param(c, "ctrl.v")->value.data,
                       {0},
                       {0},
                       0,
                       0};
    double gemb[TF_H], x[TF_H], anchor[TF_ANCHORS][TF_H], key[TF_ANCHORS][TF_H], q[TF_H], l[TF_ANCHORS];
    for (int m = 0; m < TF_H; m++)
        gemb[m] = (double)r.gemb[m];
    for (int cell = 0; cell < 2; cell++) {
        const int *a = arch + cell * 4 * nodes;
        for (int k = 0; k < 2; k++) {
            tf_step(&r, gemb);
            memset(anchor[k], 0, sizeof anchor[k]);
            tf_vecmat(r.h, r.a1, TF_H, key[k]);
        }
        memcpy(x, gemb, sizeof x);
        for (int n = 0; n < nodes; n++) {
            int layer = n + 2;
            for (int i = 0; i < 2; i++) { /* index_1, index_2 */
                tf_step(&r, x);
                tf_vecmat(r.h, r.a2, TF_H, q);
                for (int j = 0; j < layer; j++) {
                    l[j] = 0;
                    for (int m = 0; m < TF_H; m++)
                        l[j] += (double)r.v[m] * tanh(key[j][m] + q[m]);
                }
                int idx = a[4 * n + 2 * i];
                tf_choose(&r, l, layer, 1.1, NULL, idx);
                memcpy(x, anchor[idx], sizeof x);
            }
            for (int i = 0; i < 2; i++) { /* op_1, op_2 */
                tf_step(&r, x);
                tf_vecmat(r.h, r.wsoft, TF_OPS, l);
                for (int j = 0; j < TF_OPS; j++)
                    l[j] += (double)r.bsoft[j];
                int op = a[4 * n + 2 * i + 1];
                tf_choose(&r, l, TF_OPS, 1.1 / 2.5, cell == 0 ? normal_bias : NULL, op);
                for (int m = 0; m < TF_H; m++)
                    x[m] = (double)r.wemb[op * TF_H + m];
            }
            tf_step(&r, x); /* the node's anchor */
            memcpy(anchor[layer], r.h, sizeof r.h);
            tf_vecmat(r.h, r.a1, TF_H, key[layer]);
            memcpy(x, gemb, sizeof x);
        }
    }
    *lp = r.lp;
    *ent = r.ent;
}

/* The micro space's sample order gives TF's step sequence: every sampled architecture scores as TF's
 * sampler scores it; the decision-order walk does not. */
static void test_order_is_tf(void)
{
    struct ctrl_fake f;
    ctrl_fake_micro(&f, 2, 5);
    ctrl_fake_micro_tf_order(&f);
    struct enas_ctrl_opts o = ctrl_fake_opts(TF_H, 1, 1.1, 0);
    struct enas_controller *c = NULL, *plain = NULL;
    struct enas_err err;
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err) == ENAS_OK, "%s", err.msg);
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_desc, &f, &plain, &err) == ENAS_OK, "%s", err.msg);
    if (!c || !plain)
        goto out;
    spread(c, 1);
    spread(plain, 1);
    struct enas_rng r;
    enas__rng_seed(&r, 8, 0);
    int arch[40];
    double worst = 0, off = 0;
    for (int k = 0; k < 20; k++) {
        struct enas_ctrl_sample s, sp;
        double lp, ent;
        CHECK(enas__controller_sample(c, &r, arch, &s, &err) == ENAS_OK);
        tf_score(c, arch, 5, &lp, &ent);
        worst = fmax(worst, fmax(fabs(s.log_prob - lp) / lp, fabs(s.entropy - ent) / ent));
        CHECK(enas__controller_score(plain, arch, &sp, &err) == ENAS_OK);
        off = fmax(off, fabs(sp.log_prob - lp));
    }
    printf("TF micro sampler vs sample order: rel err %.2e; decision order is off by up to %.3f\n", worst,
           off);
    CHECK(worst < 1e-12);
    CHECK(off > 1e-3);
out:
    enas__controller_destroy(c);
    enas__controller_destroy(plain);
}

/* A space with a sample order walks exactly as a space whose decision order is that order: the same
 * parameters, the same draws landing in the permuted decisions, the same numbers and gradients, bit for
 * bit. Scoring replays the same walk. */
static void test_order_is_permutation(void)
{
    static struct ctrl_fake f, g;
    ctrl_fake_micro(&f, 2, 5);
    ctrl_fake_micro_tf_order(&f);
    ctrl_fake_permuted(&f, &g);
    CHECK(strcmp(g.d[1].label, "normal_node_0_y_input") == 0 &&
          strcmp(g.d[3].label, "normal_node_0_y_op") == 0 && g.d[3].anchor == ENAS_ANCHOR_STEP &&
          g.d[0].new_scope && g.d[20].new_scope);
    struct enas_ctrl_opts o = ctrl_fake_opts(32, 2, 1.1, 0);
    struct enas_controller *a = NULL, *b = NULL;
    struct enas_err err;
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &a, &err) == ENAS_OK, "%s", err.msg);
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_desc, &g, &b, &err) == ENAS_OK, "%s", err.msg);
    if (!a || !b)
        goto out;
    CHECK(ctrl_same_params(a, b, 0)); /* the layout does not depend on the order */
    spread(a, 2);
    spread(b, 2);
    struct enas_rng ra, rb;
    enas__rng_seed(&ra, 6, 1);
    enas__rng_seed(&rb, 6, 1);
    int xa[40], xb[40], mismatch = 0;
    for (int k = 0; k < 30; k++) {
        struct enas_ctrl_sample sa, sb, sc;
        CHECK(enas__controller_sample(a, &ra, xa, &sa, &err) == ENAS_OK);
        CHECK(enas__controller_sample(b, &rb, xb, &sb, &err) == ENAS_OK);
        for (size_t s = 0; s < 40; s++)
            mismatch += xa[f.order[s]] != xb[s];
        CHECK(sa.log_prob == sb.log_prob && sa.entropy == sb.entropy);
        enas__controller_zero_grad(a);
        enas__controller_zero_grad(b);
        CHECK(enas__controller_backward(a, 0.7, 0, &err) == ENAS_OK &&
              enas__controller_backward(b, 0.7, 0, &err) == ENAS_OK);
        CHECK(ctrl_same_params(a, b, 1));
        /* scoring a's architecture replays a's walk */
        CHECK(enas__controller_score(a, xa, &sc, &err) == ENAS_OK);
        CHECK(sc.log_prob == sa.log_prob && sc.entropy == sa.entropy);
        enas__controller_zero_grad(a);
        CHECK(enas__controller_backward(a, 0.7, 0, &err) == ENAS_OK);
        CHECK(ctrl_same_params(a, b, 1));
    }
    CHECK_MSG(mismatch == 0, "%d decisions differ", mismatch);
out:
    enas__controller_destroy(a);
    enas__controller_destroy(b);
}

/* A descriptor whose struct_size ends before sample_order (an older plugin) walks in decision order. */
static void test_order_old_desc(void)
{
    struct ctrl_fake f;
    ctrl_fake_micro(&f, 2, 3);
    ctrl_fake_micro_tf_order(&f);
    struct enas_space_desc old = ctrl_fake_ordered_desc;
    old.struct_size = offsetof(struct enas_space_desc, sample_order);
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.1, 0);
    struct enas_controller *a = NULL, *b = NULL, *c = NULL;
    struct enas_err err;
    CHECK(enas__controller_create(&o, &old, &f, &a, &err) == ENAS_OK);
    CHECK(enas__controller_create(&o, &ctrl_fake_desc, &f, &b, &err) == ENAS_OK);
    CHECK(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err) == ENAS_OK);
    if (a && b && c) {
        int arch[24] = {0};
        struct enas_ctrl_sample sa, sb, sc;
        spread(a, 3);
        spread(b, 3);
        spread(c, 3);
        CHECK(enas__controller_score(a, arch, &sa, &err) == ENAS_OK &&
              enas__controller_score(b, arch, &sb, &err) == ENAS_OK &&
              enas__controller_score(c, arch, &sc, &err) == ENAS_OK);
        CHECK(sa.log_prob == sb.log_prob && sa.log_prob != sc.log_prob);
    }
    enas__controller_destroy(a);
    enas__controller_destroy(b);
    enas__controller_destroy(c);
}

static void test_order_errors(void)
{
    struct ctrl_fake f;
    struct enas_controller *c = NULL;
    struct enas_err err;
    struct enas_ctrl_opts o = ctrl_fake_opts(16, 1, 1.1, 0);
    ctrl_fake_micro(&f, 1, 3);
    ctrl_fake_micro_tf_order(&f);
    f.order[3] = f.order[1]; /* decision 2 twice, decision 3 never */
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "space 'fake': sample_order[3] = 2 ('normal_node_0_y_input') repeats sample_order[1]");
    CHECK(c == NULL && strstr(err.msg, "permutation") != NULL);
    ctrl_fake_micro_tf_order(&f);
    f.order[5] = 12;
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "space 'fake': sample_order[5] = 12 is out of range");
    CHECK(strstr(err.msg, "0..11") != NULL);
    /* a permutation whose walk breaks the hints: y input before the new scope that x input opens */
    ctrl_fake_micro_tf_order(&f);
    f.order[0] = 2;
    f.order[1] = 0;
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_0_y_input' (#2) has 2 candidates but only 0 anchors");
    CHECK(strstr(err.msg, "sample_order") != NULL);
    /* node 1's x input before node 0's anchor step */
    ctrl_fake_micro_tf_order(&f);
    f.order[3] = 4;
    f.order[4] = 3;
    CHECK_ERR(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &c, &err), err, ENAS_ERR_INVALID_ARG,
              "'normal_node_1_x_input' (#4) has 3 candidates but only 2 anchors");
    CHECK(c == NULL);
}

int main(void)
{
    test_names();
    test_bias_wins();
    test_fair_skips();
    test_step();
    test_errors();
    test_order_is_tf();
    test_order_is_permutation();
    test_order_old_desc();
    test_order_errors();
    return check_exit("test_controller_sample");
}
