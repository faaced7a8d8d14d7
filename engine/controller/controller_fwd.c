/* controller_fwd.c - sampling and teacher-forced scoring: the LSTM walk over the decisions, in the space's
 * sample order, with its anchors, the logits of each decision, and the tape that controller_bwd.c replays
 * backwards. One code path does both; only where a choice comes from (the rng or the given arch)
 * differs. */
#include "controller/controller_impl.h"

#include <math.h>
#include <string.h>

static double sigm(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* log(1 + e^x) without overflow. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* One layer of one step: gates (i, f, o, g) from [x; h_prev] W, no biases (TF). */
static void cell(struct enas_controller *c, int t, int l, const double *x)
{
    size_t h = (size_t)c->h;
    double *s = ctrl_st(c, t, l), *z = c->dz;
    const double *cp = t ? ctrl_st(c, t - 1, l) + 4 * h : c->zero;
    const double *hp = t ? ctrl_st(c, t - 1, l) + 6 * h : c->zero;
    const float *w = ctrl_w(c, c->p_lstm + (size_t)l);
    memset(z, 0, 4 * h * sizeof *z);
    ctrl_vecmat(x, h, w, 4 * h, z);
    ctrl_vecmat(hp, h, w + h * 4 * h, 4 * h, z);
    for (size_t j = 0; j < h; j++) {
        double si = sigm(z[j]), sf = sigm(z[h + j]), so = sigm(z[2 * h + j]), tg = tanh(z[3 * h + j]);
        double cn = sf * cp[j] + si * tg, tc = tanh(cn);
        s[j] = si;
        s[h + j] = sf;
        s[2 * h + j] = so;
        s[3 * h + j] = tg;
        s[4 * h + j] = cn;
        s[5 * h + j] = tc;
        s[6 * h + j] = so * tc;
    }
}

/* One LSTM step on the pending input (a sum of terms, which the tape keeps for backward). */
static int lstm_step(struct enas_controller *c)
{
    int t = c->n_steps++;
    size_t h = (size_t)c->h;
    double *x = c->x + (size_t)t * h;
    memset(x, 0, h * sizeof *x);
    c->term_at[t] = c->n_terms;
    for (size_t k = 0; k < c->n_pend; k++) {
        const struct ctrl_term *tm = &c->pend[k];
        if (tm->src == CTRL_SRC_STEP)
            ctrl_axpy(h, tm->coef, ctrl_h(c, tm->idx), x);
        else
            ctrl_axpy_f(h, tm->coef,
                        tm->src == CTRL_SRC_GEMB ? ctrl_w(c, c->p_gemb)
                                                 : ctrl_w(c, c->grp[tm->idx].w_emb) + (size_t)tm->row * h,
                        x);
        c->terms[c->n_terms++] = *tm;
    }
    c->term_at[t + 1] = c->n_terms;
    for (int l = 0; l < c->nl; l++)
        cell(c, t, l, l ? ctrl_st(c, t, l - 1) + 6 * h : x);
    return t;
}

static void pend_gemb(struct enas_controller *c)
{
    c->pend[0] = (struct ctrl_term){CTRL_SRC_GEMB, 0, 0, 1.0};
    c->n_pend = 1;
}

/* An anchor: its attention key P = h W_attn1 from key_step, its embedding h of emb_step (-1: zeros). */
static void add_anchor(struct enas_controller *c, int key_step, int emb_step)
{
    int a = c->n_anchors++;
    size_t h = (size_t)c->h;
    c->a_key[a] = key_step;
    c->a_emb[a] = emb_step;
    double *p = c->key + (size_t)a * h;
    memset(p, 0, h * sizeof *p);
    if (c->has_attn)
        ctrl_vecmat(ctrl_h(c, key_step), h, ctrl_w(c, c->p_attn1), h, p);
}

/* Raw logits of decision i from its query step t: a softmax layer for ops, attention for inputs. */
static void logits(struct enas_controller *c, size_t i, int t)
{
    const struct ctrl_dec *cd = &c->dec[i];
    size_t h = (size_t)c->h, k = cd->d->n_candidates;
    double *l = c->lraw + cd->k_off;
    const double *q = ctrl_h(c, t);
    memset(l, 0, k * sizeof *l);
    if (cd->grp >= 0) {
        const struct ctrl_grp *g = &c->grp[cd->grp];
        ctrl_vecmat(q, h, ctrl_w(c, g->w_soft), k, l);
        if (g->b_soft != SIZE_MAX)
            for (size_t j = 0; j < k; j++)
                l[j] += (double)ctrl_w(c, g->b_soft)[j];
        return;
    }
    double *qw = c->dq; /* h W_attn2, shared by every candidate */
    memset(qw, 0, h * sizeof *qw);
    ctrl_vecmat(q, h, ctrl_w(c, c->p_attn2), h, qw);
    const float *v = ctrl_w(c, c->p_v);
    for (size_t j = 0; j < k; j++) {
        const double *p = c->key + (size_t)(c->scope[i] + (int)j) * h;
        double *u = c->u + (cd->u_off + j) * h;
        for (size_t m = 0; m < h; m++)
            u[m] = tanh(p[m] + qw[m]);
        l[j] = ctrl_dot_f(h, v, u);
    }
}

/* logits / T, then c * tanh (TF's order); logit_bias goes on after the tanh, as TF micro adds its
 * constant to the squashed logits. */
static void squash(struct enas_controller *c, size_t i)
{
    const struct ctrl_dec *cd = &c->dec[i];
    size_t k = cd->d->n_candidates;
    double tinv = c->o.temperature > 0 ? 1.0 / c->o.temperature : 1.0;
    for (size_t j = 0; j < k; j++) {
        double v = c->lraw[cd->k_off + j] * tinv;
        if (cd->cmul > 0)
            v = cd->cmul * tanh(v);
        if (cd->d->logit_bias)
            v += (double)cd->d->logit_bias[j];
        c->lsq[cd->k_off + j] = v;
    }
}

struct ctrl_acc {
    double lp, ent, ent_s, kl, bits, ones;
};

/* CE * exp(-CE) for CE = -log p: the sampled-action entropy term of TF macro and NNI. */
static double sampled_entropy(double ce)
{
    return ce * exp(-ce);
}

static enum enas_status bad_value(const struct ctrl_dec *cd, size_t pos, int v, struct enas_err *err)
{
    return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                        "controller: arch[%zu] = %d is out of range for decision '%s'", pos, v,
                        cd->d->label ? cd->d->label : "?");
}

/* A categorical choice: softmax of the squashed logits; the input becomes the choice's embedding. */
static enum enas_status choose_one(struct enas_controller *c, size_t i, struct enas_rng *rng,
                                   struct ctrl_acc *a, struct enas_err *err)
{
    const struct ctrl_dec *cd = &c->dec[i];
    int k = (int)cd->d->n_candidates;
    const double *ls = c->lsq + cd->k_off;
    double *p = c->prob + cd->k_off, m = ls[0], z = 0, ent = 0;
    for (int j = 1; j < k; j++)
        m = ls[j] > m ? ls[j] : m;
    for (int j = 0; j < k; j++)
        z += p[j] = exp(ls[j] - m);
    double lz = log(z) + m;
    for (int j = 0; j < k; j++) {
        p[j] /= z;
        ent -= p[j] * (ls[j] - lz);
    }
    int ch = c->arch[cd->arch_off];
    if (rng) {
        double u = enas__rng_uniform(rng), cum = 0;
        for (ch = 0; ch < k - 1; ch++)
            if (u < (cum += p[ch]))
                break;
        c->arch[cd->arch_off] = ch;
    } else if (ch < 0 || ch >= k) {
        return bad_value(cd, cd->arch_off, ch, err);
    }
    a->lp += lz - ls[ch];
    a->ent += ent;
    a->ent_s += sampled_entropy(lz - ls[ch]);
    if (cd->grp >= 0) {
        c->pend[0] = (struct ctrl_term){CTRL_SRC_EMB, cd->grp, ch, 1.0};
        c->n_pend = 1;
    } else {
        int e = c->a_emb[c->scope[i] + ch];
        c->pend[0] = (struct ctrl_term){CTRL_SRC_STEP, e, 0, 1.0};
        c->n_pend = e >= 0; /* a warm-up anchor's embedding is zeros */
    }
    return ENAS_OK;
}

/* Independent bits: P(bit_j = 1) = sigma(2 q~_j), TF's softmax over [-q~, q~]. The KL takes sigma(q~) as TF
 * and NNI do (ENAS.md §8.5), or with skip_kl_sampling the sampling Bernoulli sigma(2 q~). */
static enum enas_status choose_any(struct enas_controller *c, size_t i, struct enas_rng *rng,
                                   struct ctrl_acc *a, struct enas_err *err)
{
    const struct ctrl_dec *cd = &c->dec[i];
    size_t k = cd->d->n_candidates, n_on = 0;
    double lt1 = log(c->o.skip_target), lt0 = log1p(-c->o.skip_target);
    int *bits = c->arch + cd->arch_off;
    for (size_t j = 0; j < k; j++) {
        double q = c->lsq[cd->k_off + j], lp1 = -softplus(-2 * q), lp0 = -softplus(2 * q);
        double p1 = exp(lp1), p0 = exp(lp0);
        c->prob[cd->k_off + j] = p1;
        if (rng)
            bits[j] = enas__rng_uniform(rng) < p1;
        else if (bits[j] != 0 && bits[j] != 1)
            return bad_value(cd, cd->arch_off + j, bits[j], err);
        a->lp -= bits[j] ? lp1 : lp0;
        a->ent -= p1 * lp1 + p0 * lp0;
        a->ent_s += sampled_entropy(bits[j] ? -lp1 : -lp0);
        /* the KL's Bernoulli: sigma(2q) (sampling) or sigma(q) (TF, NNI) */
        const double ks1 = c->o.skip_kl_sampling ? lp1 : -softplus(-q),
                     ks0 = c->o.skip_kl_sampling ? lp0 : -softplus(q);
        a->kl += exp(ks1) * (ks1 - lt1) + exp(ks0) * (ks0 - lt0);
        n_on += (size_t)bits[j];
    }
    a->bits += (double)k;
    a->ones += (double)n_on;
    /* TF: the next input is the sum of the chosen embeddings over (1 + their count) */
    double coef = 1.0 / (1.0 + (double)n_on);
    c->n_pend = 0;
    for (size_t j = 0; j < k; j++) {
        if (!bits[j])
            continue;
        if (cd->grp >= 0)
            c->pend[c->n_pend++] = (struct ctrl_term){CTRL_SRC_EMB, cd->grp, (int)j, coef};
        else if (c->a_emb[c->scope[i] + (int)j] >= 0)
            c->pend[c->n_pend++] = (struct ctrl_term){CTRL_SRC_STEP, c->a_emb[c->scope[i] + (int)j], 0, coef};
    }
    return ENAS_OK;
}

/* The scope, warm-up and query steps before decision i; returns the query step. */
static int before(struct enas_controller *c, size_t i, int *scope)
{
    const struct enas_decision *d = c->dec[i].d;
    if (d->new_scope) {
        *scope = c->n_anchors;
        for (unsigned w = 0; w < d->warmup_anchors; w++) {
            pend_gemb(c);
            add_anchor(c, lstm_step(c), -1);
        }
        pend_gemb(c);
    }
    c->scope[i] = *scope;
    return c->q_step[i] = lstm_step(c);
}

static enum enas_status run(struct enas_controller *c, struct enas_rng *rng, struct enas_ctrl_sample *out,
                            struct enas_err *err)
{
    struct ctrl_acc a = {0};
    int scope = 0;
    c->have_tape = 0;
    c->n_steps = c->n_anchors = 0;
    c->n_terms = 0;
    pend_gemb(c);
    for (size_t s = 0; s < c->n_dec; s++) { /* in sample order; c->arch stays in decision order */
        size_t i = c->order[s];
        const struct enas_decision *d = c->dec[i].d;
        int t = before(c, i, &scope);
        logits(c, i, t);
        squash(c, i);
        enum enas_status st =
            d->kind == ENAS_CHOICE_ONE ? choose_one(c, i, rng, &a, err) : choose_any(c, i, rng, &a, err);
        if (st != ENAS_OK)
            return st;
        if (d->anchor == ENAS_ANCHOR_QUERY) {
            add_anchor(c, t, t);
        } else if (d->anchor == ENAS_ANCHOR_STEP) {
            int t2 = lstm_step(c);
            add_anchor(c, t2, t2);
            pend_gemb(c);
        }
    }
    out->log_prob = a.lp;
    out->entropy = a.ent;
    out->entropy_sampled = a.ent_s;
    out->skip_penalty = c->n_any ? (c->o.skip_kl_sum ? a.kl : a.kl / (double)c->n_any) : 0.0;
    out->skip_rate = a.bits > 0 ? a.ones / a.bits : 0.0;
    if (!isfinite(a.lp) || !isfinite(a.ent) || !isfinite(a.kl))
        return enas_err_set(err, ENAS_ERR_NUMERIC, "controller: log-probability is not finite (parameters?)");
    c->have_tape = 1;
    return ENAS_OK;
}

enum enas_status enas__controller_sample(struct enas_controller *c, struct enas_rng *rng, int *arch,
                                         struct enas_ctrl_sample *out, struct enas_err *err)
{
    if (!rng)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: sample needs a random stream");
    enum enas_status st = run(c, rng, out, err);
    if (st == ENAS_OK)
        memcpy(arch, c->arch, c->arch_len * sizeof *arch);
    return st;
}

enum enas_status enas__controller_score(struct enas_controller *c, const int *arch,
                                        struct enas_ctrl_sample *out, struct enas_err *err)
{
    if (c->arch_len)
        memcpy(c->arch, arch, c->arch_len * sizeof *arch);
    return run(c, NULL, out, err);
}
