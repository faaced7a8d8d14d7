/* op_util.c - see op_util.h. */
#include "op_util.h"

#include <stdio.h>
#include <string.h>

struct enas_tensor opu_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    for (int i = ndim; i < ENAS_MAX_DIMS; i++)
        t.dims[i] = 1;
    return t;
}

enum enas_status opu_param(const struct enas_op_args *a, const char *op, const char *name,
                           const struct enas_tensor *shape, enum enas_init_kind kind, double fan_in,
                           unsigned flags, struct enas_param **out, struct enas_err *err)
{
    const struct enas_init init = {.kind = kind, .a = 0.0, .fan_in = fan_in};
    enum enas_status st = a->api->param_create(a->host, a->scope, name, shape, &init, flags, out, err);
    if (st != ENAS_OK && err) {
        /* enas_err_prefix by hand: gcc 12 flags that inline function with -Wformat-truncation, and
         * cutting a long message short is what we want anyway. */
        char old[ENAS_ERRMSG_SIZE];
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        int used = snprintf(err->msg, sizeof err->msg, "%s: parameter '%s': ", op, name);
        size_t at = used < 0 ? 0 : (size_t)used < sizeof err->msg ? (size_t)used : sizeof err->msg - 1;
        size_t room = sizeof err->msg - 1 - at, len = strlen(old);
        memcpy(err->msg + at, old, len < room ? len : room);
        err->msg[at + (len < room ? len : room)] = '\0';
    }
    return st;
}

const char *opu_fmt_shape(const struct enas_tensor *t, char *buf, size_t size)
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

enum enas_status opu_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err)
{
    if (n_in < lo || n_in > hi)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: expected %zu..%zu inputs, got %zu", op, lo, hi,
                            n_in);
    return ENAS_OK;
}

enum enas_status opu_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err)
{
    char got[96];
    int ok = in->ndim == 4 && in->dims[0] >= 1 && in->dims[1] >= 1 && in->dims[2] >= 1 && in->dims[3] >= 1;
    if (!ok)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected a 4-D N x H x W x C tensor, got %d-D %s", op, idx,
                            in->ndim, opu_fmt_shape(in, got, sizeof got));
    if (c >= 0 && in->dims[3] != c)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected %lld channels, got %lld (shape %s)", op, idx,
                            (long long)c, (long long)in->dims[3], opu_fmt_shape(in, got, sizeof got));
    return ENAS_OK;
}

int64_t opu_out_size(int64_t n, int64_t k, int64_t s, int64_t p)
{
    int64_t span = n + 2 * p - k;
    return span < 0 ? 0 : span / s + 1;
}

int64_t opu_padding(int64_t pad_attr, int64_t k)
{
    return pad_attr < 0 ? (k - 1) / 2 : pad_attr;
}

void *opu_scratch(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = x->scratch(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of scratch memory (%zu bytes)", op, bytes);
    return p;
}

void *opu_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = opu_scratch(x, op, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *opu_save(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    if (!x->save) /* an engine that records nothing for this call: backward will not come */
        return opu_scratch(x, op, bytes, err);
    void *p = x->save(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for what backward needs (%zu bytes)", op, bytes);
    return p;
}

void *opu_save0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = opu_save(x, op, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

double opu_uniform(struct enas_exec *x)
{
    return (double)(x->rng_u64(x) >> 11) * 0x1.0p-53;
}
