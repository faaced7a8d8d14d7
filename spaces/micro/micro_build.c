/* micro_build.c - creates the op instances of the micro network (ENAS.md §3): the search supergraph
 * (every candidate at every node slot, one weight set per possible input index, as TF's weight banks)
 * or, given a fixed architecture, only the ops it uses (TF _fixed_layer). Shapes are tracked here as
 * well, so that a reduction's "twice as large" test and the aux head's kernel are known up front. */
#include "micro.h"

#include <stdio.h>
#include <string.h>

/* What the next cell gets: channels and spatial size of its two inputs, and the running F. */
struct track {
    int64_t c_pp, c_p, s_pp, s_p, f;
};

static int64_t half(int64_t s)
{
    return (s + 1) / 2; /* every stride-2 op here (SAME conv/pool, FR) gives ceil(s / 2) */
}

const int *mc_arc(const struct mc_state *m, const int *arch, int reduce)
{
    return arch + (reduce ? 4 * m->nodes : 0);
}

/* ReLU-1x1 conv then BN, the ReLU fused into the conv (relu_input); with post, 1x1 conv-BN-ReLU instead
 * (NNI's StdConv), the ReLU fused into the BN. affine: the BN has gamma and beta. */
static enum enas_status conv_bn(struct mc_state *m, int64_t cin, int64_t f, int post, int affine,
                                const char *scope, struct mc_conv_bn *out, struct enas_err *err)
{
    char sc[200];
    snprintf(sc, sizeof sc, "%s.conv", scope);
    enum enas_status st =
        mc_op(m, &out->conv, "conv", sc, err, "in_channels=%lld out_channels=%lld kernel=1%s", (long long)cin,
              (long long)f, post ? "" : " relu_input=true");
    snprintf(sc, sizeof sc, "%s.bn", scope);
    if (st == ENAS_OK)
        st = mc_op(m, &out->bn, "batch_norm", sc, err, "channels=%lld%s%s", (long long)f,
                   post ? " relu=true" : "", affine ? "" : " affine=false");
    return st;
}

/* The two inputs brought to F channels and one size (TF _maybe_calibrate_size), plus final mode's
 * "layer_base" 1x1 on input 1. */
static enum enas_status calibrate(struct mc_state *m, struct mc_cell *c, const char *cs, int64_t s0,
                                  struct enas_err *err)
{
    char sc[160];
    enum enas_status st = ENAS_OK;
    c->h0_half = s0 != c->size_in;
    if (c->h0_half && half(s0) != c->size_in)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "micro: %s: inputs of sizes %lld and %lld cannot be joined", cs, (long long)s0,
                            (long long)c->size_in);
    snprintf(sc, sizeof sc, "%s.cal0", cs);
    if (c->h0_half)
        st = mc_fr_bn(m, c->c0, c->f, m->bn_affine, sc, &c->cal[0], err);
    else if (c->c0 != c->f)
        st = conv_bn(m, c->c0, c->f, m->cal_post, m->bn_affine, sc, &c->cal[0], err);
    snprintf(sc, sizeof sc, "%s.cal1", cs);
    if (st == ENAS_OK && c->c1 != c->f)
        st = conv_bn(m, c->c1, c->f, m->cal_post, m->bn_affine, sc, &c->cal[1], err);
    snprintf(sc, sizeof sc, "%s.base", cs);
    if (st == ENAS_OK && m->fixed) /* TF's layer_base, which NNI has no counterpart of */
        st = conv_bn(m, c->f, c->f, 0, 1, sc, &c->base, err);
    return st;
}

/* Search: every candidate for every possible input of every slot (with shared_ops, every candidate once per
 * slot). Final: the chosen one. */
static enum enas_status slots(struct mc_state *m, struct mc_cell *c, const char *cs, struct enas_err *err)
{
    const int *arc = m->fixed ? mc_arc(m, m->fixed, c->reduce) : NULL;
    for (int64_t n = 0; n < m->nodes; n++)
        for (int j = 0; j < 2; j++) {
            size_t count = m->fixed ? 1 : (size_t)(m->shared_ops ? 1 : n + 2) * m->n_ops;
            c->slot[n][j] = m->api->alloc(count * sizeof *c->slot[n][j]);
            if (!c->slot[n][j])
                return enas_err_set(err, ENAS_ERR_NOMEM, "micro: %s: out of memory", cs);
            memset(c->slot[n][j], 0, count * sizeof *c->slot[n][j]);
            for (size_t q = 0; q < count; q++) {
                int in = m->fixed ? arc[4 * n + 2 * j] : (int)(q / m->n_ops);
                unsigned k = m->fixed ? (unsigned)arc[4 * n + 2 * j + 1] : (unsigned)(q % m->n_ops);
                int stride = m->fixed && c->reduce && in < 2 ? 2 : 1;
                char sc[200];
                if (m->shared_ops && !m->fixed)
                    snprintf(sc, sizeof sc, "%s.n%lld.%c.op%u", cs, (long long)n, "xy"[j], k);
                else
                    snprintf(sc, sizeof sc, "%s.n%lld.%c.in%d.op%u", cs, (long long)n, "xy"[j], in, k);
                enum enas_status st = mc_cand_create(m, k, c->f, stride, sc, &c->slot[n][j][q], err);
                if (st != ENAS_OK)
                    return st;
            }
        }
    return ENAS_OK;
}

/* Search: one 1x1 conv per node index (TF's gathered [nodes+2, F*F] bank) and a BN. Final: the concat
 * of the unused nodes, with unused reduction-cell inputs brought to the output size by FR. */
static enum enas_status output(struct mc_state *m, struct mc_cell *c, const char *cs, struct enas_err *err)
{
    char sc[160];
    enum enas_status st = ENAS_OK;
    if (!m->fixed) {
        for (int64_t i = 0; i < m->nodes + 2 && st == ENAS_OK; i++) {
            snprintf(sc, sizeof sc, "%s.out%lld", cs, (long long)i);
            st = mc_op(m, &c->out_conv[i], "conv", sc, err,
                       "in_channels=%lld out_channels=%lld kernel=1 relu_input=true", (long long)c->f,
                       (long long)c->f);
        }
        snprintf(sc, sizeof sc, "%s.out_bn", cs);
        c->out_c = c->f;
        return st == ENAS_OK ? mc_op(m, &c->out_bn, "batch_norm", sc, err, "channels=%lld%s", (long long)c->f,
                                     m->bn_affine ? "" : " affine=false")
                             : st;
    }
    const int *arc = mc_arc(m, m->fixed, c->reduce);
    int used[MC_MAX_NODES + 2] = {0};
    for (int64_t n = 0; n < m->nodes; n++)
        used[arc[4 * n]] = used[arc[4 * n + 2]] = 1;
    c->out_c = 0;
    for (int i = 0; i < m->nodes + 2 && st == ENAS_OK; i++) {
        if (used[i])
            continue;
        c->out_c += c->f;
        snprintf(sc, sizeof sc, "%s.out%d", cs, i);
        if (c->reduce && i < 2)
            st = mc_fr_bn(m, c->f, c->f, m->bn_affine, sc, &c->out_fr[i], err);
    }
    return st;
}

static enum enas_status cell_build(struct mc_state *m, int64_t id, struct track *t, struct enas_err *err)
{
    struct mc_cell *c = &m->cells[id];
    char cs[64];
    snprintf(cs, sizeof cs, "%s.cell%lld", m->fixed ? "micro_fixed" : "micro", (long long)id);
    c->reduce = id == m->L / 3 || id == 2 * (m->L / 3) + 1;
    enum enas_status st = ENAS_OK;
    if (c->reduce)
        t->f *= 2;
    c->f = t->f;
    int64_t s0 = t->s_pp;
    c->c0 = t->c_pp;
    c->c1 = t->c_p;
    c->size_in = t->s_p;
    if (c->reduce && !m->fixed && m->nni_reduce) { /* NNI ReductionLayer: inputs [FR(h0), FR(h1)] */
        char sc[96];
        snprintf(sc, sizeof sc, "%s.xred0", cs);
        st = mc_fr_bn(m, t->c_pp, c->f, m->bn_affine, sc, &c->xred0, err);
        snprintf(sc, sizeof sc, "%s.xred", cs);
        if (st == ENAS_OK)
            st = mc_fr_bn(m, t->c_p, c->f, m->bn_affine, sc, &c->xred, err);
        s0 = half(t->s_pp);
        c->c0 = c->c1 = c->f;
        c->size_in = half(t->s_p);
    } else if (c->reduce &&
               !m->fixed) { /* TF search: x_red = FR(previous output); inputs [previous, x_red] */
        char sc[96];
        snprintf(sc, sizeof sc, "%s.xred", cs);
        st = mc_fr_bn(m, t->c_p, c->f, m->bn_affine, sc, &c->xred, err);
        s0 = t->s_p;
        c->c0 = t->c_p;
        c->c1 = c->f;
        c->size_in = half(t->s_p);
    }
    if (st == ENAS_OK)
        st = calibrate(m, c, cs, s0, err);
    if (st == ENAS_OK)
        st = slots(m, c, cs, err);
    if (st == ENAS_OK)
        st = output(m, c, cs, err);
    int64_t s_out = m->fixed && c->reduce ? half(c->size_in) : c->size_in;
    if (c->reduce && !m->fixed) { /* the pair becomes [x_red, this output]; NNI: [FR(h1), this output] */
        t->c_pp = c->f;
        t->s_pp = c->size_in;
    } else {
        t->c_pp = t->c_p;
        t->s_pp = t->s_p;
    }
    t->c_p = c->out_c;
    t->s_p = s_out;
    return st;
}

/* ReLU, avg-pool 5x5/3 VALID, 1x1 conv to 128, BN, ReLU, conv over the whole map to 768, BN, ReLU, GAP,
 * linear without bias (ENAS.md §3.1). */
static enum enas_status aux_build(struct mc_state *m, int64_t c, int64_t s, struct enas_err *err)
{
    const char *pre = m->fixed ? "micro_fixed" : "micro";
    struct mc_aux *a = &m->auxh;
    char sc[48];
    if (s < 5)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "micro: use_aux_heads: the aux head needs maps of at least 5x5 at cell %lld, "
                            "these are %lldx%lld",
                            (long long)m->aux_cell, (long long)s, (long long)s);
    m->aux_k = (s - 5) / 3 + 1;
    snprintf(sc, sizeof sc, "%s.aux.pool", pre);
    enum enas_status st = mc_op(m, &a->pool, "avg_pool", sc, err, "kernel=5 stride=3 padding=0");
    snprintf(sc, sizeof sc, "%s.aux.proj", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &a->proj.conv, "conv", sc, err, "in_channels=%lld out_channels=128 kernel=1",
                   (long long)c);
    snprintf(sc, sizeof sc, "%s.aux.proj_bn", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &a->proj.bn, "batch_norm", sc, err, "channels=128");
    snprintf(sc, sizeof sc, "%s.aux.conv", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &a->conv.conv, "conv", sc, err,
                   "in_channels=128 out_channels=768 kernel=%lld padding=0", (long long)m->aux_k);
    snprintf(sc, sizeof sc, "%s.aux.conv_bn", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &a->conv.bn, "batch_norm", sc, err, "channels=768");
    snprintf(sc, sizeof sc, "%s.aux.fc", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &a->linear, "linear", sc, err, "in_features=768 out_features=%lld",
                   (long long)m->classes);
    return st;
}

/* Weightless instances shared by the whole network. */
static enum enas_status shared_build(struct mc_state *m, struct enas_err *err)
{
    enum enas_status st = mc_op(m, &m->relu, "relu", "micro.relu", err, "%s", "");
    if (st == ENAS_OK)
        st = mc_op(m, &m->sum, "sum", "micro.sum", err, "%s", "");
    if (st == ENAS_OK)
        st = mc_op(m, &m->concat, "concat", "micro.concat", err, "%s", "");
    if (st == ENAS_OK)
        st = mc_op(m, &m->gap, "global_avg_pool", "micro.gap", err, "%s", "");
    if (st == ENAS_OK)
        st = mc_op(m, &m->dropout, "dropout", "micro.dropout", err, "keep_prob=%.17g", m->keep_prob);
    if (st == ENAS_OK && m->fixed)
        st = mc_op(m, &m->drop_path, "drop_path", "micro.drop_path", err, "%s", "");
    for (unsigned k = 0; k < m->n_ops && st == ENAS_OK; k++) {
        const struct mc_cand_def *d = &m->defs[k];
        if (d->kind != MC_AVG && d->kind != MC_MAX)
            continue;
        for (int s = 0; s < 2 && st == ENAS_OK; s++) {
            char sc[64];
            snprintf(sc, sizeof sc, "micro.pool%u_s%d", k, s + 1);
            st = mc_op(m, &m->pool[k][s], d->kind == MC_AVG ? "avg_pool" : "max_pool", sc, err,
                       "kernel=%d stride=%d", d->k, s + 1);
        }
    }
    return st;
}

enum enas_status mc_build(struct mc_state *m, struct enas_err *err)
{
    const char *pre = m->fixed ? "micro_fixed" : "micro";
    char sc[64];
    m->n_cells = m->L + 2;
    m->aux_cell = 2 * (m->L / 3) + 2; /* the cell after the second reduction */
    m->cells = m->api->alloc((size_t)m->n_cells * sizeof *m->cells);
    if (!m->cells)
        return enas_err_set(err, ENAS_ERR_NOMEM, "micro: out of memory");
    memset(m->cells, 0, (size_t)m->n_cells * sizeof *m->cells);
    enum enas_status st = shared_build(m, err);
    snprintf(sc, sizeof sc, "%s.stem.conv", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &m->stem.conv, "conv", sc, err, "in_channels=%lld out_channels=%lld kernel=3",
                   (long long)m->img_c, 3 * (long long)m->F);
    snprintf(sc, sizeof sc, "%s.stem.bn", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &m->stem.bn, "batch_norm", sc, err, "channels=%lld", 3 * (long long)m->F);
    struct track t = {3 * m->F, 3 * m->F, m->img_h, m->img_h, m->F};
    for (int64_t id = 0; id < m->n_cells && st == ENAS_OK; id++) {
        st = cell_build(m, id, &t, err);
        if (st == ENAS_OK && m->aux && id == m->aux_cell)
            st = aux_build(m, t.c_p, t.s_p, err);
    }
    snprintf(sc, sizeof sc, "%s.fc", pre);
    if (st == ENAS_OK)
        st = mc_op(m, &m->fc, "linear", sc, err, "in_features=%lld out_features=%lld%s", (long long)t.c_p,
                   (long long)m->classes, m->fc_bias ? " bias=true" : "");
    return st;
}
