/* op.h - contract for a compute op (a layer with its weights); see plugin.h for how it is registered.
 *
 * A provider ("ref", "onednn", or a third party's own name) registers op descriptors. The backend
 * setting picks which provider serves every op name that it has; names that no backend provides come
 * from whichever op-only plugin registered them. Activations are NHWC fp32 (tensor.h). */
#ifndef ENAS_OP_H
#define ENAS_OP_H

#include <stddef.h>

#include "enas/abi.h"
#include "enas/exec.h"
#include "enas/settings.h"
#include "enas/status.h"
#include "enas/tensor.h"

struct enas_host;
struct enas_host_api;

/* What create gets. Borrowed for the call; copy what you keep. */
struct enas_op_args {
    const struct enas_host_api *api;
    struct enas_host *host;
    const struct enas_cfg *attrs; /* this instance's attributes, validated against the desc's attrs */
    const char *scope;            /* prefix for the instance's parameter names, e.g. "layer3.conv" */
    void *backend;                /* the provider's backend context, or NULL */
};

struct enas_op_desc {
    ENAS_DESC_HEADER;
    const char *name;     /* [a-z0-9_]+, the word used in configs and spaces: "conv", "sep_conv" */
    const char *provider; /* [a-z0-9_]+: a backend's name ("onednn", "ref") or an op plugin's own */
    const struct enas_setting *attrs; /* Optional: the attributes create accepts (kernel, stride...) */
    size_t n_attrs;
    unsigned min_inputs, max_inputs; /* accepted input counts (sum/concat take several) */

    /* Builds an instance: reads attrs, creates its parameters through api->param_create.
     * On failure sets *state = NULL, sets err and returns non-OK. */
    enum enas_status (*create)(const struct enas_op_args *a, void **state, struct enas_err *err);
    /* Output shape from input shapes (in[i]->data may be NULL). An unusable shape is an error that
     * names the input and the expected shape. */
    enum enas_status (*shape)(void *state, const struct enas_tensor *const *in, size_t n_in,
                              struct enas_tensor *out, struct enas_err *err);
    /* Optional: multiply-adds of one forward call on these input shapes; NULL counts as 0. */
    double (*madds)(void *state, const struct enas_tensor *const *in, size_t n_in);
    /* out has the shape that shape() gave and engine-owned storage; write every element. */
    enum enas_status (*forward)(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                size_t n_in, struct enas_tensor *out, struct enas_err *err);
    /* Optional (NULL: the op has no gradient, e.g. an inference-only op). Given the forward inputs and
     * output and dout, OVERWRITE din[i] for every i with din[i] != NULL, and ACCUMULATE (+=) into the
     * grad of each of the instance's parameters. x->saved is what forward saved. */
    enum enas_status (*backward)(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                 size_t n_in, const struct enas_tensor *out, const struct enas_tensor *dout,
                                 struct enas_tensor *const *din, struct enas_err *err);
    void (*destroy)(void *state); /* must accept NULL; parameters are freed by the engine */

    /* ABI 1.1 (a descriptor whose struct_size ends before it reads as 0; ENAS_OP_BWD_ACCUMULATE and
     * ENAS_OP_BWD_PASS_THROUGH: ABI 1.3). What backward does NOT
     * read, so that the engine can reuse that memory once a space releases the tensor (api->release):
     * ENAS_OP_BWD_NO_INPUT_DATA: no in[i]->data (shapes only); ENAS_OP_BWD_NO_OUTPUT_DATA: no out->data.
     * 0 (the safe default): backward may read both.
     * ENAS_OP_BWD_ACCUMULATE: backward can add into a din[i] that already holds gradient, where the engine
     * asks through api->grad_accumulates (plugin.h); saves a buffer and a pass where a tensor is read by
     * several ops. Without the flag every din[i] is fresh and overwritten.
     * ENAS_OP_BWD_PASS_THROUGH: each din[i] equals dout (identity, sum): the engine may hand one input
     * dout's own buffer as its gradient, passing din[i] = NULL for it, so that nothing is copied. */
    unsigned bwd_flags;
};

enum {
    ENAS_OP_BWD_NO_INPUT_DATA = 1u << 0,
    ENAS_OP_BWD_NO_OUTPUT_DATA = 1u << 1,
    ENAS_OP_BWD_ACCUMULATE = 1u << 2,
    ENAS_OP_BWD_PASS_THROUGH = 1u << 3,
};

/* An op instance as the engine hands it to a space: opaque; made by api->op_create. */
struct enas_op;

#endif
