/* ref_util.c - helpers of the ref ops only: instance state and the double accumulators (what both providers
 * share is in plugins/common/op_util.c). */
#include "ref.h"

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
