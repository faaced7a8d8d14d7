/* ophelp_run.c - the calls half of ophelp.h: an exec whose scratch and save blocks are malloc'd and
 * whose random stream restarts at the run's seed on every call, forward/backward, and the
 * central-difference gradient check. */
#include "ophelp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OH_MAX_BLOCKS 64

struct oh_exec {
    struct enas_exec x; /* first: the op's exec pointer is the oh_exec */
    uint64_t rng;
    void *blocks[OH_MAX_BLOCKS]; /* scratch, freed when the call returns */
    size_t n_blocks;
    void *saved; /* what save() returned, handed to the caller */
};

/* ---- calls ---- */

static void *x_scratch(struct enas_exec *x, size_t bytes)
{
    struct oh_exec *e = (struct oh_exec *)x;
    if (e->n_blocks == OH_MAX_BLOCKS)
        return NULL;
    void *p = oh_host_api()->alloc(bytes);
    if (p)
        e->blocks[e->n_blocks++] = p;
    return p;
}

static void *x_save(struct enas_exec *x, size_t bytes)
{
    struct oh_exec *e = (struct oh_exec *)x;
    if (e->saved) /* one save per call is all the ops need; a second is a bug worth seeing */
        return NULL;
    return e->saved = oh_host_api()->alloc(bytes);
}

static uint64_t x_rng(struct enas_exec *x)
{
    return oh_splitmix(&((struct oh_exec *)x)->rng);
}

static void exec_init(struct oh_exec *e, const struct oh_op *op, const struct oh_run *r, int forward)
{
    memset(e, 0, sizeof *e);
    e->x.api = oh_host_api();
    e->x.host = op->host ? op->host : oh_host();
    e->x.backend = oh_backend_ctx(e->x.host);
    e->x.training = r->training;
    e->x.threads = oh_threads(e->x.host);
    e->x.arg = r->arg;
    e->x.save = forward ? x_save : NULL;
    e->x.saved = forward ? NULL : r->saved;
    e->x.scratch = x_scratch;
    e->x.rng_u64 = x_rng;
    e->rng = r->seed;
}

static void exec_fini(struct oh_exec *e)
{
    for (size_t i = 0; i < e->n_blocks; i++)
        free(e->blocks[i]);
    e->n_blocks = 0;
}

enum enas_status oh_forward(const struct oh_op *op, struct oh_run *r, const struct enas_tensor *const *in,
                            size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    struct oh_exec e;
    out->data = NULL;
    enum enas_status st = op->d->shape(op->state, in, n_in, out, err);
    if (st != ENAS_OK)
        return st;
    *out = oh_tensor(out->ndim, out->dims[0], out->dims[1], out->dims[2], out->dims[3]);
    for (int64_t i = 0; i < enas_tensor_numel(out); i++)
        out->data[i] = NAN; /* forward must write every element */
    oh_run_fini(r);
    exec_init(&e, op, r, 1);
    st = op->d->forward(op->state, &e.x, in, n_in, out, err);
    exec_fini(&e);
    r->saved = e.saved;
    return st;
}

enum enas_status oh_backward(const struct oh_op *op, struct oh_run *r, const struct enas_tensor *const *in,
                             size_t n_in, const struct enas_tensor *out, const struct enas_tensor *dout,
                             struct enas_tensor *const *din, struct enas_err *err)
{
    struct oh_exec e;
    exec_init(&e, op, r, 0);
    enum enas_status st = op->d->backward(op->state, &e.x, in, n_in, out, dout, din, err);
    exec_fini(&e);
    return st;
}

void oh_run_fini(struct oh_run *r)
{
    free(r->saved);
    r->saved = NULL;
}

/* ---- gradient check ---- */

/* L = sum(out * R) of one forward, in double. */
static double gc_loss(const struct oh_op *op, const struct oh_run *mode, const struct enas_tensor *const *in,
                      size_t n_in, const struct enas_tensor *rt)
{
    struct oh_run r = *mode;
    struct enas_tensor out;
    struct enas_err err = {0};
    double loss = NAN;
    r.saved = NULL;
    if (oh_forward(op, &r, in, n_in, &out, &err) == ENAS_OK) {
        loss = 0.0;
        for (int64_t i = 0; i < enas_tensor_numel(&out); i++)
            loss += (double)out.data[i] * (double)rt->data[i];
    } else {
        fprintf(stderr, "gradcheck: forward failed: %s\n", err.msg);
    }
    oh_tensor_free(&out);
    oh_run_fini(&r);
    return loss;
}

/* Compares analytic ana[0..n) with central differences of the values in v (perturbed in place). */
static int gc_compare(const struct oh_op *op, const struct oh_run *mode, const struct enas_tensor *const *in,
                      size_t n_in, const struct enas_tensor *rt, float *v, const float *ana, int64_t n,
                      double eps, double tol, const char *what)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float keep = v[i];
        v[i] = (float)((double)keep + eps);
        double lp = gc_loss(op, mode, in, n_in, rt);
        v[i] = (float)((double)keep - eps);
        double lm = gc_loss(op, mode, in, n_in, rt);
        /* the step that fp32 really took, not 2*eps: keeps the rounding of v out of the error */
        double h = (double)(float)((double)keep + eps) - (double)(float)((double)keep - eps);
        v[i] = keep;
        double num = (lp - lm) / h, a = (double)ana[i];
        if (!(fabs(a - num) <= tol * (1.0 + fabs(num)))) {
            if (bad++ < 5)
                fprintf(stderr, "gradcheck %s: %s[%lld]: analytic %.6g, numeric %.6g\n", op->d->name, what,
                        (long long)i, a, num);
        }
    }
    return bad;
}

/* The analytic gradients of a trained parameter: grad minus the 0.25 it was preset to, which also
 * proves that backward accumulated instead of overwriting. */
static int gc_params(const struct oh_op *op, const struct oh_run *mode, const struct enas_tensor *const *in,
                     size_t n_in, const struct enas_tensor *rt, double eps, double tol)
{
    int bad = 0;
    for (size_t k = 0; k < op->n_p; k++) {
        struct enas_param *p = op->p[k];
        if (!p->grad)
            continue;
        int64_t n = enas_tensor_numel(&p->value);
        float *ana = malloc((size_t)n * sizeof *ana);
        for (int64_t i = 0; ana && i < n; i++)
            ana[i] = p->grad[i] - 0.25f;
        bad += ana ? gc_compare(op, mode, in, n_in, rt, p->value.data, ana, n, eps, tol, p->name) : 1;
        free(ana);
    }
    return bad;
}

int oh_gradcheck(const struct oh_op *op, const struct oh_run *mode, struct enas_tensor *in, size_t n_in,
                 double eps, double tol, const char *label)
{
    const struct enas_tensor *ins[16] = {0};
    struct enas_tensor din[16], *dinp[16] = {0}, out, rt;
    struct enas_err err = {0};
    struct oh_run r = *mode;
    uint64_t seed = 99;
    int bad = 0;
    r.saved = NULL;
    if (n_in > 16) {
        fprintf(stderr, "gradcheck %s: more than 16 inputs\n", label);
        return 1;
    }
    for (size_t i = 0; i < n_in; i++)
        ins[i] = &in[i];
    if (oh_forward(op, &r, ins, n_in, &out, &err) != ENAS_OK) {
        fprintf(stderr, "gradcheck %s: forward failed: %s\n", label, err.msg);
        return 1;
    }
    rt = oh_tensor(out.ndim, out.dims[0], out.dims[1], out.dims[2], out.dims[3]);
    oh_fill(&rt, -1.0, 1.0, &seed);
    for (size_t i = 0; i < n_in; i++) {
        din[i] = oh_tensor(in[i].ndim, in[i].dims[0], in[i].dims[1], in[i].dims[2], in[i].dims[3]);
        oh_fill(&din[i], 1e30, 1e30, &seed); /* garbage that backward must overwrite */
        dinp[i] = &din[i];
    }
    for (size_t k = 0; k < op->n_p; k++)
        for (int64_t j = 0; op->p[k]->grad && j < enas_tensor_numel(&op->p[k]->value); j++)
            op->p[k]->grad[j] = 0.25f;
    if (oh_backward(op, &r, ins, n_in, &out, &rt, dinp, &err) != ENAS_OK) {
        fprintf(stderr, "gradcheck %s: backward failed: %s\n", label, err.msg);
        bad++;
    }
    for (size_t i = 0; !bad && i < n_in; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %zu", i);
        bad += gc_compare(op, mode, ins, n_in, &rt, in[i].data, din[i].data, enas_tensor_numel(&in[i]), eps,
                          tol, what);
    }
    if (!bad)
        bad += gc_params(op, mode, ins, n_in, &rt, eps, tol);
    if (bad)
        fprintf(stderr, "gradcheck %s (%s): %d mismatch(es)\n", label, op->d->name, bad);
    for (size_t i = 0; i < n_in; i++)
        oh_tensor_free(&din[i]);
    oh_tensor_free(&rt);
    oh_tensor_free(&out);
    oh_run_fini(&r);
    return bad;
}
