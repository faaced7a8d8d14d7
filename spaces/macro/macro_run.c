/* macro_run.c - one pass of the macro network for an architecture: only the chosen branch of each layer
 * runs, and a factorized reduction runs only when something downstream reads its output, so ops off the
 * chosen path get no gradient and keep their BN statistics. Without an exec context the same walk only
 * adds up api->op_madds and api->op_param_count on shape-only tensors (info()). */
#include "macro.h"

#include <math.h>
#include <string.h>

struct walk {
    struct macro *m;
    struct enas_exec *x; /* NULL: account only */
    const int *arch;
    double madds;
    int64_t params;
    struct enas_err *err;
    int no_params;       /* accounting: an op whose weights are counted already (a shared FR's later calls) */
    unsigned fr_counted; /* accounting: bit r: reduction r's shared FR counted */
};

/* Runs op on in, or (accounting) records its cost and hands back a tensor of the expected shape. */
static enum enas_status call(struct walk *w, struct enas_op *op, const struct enas_tensor *const *in,
                             size_t n, const struct enas_tensor *shape, struct enas_tensor **out)
{
    struct macro *m = w->m;
    if (w->x) {
        enum enas_status st = m->api->op_call(w->x, op, in, n, NAN, out, w->err);
        if (st == ENAS_OK && !*out) {
            enas_err_set(w->err, ENAS_ERR_BACKEND, "macro: an op returned no output");
            return ENAS_ERR_BACKEND;
        }
        return st;
    }
    if (m->n_shapes == m->cap_shapes) {
        enas_err_set(w->err, ENAS_ERR_NOMEM, "macro: info: more than %zu op calls", m->cap_shapes);
        return ENAS_ERR_NOMEM; /* a constant rather than enas_err_set's result: clang-analyzer follows it */
    }
    w->madds += m->api->op_madds(op, in, n);
    w->params += w->no_params ? 0 : m->api->op_param_count(op);
    struct enas_tensor *t = &m->shapes[m->n_shapes++];
    *t = *shape;
    t->data = NULL;
    *out = t;
    return ENAS_OK;
}

static enum enas_status run_seq(struct walk *w, const struct macro_seq *q, const struct enas_tensor *in,
                                struct enas_tensor **out)
{
    struct macro *m = w->m;
    enum enas_status st = ENAS_OK;
    struct enas_tensor *o = NULL;
    if (q->n <= 0 || !in) { /* an op the fixed network did not build: macro_fr_plan and get() disagree */
        enas_err_set(w->err, ENAS_ERR_INVALID_ARG, "macro: internal error: a needed op was not built");
        return ENAS_ERR_INVALID_ARG;
    }
    for (int k = 0; st == ENAS_OK && k < q->n; k++) {
        const struct macro_step *s = &q->s[k];
        struct enas_tensor shape = *in;
        if (s->c)
            shape.dims[3] = s->c;
        if (s->halve) {
            shape.dims[1] = (shape.dims[1] + 1) / 2;
            shape.dims[2] = (shape.dims[2] + 1) / 2;
        }
        const struct enas_tensor *args[1] = {in};
        st = call(w, s->op, args, 1, &shape, &o);
        /* an output inside the sequence goes to no other op: the engine frees it unless a backward reads
         * it (a BN-ReLU output read only by an average pool, whose backward needs shapes only) */
        if (st == ENAS_OK && k > 0 && w->x && ENAS_API_HAS(m->api, release))
            m->api->release(w->x, in);
        in = o;
    }
    *out = o;
    return st;
}

/* List position j brought to `target` reductions (lazily: each FR runs at most once per pass). A shared FR
 * (shared_reduce) is one op per reduction: its weights count once however many positions it reduces. */
static enum enas_status get(struct walk *w, int64_t j, int target, struct enas_tensor **out)
{
    struct macro *m = w->m;
    enum enas_status st = ENAS_OK;
    for (; st == ENAS_OK && m->level[j] < target; m->level[j]++) {
        const int r = m->level[j];
        w->no_params = m->shared_fr && (w->fr_counted >> r & 1u);
        st = run_seq(w, &m->fr[(size_t)r * (size_t)(m->L + 1) + (size_t)(m->shared_fr ? 0 : j)], m->cur[j],
                     &m->cur[j]);
        w->no_params = 0;
        w->fr_counted |= m->shared_fr ? 1u << r : 0u;
    }
    *out = m->cur[j];
    if (st == ENAS_OK && !*out)
        st = enas_err_set(w->err, ENAS_ERR_INVALID_ARG, "macro: internal error: list position %lld is empty",
                          (long long)j);
    return st;
}

/* sum (same shapes) or concat (along C) of v[0..n), chained in calls of at most MACRO_JOIN_MAX inputs. */
static enum enas_status join(struct walk *w, int concat, struct enas_tensor **v, size_t n,
                             struct enas_tensor **out)
{
    struct enas_tensor *acc = NULL;
    enum enas_status st = ENAS_OK;
    size_t i = 0;
    if (n == 1) {
        *out = v[0];
        return ENAS_OK;
    }
    while (st == ENAS_OK && i < n) {
        const struct enas_tensor *in[MACRO_JOIN_MAX];
        size_t k = 0;
        if (acc)
            in[k++] = acc;
        while (k < MACRO_JOIN_MAX && i < n)
            in[k++] = v[i++];
        struct enas_tensor shape = *in[0];
        for (size_t q = 1; concat && q < k; q++)
            shape.dims[3] += in[q]->dims[3];
        st = call(w, concat ? w->m->concat : w->m->sum, in, k, &shape, &acc);
    }
    *out = acc;
    return st;
}

/* Layer i: the chosen branch on the previous output, then (i >= 1) the join with the selected skips
 * (search: sum, fixed: concat with the skips first) and its tail. */
static enum enas_status layer(struct walk *w, int64_t i, struct enas_tensor **out)
{
    struct macro *m = w->m;
    const size_t p = macro_op_pos(i);
    const int t = macro_nred(m, i);
    struct enas_tensor *x = NULL;
    enum enas_status st = get(w, i, t, &x);
    if (st == ENAS_OK)
        st = run_seq(w, &m->layers[i].br[w->arch[p]], x, &x);
    if (st == ENAS_OK && i == 0 && m->layers[0].post.n > 0) /* bn_placement = nni: layer 0 has its BN too */
        st = run_seq(w, &m->layers[0].post, x, &x);
    if (st != ENAS_OK || i == 0) {
        *out = x;
        return st;
    }
    size_t n = 0;
    for (int64_t j = 0; st == ENAS_OK && j < i; j++)
        if (w->arch[p + 1 + (size_t)j])
            st = get(w, j, t, &m->list[n++]);
    m->list[n++] = x;
    struct enas_tensor *branch = x;
    if (st == ENAS_OK)
        st = join(w, m->fixed, m->list, n, &x);
    /* the branch output went only into the join, which keeps none of it for backward */
    if (st == ENAS_OK && n > 1 && w->x && ENAS_API_HAS(m->api, release))
        m->api->release(w->x, branch);
    if (st == ENAS_OK)
        st = run_seq(w, &m->layers[i].post, x, &x);
    *out = x;
    return st;
}

/* GAP, dropout (training only, inside the op), FC without bias. */
static enum enas_status head(struct walk *w, struct enas_tensor *x, struct enas_tensor **logits)
{
    struct macro *m = w->m;
    struct enas_tensor s2 = {NULL, 2, {x->dims[0], x->dims[3], 1, 1}};
    const struct enas_tensor *in[1] = {x};
    enum enas_status st = call(w, m->gap, in, 1, &s2, &x);
    if (st == ENAS_OK && m->dropout) {
        in[0] = x;
        st = call(w, m->dropout, in, 1, &s2, &x);
    }
    s2.dims[1] = m->n_classes;
    in[0] = x;
    if (st == ENAS_OK)
        st = call(w, m->fc, in, 1, &s2, logits);
    return st;
}

enum enas_status macro_run(struct macro *m, struct enas_exec *x, const int *arch,
                           const struct enas_tensor *images, struct enas_tensor **logits, double *madds,
                           int64_t *params, struct enas_err *err)
{
    struct walk w = {m, x, arch, 0.0, 0, err, 0, 0u};
    struct enas_tensor *t = NULL, *out = NULL;
    m->n_shapes = 0;
    enum enas_status st = run_seq(&w, &m->stem, images, &m->cur[0]);
    m->level[0] = 0;
    for (int64_t i = 0; st == ENAS_OK && i < m->L; i++) {
        st = layer(&w, i, &t);
        if (st != ENAS_OK)
            enas_err_prefix(err, "macro: layer %lld: ", (long long)i);
        m->cur[i + 1] = t;
        m->level[i + 1] = macro_nred(m, i);
        /* NNI reduces every tensor of the list at a reduction point, read later or not, in list order: the
         * shared FR's BN statistics see each of them, so its running averages match NNI's */
        const int r = macro_nred(m, i + 1);
        struct enas_tensor *reduced = NULL;
        for (int64_t j = 0; st == ENAS_OK && m->shared_fr && r > macro_nred(m, i) && j <= i + 1; j++)
            st = get(&w, j, r, &reduced);
    }
    if (st == ENAS_OK)
        st = get(&w, m->L, macro_nred(m, m->L), &t);
    if (st == ENAS_OK)
        st = head(&w, t, &out);
    if (logits)
        *logits = st == ENAS_OK ? out : NULL;
    if (madds)
        *madds = w.madds;
    if (params)
        *params = w.params;
    return st;
}
