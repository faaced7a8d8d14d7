/* step.c - the tape (step.h): forward records each op call, backward replays the records in reverse.
 *   memory    pool_take, put, data_alloc: the pass's data (see "Memory" below)
 *   exec      x_save, x_scratch, x_rng: what an op reaches through struct enas_exec
 *   tensors   node_new, node_of, enas__step_tensor, enas__step_grad
 *   forward   enas__step_op_call: checks a call, runs the op, records it
 *   release   enas__step_release: a space's promise that a tensor goes to no further op
 *   backward  replay, enas__step_backward(_n): gradients handed out, accumulated and freed in reverse
 * Invariant: every tensor the step hands out is the first member of a `struct node` in `meta`. */
#include "tape/step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "tape/arena.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"

#define STEP_CHUNK ((size_t)64 << 20)
#define META_CHUNK ((size_t)1 << 20)

struct node {
    struct enas_tensor t;     /* first member: the pointer handed out is the node's */
    struct enas_tensor *grad; /* NULL until a gradient reaches it */
    int needs_grad;
    int readers;      /* recorded ops whose backward reads t.data */
    int top;          /* an output backward started from: kept for the caller */
    size_t cap, gcap; /* bytes behind t.data and grad->data (a reused buffer may be larger) */
};

/* Memory. Tensor data, saved data and gradients live in a bump arena reset every pass (bookkeeping in a
 * second one, so that data lies back to back). What the pass no longer uses goes to a free list by address,
 * merged with its free neighbours (or given back to the arena's top), that later data comes from first
 * (best fit, split): a tensor a space releases that no recorded backward reads at once, a gradient once its
 * tensor's producer has run backward, an op output once every op that read it has run backward, and saved
 * data once its call has. The pass's peak is then close to the most bytes live at once
 * (enas__step_live_peak_bytes), not the sum of every size ever asked for. Backward hands each op fresh
 * gradient buffers for inputs seen for the first time (ops overwrite din) and, for inputs that already
 * have a gradient, the gradient itself when the op accumulates, else scratch added afterwards.
 *
 * Free stretches of `acts` in the current pass, by address: neighbours merge, so that the memory of
 * several small tensors serves a large one later. */
struct pool {
    struct pooled {
        unsigned char *data;
        size_t bytes; /* a multiple of the arena's alignment */
    } * b;
    size_t n, cap;
};

struct record {
    struct enas_op *op;
    struct node *out;
    const struct enas_tensor **in; /* arena copy of the caller's input pointers */
    size_t n_in;
    void *saved;
    size_t saved_cap; /* bytes behind saved */
    double arg;
};

struct enas_step {
    struct enas_exec x; /* first member: ops get &s->x and we get s back */
    struct enas_host *h;
    struct enas_arena acts; /* tensor data, saved data, gradients: live for the pass */
    struct enas_arena meta; /* nodes, input lists, gradient headers: kept apart so that data merges */
    struct held {           /* scratch of the running call, from acts; back to the pool after it */
        void *data;
        size_t cap;
    } * held;
    size_t n_held, cap_held;
    struct enas_rng rng;
    int record;
    int keep;
    struct record *recs;
    size_t n_recs, cap_recs;
    const struct node **map; /* open addressing: tensor pointer -> node */
    size_t map_cap, map_n;
    void *pending_saved; /* what the running forward saved */
    size_t pending_saved_cap;
    struct pool pool;                /* stretches of acts this pass no longer uses */
    size_t pooled;                   /* bytes in pool */
    size_t live_peak;                /* most bytes of acts in use and not pooled (all passes) */
    const unsigned char *accumulate; /* the running backward's grad_accumulates answers, per input */
    size_t n_accumulate;
    int64_t train_step; /* api->train_step of this pass */
    int trace;
    struct enas_step_call *calls; /* a traced pass's op calls */
    size_t n_calls, cap_calls;
};

/* Below this a free stretch is not split: the rest goes with the buffer. */
#define SPLIT_MIN ((size_t)4096)

static struct enas_step *step_of(struct enas_exec *x)
{
    return (struct enas_step *)(void *)x;
}

/* The most bytes of the pass's tensors, saved data and gradients live at once: what a perfect allocator
 * would have needed (acts in use less what waits in the pool). */
static void live_note(struct enas_step *s)
{
    const size_t live = s->acts.in_use - s->pooled;
    if (live > s->live_peak)
        s->live_peak = live;
}

/* Best fit from the pool, split when the rest is worth keeping; *cap: the bytes handed out. */
static unsigned char *pool_take(struct enas_step *s, size_t need, size_t *cap)
{
    struct pool *p = &s->pool;
    size_t best = p->n;
    for (size_t i = 0; i < p->n; i++)
        if (p->b[i].bytes >= need && (best == p->n || p->b[i].bytes < p->b[best].bytes))
            best = i;
    if (best == p->n)
        return NULL;
    struct pooled *b = &p->b[best];
    unsigned char *d = b->data;
    if (b->bytes - need >= SPLIT_MIN) {
        b->data += need;
        b->bytes -= need;
        *cap = need;
    } else {
        *cap = b->bytes;
        memmove(b, b + 1, (p->n - best - 1) * sizeof *b);
        p->n--;
    }
    s->pooled -= *cap;
    return d;
}

/* Returns [data, data + bytes) to the pass: merged with free neighbours, and given back to the arena when
 * it ends at its top. (Two chunks are never adjacent: each malloc'd block has its own header.) A failed
 * push only leaves the buffer unused until the pass ends. */
static void put(struct enas_step *s, void *data, size_t bytes)
{
    struct pool *p = &s->pool;
    unsigned char *d = data;
    size_t lo = 0, hi = p->n;
    while (lo < hi) { /* the first stretch above d */
        size_t mid = (lo + hi) / 2;
        if (p->b[mid].data < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct pooled *prev = lo > 0 ? &p->b[lo - 1] : NULL, *next = lo < p->n ? &p->b[lo] : NULL;
    size_t at;
    if (prev && prev->data + prev->bytes == d) {
        prev->bytes += bytes;
        at = lo - 1;
    } else if (next && d + bytes == next->data) {
        next->data = d;
        next->bytes += bytes;
        next = NULL; /* merged already */
        at = lo;
    } else {
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 64;
            struct pooled *b = realloc(p->b, cap * sizeof *b);
            if (!b)
                return;
            p->b = b;
            p->cap = cap;
        }
        memmove(&p->b[lo + 1], &p->b[lo], (p->n - lo) * sizeof *p->b);
        p->b[lo] = (struct pooled){d, bytes};
        p->n++;
        at = lo;
        next = NULL; /* not adjacent */
    }
    s->pooled += bytes;
    if (next && p->b[at].data + p->b[at].bytes == next->data) { /* prev, d and next are one now */
        p->b[at].bytes += next->bytes;
        memmove(next, next + 1, (p->n - at - 2) * sizeof *next);
        p->n--;
    }
    if (enas__arena_unbump(&s->acts, p->b[at].data, p->b[at].bytes)) {
        s->pooled -= p->b[at].bytes;
        memmove(&p->b[at], &p->b[at + 1], (p->n - at - 1) * sizeof *p->b);
        p->n--;
    }
}

/* Data of `bytes` for the pass: from the pool, else the arena's top (when that moves on to the next chunk,
 * the tail left behind goes to the pool, once it no longer lies at the top). *cap: the bytes behind it. */
static void *data_alloc(struct enas_step *s, size_t bytes, size_t *cap)
{
    const size_t need = enas__arena_size(bytes);
    void *d = pool_take(s, need, cap);
    if (!d) {
        const size_t room = enas__arena_room(&s->acts);
        void *tail = room < need && room >= SPLIT_MIN ? enas__arena_alloc(&s->acts, room) : NULL;
        d = enas__arena_alloc(&s->acts, need);
        *cap = need;
        if (tail)
            put(s, tail, room);
    }
    live_note(s);
    return d;
}

static void *x_save(struct enas_exec *x, size_t bytes)
{
    struct enas_step *s = step_of(x);
    size_t cap = 0;
    void *p = data_alloc(s, bytes, &cap);
    if (p && !s->pending_saved) { /* the contract is one save per call; the first is handed back */
        s->pending_saved = p;
        s->pending_saved_cap = cap;
    }
    return p;
}

/* Scratch for one op call: pass memory handed back when the call returns (scratch_release), so that
 * what a call needs for a moment comes out of the same free list as everything else. */
static void *scratch_alloc(struct enas_step *s, size_t bytes)
{
    if (s->n_held == s->cap_held) {
        size_t cap = s->cap_held ? 2 * s->cap_held : 16;
        struct held *h = realloc(s->held, cap * sizeof *h);
        if (!h)
            return NULL;
        s->held = h;
        s->cap_held = cap;
    }
    size_t cap = 0;
    void *d = data_alloc(s, bytes, &cap);
    if (d)
        s->held[s->n_held++] = (struct held){d, cap};
    return d;
}

/* Gives back the scratch taken since *mark* (newest first: it often lies at the arena's top). */
static void scratch_release(struct enas_step *s, size_t mark)
{
    while (s->n_held > mark) {
        s->n_held--;
        put(s, s->held[s->n_held].data, s->held[s->n_held].cap);
    }
}

static void *x_scratch(struct enas_exec *x, size_t bytes)
{
    return scratch_alloc(step_of(x), bytes);
}

static uint64_t x_rng(struct enas_exec *x)
{
    return enas__rng_u64(&step_of(x)->rng);
}

enum enas_status enas__step_create(struct enas_host *h, struct enas_step **out, struct enas_err *err)
{
    struct enas_step *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "step: out of memory");
    s->h = h;
    s->x.api = h->api;
    s->x.host = h;
    s->x.save = x_save;
    s->x.scratch = x_scratch;
    s->x.rng_u64 = x_rng;
    s->x.threads = 1;
    enas__arena_init(&s->acts, STEP_CHUNK);
    enas__arena_init(&s->meta, META_CHUNK);
    *out = s;
    return ENAS_OK;
}

void enas__step_destroy(struct enas_step *s)
{
    if (!s)
        return;
    enas__arena_fini(&s->acts);
    enas__arena_fini(&s->meta);
    free(s->held);
    free(s->recs);
    free(s->calls);
    free(s->map);
    free(s->pool.b);
    free(s);
}

void enas__step_begin(struct enas_step *s, const struct enas_step_opts *o)
{
    enas__arena_reset(&s->acts);
    enas__arena_reset(&s->meta);
    s->n_held = 0;
    s->n_recs = 0;
    s->pool.n = 0;
    s->pooled = 0;
    if (s->map_n)
        memset(s->map, 0, s->map_cap * sizeof *s->map);
    s->map_n = 0;
    s->record = o->record;
    s->trace = o->trace;
    s->n_calls = 0;
    s->keep = o->keep;
    s->train_step = o->train_step;
    s->x.training = o->training;
    s->x.threads = o->threads > 0 ? o->threads : 1;
    s->x.arg = NAN;
    s->x.saved = NULL;
    s->x.backend = NULL;
    enas__rng_seed(&s->rng, o->seed, o->stream);
}

struct enas_exec *enas__step_exec(struct enas_step *s)
{
    return &s->x;
}

/* ---- tensor pointer -> node ---- */

static size_t ptr_hash(const void *p, size_t cap)
{
    uint64_t v = (uint64_t)(uintptr_t)p;
    v ^= v >> 29;
    v *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(v >> 17) & (cap - 1);
}

static int map_put(struct enas_step *s, const struct node *n)
{
    if ((s->map_n + 1) * 2 > s->map_cap) {
        size_t cap = s->map_cap ? s->map_cap * 2 : 1024;
        const struct node **m = calloc(cap, sizeof *m);
        if (!m)
            return -1;
        for (size_t i = 0; i < s->map_cap; i++)
            if (s->map[i]) {
                size_t j = ptr_hash(s->map[i], cap);
                while (m[j])
                    j = (j + 1) & (cap - 1);
                m[j] = s->map[i];
            }
        free(s->map);
        s->map = m;
        s->map_cap = cap;
    }
    size_t j = ptr_hash(n, s->map_cap);
    while (s->map[j])
        j = (j + 1) & (s->map_cap - 1);
    s->map[j] = n;
    s->map_n++;
    return 0;
}

/* The node behind t, or NULL for a tensor the step did not make. */
static struct node *node_of(const struct enas_step *s, const struct enas_tensor *t)
{
    if (!t || !s->map_cap)
        return NULL;
    size_t j = ptr_hash(t, s->map_cap);
    while (s->map[j]) {
        if ((const void *)s->map[j] == (const void *)t)
            return (struct node *)(uintptr_t)s->map[j];
        j = (j + 1) & (s->map_cap - 1);
    }
    return NULL;
}

static struct node *node_new(struct enas_step *s, const struct enas_tensor *shape, int needs_grad)
{
    struct node *n = enas__arena_alloc(&s->meta, sizeof *n);
    if (!n)
        return NULL;
    n->t = *shape;
    n->grad = NULL;
    n->needs_grad = needs_grad;
    n->readers = 0;
    n->top = 0;
    const size_t bytes = (size_t)enas_tensor_numel(shape) * sizeof(float);
    n->cap = bytes;
    n->gcap = 0;
    n->t.data = data_alloc(s, bytes, &n->cap);
    if (!n->t.data || map_put(s, n) != 0)
        return NULL;
    return n;
}

struct enas_tensor *enas__step_tensor(struct enas_step *s, int ndim, const int64_t *dims, int needs_grad)
{
    struct enas_tensor shape = {NULL, ndim, {1, 1, 1, 1}};
    if (ndim < 1 || ndim > ENAS_MAX_DIMS)
        return NULL;
    for (int i = 0; i < ndim; i++)
        shape.dims[i] = dims[i];
    struct node *n = node_new(s, &shape, needs_grad);
    return n ? &n->t : NULL;
}

const struct enas_tensor *enas__step_grad(const struct enas_step *s, const struct enas_tensor *t)
{
    const struct node *n = node_of(s, t);
    return n ? n->grad : NULL;
}

size_t enas__step_peak_bytes(const struct enas_step *s)
{
    return s->acts.peak;
}

size_t enas__step_live_peak_bytes(const struct enas_step *s)
{
    return s->live_peak;
}

size_t enas__step_n_records(const struct enas_step *s)
{
    return s->n_recs;
}

struct enas_tensor *enas__step_record_output(struct enas_step *s, size_t k, const char **op_name)
{
    if (k >= s->n_recs)
        return NULL;
    if (op_name)
        *op_name = s->recs[k].op->desc->name;
    return &s->recs[k].out->t;
}

/* ---- forward ---- */

static int op_trains(const struct enas_op *op)
{
    for (size_t i = op->p_first; i < op->p_end && i < op->h->n_params; i++)
        if (!(op->h->params[i]->flags & ENAS_PARAM_BUFFER))
            return 1;
    return 0;
}

static void mark_used(const struct enas_op *op)
{
    for (size_t i = op->p_first; i < op->p_end && i < op->h->n_params; i++)
        op->h->params[i]->used = 1;
}

/* The descriptor's bwd_flags; 0 for a plugin built before the member existed. */
static unsigned bwd_flags(const struct enas_op_desc *d)
{
    return d->struct_size >= offsetof(struct enas_op_desc, bwd_flags) + sizeof d->bwd_flags ? d->bwd_flags
                                                                                            : 0u;
}

static enum enas_status push_record(struct enas_step *s, struct enas_op *op, struct node *out,
                                    const struct enas_tensor *const *in, size_t n_in, double arg,
                                    struct enas_err *err)
{
    if (s->n_recs == s->cap_recs) {
        size_t cap = s->cap_recs ? s->cap_recs * 2 : 256;
        struct record *r = realloc(s->recs, cap * sizeof *r);
        if (!r)
            return enas_err_set(err, ENAS_ERR_NOMEM, "op_call: out of memory for the tape");
        s->recs = r;
        s->cap_recs = cap;
    }
    struct record *r = &s->recs[s->n_recs];
    r->in = enas__arena_alloc(&s->meta, n_in * sizeof *r->in);
    if (!r->in)
        return enas_err_set(err, ENAS_ERR_NOMEM, "op_call: out of memory for the tape");
    memcpy(r->in, in, n_in * sizeof *r->in);
    const unsigned f = bwd_flags(op->desc);
    for (size_t i = 0; i < n_in && !(f & ENAS_OP_BWD_NO_INPUT_DATA); i++) {
        struct node *n = node_of(s, in[i]);
        if (n)
            n->readers++;
    }
    if (!(f & ENAS_OP_BWD_NO_OUTPUT_DATA))
        out->readers++;
    r->op = op;
    r->out = out;
    r->n_in = n_in;
    r->saved = s->pending_saved;
    r->saved_cap = s->pending_saved_cap;
    r->arg = arg;
    s->n_recs++;
    return ENAS_OK;
}

static enum enas_status trace_call(struct enas_step *s, const struct enas_op *op,
                                   const struct enas_tensor *const *in, size_t n_in,
                                   const struct enas_tensor *out, double arg, struct enas_err *err)
{
    if (s->n_calls == s->cap_calls) {
        size_t cap = s->cap_calls ? s->cap_calls * 2 : 256;
        struct enas_step_call *c = realloc(s->calls, cap * sizeof *c);
        if (!c)
            return enas_err_set(err, ENAS_ERR_NOMEM, "op_call: out of memory for the trace");
        s->calls = c;
        s->cap_calls = cap;
    }
    const struct enas_tensor **copy = enas__arena_alloc(&s->meta, (n_in ? n_in : 1) * sizeof *copy);
    if (!copy)
        return enas_err_set(err, ENAS_ERR_NOMEM, "op_call: out of memory for the trace");
    if (n_in)
        memcpy(copy, in, n_in * sizeof *copy);
    s->calls[s->n_calls++] = (struct enas_step_call){op, copy, n_in, out, arg};
    return ENAS_OK;
}

const struct enas_step_call *enas__step_calls(const struct enas_step *s, size_t *n)
{
    *n = s->n_calls;
    return s->calls;
}

static enum enas_status call_check(const struct enas_op *op, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_err *err)
{
    const struct enas_op_desc *d = op->desc;
    if (n_in < d->min_inputs || n_in > d->max_inputs)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "op '%s': %zu inputs given; it takes %u to %u",
                            d->name, n_in, d->min_inputs, d->max_inputs);
    for (size_t i = 0; i < n_in; i++)
        if (!in[i] || !in[i]->data)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "op '%s': input %zu has no data (released earlier in this pass?)", d->name,
                                i);
    return ENAS_OK;
}

enum enas_status enas__step_op_call(struct enas_exec *x, struct enas_op *op,
                                    const struct enas_tensor *const *in, size_t n_in, double arg,
                                    struct enas_tensor **out, struct enas_err *err)
{
    if (out)
        *out = NULL;
    if (!x || !op || !out || (n_in && !in))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "op_call: exec, op, inputs and out must not be NULL");
    struct enas_step *s = step_of(x);
    const struct enas_op_desc *d = op->desc;
    enum enas_status st = call_check(op, in, n_in, err);
    struct enas_tensor shape = {NULL, 0, {1, 1, 1, 1}};
    if (st == ENAS_OK)
        st = d->shape(op->state, in, n_in, &shape, err);
    if (st != ENAS_OK)
        return st;
    int needs_grad = s->record && d->backward && op_trains(op);
    for (size_t i = 0; i < n_in && s->record && d->backward && !needs_grad; i++) {
        const struct node *n = node_of(s, in[i]);
        needs_grad = n && n->needs_grad;
    }
    struct node *o = node_new(s, &shape, needs_grad);
    if (!o)
        return enas_err_set(err, ENAS_ERR_NOMEM, "op '%s': out of memory for its output", d->name);
    x->arg = arg;
    x->saved = NULL;
    x->backend = op->backend;
    s->pending_saved = NULL;
    const size_t m = s->n_held;
    st = d->forward(op->state, x, in, n_in, &o->t, err);
    if (st != ENAS_OK)
        enas__err_terminate(err); /* the op plugin's message */
    scratch_release(s, m);
    if (st == ENAS_OK && s->record && needs_grad)
        st = push_record(s, op, o, in, n_in, arg, err);
    else if (s->pending_saved) /* no backward will read it */
        put(s, s->pending_saved, s->pending_saved_cap);
    s->pending_saved = NULL;
    if (st != ENAS_OK)
        return st;
    if (s->trace && (st = trace_call(s, op, in, n_in, &o->t, arg, err)) != ENAS_OK)
        return st;
    if (s->record) /* a pass that trains; scoring passes (even in training mode) touch no optimizer state */
        mark_used(op);
    *out = &o->t;
    return ENAS_OK;
}

void enas__step_release(struct enas_exec *x, const struct enas_tensor *t)
{
    if (!x || !t)
        return;
    struct enas_step *s = step_of(x);
    struct node *n = node_of(s, t);
    if (!n || !n->t.data || n->readers > 0)
        return; /* not ours, freed already, or backward reads it */
#if defined(__SANITIZE_ADDRESS__)
    memset(n->t.data, 0xff, n->cap); /* NaN: a read after release shows in the sanitizer build's results */
#endif
    put(s, n->t.data, n->cap);
    n->t.data = NULL;
}

/* ---- backward ---- */

/* A gradient tensor shaped like `like`: kept for the pass (acts, its header in meta) or for one call
 * (scratch). */
static struct enas_tensor *grad_new(struct enas_step *s, int pass, const struct enas_tensor *like,
                                    size_t *cap)
{
    struct enas_tensor *g = enas__arena_alloc(&s->meta, sizeof *g);
    if (!g)
        return NULL;
    *g = *like;
    const size_t bytes = (size_t)enas_tensor_numel(like) * sizeof(float);
    *cap = bytes;
    g->data = pass ? data_alloc(s, bytes, cap) : scratch_alloc(s, bytes);
    return g->data ? g : NULL;
}

/* Once the op that produced a tensor has run backward (or was passed over), every op that read the tensor
 * has run its backward too: its data goes to the gradient pool, so that backward needs little beyond
 * what forward left. The outputs backward started from stay for the caller. */
static void data_release(struct enas_step *s, struct node *n)
{
    if (!n->t.data || n->top || s->keep)
        return;
#if defined(__SANITIZE_ADDRESS__)
    memset(n->t.data, 0xff, n->cap); /* NaN: a read after backward shows in the sanitizer build's results */
#endif
    put(s, n->t.data, n->cap);
    n->t.data = NULL;
}

/* Once the op that produced a tensor has run backward, nothing reads the tensor's gradient again. */
static void grad_release(struct enas_step *s, struct node *n)
{
    if (!n->grad)
        return;
    put(s, n->grad->data, n->gcap);
    n->grad = NULL;
}

/* dst += src, split across the run's threads when there is enough of it. */
static void add_into(const struct enas_step *s, struct enas_tensor *dst, const struct enas_tensor *src)
{
    const int64_t n = enas_tensor_numel(dst), blk = 16384;
    float *restrict d = dst->data;
    const float *restrict a = src->data;
    const int threads = s->x.threads > 1 && n >= 2 * blk ? s->x.threads : 1;
    (void)threads; /* without OpenMP */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += blk) {
        const int64_t e = i0 + blk < n ? i0 + blk : n;
        for (int64_t i = i0; i < e; i++)
            d[i] += a[i];
    }
}

int enas__step_grad_accumulates(const struct enas_exec *x, size_t i)
{
    const struct enas_step *s = (const struct enas_step *)(const void *)x;
    return x && s->accumulate && i < s->n_accumulate && s->accumulate[i];
}

int64_t enas__step_train_step(const struct enas_exec *x)
{
    return x ? ((const struct enas_step *)(const void *)x)->train_step : 0;
}

#define MAX_CALL_INPUTS 64

/* Runs one record's backward: fresh buffers for inputs without a gradient yet (for the first of them,
 * dout's own buffer when the op passes dout through, ENAS_OP_BWD_PASS_THROUGH); for inputs that have one,
 * the gradient itself when the op accumulates (ENAS_OP_BWD_ACCUMULATE), else scratch added after the
 * call; scratch too for an input that appears twice in this call. */
static enum enas_status replay(struct enas_step *s, const struct record *r, struct enas_err *err)
{
    struct enas_tensor *din[MAX_CALL_INPUTS], *acc[MAX_CALL_INPUTS];
    struct node *nodes[MAX_CALL_INPUTS];
    unsigned char adds[MAX_CALL_INPUTS];
    const struct enas_op_desc *d = r->op->desc;
    const int can_add = (bwd_flags(d) & ENAS_OP_BWD_ACCUMULATE) != 0;
    const int can_take = (bwd_flags(d) & ENAS_OP_BWD_PASS_THROUGH) != 0 && r->out->grad;
    struct node *taker = NULL; /* gets dout's buffer as its gradient once the call returns */
    int any_add = 0;
    if (r->n_in > MAX_CALL_INPUTS)
        return enas_err_set(err, ENAS_ERR_UNSUPPORTED, "op '%s': more than %d inputs", d->name,
                            MAX_CALL_INPUTS);
    const size_t m = s->n_held;
    for (size_t i = 0; i < r->n_in; i++) {
        struct node *n = node_of(s, r->in[i]);
        nodes[i] = n && n->needs_grad ? n : NULL;
        din[i] = acc[i] = NULL;
        adds[i] = 0;
        if (!nodes[i])
            continue;
        int again = 0;
        for (size_t j = 0; j < i && !again; j++)
            again = nodes[j] == n;
        if (n->grad && !again && can_add) { /* the op adds into the gradient itself */
            din[i] = n->grad;
            adds[i] = 1;
            any_add = 1;
            continue;
        }
        const int fresh = !n->grad && !again;
        if (fresh && can_take && !taker && enas_tensor_same_shape(&n->t, &r->out->t)) {
            taker = n; /* din[i] stays NULL: the op leaves it alone */
            continue;
        }
        size_t cap = 0;
        din[i] = grad_new(s, fresh, &n->t, &cap);
        if (!din[i])
            return enas_err_set(err, ENAS_ERR_NOMEM, "op '%s': out of memory for gradients", d->name);
        if (fresh)
            n->grad = din[i], n->gcap = cap;
        else
            acc[i] = din[i];
    }
    s->x.arg = r->arg;
    s->x.saved = r->saved;
    s->x.backend = r->op->backend;
    s->accumulate = any_add ? adds : NULL;
    s->n_accumulate = any_add ? r->n_in : 0;
    enum enas_status st =
        d->backward(r->op->state, &s->x, r->in, r->n_in, &r->out->t, r->out->grad, din, err);
    if (st != ENAS_OK)
        enas__err_terminate(err); /* the op plugin's message */
    s->accumulate = NULL;
    s->n_accumulate = 0;
    if (taker && st == ENAS_OK) { /* dout becomes the input's gradient: the output's is not released */
        taker->grad = r->out->grad, taker->gcap = r->out->gcap;
        r->out->grad = NULL;
    }
    for (size_t i = 0; i < r->n_in && st == ENAS_OK; i++)
        if (acc[i])
            add_into(s, nodes[i]->grad, acc[i]);
    scratch_release(s, m);
    return st;
}

enum enas_status enas__step_backward_n(struct enas_step *s, const struct enas_tensor *const *outs,
                                       const struct enas_tensor *const *douts, size_t n, struct enas_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct node *top = node_of(s, outs[i]);
        if (!top || !top->needs_grad)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "backward: output %zu was not produced by a recorded op of this pass", i);
        if (!douts[i] || !enas_tensor_same_shape(outs[i], douts[i]))
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "backward: the gradient of output %zu differs from it in shape", i);
        top->top = 1;
        if (!top->grad && !(top->grad = grad_new(s, 1, outs[i], &top->gcap)))
            return enas_err_set(err, ENAS_ERR_NOMEM, "backward: out of memory");
        /* the same output named twice: its gradients add */
        int64_t k = enas_tensor_numel(outs[i]);
        int first = 1;
        for (size_t j = 0; j < i; j++)
            first = first && outs[j] != outs[i];
        for (int64_t e = 0; e < k; e++)
            top->grad->data[e] = (first ? 0.0f : top->grad->data[e]) + douts[i]->data[e];
    }
    for (size_t k = s->n_recs; k-- > 0;) {
        struct record *r = &s->recs[k];
        if (r->out->grad) { /* else nothing downstream of it reached an output */
            enum enas_status st = replay(s, r, err);
            if (st != ENAS_OK)
                return st;
            grad_release(s, r->out);
        }
        data_release(s, r->out);
        if (r->saved && !s->keep) { /* no other backward reads what this call saved */
            put(s, r->saved, r->saved_cap);
            r->saved = NULL;
        }
    }
    return ENAS_OK;
}

enum enas_status enas__step_backward(struct enas_step *s, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_err *err)
{
    const struct enas_tensor *outs[] = {out}, *douts[] = {dout};
    return enas__step_backward_n(s, outs, douts, 1, err);
}
