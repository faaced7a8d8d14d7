/* onednn_util.c - helpers shared by the onednn ops: instance state, parameters, shape checks and their
 * messages (worded as in ref, so that both providers fail alike), scratch memory, the oneDNN status
 * mapping and the thread count for a piece of work. */
#include "onednn.h"

#include <oneapi/dnnl/dnnl_debug.h>

#include <stdio.h>
#include <string.h>

enum enas_status odn_state_new(const struct enas_op_args *a, const char *op, size_t size, void **state,
                               struct enas_err *err)
{
    struct odn_base *b = NULL;
    *state = NULL;
    if (!a->backend)
        return enas_err_set(err, ENAS_ERR_BACKEND, "onednn: %s: no backend context (backend not initialised)",
                            op);
    b = a->api->alloc(size);
    if (!b)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for the op state", op);
    memset(b, 0, size);
    b->alloc = a->api->alloc;
    b->free = a->api->free;
    b->be = a->backend;
    *state = b;
    return ENAS_OK;
}

void odn_state_destroy(void *state)
{
    struct odn_base *b = state;
    if (b)
        b->free(b);
}

enum enas_status odn_create_plain(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    return odn_state_new(a, "onednn", sizeof(struct odn_base), state, err);
}

struct enas_tensor odn_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    for (int i = ndim; i < ENAS_MAX_DIMS; i++)
        t.dims[i] = 1;
    return t;
}

enum enas_status odn_param(const struct enas_op_args *a, const char *op, const char *name,
                           const struct enas_tensor *shape, enum enas_init_kind kind, double fan_in,
                           unsigned flags, struct enas_param **out, struct enas_err *err)
{
    const struct enas_init init = {.kind = kind, .a = 0.0, .fan_in = fan_in};
    enum enas_status st = a->api->param_create(a->host, a->scope, name, shape, &init, flags, out, err);
    if (st != ENAS_OK && err) {
        char old[ENAS_ERRMSG_SIZE];
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        /* by hand rather than enas_err_prefix: gcc 12's -Wformat-truncation flags that inline function */
        int used = snprintf(err->msg, sizeof err->msg, "%s: parameter '%s': ", op, name);
        size_t at = used < 0 ? 0 : (size_t)used < sizeof err->msg ? (size_t)used : sizeof err->msg - 1;
        size_t room = sizeof err->msg - 1 - at, len = strlen(old);
        memcpy(err->msg + at, old, len < room ? len : room);
        err->msg[at + (len < room ? len : room)] = '\0';
    }
    return st;
}

const char *odn_fmt_shape(const struct enas_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && i < ENAS_MAX_DIMS && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%lld" : "%lld", (long long)t->dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

enum enas_status odn_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err)
{
    if (n_in < lo || n_in > hi)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: expected %zu..%zu inputs, got %zu", op, lo, hi,
                            n_in);
    return ENAS_OK;
}

enum enas_status odn_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err)
{
    char got[96];
    int ok = in->ndim == 4 && in->dims[0] >= 1 && in->dims[1] >= 1 && in->dims[2] >= 1 && in->dims[3] >= 1;
    if (!ok)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected a 4-D N x H x W x C tensor, got %d-D %s", op, idx,
                            in->ndim, odn_fmt_shape(in, got, sizeof got));
    if (c >= 0 && in->dims[3] != c)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected %lld channels, got %lld (shape %s)", op, idx,
                            (long long)c, (long long)in->dims[3], odn_fmt_shape(in, got, sizeof got));
    return ENAS_OK;
}

int64_t odn_out_size(int64_t n, int64_t k, int64_t s, int64_t p)
{
    int64_t span = n + 2 * p - k;
    return span < 0 ? 0 : span / s + 1;
}

int64_t odn_padding(int64_t pad_attr, int64_t k)
{
    return pad_attr < 0 ? (k - 1) / 2 : pad_attr;
}

void *odn_scratch(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = x->scratch(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of scratch memory (%zu bytes)", op, bytes);
    return p;
}

void *odn_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = odn_scratch(x, op, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *odn_save(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    if (!x->save) /* an engine that records nothing for this call: backward will not come */
        return odn_scratch(x, op, bytes, err);
    void *p = x->save(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for what backward needs (%zu bytes)", op, bytes);
    return p;
}

enum enas_status odn_check(dnnl_status_t s, const char *op, const char *call, struct enas_err *err)
{
    if (s == dnnl_success)
        return ENAS_OK;
    return enas_err_set(err, s == dnnl_unimplemented ? ENAS_ERR_UNSUPPORTED : ENAS_ERR_BACKEND,
                        "onednn: %s: %s: %s", op, call, dnnl_status2str(s));
}

void odn_add(float *grad, const float *src, int64_t n)
{
    for (int64_t i = 0; grad && i < n; i++)
        grad[i] += src[i];
}

double odn_uniform(struct enas_exec *x)
{
    return (double)(x->rng_u64(x) >> 11) * 0x1.0p-53;
}

/* Threads for `work` elements: below ~64k the fork/join costs more than it saves. */
int odn_threads(const struct odn_backend *be, int64_t work)
{
    int t = be ? be->threads : 1;
    return work < 65536 || t < 1 ? 1 : t;
}
