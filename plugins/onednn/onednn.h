/* onednn.h - private to the onednn plugin: the backend context, the state header of every op, the shared
 * helpers (shapes, parameters, scratch, oneDNN status mapping), the cached oneDNN convolution / inner
 * product unit, and the hand-written kernels. Only this plugin includes dnnl.h; nothing here is exported. */
#ifndef ENAS_ONEDNN_H
#define ENAS_ONEDNN_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"
#include "op_util.h"

#include <oneapi/dnnl/dnnl.h>

#define ODN_CACHE 4 /* primitive sets per op instance: train batch, last partial batch, eval, spare */

extern const struct enas_op_desc odn_conv_desc, odn_sep_conv_desc, odn_factorized_reduce_desc;
extern const struct enas_op_desc odn_batch_norm_desc, odn_linear_desc;
extern const struct enas_op_desc odn_max_pool_desc, odn_avg_pool_desc, odn_global_avg_pool_desc;
extern const struct enas_op_desc odn_relu_desc, odn_identity_desc, odn_sum_desc, odn_concat_desc;
extern const struct enas_op_desc odn_dropout_desc, odn_drop_path_desc;

/* The backend context (x->backend, args->backend): one CPU engine and stream for every op. */
struct odn_backend {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads; /* OpenMP threads for oneDNN and the hand kernels */
    int avx2;    /* the CPU has AVX2 and FMA: the hand kernels take their intrinsic paths */
    int avx512;  /* the CPU has AVX-512F too: the depthwise weight gradient and 3x3 pools take 16-lane kernels
                  */
    int avx512bw; /* and AVX-512BW and VL: the 3x3 max pool's training kernels (byte masks) */
};

/* First member of every op state: destroy gets no API table, so the state keeps the host's free. */
struct odn_base {
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    struct odn_backend *be;
};

/* ---- onednn_util.c ---- */
enum enas_status odn_state_new(const struct enas_op_args *a, const char *op, size_t size, void **state,
                               struct enas_err *err);
void odn_state_destroy(void *state);
enum enas_status odn_create_plain(const struct enas_op_args *a, void **state, struct enas_err *err);
/* shapes, parameters, checks, scratch and saved memory, random numbers: plugins/common/op_util.h */
/* dnnl status to enas status: "onednn: <op>: <call>: <dnnl_status2str>". */
enum enas_status odn_check(dnnl_status_t s, const char *op, const char *call, struct enas_err *err);
/* grad[i] += src[i] for n floats; a no-op when grad is NULL. */
void odn_add(float *grad, const float *src, int64_t n);
int odn_threads(const struct odn_backend *be, int64_t work);

/* ---- onednn_prim.c: a convolution (NHWC) or inner product with its primitives cached per shape ---- */
struct odn_conv_cfg {
    int ip; /* inner product: N x cin -> N x cout, weights [cout, cin] */
    int64_t cin, cout, k, stride, pad, groups;
    int bias;
    int hand_dw_wei; /* depthwise: weight gradients by the hand kernel, oneDNN's is slow */
};

struct odn_prims; /* one input shape's primitives, weight copies and memory objects */

struct odn_conv {
    const char *op; /* for messages */
    struct odn_conv_cfg cfg;
    struct odn_base *base; /* the owning op's allocator and backend */
    struct odn_prims *slot[ODN_CACHE];
    unsigned clock;
};

void odn_conv_init(struct odn_conv *u, struct odn_base *base, const char *op, const struct odn_conv_cfg *cfg);
void odn_conv_fini(struct odn_conv *u);
/* y = conv(x, w) + b for x of n x h x w x cin (ip: n x cin); b may be NULL. */
enum enas_status odn_conv_fwd(struct odn_conv *u, struct enas_exec *x, int64_t n, int64_t h, int64_t w,
                              const float *src, const float *wei, const float *bias, float *dst,
                              struct enas_err *err);
/* dsrc = bwd_data (skipped when NULL); wgrad += dW and bgrad += db (each skipped when NULL). */
enum enas_status odn_conv_bwd(struct odn_conv *u, struct enas_exec *x, int64_t n, int64_t h, int64_t w,
                              const float *src, const float *wei, const float *ddst, float *dsrc,
                              float *wgrad, float *bgrad, struct enas_err *err);

/* ---- hand kernels: NHWC fp32; *_avx2 variants live in files built with -mavx2 -mfma ---- */
struct odn_win {
    int64_t n, h, w, c, ho, wo, k, stride, pad;
};
/* Depthwise k x k weight gradient: grad[(c*k + kh)*k + kw] += sum dy * x. part: ODN_DW_PART(threads, g)
 * bytes: per thread a double and a float k*k*c partial and ODN_DW_WORK(g) floats for the intrinsic kernels'
 * padded copies (AVX-512: k + 2 rows of (w+2p) 16-float vectors; AVX2: (h+2p) rows of (w+2p) 8-float
 * vectors; the macro allows for both), plus 64 bytes to align them. */
#define ODN_DW_WORK(g) ((size_t)((g)->k + 2 + (g)->h + 2 * (g)->pad) * (size_t)((g)->w + 2 * (g)->pad) * 16u)
#define ODN_DW_PART(threads, g)                                                                              \
    ((size_t)(threads) * ((size_t)((g)->k * (g)->k * (g)->c) * (sizeof(double) + sizeof(float)) +            \
                          ODN_DW_WORK(g) * sizeof(float)) +                                                  \
     64u)
/* relu: the sums are of dy * ReLU(x) (relu_input), the ReLU applied as x is read. */
void odn_dw_wei(const struct odn_backend *be, const struct odn_win *g, int relu, const float *x,
                const float *dy, float *grad, double *part);
/* acc ([kh][kw][c], fp32) = the sums over images [n0, n1); any k, stride, padding. */
void odn_dw_wei_c(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0, int64_t n1,
                  float *acc);
/* sum ([kh][kw][c], double) += each image's fp32 sums, images [n0, n1); k 3, 5 or 7, stride 1 or 2 only;
 * work: ODN_DW_WORK(g) floats, 64-byte aligned. */
void odn_dw_wei_avx512(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0,
                       int64_t n1, double *sum, float *work);
void odn_dw_wei_avx2(const struct odn_win *g, int relu, const float *x, const float *dy, int64_t n0,
                     int64_t n1, double *sum, float *work);
/* Depthwise k x k forward (y = conv(relu ? ReLU(x) : x, w)) and backward-data (dx OVERWRITTEN with the
 * transposed conv of dy, zeroed where mask <= 0 when mask, the op's input, is not NULL) by the AVX-512
 * kernels (onednn_dwf_avx512.c); w the parameter's [c][kh][kw]. They return 0, touching nothing, when the
 * shape is not theirs (odn_dw_covers: no AVX-512; k other than 3, 5, 7, or 3 without relu_input; stride other
 * than 1, 2; backward-data: stride 2).
 * scratch: ODN_DWF_SCRATCH(threads, g) bytes. */
size_t odn_dwf_work(const struct odn_win *g); /* floats a thread (onednn_dwf_avx512.c) */
#define ODN_DWF_SCRATCH(threads, g)                                                                          \
    (((size_t)((g)->k * (g)->k * (g)->c) + (size_t)(threads)*odn_dwf_work(g)) * sizeof(float) + 128u)
int odn_dw_covers(const struct odn_backend *be, const struct odn_win *g, int bwd_data, int relu);
int odn_dw_fwd(const struct odn_backend *be, const struct odn_win *g, int relu, const float *x,
               const float *w, float *y, void *scratch);
int odn_dw_bwd_data(const struct odn_backend *be, const struct odn_win *g, const float *mask, const float *w,
                    const float *dy, float *dx, void *scratch);
/* Images [n0, n1); wt: [kh][kw][c] (the backward-data's flipped); work: odn_dwf_work(g) floats, aligned. */
void odn_dw_fwd_avx512(const struct odn_win *g, int relu, const float *x, const float *wt, float *y,
                       int64_t n0, int64_t n1, float *work);
void odn_dw_bwd_data_avx512(const struct odn_win *g, const float *mask, const float *wt, const float *dy,
                            float *dx, int64_t n0, int64_t n1, float *work);
/* Pooling over images [n0, n1): max (max = 1, first maximum in window order) or average excluding padding.
 * bwd OVERWRITES dx of those images. */
void odn_pool_fwd_c(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1);
void odn_pool_bwd_c(const struct odn_win *g, int max, const float *x, const float *dy, float *dx, int64_t n0,
                    int64_t n1);
void odn_pool_fwd_avx2(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1);
void odn_pool_bwd_avx2(const struct odn_win *g, int max, const float *x, const float *dy, float *dx,
                       int64_t n0, int64_t n1);
/* 3x3 pooling at stride 1, padding 1 (onednn_pool3_kern.c) over images [n0, n1); work: ODN_POOL3_WORK floats.
 */
#define ODN_POOL3_WORK(g) (11 * (g)->w * (g)->c)
void odn_pool3_fwd_c(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1,
                     float *work);
void odn_pool3_bwd_c(const struct odn_win *g, int max, const float *x, const float *dy, float *dx, int64_t n0,
                     int64_t n1, float *work);
void odn_pool3_fwd_avx2(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1,
                        float *work);
void odn_pool3_bwd_avx2(const struct odn_win *g, int max, const float *x, const float *dy, float *dx,
                        int64_t n0, int64_t n1, float *work);
void odn_pool3_fwd_avx512(const struct odn_win *g, int max, const float *x, float *y, int64_t n0, int64_t n1,
                          float *work);
void odn_pool3_bwd_avx512(const struct odn_win *g, int max, const float *x, const float *dy, float *dx,
                          int64_t n0, int64_t n1, float *work);
/* 3x3 max pool at stride 1, padding 1 for training (onednn_maxpool3_avx512.c, AVX-512F, BW, VL): the
 * forward writes y and each output's winning cell into map (odn_maxpool3_map_bytes, the call's saved
 * memory), the backward OVERWRITES dx from dy and map alone; images [n0, n1); work: ODN_MAXPOOL3_WORK
 * floats. */
#define ODN_MAXPOOL3_WORK(g) (7 * ((g)->w * (g)->c + 16))
size_t odn_maxpool3_map_bytes(const struct odn_win *g);
void odn_maxpool3_fwd_avx512(const struct odn_win *g, const float *x, float *y, uint8_t *map, int64_t n0,
                             int64_t n1, float *work);
void odn_maxpool3_bwd_avx512(const struct odn_win *g, const uint8_t *map, const float *dy, float *dx,
                             int64_t n0, int64_t n1);
/* factorized_reduce by the AVX-512 kernels (onednn_fr_avx512.c, AVX-512F), over output rows [r0, r1) of the
 * n*ho: x n x h x w x cin, y and dy n x ho x wo x 2hc. wt: [2][cin][ODN_FR_PAD(hc)], W1^T then W2^T; wp:
 * [2][hc][ODN_FR_PAD(cin)], W1 then W2; both zero-padded and 64-byte aligned. The backward OVERWRITES the
 * rows 2i and 2i+1 of dx (skipped when NULL) and adds the weight gradients into acc ([2][hc][ODN_FR_PAD(cin)]
 * fp32, 64-byte aligned; skipped when NULL). */
#define ODN_FR_PAD(c) (((c) + 15) / 16 * 16)
struct odn_fr_geom {
    int64_t n, h, w, ho, wo, cin, hc;
};
void odn_fr_fwd_avx512(const struct odn_fr_geom *g, const float *x, const float *wt, float *y, int64_t r0,
                       int64_t r1);
void odn_fr_bwd_avx512(const struct odn_fr_geom *g, const float *x, const float *dy, const float *wp,
                       float *dx, float *acc, int64_t r0, int64_t r1);
/* Batch norm over rows [r0, r1) of c channels (see onednn_bn_kern.c); fwd / relu: a fused ReLU. */
void odn_bn_sums_c(const float *x, const float *y, const float *fwd, int64_t r0, int64_t r1, int64_t c,
                   const float *k, float *s1, float *s2);
void odn_bn_affine_c(const float *x, const float *dy, const float *fwd, int relu, int64_t r0, int64_t r1,
                     int64_t c, const float *a, const float *b, const float *d, float *out);
void odn_bn_sums_avx2(const float *x, const float *y, const float *fwd, int64_t r0, int64_t r1, int64_t c,
                      const float *k, float *s1, float *s2);
void odn_bn_affine_avx2(const float *x, const float *dy, const float *fwd, int relu, int64_t r0, int64_t r1,
                        int64_t c, const float *a, const float *b, const float *d, float *out);

#endif
