/* op_util.h - helpers both op providers (plugins/ref, plugins/onednn) build in: parameter creation, shape
 * checks and their messages (one wording, so that both providers fail alike), window sizes, scratch and
 * saved memory, the call's uniform random numbers. Compiled into each provider's shared object (op_util.c);
 * not part of the plugin ABI. */
#ifndef ENAS_PLUGINS_COMMON_OP_UTIL_H
#define ENAS_PLUGINS_COMMON_OP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

/* How many ops each provider registers: both register the same names (conv, sep_conv, batch_norm, relu,
 * max_pool, avg_pool, global_avg_pool, linear, sum, concat, factorized_reduce, dropout, drop_path,
 * identity). Each provider's table is tied to it by a static_assert, so that an op added to one provider
 * and not the other stops the build; test_onednn_parity then checks that the names and attributes agree. */
#define OPU_N_OPS 14

/* A parameter shape: ndim dims, the rest 1 (data NULL). */
struct enas_tensor opu_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
/* api->param_create with the error prefixed by the op name. fan_in only matters for HE_NORMAL. */
enum enas_status opu_param(const struct enas_op_args *a, const char *op, const char *name,
                           const struct enas_tensor *shape, enum enas_init_kind kind, double fan_in,
                           unsigned flags, struct enas_param **out, struct enas_err *err);

/* "2x8x8x16" into buf. */
const char *opu_fmt_shape(const struct enas_tensor *t, char *buf, size_t size);
/* n_in within [lo, hi], else an error naming op. */
enum enas_status opu_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err);
/* in is 4-D NHWC with every dim >= 1 and, when c >= 0, c channels; else an error naming op and input idx. */
enum enas_status opu_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err);
/* Output size of a window op along one axis: (n + 2p - k) / s + 1, or 0 when no window fits. */
int64_t opu_out_size(int64_t n, int64_t k, int64_t s, int64_t p);
/* Resolves the padding attribute: -1 means "same" for odd kernels, (k - 1) / 2. */
int64_t opu_padding(int64_t pad_attr, int64_t k);

/* Memory from x->scratch (opu_scratch0: zeroed); NULL (and err set, naming op) when out of memory. */
void *opu_scratch(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
void *opu_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
/* Memory from x->save, for what backward reads (scratch when the engine records nothing for this call, since
 * no backward will come); opu_save0: zeroed. NULL (err set) when out of memory. */
void *opu_save(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
void *opu_save0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
/* In the backward of an op with ENAS_OP_BWD_ACCUMULATE: 1 when din[i] holds gradient to add to (+=), 0 when
 * it is to be overwritten (always 0 on an engine without api->grad_accumulates). */
int opu_adds(const struct enas_exec *x, size_t i);
/* A uniform double in [0, 1) from the call's random stream. */
double opu_uniform(struct enas_exec *x);

/* ---- the ops' definitions both providers share: attributes, their checks, parameters, output shapes ---- */

/* max_pool / avg_pool: kernel, stride and padding (resolved: -1 is "same"; at most kernel - 1). */
struct opu_pool {
    const char *op; /* "max_pool" or "avg_pool", for messages */
    int64_t k, stride, pad;
};
enum enas_status opu_pool_read(const struct enas_op_args *a, const char *op, struct opu_pool *p,
                               struct enas_err *err);
/* One 4-D input into which at least one window fits; output N x Ho x Wo x C. */
enum enas_status opu_pool_shape(const struct opu_pool *p, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err);

/* dropout's keep_prob, in (0, 1]. */
enum enas_status opu_keep_read(const struct enas_op_args *a, double *keep, struct enas_err *err);

/* batch_norm: channels, eps, momentum, relu (a fused ReLU after it), and its parameters: "gamma" (ONE) and
 * "beta" (ZERO) when affine (else NULL), buffers "running_mean" (ZERO) and "running_var" (ONE). */
struct opu_bn {
    int64_t c;
    double eps, momentum;
    int relu;
    struct enas_param *gamma, *beta, *mean, *var;
};
enum enas_status opu_bn_read(const struct enas_op_args *a, struct opu_bn *b, struct enas_err *err);
/* One N x H x W x C or N x C input with b->c channels, kept. */
enum enas_status opu_bn_shape(const struct opu_bn *b, const struct enas_tensor *const *in, size_t n_in,
                              struct enas_tensor *out, struct enas_err *err);

/* linear: in_features, out_features; weight "w" [out, in] (He-normal, fan_in = in), bias "b" [out] (ZERO)
 * with the bias attribute, else NULL. */
struct opu_linear {
    int64_t in, out;
    struct enas_param *w, *b;
};
enum enas_status opu_linear_read(const struct enas_op_args *a, struct opu_linear *l, struct enas_err *err);
/* One N x in input; output N x out. */
enum enas_status opu_linear_shape(const struct opu_linear *l, const struct enas_tensor *const *in,
                                  size_t n_in, struct enas_tensor *out, struct enas_err *err);
double opu_linear_madds(const struct opu_linear *l, const struct enas_tensor *const *in, size_t n_in);

/* factorized_reduce: in_channels, out_channels (even); weights "w1", "w2" [out/2, 1, 1, in] (He-normal). */
struct opu_fr {
    int64_t cin, cout;
    struct enas_param *w1, *w2;
};
enum enas_status opu_fr_read(const struct enas_op_args *a, struct opu_fr *f, struct enas_err *err);
/* One N x H x W x in input; output N x ceil(H/2) x ceil(W/2) x out. */
enum enas_status opu_fr_shape(const struct opu_fr *f, const struct enas_tensor *const *in, size_t n_in,
                              struct enas_tensor *out, struct enas_err *err);
double opu_fr_madds(const struct opu_fr *f, const struct enas_tensor *const *in, size_t n_in);

/* sum and concat take at most this many inputs */
#define OPU_MAX_INPUTS 16
/* The shape functions of the weightless ops, as their descriptors' .shape (state unused): relu and identity
 * (one input, kept), sum (1..OPU_MAX_INPUTS inputs of one shape), concat (1..OPU_MAX_INPUTS 4-D inputs of
 * one N, H, W, joined along C), global_avg_pool (one 4-D input to N x C), dropout and drop_path (one input
 * of any shape with N >= 1, kept). */
enum enas_status opu_relu_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_identity_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                    struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_sum_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                               struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_concat_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                  struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_gap_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                               struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_dropout_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err);
enum enas_status opu_drop_path_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                     struct enas_tensor *out, struct enas_err *err);

/* conv (grouped k x k, optional bias) and sep_conv (depthwise k x k, then pointwise 1x1): in_channels,
 * out_channels, kernel, stride, padding (resolved), groups (conv only; else 1), relu_input (the op convolves
 * ReLU(input)), and the parameters: conv "w" [out, k, k, in/groups] (He-normal), "b" [out] (ZERO) with the
 * bias attribute; sep_conv "dw" [in, k, k, 1] and "pw" [out, 1, 1, in] (He-normal). */
struct opu_conv {
    const char *op; /* "conv" or "sep_conv" */
    int64_t cin, cout, k, stride, pad, groups;
    int relu_in;
    struct enas_param *w, *b;   /* conv: weights, bias (NULL without) */
    struct enas_param *dw, *pw; /* sep_conv: depthwise and pointwise weights */
};
enum enas_status opu_conv_read(const struct enas_op_args *a, const char *op, struct opu_conv *c,
                               struct enas_err *err);
/* One N x H x W x in input into which a window fits; output N x Ho x Wo x out. */
enum enas_status opu_conv_shape(const struct opu_conv *c, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err);
double opu_conv_madds(const struct opu_conv *c, const struct enas_tensor *const *in, size_t n_in);

#endif
