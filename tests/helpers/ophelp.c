/* ophelp.c - the fake engine behind ophelp.h: a host API table whose register_* calls capture the
 * descriptors, whose param_create mallocs and initialises, and whose cfg_* read enas__cfg_* values;
 * op instances and test tensors. The calls and the gradient check are in ophelp_run.c. */
#include "ophelp.h"

#include "settings/config.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OH_MAX_OPS 64

struct enas_host {
    void *so;
    const struct enas_op_desc *ops[OH_MAX_OPS];
    size_t n_ops;
    const struct enas_backend_desc *backend;
    void *backend_ctx; /* what the backend's init made, or NULL */
    int threads;
    struct oh_op *creating; /* the instance whose create is running: param_create files into it */
    uint64_t rng;
};

static struct enas_host host;

/* A parameter and its name in one allocation; p is first, so &blk->p is the block. */
struct oh_param_block {
    struct enas_param p;
    char name[];
};

uint64_t oh_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double oh_unit(uint64_t *s)
{
    return (double)(oh_splitmix(s) >> 11) * 0x1.0p-53;
}

static void *oh_alloc(size_t bytes)
{
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 1) == 0 ? p : NULL;
}

static void oh_free(void *p)
{
    free(p);
}

/* ---- host API ---- */

static enum enas_status h_register_op(struct enas_host *h, const struct enas_op_desc *d, struct enas_err *err)
{
    if (!d || d->abi_version != ENAS_ABI_VERSION || d->struct_size != sizeof *d || !d->create || !d->shape ||
        !d->forward || !d->destroy || h->n_ops == OH_MAX_OPS)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "fake host: bad op descriptor");
    h->ops[h->n_ops++] = d;
    return ENAS_OK;
}

static enum enas_status h_register_backend(struct enas_host *h, const struct enas_backend_desc *d,
                                           struct enas_err *err)
{
    if (!d || d->abi_version != ENAS_ABI_VERSION || d->struct_size != sizeof *d || h->backend)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "fake host: bad or second backend descriptor");
    h->backend = d;
    return ENAS_OK;
}

static enum enas_status h_register_other(struct enas_host *h, const void *d, struct enas_err *err)
{
    (void)h, (void)d;
    return enas_err_set(err, ENAS_ERR_UNSUPPORTED, "fake host: only ops and backends can be registered");
}

static enum enas_status h_register_space(struct enas_host *h, const struct enas_space_desc *d,
                                         struct enas_err *err)
{
    return h_register_other(h, d, err);
}

static enum enas_status h_register_loss(struct enas_host *h, const struct enas_loss_desc *d,
                                        struct enas_err *err)
{
    return h_register_other(h, d, err);
}

static enum enas_status h_register_reward(struct enas_host *h, const struct enas_reward_desc *d,
                                          struct enas_err *err)
{
    return h_register_other(h, d, err);
}

static ENAS_PRINTF(3, 4) void h_log(struct enas_host *h, enum enas_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ophelp: plugin log (level %d): ", (int)level);
    vfprintf(stderr, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): clang 14 false positive */
    va_end(ap);
    fputc('\n', stderr);
    (void)h;
}

static double oh_normal(uint64_t *s)
{
    double u1 = oh_unit(s), u2 = oh_unit(s);
    return sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

static float oh_init_value(const struct enas_init *init, uint64_t *s)
{
    switch (init->kind) {
    case ENAS_INIT_ZERO:
        return 0.0f;
    case ENAS_INIT_ONE:
        return 1.0f;
    case ENAS_INIT_CONST:
        return (float)init->a;
    case ENAS_INIT_UNIFORM:
        return (float)((2.0 * oh_unit(s) - 1.0) * init->a);
    case ENAS_INIT_NORMAL:
        return (float)(oh_normal(s) * init->a);
    case ENAS_INIT_HE_NORMAL: {
        double z;
        do
            z = oh_normal(s);
        while (fabs(z) > 2.0);
        return (float)(z * sqrt(2.0 / init->fan_in));
    }
    }
    return NAN;
}

static enum enas_status h_param_create(struct enas_host *h, const char *scope, const char *name,
                                       const struct enas_tensor *shape, const struct enas_init *init,
                                       unsigned flags, struct enas_param **out, struct enas_err *err)
{
    struct oh_op *op = h->creating;
    *out = NULL;
    if (!op || op->n_p == OH_MAX_PARAMS || shape->ndim < 1 || shape->ndim > ENAS_MAX_DIMS)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "fake host: param_create '%s' out of place", name);
    if (init->kind == ENAS_INIT_HE_NORMAL && !(init->fan_in >= 1.0))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "fake host: '%s': fan_in %g", name, init->fan_in);
    /* The name lives in the same block as the param, so that freeing the param frees it. */
    const size_t name_len = strlen(scope) + strlen(name) + 2;
    struct oh_param_block *blk = calloc(1, sizeof *blk + name_len);
    struct enas_param *p = blk ? &blk->p : NULL;
    int64_t n = enas_tensor_numel(shape);
    if (p) {
        snprintf(blk->name, name_len, "%s.%s", scope, name);
        p->name = blk->name;
        p->value = *shape;
        p->value.data = oh_alloc((size_t)n * sizeof(float));
        p->grad = (flags & ENAS_PARAM_BUFFER) ? NULL : calloc((size_t)n, sizeof(float));
        p->flags = flags;
    }
    if (!p || !p->value.data || (!(flags & ENAS_PARAM_BUFFER) && !p->grad)) {
        if (p) {
            free(p->value.data);
            free(p->grad);
        }
        free(blk);
        return enas_err_set(err, ENAS_ERR_NOMEM, "fake host: out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        p->value.data[i] = oh_init_value(init, &h->rng);
    op->p[op->n_p++] = p;
    *out = p;
    return ENAS_OK;
}

static uint64_t h_rng_u64(struct enas_host *h)
{
    return oh_splitmix(&h->rng);
}

static const struct enas_host_api oh_api = {
    .abi_version = ENAS_ABI_VERSION,
    .struct_size = sizeof(struct enas_host_api),
    .register_op = h_register_op,
    .register_space = h_register_space,
    .register_loss = h_register_loss,
    .register_reward = h_register_reward,
    .register_backend = h_register_backend,
    .log = h_log,
    .alloc = oh_alloc,
    .free = oh_free,
    .cfg_int = enas__cfg_int,
    .cfg_float = enas__cfg_float,
    .cfg_bool = enas__cfg_bool,
    .cfg_string = enas__cfg_string,
    .param_create = h_param_create,
    .rng_u64 = h_rng_u64,
};

/* ---- loading ---- */

/* dlopen + the plugin's init + its backend's init into h (zeroed first). */
static int plugin_open(struct enas_host *h, const char *path, int threads)
{
    struct enas_err err = {0};
    memset(h, 0, sizeof *h);
    h->rng = 12345;
    h->threads = threads;
    h->so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h->so) {
        fprintf(stderr, "ophelp: dlopen '%s': %s\n", path, dlerror());
        return -1;
    }
    void *sym = dlsym(h->so, ENAS_PLUGIN_ENTRY);
    enas_plugin_init_fn init = NULL;
    memcpy(&init, &sym, sizeof init); /* ISO C has no void* -> function pointer cast */
    if (!init || init(h, &oh_api, &err) != ENAS_OK) {
        fprintf(stderr, "ophelp: '%s': init failed: %s\n", path, init ? err.msg : "no entry point");
        return -1;
    }
    if (h->backend && h->backend->init) {
        const struct enas_backend_args a = {.api = &oh_api, .host = h, .cfg = NULL, .threads = threads};
        if (h->backend->init(&a, &h->backend_ctx, &err) != ENAS_OK) {
            fprintf(stderr, "ophelp: '%s': backend init failed: %s\n", path, err.msg);
            return -1;
        }
    }
    return 0;
}

static void plugin_close(struct enas_host *h)
{
    if (h->backend && h->backend->fini)
        h->backend->fini(h->backend_ctx);
    if (h->so)
        dlclose(h->so);
    memset(h, 0, sizeof *h);
}

int oh_load(const char *path)
{
    return plugin_open(&host, path, 1);
}

void oh_unload(void)
{
    plugin_close(&host);
}

struct enas_host *oh_plugin_load(const char *path, int threads)
{
    struct enas_host *h = calloc(1, sizeof *h);
    if (h && plugin_open(h, path, threads) != 0) {
        plugin_close(h);
        free(h);
        h = NULL;
    }
    return h;
}

void oh_plugin_unload(struct enas_host *p)
{
    if (p)
        plugin_close(p);
    free(p);
}

const struct enas_op_desc *oh_plugin_find(struct enas_host *p, const char *name)
{
    for (size_t i = 0; i < p->n_ops; i++)
        if (strcmp(p->ops[i]->name, name) == 0)
            return p->ops[i];
    return NULL;
}

const struct enas_backend_desc *oh_plugin_backend(struct enas_host *p)
{
    return p->backend;
}

void *oh_backend_ctx(const struct enas_host *p)
{
    return p->backend_ctx;
}

int oh_threads(const struct enas_host *p)
{
    return p->threads > 0 ? p->threads : 1;
}

size_t oh_n_ops(void)
{
    return host.n_ops;
}

const struct enas_op_desc *oh_op_at(size_t i)
{
    return i < host.n_ops ? host.ops[i] : NULL;
}

const struct enas_op_desc *oh_find(const char *name)
{
    return oh_plugin_find(&host, name);
}

const struct enas_backend_desc *oh_backend(void)
{
    return host.backend;
}

/* ---- instances ---- */

enum enas_status oh_create(struct oh_op *op, const char *name, const char *attrs, struct enas_err *err)
{
    return oh_create_in(&host, op, name, attrs, err);
}

enum enas_status oh_create_in(struct enas_host *p, struct oh_op *op, const char *name, const char *attrs,
                              struct enas_err *err)
{
    memset(op, 0, sizeof *op);
    op->host = p;
    op->d = oh_plugin_find(p, name);
    if (!op->d)
        return enas_err_set(err, ENAS_ERR_NOT_FOUND, "no op '%s'", name);
    enum enas_status st = enas__cfg_from_string(op->d->attrs, op->d->n_attrs, attrs, &op->attrs, err);
    if (st != ENAS_OK)
        return st;
    struct enas_op_args a = {
        .api = &oh_api, .host = p, .attrs = op->attrs, .scope = "t", .backend = p->backend_ctx};
    p->creating = op;
    st = op->d->create(&a, &op->state, err);
    p->creating = NULL;
    if (st != ENAS_OK && op->state)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: create failed but left a state", name);
    return st;
}

void oh_destroy(struct oh_op *op)
{
    if (op->d)
        op->d->destroy(op->state);
    for (size_t i = 0; i < op->n_p; i++) {
        free(op->p[i]->value.data);
        free(op->p[i]->grad);
        free(op->p[i]); /* the oh_param_block, name included */
    }
    enas__cfg_destroy(op->attrs);
    memset(op, 0, sizeof *op);
}

struct enas_param *oh_param(const struct oh_op *op, const char *name)
{
    for (size_t i = 0; i < op->n_p; i++)
        if (strncmp(op->p[i]->name, "t.", 2) == 0 && strcmp(op->p[i]->name + 2, name) == 0)
            return op->p[i];
    return NULL;
}

/* ---- tensors ---- */

struct enas_tensor oh_tensor(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    for (int i = ndim; i < ENAS_MAX_DIMS; i++)
        t.dims[i] = 1;
    /* 64-byte aligned, as the engine's tensors are (a calloc'd large block is only 16-byte aligned, which
     * made every AVX-512 load of the op benchmark's inputs straddle two cache lines) */
    const size_t bytes = ((size_t)enas_tensor_numel(&t) * sizeof(float) + 63) / 64 * 64;
    t.data = aligned_alloc(64, bytes ? bytes : 64);
    if (t.data)
        memset(t.data, 0, bytes);
    return t;
}

void oh_tensor_free(struct enas_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

void oh_fill(struct enas_tensor *t, double lo, double hi, uint64_t *seed)
{
    for (int64_t i = 0; i < enas_tensor_numel(t); i++)
        t->data[i] = (float)(lo + (hi - lo) * oh_unit(seed));
}

void oh_fill_distinct(struct enas_tensor *t, double lo, double step, uint64_t *seed)
{
    int64_t n = enas_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = (float)(lo + step * (double)i);
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)(oh_splitmix(seed) % (uint64_t)(i + 1));
        float v = t->data[i];
        t->data[i] = t->data[j];
        t->data[j] = v;
    }
}

const struct enas_host_api *oh_host_api(void)
{
    return &oh_api;
}

struct enas_host *oh_host(void)
{
    return &host;
}

int oh_same(const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}
