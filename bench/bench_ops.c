/* bench_ops.c - times the onednn provider's ops on the ENAS layer shapes (batch 128) against the same
 * oneDNN 2.6 primitive called directly (for pooling, BN and ReLU: oneDNN's own primitive on NHWC, which
 * the hand kernels replace): forward, backward-data and backward-weights, median wall time of --reps (9)
 * after warm-up, ours and the primitive called in turn, GFLOP/s, % of this machine's fp32 peak (measured at
 * start: independent FMA chains on the widest vectors the CPU has, AVX-512 or AVX2, times the thread
 * count), ours/direct and its inverse (speedup), and for the passes without flops (pools, BN, ReLU) ours
 * against the memory floor: the time of streaming the same tensors through a copy (or an add, for passes
 * that read two) in the same turn. Not a test: a tool.
 * usage: bench_ops PATH/onednn.so [--threads N] [--reps N] [--filter SUBSTRING] */
#include "ophelp.h"

#include <oneapi/dnnl/dnnl.h>

#include <immintrin.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct layer {
    const char *name; /* row label */
    const char *op;   /* onednn op name */
    char attrs[128];
    int64_t c, hw, k, groups; /* k = 0: not a conv */
};

struct bexec {
    struct enas_exec x;
    char *arena;
    size_t used, size;
    uint64_t rng;
    void *saved;
};

static void *bx_alloc(struct enas_exec *x, size_t bytes)
{
    struct bexec *e = (struct bexec *)x;
    size_t at = (e->used + 63) & ~(size_t)63;
    if (at + bytes > e->size)
        return NULL;
    e->used = at + bytes;
    return e->arena + at;
}

static void *bx_save(struct enas_exec *x, size_t bytes)
{
    return ((struct bexec *)x)->saved = bx_alloc(x, bytes);
}

static uint64_t bx_rng(struct enas_exec *x)
{
    return oh_splitmix(&((struct bexec *)x)->rng);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int g_reps = 9;

/* ---- ours: through the plugin ---- */

enum pass { FWD, BWD_DATA, BWD_WEI };

struct ours {
    struct oh_op op;
    struct enas_tensor x, y, dy, dx;
    struct bexec e;
    int saved_ok;
};

static int ours_call(struct ours *o, enum pass p)
{
    struct enas_err err = {0};
    const struct enas_tensor *ins[1] = {&o->x};
    struct enas_tensor *din[1] = {p == BWD_DATA || o->op.n_p == 0 || strstr(o->op.d->name, "batch") ? &o->dx
                                                                                                    : NULL};
    size_t keep = p == FWD ? 0 : o->e.used; /* backward keeps the forward's saved block */
    float *grads[8] = {0};
    enum enas_status st;
    if (p == BWD_DATA) /* no weight gradients wanted: hide the grads (frozen weights) */
        for (size_t k = 0; k < o->op.n_p; k++)
            grads[k] = o->op.p[k]->grad, o->op.p[k]->grad = strstr(o->op.d->name, "batch") ? grads[k] : NULL;
    o->e.used = p == FWD ? 0 : o->e.used;
    o->e.x.save = p == FWD ? bx_save : NULL;
    o->e.x.saved = p == FWD ? NULL : o->e.saved;
    if (p == FWD)
        st = o->op.d->forward(o->op.state, &o->e.x, ins, 1, &o->y, &err);
    else
        st = o->op.d->backward(o->op.state, &o->e.x, ins, 1, &o->y, &o->dy, din, &err);
    if (p == BWD_DATA)
        for (size_t k = 0; k < o->op.n_p; k++)
            o->op.p[k]->grad = grads[k];
    o->e.used = p == FWD ? o->e.used : keep;
    if (st != ENAS_OK)
        fprintf(stderr, "bench: %s: %s\n", o->op.d->name, err.msg);
    return st == ENAS_OK ? 0 : -1;
}

/* ---- direct: one oneDNN primitive, every argument allocated by the library ---- */

struct direct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[16];
    int nargs;
};

static const int all_args[] = {
    DNNL_ARG_SRC,        DNNL_ARG_DST,          DNNL_ARG_WEIGHTS,   DNNL_ARG_BIAS,     DNNL_ARG_DIFF_SRC,
    DNNL_ARG_DIFF_DST,   DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_WORKSPACE, DNNL_ARG_SCALE,    DNNL_ARG_SHIFT,
    DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT,   DNNL_ARG_MEAN,      DNNL_ARG_VARIANCE, DNNL_ARG_SCRATCHPAD};

static int direct_make(struct direct *d, dnnl_engine_t eng, const void *opd, const_dnnl_primitive_desc_t hint,
                       dnnl_primitive_desc_t *keep)
{
    dnnl_primitive_desc_t pd;
    memset(d, 0, sizeof *d);
    if (dnnl_primitive_desc_create(&pd, opd, NULL, eng, hint) != dnnl_success ||
        dnnl_primitive_create(&d->prim, pd) != dnnl_success)
        return -1;
    for (size_t i = 0; i < sizeof all_args / sizeof all_args[0]; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, all_args[i]);
        if (!md || md->ndims == 0)
            continue;
        dnnl_memory_t m;
        void *h = NULL;
        if (dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success)
            return -1;
        dnnl_memory_get_data_handle(m, &h);
        size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
        for (size_t j = 0; md->data_type == dnnl_f32 && j < n; j++)
            ((float *)h)[j] = 0.5f + 0.01f * (float)(j % 97);
        d->args[d->nargs].arg = all_args[i];
        d->args[d->nargs++].memory = m;
    }
    if (keep)
        *keep = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return 0;
}

static void direct_free(struct direct *d)
{
    for (int i = 0; i < d->nargs; i++)
        dnnl_memory_destroy(d->args[i].memory);
    if (d->prim)
        dnnl_primitive_destroy(d->prim);
    memset(d, 0, sizeof *d);
}

static double direct_call(struct direct *d, dnnl_stream_t s)
{
    double t0 = now_ms();
    dnnl_primitive_execute(d->prim, s, d->nargs, d->args);
    dnnl_stream_wait(s);
    return now_ms() - t0;
}

/* The memory floor of a pass that reads n_read tensors of n floats and writes one: the same bytes streamed
 * by the simplest loop (a copy, or an add of two), on the same threads. */
struct floor_buf {
    float *a, *b, *out;
    int64_t n;
};

static double floor_call(const struct floor_buf *f, int n_read)
{
    double t0 = now_ms();
    const float *restrict a = f->a, *restrict b = f->b;
    float *restrict out = f->out;
    if (n_read < 2) {
#pragma omp parallel for
        for (int64_t i = 0; i < f->n; i++)
            out[i] = a[i];
    } else {
#pragma omp parallel for
        for (int64_t i = 0; i < f->n; i++)
            out[i] = a[i] + b[i];
    }
    return now_ms() - t0;
}

/* Medians of reps calls of ours, the direct primitive and (n_read > 0) the memory floor, taken in turn, so
 * that a busy neighbour slows all of them alike. */
static void time_pass(struct ours *o, enum pass p, struct direct *d, dnnl_stream_t s,
                      const struct floor_buf *f, int n_read, double *t_ours, double *t_direct,
                      double *t_floor)
{
    double to[64], td[64], tf[64];
    const int reps = g_reps > 64 ? 64 : g_reps;
    *t_ours = *t_direct = *t_floor = NAN;
    for (int i = 0; i < 2; i++) { /* warm-up */
        if (ours_call(o, p) != 0)
            return;
        if (d->prim)
            direct_call(d, s);
        if (n_read)
            floor_call(f, n_read);
    }
    for (int i = 0; i < reps; i++) {
        double t0 = now_ms();
        ours_call(o, p);
        to[i] = now_ms() - t0;
        td[i] = d->prim ? direct_call(d, s) : (double)NAN;
        tf[i] = n_read ? floor_call(f, n_read) : (double)NAN;
    }
    qsort(to, (size_t)reps, sizeof to[0], cmp_double);
    qsort(td, (size_t)reps, sizeof td[0], cmp_double);
    qsort(tf, (size_t)reps, sizeof tf[0], cmp_double);
    *t_ours = to[reps / 2];
    *t_direct = d->prim ? td[reps / 2] : (double)NAN;
    *t_floor = n_read ? tf[reps / 2] : (double)NAN;
}

/* The three passes of layer l as oneDNN primitives on NHWC (weights: format any). */
static void direct_layer(const struct layer *l, dnnl_engine_t eng, struct direct d[3])
{
    const int64_t n = 128, c = l->c, hw = l->hw, k = l->k ? l->k : 3, p = (k - 1) / 2; /* pools: 3x3 */
    const dnnl_dims_t sd = {n, c, hw, hw}, st = {1, 1}, pad = {p, p}, kd = {k, k};
    dnnl_memory_desc_t src, dst, wany;
    dnnl_primitive_desc_t fpd = NULL;
    dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_acdb);
    memset(d, 0, 3 * sizeof *d);
    if (l->k && strcmp(l->op, "conv") == 0) {
        const int64_t g = l->groups, co = c;
        const dnnl_dims_t wd = {co, c, k, k}, gd = {g, co / g, c / g, k, k};
        dnnl_memory_desc_init_by_tag(&dst, 4, sd, dnnl_f32, dnnl_acdb);
        dnnl_memory_desc_init_by_tag(&wany, g > 1 ? 5 : 4, g > 1 ? gd : wd, dnnl_f32, dnnl_format_tag_any);
        dnnl_convolution_desc_t f, b, w;
        dnnl_convolution_forward_desc_init(&f, dnnl_forward_training, dnnl_convolution_direct, &src, &wany,
                                           NULL, &dst, st, pad, pad);
        dnnl_convolution_backward_data_desc_init(&b, dnnl_convolution_direct, &src, &wany, &dst, st, pad,
                                                 pad);
        dnnl_convolution_backward_weights_desc_init(&w, dnnl_convolution_direct, &src, &wany, NULL, &dst, st,
                                                    pad, pad);
        if (direct_make(&d[0], eng, &f, NULL, &fpd) == 0) {
            direct_make(&d[1], eng, &b, fpd, NULL);
            direct_make(&d[2], eng, &w, fpd, NULL);
        }
    } else if (strstr(l->op, "pool")) {
        dnnl_pooling_desc_t f, b;
        dnnl_alg_kind_t alg = l->op[0] == 'm' ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding;
        dnnl_memory_desc_init_by_tag(&dst, 4, sd, dnnl_f32, dnnl_acdb);
        dnnl_pooling_forward_desc_init(&f, dnnl_forward_training, alg, &src, &dst, st, kd, pad, pad);
        dnnl_pooling_backward_desc_init(&b, alg, &src, &dst, st, kd, pad, pad);
        if (direct_make(&d[0], eng, &f, NULL, &fpd) == 0)
            direct_make(&d[1], eng, &b, fpd, NULL);
    } else if (strcmp(l->op, "batch_norm") == 0) {
        dnnl_batch_normalization_desc_t f, b;
        unsigned fl = dnnl_use_scale | dnnl_use_shift;
        dnnl_batch_normalization_forward_desc_init(&f, dnnl_forward_training, &src, 1e-5f, fl);
        dnnl_batch_normalization_backward_desc_init(&b, dnnl_backward, &src, &src, 1e-5f, fl);
        if (direct_make(&d[0], eng, &f, NULL, &fpd) == 0)
            direct_make(&d[1], eng, &b, fpd, NULL);
    } else if (strcmp(l->op, "relu") == 0) { /* factorized_reduce: no single primitive to compare with */
        dnnl_eltwise_desc_t f, b;
        dnnl_eltwise_forward_desc_init(&f, dnnl_forward_training, dnnl_eltwise_relu, &src, 0.0f, 0.0f);
        dnnl_eltwise_backward_desc_init(&b, dnnl_eltwise_relu, &src, &src, 0.0f, 0.0f);
        if (direct_make(&d[0], eng, &f, NULL, &fpd) == 0)
            direct_make(&d[1], eng, &b, fpd, NULL);
    }
    if (fpd)
        dnnl_primitive_desc_destroy(fpd);
}

static int ours_make(struct ours *o, struct enas_host *plug, const struct layer *l)
{
    struct enas_err err = {0};
    uint64_t seed = 1;
    memset(o, 0, sizeof *o);
    if (oh_create_in(plug, &o->op, l->op, l->attrs, &err) != ENAS_OK) {
        fprintf(stderr, "bench: %s: %s\n", l->name, err.msg);
        return -1;
    }
    o->x = oh_tensor(4, 128, l->hw, l->hw, l->c);
    const struct enas_tensor *ins[1] = {&o->x};
    struct enas_tensor ys;
    if (o->op.d->shape(o->op.state, ins, 1, &ys, &err) != ENAS_OK) { /* the output's shape: FR halves H, W */
        fprintf(stderr, "bench: %s: %s\n", l->name, err.msg);
        return -1;
    }
    o->y = oh_tensor(4, ys.dims[0], ys.dims[1], ys.dims[2], ys.dims[3]);
    o->dy = oh_tensor(4, ys.dims[0], ys.dims[1], ys.dims[2], ys.dims[3]);
    o->dx = oh_tensor(4, 128, l->hw, l->hw, l->c);
    oh_fill(&o->x, -1.0, 1.0, &seed);
    oh_fill(&o->dy, -1.0, 1.0, &seed);
    o->e.size = (size_t)1 << 30;
    o->e.arena = malloc(o->e.size);
    o->e.x.api = oh_host_api();
    o->e.x.host = plug;
    o->e.x.backend = oh_backend_ctx(plug);
    o->e.x.training = 1;
    o->e.x.threads = oh_threads(plug);
    o->e.x.arg = NAN;
    o->e.x.scratch = bx_alloc;
    o->e.x.rng_u64 = bx_rng;
    return o->e.arena ? 0 : -1;
}

static void ours_free(struct ours *o)
{
    oh_tensor_free(&o->x);
    oh_tensor_free(&o->y);
    oh_tensor_free(&o->dy);
    oh_tensor_free(&o->dx);
    free(o->e.arena);
    oh_destroy(&o->op);
}

/* ---- the table ---- */

static int n_layers(struct layer *ls)
{
    static const int64_t macro_c[3] = {36, 72, 144}, micro_c[3] = {20, 40, 80}, hws[3] = {32, 16, 8};
    int n = 0;
    for (int i = 0; i < 3; i++) {
        const int64_t c = macro_c[i], hw = hws[i];
        const int64_t ks[5] = {3, 5, 3, 5, 1}, gs[5] = {1, 1, c, c, 1};
        const char *const kinds[5] = {"conv3x3", "conv5x5", "dw3x3", "dw5x5", "conv1x1"};
        for (int j = 0; j < 5; j++) {
            struct layer *l = &ls[n++];
            l->op = "conv", l->c = c, l->hw = hw, l->k = ks[j], l->groups = gs[j];
            snprintf(l->attrs, sizeof l->attrs, "in_channels=%lld out_channels=%lld kernel=%lld groups=%lld",
                     (long long)c, (long long)c, (long long)ks[j], (long long)gs[j]);
            l->name = kinds[j];
        }
    }
    /* the factorized reductions at the two stride-2 points of each space (C -> C, H and W halved) */
    for (int i = 0; i < 4; i++) {
        const int64_t c = i < 2 ? macro_c[i] : micro_c[i - 2], hw = hws[i % 2];
        struct layer *l = &ls[n++];
        l->op = "factorized_reduce", l->name = "fact_red", l->c = c, l->hw = hw, l->k = 0, l->groups = 1;
        snprintf(l->attrs, sizeof l->attrs, "in_channels=%lld out_channels=%lld", (long long)c, (long long)c);
    }
    for (int i = 0; i < 3; i++) {
        const int64_t c = micro_c[i], hw = hws[i];
        const char *const ops[7] = {"conv", "conv", "conv", "max_pool", "avg_pool", "batch_norm", "relu"};
        const char *const names[7] = {"dw3x3", "dw5x5", "conv1x1", "maxpool3x3", "avgpool3x3", "bn", "relu"};
        const int64_t ks[7] = {3, 5, 1, 0, 0, 0, 0}, gs[7] = {c, c, 1, 1, 1, 1, 1};
        for (int j = 0; j < 7; j++) {
            struct layer *l = &ls[n++];
            l->op = ops[j], l->name = names[j], l->c = c, l->hw = hw, l->k = ks[j], l->groups = gs[j];
            if (ks[j])
                snprintf(l->attrs, sizeof l->attrs,
                         "in_channels=%lld out_channels=%lld kernel=%lld groups=%lld", (long long)c,
                         (long long)c, (long long)ks[j], (long long)gs[j]);
            else if (j == 5)
                snprintf(l->attrs, sizeof l->attrs, "channels=%lld", (long long)c);
            else
                l->attrs[0] = '\0';
            if (j >= 3 && j <= 4)
                l->k = 0; /* pools: kernel 3 stride 1 from the defaults */
        }
    }
    return n;
}

/* GFLOP/s of one thread running 12 independent FMA chains, best of 5 runs of 2e7 iterations. */
#define PEAK_CHAINS(type, set1, fma)                                                                         \
    type a0 = set1(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,   \
         a10 = a0, a11 = a0;                                                                                 \
    const type m = set1(0.999999f), c = set1(1e-7f);                                                         \
    for (long i = 0; i < iters; i++) {                                                                       \
        a0 = fma(a0, m, c), a1 = fma(a1, m, c), a2 = fma(a2, m, c), a3 = fma(a3, m, c);                      \
        a4 = fma(a4, m, c), a5 = fma(a5, m, c), a6 = fma(a6, m, c), a7 = fma(a7, m, c);                      \
        a8 = fma(a8, m, c), a9 = fma(a9, m, c), a10 = fma(a10, m, c), a11 = fma(a11, m, c);                  \
    }                                                                                                        \
    type t = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                                    \
    float out[16];                                                                                           \
    memcpy(out, &t, sizeof t);                                                                               \
    return out[0]

__attribute__((target("avx512f"))) static float chains512(long iters)
{
    PEAK_CHAINS(__m512, _mm512_set1_ps, _mm512_fmadd_ps);
}

__attribute__((target("avx2,fma"))) static float chains256(long iters)
{
    PEAK_CHAINS(__m256, _mm256_set1_ps, _mm256_fmadd_ps);
}

static double measured_peak(const char **isa)
{
    const int wide = __builtin_cpu_supports("avx512f");
    if (!wide && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        *isa = "no AVX2: assumed";
        return 100.0;
    }
    *isa = wide ? "AVX-512" : "AVX2";
    const long iters = 20000000;
    double best = 0.0;
    volatile float sink = 0.0f;
    for (int r = 0; r < 5; r++) {
        double t0 = now_ms();
        sink += wide ? chains512(iters) : chains256(iters);
        double dt = (now_ms() - t0) * 1e-3;
        double gf = (double)iters * 12.0 * (wide ? 16.0 : 8.0) * 2.0 / dt * 1e-9;
        best = gf > best ? gf : best;
    }
    (void)sink;
    return best;
}

static void row(const struct layer *l, const char *pass, double ours, double direct, double floor_ms,
                double flops, double peak)
{
    char gf[32] = "-", pk[32] = "-", ratio[32] = "-", dm[32] = "-", fl[32] = "-", speed[32] = "-";
    if (floor_ms > 0.0 && ours > 0.0)
        snprintf(fl, sizeof fl, "%.2f", ours / floor_ms);
    if (direct > 0.0 && ours > 0.0)
        snprintf(speed, sizeof speed, "%.1fx", direct / ours);
    if (flops > 0.0 && ours > 0.0) {
        snprintf(gf, sizeof gf, "%.1f", flops / ours * 1e-6);
        snprintf(pk, sizeof pk, "%.0f%%", 100.0 * flops / ours * 1e-6 / peak);
    }
    if (direct > 0.0 && ours > 0.0)
        snprintf(ratio, sizeof ratio, "%.2f", ours / direct);
    if (direct > 0.0)
        snprintf(dm, sizeof dm, "%.3f", direct);
    printf("| %-10s C%-3lld %2lldx%-2lld | %-8s | %8.3f | %8s | %6s | %6s | %8s | %7s | %8s |\n", l->name,
           (long long)l->c, (long long)l->hw, (long long)l->hw, pass, ours, dm, gf, pk, ratio, speed, fl);
}

static void bench_layer(const struct layer *l, struct enas_host *plug, dnnl_engine_t eng, dnnl_stream_t s,
                        double peak)
{
    struct ours o;
    struct direct d[3];
    static const char *const passes[3] = {"fwd", "bwd_data", "bwd_wei"};
    if (ours_make(&o, plug, l) != 0)
        return;
    direct_layer(l, eng, d);
    const int64_t per_group = l->groups ? l->c / l->groups : 0; /* input channels per group */
    const double flops =
        l->k ? 2.0 * 128 * (double)(l->hw * l->hw) * (double)l->c * (double)(l->k * l->k) * (double)per_group
             : 0.0;
    /* the memory floor of the passes without flops: pools, BN, ReLU (backward: dy and x, avg pool: dy) */
    struct floor_buf f = {o.x.data, o.dy.data, o.dx.data, 128 * l->hw * l->hw * l->c};
    const int fr = strcmp(l->op, "factorized_reduce") == 0; /* no floor: it moves a quarter of x */
    for (int p = 0; p < 3; p++) {
        if (p == BWD_WEI && !l->k && !fr) /* fact_red: "bwd" without its weights, then bwd_wei */
            break;
        if (p != FWD && ours_call(&o, FWD) != 0) /* backward needs this forward's saved data */
            break;
        const int n_read = l->k || fr ? 0 : p == FWD || strcmp(l->op, "avg_pool") == 0 ? 1 : 2;
        double t, td, tf;
        time_pass(&o, (enum pass)p, &d[p], s, &f, n_read, &t, &td, &tf);
        row(l, !l->k && p == BWD_DATA ? "bwd" : passes[p], t, td, tf, flops, peak);
    }
    for (int p = 0; p < 3; p++)
        direct_free(&d[p]);
    ours_free(&o);
}

int main(int argc, char **argv)
{
    int threads = 1;
    const char *filter = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_ops PATH/onednn.so [--threads N] [--reps N] [--filter SUBSTRING]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            g_reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--filter") == 0)
            filter = argv[i + 1];
    }
    threads = threads < 1 ? 1 : threads;
    g_reps = g_reps < 1 ? 1 : g_reps;
    struct enas_host *plug = oh_plugin_load(argv[1], threads); /* sets the OpenMP threads too */
    dnnl_engine_t eng;
    dnnl_stream_t s;
    if (!plug || dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&s, eng, dnnl_stream_default_flags) != dnnl_success)
        return 1;
    const char *isa = "";
    const double peak = measured_peak(&isa) * threads;
    printf("bench_ops: N=128, %d thread(s), median of %d reps, peak %.0f GFLOP/s (%s FMA chains); ms wall "
           "clock\n",
           threads, g_reps, peak, isa);
    printf("| layer               | pass     | ours ms  | oneDNN ms| GF/s   | %%peak  | ours/dir | speedup "
           "| ours/mem |\n");
    printf("|---------------------|----------|----------|----------|--------|--------|----------|---------"
           "|----------|\n");
    struct layer ls[64];
    const int n = n_layers(ls);
    for (int i = 0; i < n; i++) {
        char full[96];
        snprintf(full, sizeof full, "%s C%lld %lldx%lld", ls[i].name, (long long)ls[i].c, (long long)ls[i].hw,
                 (long long)ls[i].hw);
        if (!filter || strstr(full, filter))
            bench_layer(&ls[i], plug, eng, s, peak);
    }
    dnnl_stream_destroy(s);
    dnnl_engine_destroy(eng);
    oh_plugin_unload(plug);
    return 0;
}
