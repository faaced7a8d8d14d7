/* ref_util.c - helpers shared by the ref ops: instance state, parameters, shape checks and messages,
 * scratch memory, the double accumulators and the call's uniform random numbers. */
#include "ref.h"

#include <stdio.h>
#include <string.h>

enum enas_status ref_state_new(const struct enas_op_args *a, const char *op, size_t size, void **state,
                               struct enas_err *err)
{
    struct ref_base *b = a->api->alloc(size);
    *state = b;
    if (!b)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for the op state", op);
    memset(b, 0, size);
    b->free = a->api->free;
    return ENAS_OK;
}

void ref_state_destroy(void *state)
{
    struct ref_base *b = state;
    if (b)
        b->free(b);
}

enum enas_status ref_create_plain(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    /* A real (empty) state rather than NULL, so that every ref instance looks alike to the engine. */
    return ref_state_new(a, "ref", sizeof(struct ref_base), state, err);
}

struct enas_tensor ref_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    for (int i = ndim; i < ENAS_MAX_DIMS; i++)
        t.dims[i] = 1;
    return t;
}

enum enas_status ref_param(const struct enas_op_args *a, const char *op, const char *name,
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

const char *ref_fmt_shape(const struct enas_tensor *t, char *buf, size_t size)
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

enum enas_status ref_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err)
{
    if (n_in < lo || n_in > hi)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: expected %zu..%zu inputs, got %zu", op, lo, hi,
                            n_in);
    return ENAS_OK;
}

enum enas_status ref_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err)
{
    char got[96];
    int ok = in->ndim == 4 && in->dims[0] >= 1 && in->dims[1] >= 1 && in->dims[2] >= 1 && in->dims[3] >= 1;
    if (!ok)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected a 4-D N x H x W x C tensor, got %d-D %s", op, idx,
                            in->ndim, ref_fmt_shape(in, got, sizeof got));
    if (c >= 0 && in->dims[3] != c)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected %lld channels, got %lld (shape %s)", op, idx,
                            (long long)c, (long long)in->dims[3], ref_fmt_shape(in, got, sizeof got));
    return ENAS_OK;
}

int64_t ref_out_size(int64_t n, int64_t k, int64_t s, int64_t p)
{
    int64_t span = n + 2 * p - k;
    return span < 0 ? 0 : span / s + 1;
}

int64_t ref_padding(int64_t pad_attr, int64_t k)
{
    return pad_attr < 0 ? (k - 1) / 2 : pad_attr;
}

void *ref_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = x->scratch(x, bytes ? bytes : 1);
    if (!p) {
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of scratch memory (%zu bytes)", op, bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

void *ref_save0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    if (!x->save) /* an engine that records nothing for this call: backward will not come */
        return ref_scratch0(x, op, bytes, err);
    void *p = x->save(x, bytes ? bytes : 1);
    if (!p) {
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for what backward needs (%zu bytes)", op, bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

void ref_store(float *dst, const double *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = (float)src[i];
}

void ref_grad_add(const struct enas_param *p, const double *acc)
{
    if (!p || !p->grad)
        return;
    int64_t n = enas_tensor_numel(&p->value);
    for (int64_t i = 0; i < n; i++)
        p->grad[i] += (float)acc[i];
}

double ref_uniform(struct enas_exec *x)
{
    return (double)(x->rng_u64(x) >> 11) * 0x1.0p-53;
}
