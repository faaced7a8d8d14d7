/* host.c - the engine instance plugins talk to: its API table, registration bookkeeping, the
 * parameter store and op instances. Parameters live until the host is destroyed (ENAS weight
 * sharing: they outlive the child networks); plugins are closed last, in reverse load order. */
#include "plugin/host.h"
#include "tape/step.h"

#include "plugin/crash_guard.h"
#include "settings/config.h"
#include "settings/schema.h"
#include "util/err.h"
#include "util/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- registration ---- */

static enum enas_status noted(struct enas_host *h, enum enas_status st, const struct enas_err *e,
                              struct enas_err *err)
{
    if (st == ENAS_OK)
        return st;
    if (h->cur_plugin_id && h->reg_status == ENAS_OK) {
        h->reg_status = st;
        h->reg_err = *e;
    }
    if (err)
        *err = *e;
    return st;
}

#define REGISTER_FN(fn, type, add)                                                                           \
    static enum enas_status fn(struct enas_host *h, const type *d, struct enas_err *err)                     \
    {                                                                                                        \
        struct enas_err e = {ENAS_OK, ""};                                                                   \
        if (!h)                                                                                              \
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: host is NULL", #fn);                         \
        return noted(h, add(h->reg, d, h->cur_plugin_id, h->cur_path, &e), &e, err);                         \
    }
REGISTER_FN(api_register_op, struct enas_op_desc, enas__registry_add_op)
REGISTER_FN(api_register_space, struct enas_space_desc, enas__registry_add_space)
REGISTER_FN(api_register_loss, struct enas_loss_desc, enas__registry_add_loss)
REGISTER_FN(api_register_reward, struct enas_reward_desc, enas__registry_add_reward)
REGISTER_FN(api_register_backend, struct enas_backend_desc, enas__registry_add_backend)

/* ---- services ---- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static ENAS_PRINTF(3, 4) void api_log(struct enas_host *h, enum enas_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enas__log_v(h ? h->log_level : enas__log_get_level(), level,
                h && h->log_origin ? base_name(h->log_origin) : NULL, fmt, ap);
    va_end(ap);
}

static void *api_alloc(size_t bytes)
{
    size_t r = (bytes + 63) & ~(size_t)63;
    if (r < bytes)
        return NULL;
    return aligned_alloc(64, r ? r : 64);
}

static void api_free(void *p)
{
    free(p);
}

static uint64_t api_rng_u64(struct enas_host *h)
{
    return enas__rng_u64(&h->rng);
}

/* ---- parameters ---- */

static size_t name_hash(const char *s)
{
    uint64_t x = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)x;
}

/* Slot of name: where it is, or the empty slot where it would go. */
static size_t hash_slot(const struct enas_host *h, const char *name)
{
    size_t mask = h->param_hash_cap - 1, i = name_hash(name) & mask;
    while (h->param_hash[i] && strcmp(h->params[h->param_hash[i] - 1]->name, name) != 0)
        i = (i + 1) & mask;
    return i;
}

static enum enas_status hash_rebuild(struct enas_host *h, size_t cap)
{
    size_t *t = calloc(cap, sizeof *t);
    if (!t)
        return ENAS_ERR_NOMEM;
    free(h->param_hash);
    h->param_hash = t;
    h->param_hash_cap = cap;
    for (size_t i = 0; i < h->n_params; i++)
        h->param_hash[hash_slot(h, h->params[i]->name)] = i + 1;
    return ENAS_OK;
}

static void param_free(struct enas_param *p)
{
    if (!p)
        return;
    free(p->value.data);
    free(p->grad);
    free(p);
}

static double he_sample(struct enas_rng *r)
{
    double z;
    do
        z = enas__rng_normal(r);
    while (fabs(z) > 2.0); /* truncated at two sigma: redraw, as TF's truncated_normal */
    return z;
}

static void param_fill(struct enas_host *h, float *v, int64_t n, const struct enas_init *in)
{
    double sigma = in->kind == ENAS_INIT_HE_NORMAL ? sqrt(2.0 / in->fan_in) : in->a;
    for (int64_t i = 0; i < n; i++) {
        double x = 0.0;
        switch (in->kind) {
        case ENAS_INIT_ZERO:
            x = 0.0;
            break;
        case ENAS_INIT_ONE:
            x = 1.0;
            break;
        case ENAS_INIT_CONST:
            x = in->a;
            break;
        case ENAS_INIT_UNIFORM:
            x = (2.0 * enas__rng_uniform(&h->rng) - 1.0) * in->a;
            break;
        case ENAS_INIT_NORMAL:
            x = enas__rng_normal(&h->rng) * sigma;
            break;
        case ENAS_INIT_HE_NORMAL:
            x = he_sample(&h->rng) * sigma;
            break;
        }
        v[i] = (float)x;
    }
}

static enum enas_status param_check(const char *full, const struct enas_tensor *shape,
                                    const struct enas_init *in, int64_t *numel, struct enas_err *err)
{
    if (!shape || !in)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s': shape and init must not be NULL", full);
    if (shape->ndim < 1 || shape->ndim > ENAS_MAX_DIMS)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s': ndim %d is outside 1..%d", full,
                            shape->ndim, ENAS_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < shape->ndim; i++) {
        if (shape->dims[i] < 1 || n > INT64_MAX / 4 / shape->dims[i])
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s': dim %d is %lld", full, i,
                                (long long)shape->dims[i]);
        n *= shape->dims[i];
    }
    if ((unsigned)in->kind > ENAS_INIT_HE_NORMAL)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s': unknown init kind %d", full,
                            (int)in->kind);
    if (in->kind == ENAS_INIT_HE_NORMAL && !(in->fan_in > 0.0))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s': HE_NORMAL needs fan_in > 0, got %g", full,
                            in->fan_in);
    if ((in->kind == ENAS_INIT_UNIFORM || in->kind == ENAS_INIT_NORMAL) && !(in->a >= 0.0 && isfinite(in->a)))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "param '%s': init bound/sigma must be finite and >= 0, got %g", full, in->a);
    *numel = n;
    return ENAS_OK;
}

/* Room for one more parameter in the array and the hash. */
static enum enas_status param_reserve(struct enas_host *h)
{
    if (h->n_params == h->cap_params) {
        size_t cap = h->cap_params ? 2 * h->cap_params : 64;
        struct enas_param **p = realloc(h->params, cap * sizeof(void *)); /* an array of pointers */
        if (!p)
            return ENAS_ERR_NOMEM;
        h->params = p;
        h->cap_params = cap;
    }
    if (2 * (h->n_params + 1) > h->param_hash_cap)
        return hash_rebuild(h, h->param_hash_cap ? 2 * h->param_hash_cap : 128);
    return ENAS_OK;
}

static enum enas_status api_param_create(struct enas_host *h, const char *scope, const char *name,
                                         const struct enas_tensor *shape, const struct enas_init *init,
                                         unsigned flags, struct enas_param **out, struct enas_err *err)
{
    if (out)
        *out = NULL;
    if (!h || !out || !enas__schema_is_name(name))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "param_create: bad arguments (name '%s' must be [a-z0-9_]+)",
                            name ? name : "(null)");
    int has_scope = scope && *scope;
    size_t len = (has_scope ? strlen(scope) + 1 : 0) + strlen(name) + 1;
    char full[512];
    snprintf(full, sizeof full, "%s%s%s", has_scope ? scope : "", has_scope ? "." : "", name);
    int64_t n = 0;
    enum enas_status st = param_check(full, shape, init, &n, err);
    if (st != ENAS_OK)
        return st;
    if (param_reserve(h) != ENAS_OK)
        return enas_err_set(err, ENAS_ERR_NOMEM, "param '%s': out of memory", full);
    size_t slot = hash_slot(h, full);
    if (h->param_hash[slot])
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "param '%s' already exists (two ops with one scope?)",
                            full);
    struct enas_param *p = calloc(1, sizeof *p + len);
    if (!p)
        return enas_err_set(err, ENAS_ERR_NOMEM, "param '%s': out of memory", full);
    char *pname = (char *)(p + 1);
    snprintf(pname, len, "%s%s%s", has_scope ? scope : "", has_scope ? "." : "", name);
    p->name = pname;
    p->flags = flags;
    p->value.ndim = shape->ndim;
    for (int i = 0; i < ENAS_MAX_DIMS; i++)
        p->value.dims[i] = i < shape->ndim ? shape->dims[i] : 1;
    p->value.data = api_alloc((size_t)n * sizeof(float));
    if (!(flags & ENAS_PARAM_BUFFER)) {
        p->grad = api_alloc((size_t)n * sizeof(float));
        if (p->grad)
            memset(p->grad, 0, (size_t)n * sizeof(float));
    }
    if (!p->value.data || (!(flags & ENAS_PARAM_BUFFER) && !p->grad)) {
        param_free(p);
        return enas_err_set(err, ENAS_ERR_NOMEM, "param '%s': out of memory (%lld floats)", full,
                            (long long)n);
    }
    param_fill(h, p->value.data, n, init);
    h->params[h->n_params++] = p;
    h->param_hash[slot] = h->n_params;
    *out = p;
    return ENAS_OK;
}

void enas__host_params_truncate(struct enas_host *h, size_t first)
{
    if (first >= h->n_params)
        return;
    for (size_t i = first; i < h->n_params; i++)
        param_free(h->params[i]);
    h->n_params = first;
    if (hash_rebuild(h, h->param_hash_cap) != ENAS_OK) /* out of memory: clear stale slots in place */
        for (size_t i = 0; i < h->param_hash_cap; i++)
            if (h->param_hash[i] > first)
                h->param_hash[i] = 0; /* may break probe chains; only lookups of new names suffer */
}

size_t enas__host_n_params(const struct enas_host *h)
{
    return h->n_params;
}

struct enas_param *const *enas__host_params(const struct enas_host *h, size_t *n)
{
    *n = h->n_params;
    return h->params;
}

/* ---- op instances ---- */

static void op_err_prefix(struct enas_err *err, const struct enas_op_desc *d)
{
    enas__err_prefix(err, "op '%s' (provider '%s'): ", d->name, d->provider);
}

static enum enas_status api_op_create(struct enas_host *h, const char *name, const char *attrs,
                                      const char *scope, struct enas_op **out, struct enas_err *err)
{
    if (out)
        *out = NULL;
    if (!h || !out)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "op_create: host and out must not be NULL");
    const struct enas_reg_entry *e = enas__registry_find_op(h->reg, name, h->backend, err);
    if (!e)
        return err ? err->code : ENAS_ERR_NOT_FOUND;
    const struct enas_op_desc *d = e->desc;
    struct enas_op *op = calloc(1, sizeof *op);
    if (!op)
        return enas_err_set(err, ENAS_ERR_NOMEM, "op '%s': out of memory", name);
    op->h = h;
    op->desc = d;
    op->owner = e->owner;
    enum enas_status st = enas__cfg_from_string(d->attrs, d->n_attrs, attrs ? attrs : "", &op->attrs, err);
    if (st != ENAS_OK) {
        op_err_prefix(err, d);
        free(op);
        return st;
    }
    op->backend = h->backend && strcmp(h->backend, d->provider) == 0 ? h->backend_ctx : NULL;
    struct enas_op_args a = {
        .api = h->api, .host = h, .attrs = op->attrs, .scope = scope ? scope : "", .backend = op->backend};
    const char *origin = h->log_origin;
    h->log_origin = e->owner;
    op->p_first = h->n_params;
    st = d->create(&a, &op->state, err);
    op->p_end = h->n_params;
    h->log_origin = origin;
    if (st != ENAS_OK) {
        op_err_prefix(err, d);
        enas__host_params_truncate(h, op->p_first);
        enas__cfg_destroy(op->attrs);
        free(op);
        return st;
    }
    op->next = h->ops;
    if (h->ops)
        h->ops->prev = op;
    h->ops = op;
    *out = op;
    return ENAS_OK;
}

static void api_op_destroy(struct enas_op *op)
{
    if (!op)
        return;
    struct enas_host *h = op->h;
    op->desc->destroy(op->state);
    enas__cfg_destroy(op->attrs);
    if (op->prev)
        op->prev->next = op->next;
    else
        h->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    free(op);
}

static double api_op_madds(struct enas_op *op, const struct enas_tensor *const *in, size_t n_in)
{
    return op && op->desc->madds ? op->desc->madds(op->state, in, n_in) : 0.0;
}

static int64_t api_op_param_count(struct enas_op *op)
{
    int64_t n = 0;
    for (size_t i = op ? op->p_first : 0; op && i < op->p_end && i < op->h->n_params; i++)
        if (!(op->h->params[i]->flags & ENAS_PARAM_BUFFER))
            n += enas_tensor_numel(&op->h->params[i]->value);
    return n;
}

static const struct enas_host_api host_api = {
    .abi_version = ENAS_ABI_VERSION,
    .struct_size = sizeof(struct enas_host_api),
    .register_op = api_register_op,
    .register_space = api_register_space,
    .register_loss = api_register_loss,
    .register_reward = api_register_reward,
    .register_backend = api_register_backend,
    .log = api_log,
    .alloc = api_alloc,
    .free = api_free,
    .cfg_int = enas__cfg_int,
    .cfg_float = enas__cfg_float,
    .cfg_bool = enas__cfg_bool,
    .cfg_string = enas__cfg_string,
    .param_create = api_param_create,
    .op_create = api_op_create,
    .op_destroy = api_op_destroy,
    .op_call = enas__step_op_call,
    .release = enas__step_release,
    .grad_accumulates = enas__step_grad_accumulates,
    .train_step = enas__step_train_step,
    .op_madds = api_op_madds,
    .op_param_count = api_op_param_count,
    .rng_u64 = api_rng_u64,
};

/* ---- the host ---- */

const struct enas_host_api *enas__host_api(void)
{
    return &host_api;
}

enum enas_status enas__host_create(struct enas_host **out, struct enas_err *err)
{
    struct enas_host *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h)
        return enas_err_set(err, ENAS_ERR_NOMEM, "host: out of memory");
    enum enas_status st = enas__registry_create(&h->reg, err);
    if (st != ENAS_OK) {
        free(h);
        return st;
    }
    h->api = &host_api;
    h->log_level = enas__log_get_level();
    h->next_plugin_id = 1;
    enas__host_seed(h, 0);
    *out = h;
    return ENAS_OK;
}

void enas__host_destroy(struct enas_host *h)
{
    if (!h)
        return;
    /* instances run plugin code: destroy them before any plugin closes */
    for (struct enas_op *op = h->ops, *next; op; op = next) {
        next = op->next;
        op->desc->destroy(op->state);
        enas__cfg_destroy(op->attrs);
        free(op);
    }
    h->ops = NULL;
    if (h->backend_desc && h->backend_desc->fini)
        h->backend_desc->fini(h->backend_ctx);
    for (size_t i = 0; i < h->n_params; i++)
        param_free(h->params[i]);
    free(h->params);
    free(h->param_hash);
    free(h->backend);
    enas__registry_destroy(h->reg); /* only borrowed descriptor pointers: safe before closing */
    for (size_t i = h->n_plugins; i-- > 0;)
        enas__loader_unload(&h->plugins[i]);
    free(h->plugins);
    for (size_t i = 0; i < h->n_failures; i++) {
        free(h->failures[i].path);
        free(h->failures[i].message);
    }
    free(h->failures);
    free(h);
}

void enas__host_set_config(struct enas_host *h, struct enas_config *c)
{
    h->config = c;
}

void enas__host_seed(struct enas_host *h, uint64_t seed)
{
    enas__rng_seed(&h->rng, seed, 0x696e6974 /* "init" */);
}

void enas__host_set_log_level(struct enas_host *h, enum enas_log_level level)
{
    h->log_level = level;
    enas__log_set_level(level);
}

enum enas_status enas__host_set_backend(struct enas_host *h, const char *name, struct enas_err *err)
{
    if (!enas__registry_find_backend(h->reg, name, err))
        return err ? err->code : ENAS_ERR_NOT_FOUND;
    char *copy = strdup(name);
    if (!copy)
        return enas_err_set(err, ENAS_ERR_NOMEM, "backend '%s': out of memory", name);
    free(h->backend);
    h->backend = copy;
    return ENAS_OK;
}

const char *enas__host_backend(const struct enas_host *h)
{
    return h->backend;
}

enum enas_status enas__host_init_backend(struct enas_host *h, const char *name, int threads,
                                         const struct enas_cfg *cfg, struct enas_err *err)
{
    if (h->backend_desc)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "backend '%s' is already initialised", h->backend);
    const struct enas_backend_desc *d = enas__registry_find_backend(h->reg, name, err);
    if (!d)
        return err ? err->code : ENAS_ERR_NOT_FOUND;
    enum enas_status st = enas__host_set_backend(h, name, err);
    if (st != ENAS_OK)
        return st;
    struct enas_backend_args a = {.api = h->api, .host = h, .cfg = cfg, .threads = threads > 0 ? threads : 1};
    void *ctx = NULL;
    if (d->init) {
        const struct enas_reg_entry *e = enas__registry_find(h->reg, ENAS_KIND_BACKEND, name);
        char what[128];
        snprintf(what, sizeof what, "the init of backend '%s'", name);
        enas__crash_guard_begin(e ? e->owner : "?", what);
        st = d->init(&a, &ctx, err);
        enas__crash_guard_end();
    }
    if (st != ENAS_OK) {
        enas__err_terminate(err); /* the plugin wrote it */
        enas__err_prefix(err, "backend '%s': ", name);
        return st;
    }
    h->backend_desc = d;
    h->backend_ctx = ctx;
    return ENAS_OK;
}

void enas__host_set_backend_ctx(struct enas_host *h, void *ctx)
{
    h->backend_ctx = ctx;
}

int enas__host_new_plugin_id(struct enas_host *h)
{
    return h->next_plugin_id++;
}

void enas__host_begin_init(struct enas_host *h, int plugin_id, const char *path)
{
    h->cur_plugin_id = plugin_id;
    h->cur_path = path;
    h->log_origin = path;
    h->reg_status = ENAS_OK;
    enas_err_clear(&h->reg_err);
}

void enas__host_end_init(struct enas_host *h)
{
    h->cur_plugin_id = 0;
    h->cur_path = NULL;
    h->log_origin = NULL;
}

enum enas_status enas__host_take_plugin(struct enas_host *h, int id, char *path, void *handle,
                                        struct enas_err *err)
{
    if (h->n_plugins == h->cap_plugins) {
        size_t cap = h->cap_plugins ? 2 * h->cap_plugins : 16;
        struct enas_plugin *p = realloc(h->plugins, cap * sizeof *p);
        if (!p)
            return enas_err_set(err, ENAS_ERR_NOMEM, "plugin '%s': out of memory", path);
        h->plugins = p;
        h->cap_plugins = cap;
    }
    h->plugins[h->n_plugins++] = (struct enas_plugin){id, path, handle};
    return ENAS_OK;
}

enum enas_status enas__host_note_failure(struct enas_host *h, const char *path, const char *message)
{
    if (h->n_failures == h->cap_failures) {
        size_t cap = h->cap_failures ? 2 * h->cap_failures : 8;
        struct enas_plugin_failure *f = realloc(h->failures, cap * sizeof *f);
        if (!f)
            return ENAS_ERR_NOMEM;
        h->failures = f;
        h->cap_failures = cap;
    }
    struct enas_plugin_failure f = {
        .path = strdup(path), .message = strdup(message ? message : ""), .n_loaded_before = h->n_plugins};
    if (!f.path || !f.message) {
        free(f.path);
        free(f.message);
        return ENAS_ERR_NOMEM;
    }
    h->failures[h->n_failures++] = f;
    return ENAS_OK;
}
