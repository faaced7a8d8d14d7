/* micro_walk.c - runs a child network through api->op_call (forward), or walks the same code path
 * on shapes alone to count its weights and multiply-adds (info). Only the ops of the chosen path are
 * called, so unchosen weights get no gradient and their BN statistics stay as they are.
 * Every call states the output shape it expects; a candidate op that breaks the contract is named. */
#include "micro.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Shape-only tensors of a count walk: blocks freed at the end. */
struct blk {
    struct blk *next;
    size_t n;
    struct enas_tensor t[64];
};

struct walk {
    struct mc_state *m;
    struct enas_exec *x; /* NULL: count shapes, weights and multiply-adds only */
    int training;        /* the aux head and drop path run */
    double madds;
    int64_t params;
    enum enas_status st;
    struct enas_err *err;
    struct blk *blocks;
    int64_t cell; /* where the walk is, for messages; -1 outside cells */
    int node, slot, cand;
};

static int64_t dim(const struct enas_tensor *t, int i)
{
    return t ? t->dims[i] : 0;
}

static struct enas_tensor same(const struct enas_tensor *t, int64_t c)
{
    struct enas_tensor r = {NULL, 4, {dim(t, 0), dim(t, 1), dim(t, 2), c}};
    return r;
}

static struct enas_tensor strided(const struct enas_tensor *t, int stride, int64_t c)
{
    struct enas_tensor r = {
        NULL, 4, {dim(t, 0), (dim(t, 1) + stride - 1) / stride, (dim(t, 2) + stride - 1) / stride, c}};
    return r;
}

static struct enas_tensor flat(const struct enas_tensor *t, int64_t c)
{
    struct enas_tensor r = {NULL, 2, {dim(t, 0), c, 1, 1}};
    return r;
}

static void fmt_shape(const struct enas_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    for (int i = 0; i < t->ndim && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static void where(struct walk *w)
{
    if (w->cell < 0)
        enas_err_prefix(w->err, "micro: ");
    else if (w->node < 0)
        enas_err_prefix(w->err, "micro: cell %lld: ", (long long)w->cell);
    else
        enas_err_prefix(w->err, "micro: cell %lld node %d %c candidate '%s': ", (long long)w->cell, w->node,
                        "xy"[w->slot], w -> m -> defs[w->cand].name);
}

static struct enas_tensor *tnew(struct walk *w)
{
    if (!w->blocks || w->blocks->n == sizeof w->blocks->t / sizeof w->blocks->t[0]) {
        struct blk *b = w->m->api->alloc(sizeof *b);
        if (!b)
            return NULL;
        b->next = w->blocks;
        b->n = 0;
        w->blocks = b;
    }
    return &w->blocks->t[w->blocks->n++];
}

static void blocks_free(struct walk *w)
{
    while (w->blocks) {
        struct blk *b = w->blocks;
        w->blocks = b->next;
        w->m->api->free(b);
    }
}

/* One op: NULL once anything failed, so the callers just pass results along. */
static struct enas_tensor *call(struct walk *w, struct enas_op *op, const struct enas_tensor *const *in,
                                size_t n, double arg, struct enas_tensor want)
{
    for (size_t i = 0; i < n; i++)
        if (!in[i])
            return NULL;
    if (w->st != ENAS_OK)
        return NULL;
    const struct enas_host_api *api = w->m->api;
    struct enas_tensor *out = NULL;
    if (!w->x) {
        w->madds += api->op_madds(op, in, n);
        w->params += api->op_param_count(op);
        if (!(out = tnew(w)))
            w->st = enas_err_set(w->err, ENAS_ERR_NOMEM, "micro: out of memory");
        else
            *out = want;
        return out;
    }
    w->st = api->op_call(w->x, op, in, n, arg, &out, w->err);
    if (w->st == ENAS_OK && !enas_tensor_same_shape(out, &want)) {
        char got[96] = "", exp[96] = "";
        fmt_shape(out, got, sizeof got);
        fmt_shape(&want, exp, sizeof exp);
        w->st = enas_err_set(w->err, ENAS_ERR_INVALID_ARG,
                             "output %s where %s was expected (a candidate op must keep its input's shape)",
                             got, exp);
    }
    if (w->st != ENAS_OK) {
        where(w);
        return NULL;
    }
    return out;
}

static struct enas_tensor *call1(struct walk *w, struct enas_op *op, const struct enas_tensor *a, double arg,
                                 struct enas_tensor want)
{
    const struct enas_tensor *in[1] = {a};
    return call(w, op, in, 1, arg, want);
}

/* sum or concat of t[0..k); t[0] itself when k == 1. */
static struct enas_tensor *join(struct walk *w, struct enas_op *op, struct enas_tensor **t, int k, int64_t c)
{
    const struct enas_tensor *in[MC_MAX_NODES + 2];
    for (int i = 0; i < k; i++)
        in[i] = t[i];
    return k == 1 ? t[0] : call(w, op, in, (size_t)k, NAN, same(t[0], c));
}

/* t goes to no further op of this pass: the engine may reuse its memory (the sum it fed keeps none). */
static void drop(struct walk *w, const struct enas_tensor *t)
{
    const struct enas_host_api *api = w->m->api;
    if (w->x && t && ENAS_API_HAS(api, release))
        api->release(w->x, t);
}

static struct enas_tensor *relu(struct walk *w, const struct enas_tensor *t)
{
    return call1(w, w->m->relu, t, NAN, same(t, dim(t, 3)));
}

/* p's conv then its BN, to f channels at stride 1 or 2 (SAME). */
static struct enas_tensor *pair(struct walk *w, const struct mc_conv_bn *p, const struct enas_tensor *t,
                                int stride, int64_t f)
{
    struct enas_tensor *a = call1(w, p->conv, t, NAN, strided(t, stride, f));
    return call1(w, p->bn, a, NAN, same(a, f));
}

/* TF _maybe_calibrate_size: ReLU-FR-BN when input 0 is twice as large, ReLU-conv1x1-BN when channels differ.
 * Here and below, a ReLU before a conv is the conv's own (relu_input): no ReLU call. */
static struct enas_tensor *calibrate(struct walk *w, const struct mc_cell *c, int i, struct enas_tensor *t)
{
    if (i == 0 && c->h0_half)
        return pair(w, &c->cal[0], relu(w, t), 2, c->f);
    return c->cal[i].conv ? pair(w, &c->cal[i], t, 1, c->f) : t;
}

/* Candidate k of cand on t at stride 1 or 2 (final reduction inputs). */
static struct enas_tensor *cand_run(struct walk *w, unsigned k, const struct mc_cand *cand,
                                    struct enas_tensor *t, int stride, int64_t f)
{
    const struct mc_cand_def *d = &w->m->defs[k];
    switch (d->kind) {
    case MC_SEP:
    case MC_CONV:
        t = pair(w, &cand->pre, t, stride, f);
        return cand->post.conv ? pair(w, &cand->post, t, 1, f) : t; /* a second sep conv: sep_conv_stack 2 */
    case MC_AVG:
    case MC_MAX:
        return call1(w, w->m->pool[k][stride - 1], t, NAN, strided(t, stride, f));
    case MC_IDENTITY:
        return stride == 2 ? pair(w, &cand->pre, t, 2, f) : t;
    case MC_EXTERN:
        if (stride == 2)
            t = pair(w, &cand->pre, t, 2, f);
        return call1(w, cand->ext, t, NAN, same(t, f));
    }
    return NULL;
}

/* TF drop path schedule (ENAS.md §3.3): deeper cells drop more, ramping up over dp_steps steps. */
static double dp_keep(const struct mc_state *m, const struct enas_exec *x, int64_t id)
{
    /* the run's step, so that a resumed run ramps on from where it stopped; the space's own count of its
     * training passes where the engine predates api->train_step */
    const int64_t step = ENAS_API_HAS(x->api, train_step) ? x->api->train_step(x) : m->train_steps;
    double pl = 1.0 - (double)(id + 1) / (double)(m->L + 2) * (1.0 - m->dp_keep);
    double ratio = m->dp_steps > 0 ? fmin(1.0, (double)(step + 1) / (double)m->dp_steps) : 1.0;
    return 1.0 - ratio * (1.0 - pl);
}

/* The nodes of a cell from nodes[0..1]; used[] counts how often each index is an input. */
static void nodes_run(struct walk *w, const struct mc_cell *c, const int *arc, struct enas_tensor **nodes,
                      int *used)
{
    const struct mc_state *m = w->m;
    for (int n = 0; n < m->nodes; n++) {
        struct enas_tensor *t[2];
        for (int j = 0; j < 2; j++) {
            int in = arc[4 * n + 2 * j];
            unsigned k = (unsigned)arc[4 * n + 2 * j + 1];
            int stride = m->fixed && c->reduce && in < 2 ? 2 : 1;
            const size_t q = m->shared_ops ? k : (size_t)in * m->n_ops + k;
            const struct mc_cand *cand = m->fixed ? c->slot[n][j] : &c->slot[n][j][q];
            w->node = n, w->slot = j, w->cand = (int)k;
            t[j] = cand_run(w, k, cand, nodes[in], stride, c->f);
            if (m->fixed && w->x && w->training && m->defs[k].kind != MC_IDENTITY) {
                double keep = dp_keep(m, w->x, w->cell);
                if (keep < 1.0)
                    t[j] = call1(w, m->drop_path, t[j], keep, same(t[j], c->f));
            }
            used[in]++;
        }
        nodes[n + 2] = join(w, m->sum, t, 2, c->f);
        for (int j = 0; j < 2; j++)
            if (t[j] != nodes[arc[4 * n + 2 * j]]) /* not an identity's input: only the sum read it */
                drop(w, t[j]);
        w->node = -1;
    }
}

/* TF _enas_layer: output = BN(sum over unused nodes i of conv1x1_i(ReLU(node i))). */
static struct enas_tensor *cell_search(struct walk *w, const struct mc_cell *c, const int *arc,
                                       struct enas_tensor *h0, struct enas_tensor *h1,
                                       struct enas_tensor **pp)
{
    struct enas_tensor *nodes[MC_MAX_NODES + 2], *terms[MC_MAX_NODES + 2];
    int used[MC_MAX_NODES + 2] = {0}, k = 0;
    if (c->reduce && w->m->nni_reduce) { /* NNI ReductionLayer */
        h0 = pair(w, &c->xred0, h0, 2, c->f);
        h1 = pair(w, &c->xred, h1, 2, c->f);
    } else if (c->reduce) {
        h0 = h1;
        h1 = pair(w, &c->xred, h1, 2, c->f);
    }
    *pp = h1;
    nodes[0] = calibrate(w, c, 0, h0);
    nodes[1] = calibrate(w, c, 1, h1);
    nodes_run(w, c, arc, nodes, used);
    for (int i = 0; i < w->m->nodes + 2; i++)
        if (!used[i])
            terms[k++] = call1(w, c->out_conv[i], nodes[i], NAN, same(nodes[i], c->f));
    struct enas_tensor *s = join(w, w->m->sum, terms, k, c->f);
    for (int i = 0; k > 1 && i < k; i++)
        drop(w, terms[i]);
    return call1(w, c->out_bn, s, NAN, same(s, c->f));
}

/* TF _fixed_layer: output = concat of the unused nodes; unused reduction inputs are FR'd first. */
static struct enas_tensor *cell_final(struct walk *w, const struct mc_cell *c, const int *arc,
                                      struct enas_tensor *h0, struct enas_tensor *h1)
{
    struct enas_tensor *nodes[MC_MAX_NODES + 2], *parts[MC_MAX_NODES + 2];
    int used[MC_MAX_NODES + 2] = {0}, k = 0;
    nodes[0] = calibrate(w, c, 0, h0);
    nodes[1] = pair(w, &c->base, calibrate(w, c, 1, h1), 1, c->f);
    nodes_run(w, c, arc, nodes, used);
    for (int i = 0; i < w->m->nodes + 2; i++)
        if (!used[i])
            parts[k++] = c->reduce && i < 2 ? pair(w, &c->out_fr[i], nodes[i], 2, c->f) : nodes[i];
    return join(w, w->m->concat, parts, k, c->out_c);
}

static struct enas_tensor *aux_head(struct walk *w, const struct enas_tensor *t)
{
    const struct mc_aux *a = &w->m->auxh;
    const int64_t p = (dim(t, 1) - 5) / 3 + 1, q = (dim(t, 2) - 5) / 3 + 1;
    struct enas_tensor want = {NULL, 4, {dim(t, 0), p, q, dim(t, 3)}};
    struct enas_tensor *r = call1(w, a->pool, relu(w, t), NAN, want);
    r = relu(w, pair(w, &a->proj, r, 1, 128));
    /* not pair(), whose shapes are SAME ones: this conv is VALID, over the whole map */
    struct enas_tensor one = {NULL, 4, {dim(t, 0), p - w->m->aux_k + 1, q - w->m->aux_k + 1, 768}};
    r = call1(w, a->conv.conv, r, NAN, one);
    r = relu(w, call1(w, a->conv.bn, r, NAN, one));
    r = call1(w, w->m->gap, r, NAN, flat(r, 768));
    return call1(w, a->linear, r, NAN, flat(r, w->m->classes));
}

/* Stem, cells, head; *aux gets the aux logits when the aux head runs. */
static struct enas_tensor *net(struct walk *w, const int *arch, const struct enas_tensor *images,
                               struct enas_tensor **aux)
{
    struct mc_state *m = w->m;
    w->cell = -1;
    w->node = -1;
    struct enas_tensor *s = call1(w, m->stem.conv, images, NAN, same(images, 3 * m->F));
    struct enas_tensor *pp = call1(w, m->stem.bn, s, NAN, same(s, 3 * m->F)), *p = pp;
    for (int64_t id = 0; id < m->n_cells; id++) {
        const struct mc_cell *c = &m->cells[id];
        const int *arc = mc_arc(m, arch, c->reduce);
        struct enas_tensor *next_pp = p, *out;
        w->cell = id;
        if (m->fixed)
            out = cell_final(w, c, arc, pp, p);
        else
            out = cell_search(w, c, arc, pp, p, &next_pp);
        pp = c->reduce && !m->fixed ? next_pp : p;
        p = out;
        if (aux && m->aux && id == m->aux_cell && w->training)
            *aux = aux_head(w, p);
    }
    w->cell = -1;
    struct enas_tensor *g = call1(w, m->gap, relu(w, p), NAN, flat(p, dim(p, 3)));
    if (w->x)
        g = call1(w, m->dropout, g, NAN, flat(g, dim(g, 1)));
    return call1(w, m->fc, g, NAN, flat(g, m->classes));
}

enum enas_status mc_forward(void *state, struct enas_exec *x, const int *arch, size_t len,
                            const struct enas_tensor *images, struct enas_child_out *out,
                            struct enas_err *err)
{
    struct mc_state *m = state;
    enum enas_status st = mc_validate(m, arch, len, err);
    if (st != ENAS_OK)
        return st;
    if (!arch)
        arch = m->fixed;
    if (images->ndim != 4 || images->dims[1] != m->img_h || images->dims[2] != m->img_w ||
        images->dims[3] != m->img_c || images->dims[0] < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "micro: images: expected N x %lld x %lld x %lld",
                            (long long)m->img_h, (long long)m->img_w, (long long)m->img_c);
    struct walk w = {.m = m, .x = x, .training = x->training, .err = err};
    const int training = x->training;
    if (!m->fixed && m->search_bs)
        x->training = 1; /* TF search: batch statistics and dropout also when scoring (ENAS.md §3.2.7) */
    struct enas_tensor *aux = NULL, *logits = net(&w, arch, images, &aux);
    x->training = training;
    if (w.st != ENAS_OK)
        return w.st;
    if (m->fixed && training)
        m->train_steps++; /* the schedule's step where the engine does not say it (api->train_step) */
    out->logits = logits;
    out->aux_logits = aux;
    out->aux_weight = aux ? m->aux_weight : 0.0;
    return ENAS_OK;
}

enum enas_status mc_info(void *state, const int *arch, size_t len, struct enas_child_info *out,
                         struct enas_err *err)
{
    struct mc_state *m = state;
    enum enas_status st = mc_validate(m, arch, len, err);
    if (st != ENAS_OK)
        return st;
    struct walk w = {.m = m, .x = NULL, .training = 0, .err = err};
    struct enas_tensor img = {NULL, 4, {1, m->img_h, m->img_w, m->img_c}};
    net(&w, arch ? arch : m->fixed, &img, NULL);
    blocks_free(&w);
    if (w.st != ENAS_OK)
        return w.st;
    out->child_params = w.params;
    out->child_madds = w.madds;
    out->supergraph_params = 0;
    for (size_t i = 0; i < m->n_all; i++)
        out->supergraph_params += m->api->op_param_count(m->all[i]);
    return ENAS_OK;
}
