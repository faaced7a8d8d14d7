/* ref.h - private to the ref plugin: the op descriptors each family file defines, the state header every
 * op instance starts with, and the shared helpers (shape checks, parameters, the one conv kernel).
 * Everything here has hidden visibility; the plugin exports only enas_plugin_init. */
#ifndef ENAS_REF_H
#define ENAS_REF_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"
#include "op_util.h"

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

/* Shapes, parameters, checks, scratch and saved memory, random numbers: plugins/common/op_util.h. */

/* dst[i] = (float)src[i] and grad[i] += (float)acc[i]: the double accumulators back to fp32. */
void ref_store(float *dst, const double *src, int64_t n);
void ref_grad_add(const struct enas_param *p, const double *acc);

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
