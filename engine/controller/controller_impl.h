/* controller_impl.h - the controller's private state, shared by controller.c (create, parameters),
 * controller_fwd.c (sampling), controller_bwd.c (BPTT) and controller_adam.c (the optimizer).
 * All work buffers are sized at create from the decision list, so sampling never allocates. */
#ifndef ENAS_ENGINE_CONTROLLER_IMPL_H
#define ENAS_ENGINE_CONTROLLER_IMPL_H

#include "controller/controller.h"

/* Where one term of an LSTM input comes from; the input is the sum of coef * source over its terms. */
enum ctrl_src {
    CTRL_SRC_GEMB, /* g_emb */
    CTRL_SRC_EMB,  /* row `row` of w_emb of dense group `idx` */
    CTRL_SRC_STEP  /* top-layer h of LSTM step `idx` (an anchor's embedding) */
};

struct ctrl_term {
    enum ctrl_src src;
    int idx, row;
    double coef;
};

/* Create-time facts about one decision. The offsets into the architecture follow the decision order;
 * the walk (sampling, scoring, backward) visits the decisions in the sample order, c->order. */
struct ctrl_dec {
    const struct enas_decision *d;
    int grp;         /* dense OP group, -1 for INPUT decisions */
    size_t arch_off; /* first int in the architecture */
    size_t k_off;    /* first of its n_candidates slots in the logits/probability tape */
    size_t u_off;    /* first row of its attention cache (INPUT decisions) */
    double cmul;     /* the tanh constant that applies here (0 = no tanh) */
};

struct ctrl_grp {
    unsigned id;                       /* the space's group number */
    unsigned k;                        /* candidates */
    size_t w_soft, b_soft, w_emb;      /* parameter indices; b_soft = SIZE_MAX when the group has none */
    const struct enas_decision *first; /* for error messages */
};

struct enas_controller {
    struct enas_ctrl_opts o;
    int h, nl; /* lstm size, layers */
    size_t n_dec, n_grp, n_any, arch_len;
    struct ctrl_dec *dec; /* in decision (architecture) order */
    size_t *order;        /* the walk makes decision order[s] s-th (the space's sample_order) */
    int ordered;          /* the space gave a sample_order (for error messages) */
    struct ctrl_grp *grp;
    int has_attn;

    /* Parameters: one float block each for values, grads, Adam m and v; off[i] is parameter i's
     * offset into them and into the double gradient accumulator gd. */
    size_t n_par, n_val;
    struct enas_param *par;
    struct enas_param **pp;
    char (*names)[32];
    size_t *off;
    float *val, *grad, *am, *av;
    int64_t adam_t;
    double *gd;
    size_t p_lstm, p_gemb, p_attn1, p_attn2, p_v; /* parameter indices (lstm: the first layer's) */

    /* Tape of the last sample or score. Step t of layer l keeps its gates (sigma(i), sigma(f),
     * sigma(o), tanh(g)), c, tanh(c) and h: 7h doubles at st + (t * nl + l) * 7h. */
    size_t max_steps, max_anchors, max_terms, n_k, n_u, k_max;
    int have_tape, n_steps, n_anchors;
    size_t n_terms;
    double *x, *st, *zero;
    size_t *term_at; /* steps + 1 offsets into terms */
    struct ctrl_term *terms, *pend;
    size_t n_pend;
    int *a_key, *a_emb;        /* anchor: the step giving its key, and its embedding (-1: zeros) */
    double *key, *dkey;        /* anchors x h: P = h W_attn1, and its gradient */
    int *q_step, *scope;       /* per decision: the query step and the scope's first anchor */
    int *arch;                 /* the architecture on the tape */
    double *lraw, *lsq, *prob; /* per candidate slot: logits, squashed logits, p (ONE) or p(bit = 1) (ANY) */
    double *u;                 /* attention tanh(P_j + h W_attn2), n_u x h */
    /* Backward scratch; dzs keeps every step's gate gradients so that the weight gradient is one
     * cache-blocked pass at the end instead of a rank-1 update of the whole matrix per step. */
    double *dzs, *dh_ext, *dh_next, *dc_next, *dz, *dxin, *dq, *gk;
};

/* Kernels. Blocks of 8 with restrict: gcc's -O2 vectorizer (the very-cheap cost model) only takes loops
 * it can vectorize without runtime alias checks or a variable trip count. Weights are read as float
 * (exact in double), which halves the memory traffic that bounds these loops. */

/* y += a x */
static inline void ctrl_axpy(size_t n, double a, const double *restrict x, double *restrict y)
{
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (size_t j = 0; j < 8; j++)
            y[k + j] += a * x[k + j];
    for (; k < n; k++)
        y[k] += a * x[k];
}

/* y += a w, w in float */
static inline void ctrl_axpy_f(size_t n, double a, const float *restrict w, double *restrict y)
{
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (size_t j = 0; j < 8; j++)
            y[k + j] += a * (double)w[k + j];
    for (; k < n; k++)
        y[k] += a * (double)w[k];
}

/* w . y with eight partial sums, which breaks the add-latency chain and lets the sum vectorize. */
static inline double ctrl_dot_f(size_t n, const float *restrict w, const double *restrict y)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (size_t j = 0; j < 8; j++)
            acc[j] += (double)w[k + j] * y[k + j];
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; k++)
        s += (double)w[k] * y[k];
    return s;
}

/* out[k] += sum_i x[i] W[i m + k]: a row vector times an n x m matrix. */
static inline void ctrl_vecmat(const double *x, size_t n, const float *w, size_t m, double *out)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0) /* zero inputs (zero anchors, the first state) are common */
            ctrl_axpy_f(m, x[i], w + i * m, out);
}

/* out[i] += sum_k W[i m + k] y[k]: the gradient of a row-vector product x W with respect to x. */
static inline void ctrl_matvec(const float *w, size_t n, size_t m, const double *y, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] += ctrl_dot_f(m, w + i * m, y);
}

/* G[i m + k] += x[i] y[k] */
static inline void ctrl_outer(const double *x, size_t n, const double *y, size_t m, double *g)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0)
            ctrl_axpy(m, x[i], y, g + i * m);
}

/* The value of parameter i, and its gradient accumulator. */
static inline const float *ctrl_w(const struct enas_controller *c, size_t i)
{
    return c->val + c->off[i];
}
static inline double *ctrl_g(struct enas_controller *c, size_t i)
{
    return c->gd + c->off[i];
}
/* The state block of step t, layer l. */
static inline double *ctrl_st(const struct enas_controller *c, int t, int l)
{
    return c->st + ((size_t)t * (size_t)c->nl + (size_t)l) * 7u * (size_t)c->h;
}
/* Top-layer h of step t. */
static inline const double *ctrl_h(const struct enas_controller *c, int t)
{
    return ctrl_st(c, t, c->nl - 1) + 6 * c->h;
}

#endif
