/* macro_build.c - creates the macro network's op instances (and so its weights) through api->op_create:
 * the whole search supergraph (every branch of every layer, an FR per list position and reduction), or
 * for a fixed architecture only what that architecture runs (TF final mode, ENAS.md 2.2-2.4).
 * Weightless ops (ReLU, pools, joins) are one shared instance each: they keep no state between calls. */
#include "macro.h"

#include <stdio.h>
#include <string.h>

/* Creates an op and remembers it for destroy() and the supergraph count. */
static enum enas_status mk(struct macro *m, const char *name, const char *attrs, const char *scope,
                           struct enas_op **out, struct enas_err *err)
{
    if (m->n_ops == m->cap_ops) {
        size_t cap = m->cap_ops ? 2 * m->cap_ops : 64;
        struct enas_op **ops = m->api->alloc(cap * sizeof(void *)); /* an array of op pointers */
        if (!ops)
            return enas_err_set(err, ENAS_ERR_NOMEM, "macro: out of memory for ops");
        if (m->n_ops)
            memcpy(ops, m->ops, m->n_ops * sizeof(void *));
        m->api->free(m->ops);
        m->ops = ops;
        m->cap_ops = cap;
    }
    enum enas_status st = m->api->op_create(m->host, name, attrs, scope, out, err);
    if (st != ENAS_OK) {
        enas_err_prefix(err, "macro: %s: ", scope);
        return st;
    }
    m->ops[m->n_ops++] = *out;
    return ENAS_OK;
}

static void seq_put(struct macro_seq *q, struct enas_op *op, int64_t c, int halve)
{
    q->s[q->n++] = (struct macro_step){op, c, halve};
}

/* Creates op `name` as "<scope>.<part>" and appends it to q. */
static enum enas_status seq_new(struct macro *m, struct macro_seq *q, const char *scope, const char *part,
                                const char *name, const char *attrs, int64_t c, int halve,
                                struct enas_err *err)
{
    char full[128];
    struct enas_op *op = NULL;
    snprintf(full, sizeof full, "%s.%s", scope, part);
    enum enas_status st = mk(m, name, attrs, full, &op, err);
    if (st == ENAS_OK)
        seq_put(q, op, c, halve);
    return st;
}

/* The ReLU next to a conv-BN pair, fused into it (the ops' relu_input / relu attributes: the same values,
 * one tensor fewer on the tape each). */
enum { RELU_NONE, RELU_BEFORE, RELU_AFTER };

/* conv k x k (cin -> cout; bias: with a bias) or sep_conv, then BN (affine: with gamma and beta); relu: a
 * ReLU before the conv or after the BN. */
static enum enas_status seq_conv_bn(struct macro *m, struct macro_seq *q, const char *scope, const char *part,
                                    int sep, int64_t cin, int64_t cout, int k, int relu, int bias, int affine,
                                    struct enas_err *err)
{
    char attrs[128], bn[80];
    snprintf(attrs, sizeof attrs, "in_channels=%lld out_channels=%lld kernel=%d%s%s", (long long)cin,
             (long long)cout, k, relu == RELU_BEFORE ? " relu_input=true" : "", bias ? " bias=true" : "");
    snprintf(bn, sizeof bn, "channels=%lld%s%s", (long long)cout, relu == RELU_AFTER ? " relu=true" : "",
             affine ? "" : " affine=false");
    enum enas_status st = seq_new(m, q, scope, part, sep ? "sep_conv" : "conv", attrs, cout, 0, err);
    char bnpart[48];
    snprintf(bnpart, sizeof bnpart, "%s_bn", part);
    return st == ENAS_OK ? seq_new(m, q, scope, bnpart, "batch_norm", bn, 0, 0, err) : st;
}

/* A BN of f channels, with gamma and beta unless bn_placement = nni (NNI's BatchNorm2d(affine=False)). */
static enum enas_status seq_bn(struct macro *m, struct macro_seq *q, const char *scope, const char *part,
                               int64_t f, struct enas_err *err)
{
    char bn[64];
    snprintf(bn, sizeof bn, "channels=%lld%s", (long long)f, m->bn_nni ? " affine=false" : "");
    return seq_new(m, q, scope, part, "batch_norm", bn, 0, 0, err);
}

/* Branch `op` of layer i. Search (conv-BN-ReLU): 1x1 conv-BN-ReLU, then k x k conv or sep_conv-BN-ReLU, or
 * a 3x3 pool (then a BN with bn_placement = nni, as NNI's PoolBranch). Fixed (ReLU-conv-BN): ReLU-1x1
 * conv-BN, then ReLU-k x k-BN, or the pool. Each ReLU is fused into its conv-BN pair. */
static enum enas_status build_branch(struct macro *m, int64_t i, int op, struct enas_err *err)
{
    static const int ksize[4] = {3, 3, 5, 5};
    struct macro_seq *q = &m->layers[i].br[op];
    const int64_t f = macro_width(m, macro_nred(m, i));
    const int sep = (op == 1 || op == 3) && (!m->fixed || m->final_sep);
    char scope[64];
    snprintf(scope, sizeof scope, "macro.layer%lld.branch%d", (long long)i, op);
    const int relu = m->fixed ? RELU_BEFORE : RELU_AFTER;
    enum enas_status st = seq_conv_bn(m, q, scope, "inp_conv", 0, f, f, 1, relu, 0, !m->bn_nni, err);
    if (st == ENAS_OK && op >= 4) {
        seq_put(q, op == 4 ? m->avg_pool : m->max_pool, 0, 0);
        return m->bn_nni ? seq_bn(m, q, scope, "pool_bn", f, err) : ENAS_OK;
    }
    if (st == ENAS_OK)
        st = seq_conv_bn(m, q, scope, sep ? "sep_conv" : "conv", sep, f, f, ksize[op], relu,
                         !sep && m->conv_bias, !m->bn_nni, err);
    return st;
}

/* After the join of layer i >= 1, and of layer 0 with bn_placement = nni. Search: BN of the sum. Fixed:
 * ReLU, 1x1 conv ((1 + #skips) F -> F), BN. */
static enum enas_status build_post(struct macro *m, int64_t i, struct enas_err *err)
{
    struct macro_seq *q = &m->layers[i].post;
    const int64_t f = macro_width(m, macro_nred(m, i));
    char scope[64];
    snprintf(scope, sizeof scope, "macro.layer%lld", (long long)i);
    if (!m->fixed)
        return seq_bn(m, q, scope, "skip_bn", f, err);
    int64_t n_in = 1;
    for (int64_t j = 0; j < i; j++)
        n_in += m->arch[macro_op_pos(i) + 1 + (size_t)j];
    return seq_conv_bn(m, q, scope, "skip_conv", 0, n_in * f, f, 1, RELU_BEFORE, 0, 1, err);
}

/* Factorized reduction r of list position j (ENAS.md 2.4), or with shared_reduce the one of reduction r
 * (stored at j = 0), then BN. */
static enum enas_status build_fr(struct macro *m, int r, int64_t j, struct enas_err *err)
{
    struct macro_seq *q = &m->fr[(size_t)r * (size_t)(m->L + 1) + (size_t)j];
    const int64_t cin = macro_width(m, r), cout = macro_width(m, r + 1);
    char scope[64], attrs[96];
    if (m->shared_fr)
        snprintf(scope, sizeof scope, "macro.reduce%d", r);
    else
        snprintf(scope, sizeof scope, "macro.reduce%d.from%lld", r, (long long)j);
    snprintf(attrs, sizeof attrs, "in_channels=%lld out_channels=%lld", (long long)cin, (long long)cout);
    enum enas_status st = seq_new(m, q, scope, "fr", "factorized_reduce", attrs, cout, 1, err);
    return st == ENAS_OK ? seq_bn(m, q, scope, "bn", cout, err) : st;
}

/* The weightless shared ops, the stem and the head. */
static enum enas_status build_ends(struct macro *m, struct enas_err *err)
{
    char attrs[96];
    enum enas_status st = mk(m, "sum", "", "macro.sum", &m->sum, err);
    if (st == ENAS_OK)
        st = mk(m, "concat", "", "macro.concat", &m->concat, err);
    if (st == ENAS_OK)
        st = mk(m, "avg_pool", "kernel=3 stride=1", "macro.avg_pool", &m->avg_pool, err);
    if (st == ENAS_OK)
        st = mk(m, "max_pool", "kernel=3 stride=1", "macro.max_pool", &m->max_pool, err);
    if (st == ENAS_OK)
        st = mk(m, "global_avg_pool", "", "macro.gap", &m->gap, err);
    snprintf(attrs, sizeof attrs, "keep_prob=%.17g", m->keep_prob);
    if (st == ENAS_OK && m->keep_prob < 1.0)
        st = mk(m, "dropout", attrs, "macro.dropout", &m->dropout, err);
    snprintf(attrs, sizeof attrs, "in_features=%lld out_features=%lld%s",
             (long long)macro_width(m, macro_nred(m, m->L)), (long long)m->n_classes,
             m->fc_bias ? " bias=true" : "");
    if (st == ENAS_OK)
        st = mk(m, "linear", attrs, "macro.fc", &m->fc, err);
    if (st == ENAS_OK)
        st = seq_conv_bn(m, &m->stem, "macro.stem", "conv", 0, m->image.dims[3], m->F, 3, RELU_NONE, 0, 1,
                         err); /* an affine BN in NNI too */
    return st;
}

enum enas_status macro_build(struct macro *m, struct enas_err *err)
{
    const size_t L1 = (size_t)m->L + 1;
    unsigned char used[2 * 257] = {0};
    enum enas_status st = build_ends(m, err);
    for (int64_t i = 0; st == ENAS_OK && i < m->L; i++) {
        for (int op = 0; st == ENAS_OK && op < m->nb; op++)
            if (!m->fixed || m->arch[macro_op_pos(i)] == op)
                st = build_branch(m, i, op, err);
        if (st == ENAS_OK && (i > 0 || m->bn_nni))
            st = build_post(m, i, err);
    }
    if (m->fixed)
        macro_fr_plan(m, m->arch, used);
    for (int r = 0; st == ENAS_OK && r < m->n_red; r++)
        for (int64_t j = 0; st == ENAS_OK && j <= (m->shared_fr ? 0 : m->pool_at[r] + 1); j++)
            if (!m->fixed || used[(size_t)r * L1 + (size_t)j])
                st = build_fr(m, r, j, err);
    return st;
}
