/* onednn_util.c - helpers of the onednn ops only: instance state, the oneDNN status mapping, gradient
 * accumulation and the thread count for a piece of work (what both providers share, shape checks and their
 * messages among them, is in plugins/common/op_util.c). */
#include "onednn.h"

#include <oneapi/dnnl/dnnl_debug.h>

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

/* Threads for `work` elements: below ~64k the fork/join costs more than it saves. */
int odn_threads(const struct odn_backend *be, int64_t work)
{
    int t = be ? be->threads : 1;
    return work < 65536 || t < 1 ? 1 : t;
}
