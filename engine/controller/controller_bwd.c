/* controller_bwd.c - the gradient of  w_lp * log_prob + w_skip * skip_penalty  for the architecture on
 * the tape. Two passes: first every decision head (softmax or attention) and every anchor key puts its
 * gradient on the LSTM outputs it read; then BPTT walks the steps backwards, routing each input's
 * gradient to g_emb, an embedding row or an earlier step's output (always earlier, so it is not late). */
#include "controller/controller_impl.h"

#include <math.h>
#include <string.h>

static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* d loss / d squashed logits of decision i into c->gk. */
static void loss_grad(struct enas_controller *c, size_t i, double w_lp, double w_skip)
{
    const struct ctrl_dec *cd = &c->dec[i];
    size_t k = cd->d->n_candidates;
    const double *p = c->prob + cd->k_off, *ls = c->lsq + cd->k_off;
    const int *a = c->arch + cd->arch_off;
    if (cd->d->kind == ENAS_CHOICE_ONE) {
        for (size_t j = 0; j < k; j++) /* d(-log p_ch)/dl = p - onehot(ch) */
            c->gk[j] = w_lp * (p[j] - (j == (size_t)a[0] ? 1.0 : 0.0));
        return;
    }
    const double lt = log(c->o.skip_target) - log1p(-c->o.skip_target);
    const double wk = c->o.skip_kl_sum ? w_skip : w_skip / (double)c->n_any;
    for (size_t j = 0; j < k; j++) {
        /* p1 = sigma(2 q): d(-log p(bit))/dq = 2 (p1 - bit). KL(Bernoulli(s) || t) with s = sigma(a q):
         * dKL/dq = a s (1 - s) (logit(s) - logit(t)), logit(s) = a q; a = 2 (sampling) or 1 (TF, NNI) */
        const double q = ls[j], p1 = p[j], p0 = exp(-softplus(2 * q)); /* p0 directly: 1 - p1 cancels */
        double dkl;
        if (c->o.skip_kl_sampling) {
            dkl = 2 * p1 * p0 * (2 * q - lt);
        } else {
            const double s1 = exp(-softplus(-q)), s0 = exp(-softplus(q));
            dkl = s1 * s0 * (q - lt);
        }
        c->gk[j] = w_lp * 2 * (p1 - a[j]) + wk * dkl;
    }
}

/* Back through  c * tanh(l / T)  (logit_bias is a constant). */
static void unsquash(struct enas_controller *c, size_t i)
{
    const struct ctrl_dec *cd = &c->dec[i];
    double tinv = c->o.temperature > 0 ? 1.0 / c->o.temperature : 1.0;
    for (size_t j = 0; j < cd->d->n_candidates; j++) {
        double d = c->gk[j] * tinv;
        if (cd->cmul > 0) {
            double th = tanh(c->lraw[cd->k_off + j] * tinv);
            d *= cd->cmul * (1 - th * th);
        }
        c->gk[j] = d;
    }
}

static void head_back(struct enas_controller *c, size_t i)
{
    const struct ctrl_dec *cd = &c->dec[i];
    size_t h = (size_t)c->h, k = cd->d->n_candidates;
    int t = c->q_step[i];
    const double *q = ctrl_h(c, t), *dl = c->gk;
    double *dq = c->dh_ext + (size_t)t * h;
    if (cd->grp >= 0) {
        const struct ctrl_grp *g = &c->grp[cd->grp];
        ctrl_outer(q, h, dl, k, ctrl_g(c, g->w_soft));
        if (g->b_soft != SIZE_MAX)
            for (size_t j = 0; j < k; j++)
                ctrl_g(c, g->b_soft)[j] += dl[j];
        ctrl_matvec(ctrl_w(c, g->w_soft), h, k, dl, dq);
        return;
    }
    /* logit_j = v . u_j, u_j = tanh(P_j + q W_attn2) */
    const float *v = ctrl_w(c, c->p_v);
    double *dv = ctrl_g(c, c->p_v), *da = c->dq;
    memset(da, 0, h * sizeof *da);
    for (size_t j = 0; j < k; j++) {
        const double *u = c->u + (cd->u_off + j) * h;
        double *dp = c->dkey + (size_t)(c->scope[i] + (int)j) * h;
        for (size_t m = 0; m < h; m++) {
            double e = dl[j] * (double)v[m] * (1 - u[m] * u[m]);
            dv[m] += dl[j] * u[m];
            dp[m] += e;
            da[m] += e;
        }
    }
    ctrl_outer(q, h, da, h, ctrl_g(c, c->p_attn2));
    ctrl_matvec(ctrl_w(c, c->p_attn2), h, h, da, dq);
}

/* Anchor keys P_a = h W_attn1. */
static void keys_back(struct enas_controller *c)
{
    size_t h = (size_t)c->h;
    if (!c->has_attn)
        return;
    for (int a = 0; a < c->n_anchors; a++) {
        const double *dp = c->dkey + (size_t)a * h;
        int s = c->a_key[a];
        ctrl_outer(ctrl_h(c, s), h, dp, h, ctrl_g(c, c->p_attn1));
        ctrl_matvec(ctrl_w(c, c->p_attn1), h, h, dp, c->dh_ext + (size_t)s * h);
    }
}

/* Layer l of step t, given d loss / d h: keeps d loss / d gates in dzs, leaves d/dx in dxin[0, h), and
 * d/dh_prev, d/dc_prev in dh_next[l], dc_next[l] for step t - 1. */
static void cell_back(struct enas_controller *c, int t, int l, const double *dh)
{
    size_t h = (size_t)c->h;
    const double *s = ctrl_st(c, t, l);
    const double *cp = t ? ctrl_st(c, t - 1, l) + 4 * h : c->zero;
    double *dz = c->dzs + ((size_t)t * (size_t)c->nl + (size_t)l) * 4 * h;
    double *dcn = c->dc_next + (size_t)l * h, *dhn = c->dh_next + (size_t)l * h;
    for (size_t j = 0; j < h; j++) {
        double si = s[j], sf = s[h + j], so = s[2 * h + j], tg = s[3 * h + j], tc = s[5 * h + j];
        double dc = dcn[j] + dh[j] * so * (1 - tc * tc);
        dz[j] = dc * tg * si * (1 - si);
        dz[h + j] = dc * cp[j] * sf * (1 - sf);
        dz[2 * h + j] = dh[j] * tc * so * (1 - so);
        dz[3 * h + j] = dc * si * (1 - tg * tg);
        dcn[j] = dc * sf;
    }
    memset(c->dxin, 0, 2 * h * sizeof *c->dxin);
    ctrl_matvec(ctrl_w(c, c->p_lstm + (size_t)l), 2 * h, 4 * h, dz, c->dxin);
    memcpy(dhn, c->dxin + h, h * sizeof *dhn);
}

/* dW_l = sum_t [x_t; h_t-1]^T dz_t, eight rows of dW at a time so that they stay in L1 while the steps
 * stream past (a rank-1 update per step would stream all of dW through the cache every step). */
static void lstm_weight_grad(struct enas_controller *c, int l)
{
    size_t h = (size_t)c->h, m = 4 * h, nl = (size_t)c->nl;
    double *gw = ctrl_g(c, c->p_lstm + (size_t)l);
    for (size_t i0 = 0; i0 < 2 * h; i0 += 8) {
        size_t i1 = i0 + 8 < 2 * h ? i0 + 8 : 2 * h;
        for (int t = 0; t < c->n_steps; t++) {
            const double *dz = c->dzs + ((size_t)t * nl + (size_t)l) * m;
            const double *x = l ? ctrl_st(c, t, l - 1) + 6 * h : c->x + (size_t)t * h;
            const double *hp = t ? ctrl_st(c, t - 1, l) + 6 * h : c->zero;
            for (size_t i = i0; i < i1; i++) {
                double a = i < h ? x[i] : hp[i - h];
                if (a != 0.0)
                    ctrl_axpy(m, a, dz, gw + i * m);
            }
        }
    }
}

/* Sends d loss / d input of step t to where the input came from. */
static void route(struct enas_controller *c, int t, const double *dx)
{
    size_t h = (size_t)c->h;
    for (size_t k = c->term_at[t]; k < c->term_at[t + 1]; k++) {
        const struct ctrl_term *tm = &c->terms[k];
        double *g = tm->src == CTRL_SRC_GEMB  ? ctrl_g(c, c->p_gemb)
                    : tm->src == CTRL_SRC_EMB ? ctrl_g(c, c->grp[tm->idx].w_emb) + (size_t)tm->row * h
                                              : c->dh_ext + (size_t)tm->idx * h;
        for (size_t j = 0; j < h; j++)
            g[j] += tm->coef * dx[j];
    }
}

static void bptt(struct enas_controller *c)
{
    size_t h = (size_t)c->h;
    double *dh = c->dq;
    memset(c->dh_next, 0, (size_t)c->nl * h * sizeof *c->dh_next);
    memset(c->dc_next, 0, (size_t)c->nl * h * sizeof *c->dc_next);
    for (int t = c->n_steps - 1; t >= 0; t--) {
        for (int l = c->nl - 1; l >= 0; l--) {
            /* the output of layer l feeds step t + 1 (dh_next) and the layer above, or the heads */
            const double *up = l == c->nl - 1 ? c->dh_ext + (size_t)t * h : c->dxin;
            const double *nx = c->dh_next + (size_t)l * h;
            for (size_t j = 0; j < h; j++)
                dh[j] = up[j] + nx[j];
            cell_back(c, t, l, dh);
        }
        route(c, t, c->dxin);
    }
    for (int l = 0; l < c->nl; l++)
        lstm_weight_grad(c, l);
}

enum enas_status enas__controller_backward(struct enas_controller *c, double w_lp, double w_skip,
                                           struct enas_err *err)
{
    if (!c->have_tape)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: backward before any sample or score");
    if (!isfinite(w_lp) || !isfinite(w_skip))
        return enas_err_set(err, ENAS_ERR_NUMERIC, "controller: loss weights %g, %g are not finite", w_lp,
                            w_skip);
    size_t h = (size_t)c->h;
    memset(c->gd, 0, c->n_val * sizeof *c->gd);
    memset(c->dh_ext, 0, (size_t)c->n_steps * h * sizeof *c->dh_ext);
    memset(c->dkey, 0, (size_t)c->n_anchors * h * sizeof *c->dkey);
    for (size_t s = 0; s < c->n_dec; s++) { /* the forward's order, so the sums add up alike */
        size_t i = c->order[s];
        loss_grad(c, i, w_lp, w_skip);
        unsquash(c, i);
        head_back(c, i);
    }
    keys_back(c);
    bptt(c);
    for (size_t i = 0; i < c->n_val; i++)
        c->grad[i] += (float)c->gd[i];
    return ENAS_OK;
}
