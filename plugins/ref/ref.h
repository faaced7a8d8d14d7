/* ref.h - private to the ref plugin: the op descriptors each family file defines, the state header every
 * op instance starts with, and the shared helpers (shape checks, parameters, the one conv kernel).
 * Everything here has hidden visibility; the plugin exports only enas_plugin_init. */
#ifndef ENAS_REF_H
#define ENAS_REF_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

/* The most inputs sum and concat take (the micro space's cell output concatenates at most 7). */
#define REF_MAX_INPUTS 16

extern const struct enas_op_desc ref_conv_desc, ref_sep_conv_desc, ref_factorized_reduce_desc;
extern const struct enas_op_desc ref_batch_norm_desc;
extern const struct enas_op_desc ref_max_pool_desc, ref_avg_pool_desc, ref_global_avg_pool_desc;
extern const struct enas_op_desc ref_linear_desc;
extern const struct enas_op_desc ref_relu_desc, ref_identity_desc, ref_sum_desc, ref_concat_desc;
extern const struct enas_op_desc ref_dropout_desc, ref_drop_path_desc;

/* First member of every op state: destroy gets no API table, so the state remembers the host's free. */
struct ref_base {
    void (*free)(void *p);
};

/* Allocates a zeroed state of `size` bytes (>= sizeof(struct ref_base)) with api->alloc. */
enum enas_status ref_state_new(const struct enas_op_args *a, const char *op, size_t size, void **state,
                               struct enas_err *err);
/* The destroy of every ref op: frees the state through the free it remembered. */
void ref_state_destroy(void *state);
/* create of the ops that have no attributes and no parameters. */
enum enas_status ref_create_plain(const struct enas_op_args *a, void **state, struct enas_err *err);

/* A parameter shape: ndim dims, the rest 1 (data NULL). */
struct enas_tensor ref_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
/* api->param_create with the error prefixed by the op name. fan_in only matters for HE_NORMAL. */
enum enas_status ref_param(const struct enas_op_args *a, const char *op, const char *name,
                           const struct enas_tensor *shape, enum enas_init_kind kind, double fan_in,
                           unsigned flags, struct enas_param **out, struct enas_err *err);

/* "2x8x8x16" into buf. */
const char *ref_fmt_shape(const struct enas_tensor *t, char *buf, size_t size);
/* n_in within [lo, hi], else an error naming op. */
enum enas_status ref_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err);
/* in is 4-D NHWC with every dim >= 1 and, when c >= 0, c channels; else an error naming op and input idx. */
enum enas_status ref_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err);
/* Output size of a window op along one axis: (n + 2p - k) / s + 1, or 0 when no window fits. */
int64_t ref_out_size(int64_t n, int64_t k, int64_t s, int64_t p);
/* Resolves the padding attribute: -1 means "same" for odd kernels, (k - 1) / 2. */
int64_t ref_padding(int64_t pad_attr, int64_t k);

/* Memory from x->scratch, zeroed; NULL (and err set, naming op) when out of memory. */
void *ref_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
/* Memory from x->save (scratch when the engine gives no save), zeroed; NULL (err set) when out of memory. */
void *ref_save0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err);
/* dst[i] = (float)src[i] and grad[i] += (float)acc[i]: the double accumulators back to fp32. */
void ref_store(float *dst, const double *src, int64_t n);
void ref_grad_add(const struct enas_param *p, const double *acc);
/* Uniform in [0, 1) from the call's random stream (53 bits). */
double ref_uniform(struct enas_exec *x);

/* One grouped 2-D convolution over NHWC, weights [cout, k, k, cin/groups]. pad may be negative: -1 reads
 * input pixel (s*i + 1, s*j + 1) for output (i, j), which is factorized reduce's shifted path; reads
 * outside the input are zeros. ho/wo are given, not derived, for the same reason. Output pixels are ldy
 * floats apart (ldy > cout when the result is one slice of a concatenation). */
struct ref_conv_geom {
    int64_t n, h, w, cin;
    int64_t ho, wo, cout, ldy;
    int64_t k, stride, pad, groups;
};
/* y = conv(x, w) + b (b may be NULL), accumulated in double. */
void ref_conv_fwd(const struct ref_conv_geom *g, const float *x, const float *w, const float *b, float *y);
/* ACCUMULATES into the double buffers dx (input shape), dw (weight shape), db (cout); each may be NULL. */
void ref_conv_bwd(const struct ref_conv_geom *g, const float *x, const float *w, const float *dy, double *dx,
                  double *dw, double *db);
/* Multiply-adds of ref_conv_fwd. */
double ref_conv_madds(const struct ref_conv_geom *g);

#endif
