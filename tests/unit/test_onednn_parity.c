/* test_onednn_parity.c - the onednn provider against the ref provider (arguments: ref.so onednn.so), both
 * loaded side by side through ophelp's fake hosts (onednn with 2 threads). For every op on several shapes
 * (batch 1, odd H/W, stride 2, groups/depthwise, C = 20/36, both paddings, kernels 1/2/3/5) with the same
 * parameter values in both instances: outputs, input gradients, parameter gradients and BN running
 * statistics agree within REL, measured as max|onednn - ref| / (max|ref| + 1e-6) per tensor. Also: a second
 * batch size (new primitives) and the first again (cached ones), backward accumulating into grad, the
 * descriptors' attribute tables, and finite-difference gradient checks of the onednn ops. */
#include "ophelp.h"

#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL    1e-4 /* parity bound: max-abs error over max-abs of the ref tensor */
#define GC_EPS 1e-2 /* finite-difference step */
#define GC_TOL 5e-3 /* onednn sums in fp32, so its differences are noisier than ref's */

static struct enas_host *ref, *odn;
static int n_compared; /* tensors compared, printed at the end so that a silent skip shows */

/* max|a - b| / (max|b| + 1e-6), equal infinities counting as equal and NaN as a failure; prints and counts a
 * failure above REL. */
static void near(const float *a, const float *b, int64_t n, const char *what, const char *label)
{
    double err = 0.0, mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = a[i] == b[i] ? 0.0 : fabs((double)a[i] - (double)b[i]);
        err = d > err || isnan(d) ? d : err;
        mag = isfinite(b[i]) && fabs((double)b[i]) > mag ? fabs((double)b[i]) : mag;
    }
    double rel = err / (mag + 1e-6);
    n_compared++;
    CHECK_MSG(rel <= REL, "%s: %s: relative error %.3g (max abs %.3g)", label, what, rel, mag);
}

struct pair {
    struct oh_op r, o;
};

/* Both instances with the ref's parameter values copied into onednn's; random non-trivial BN values. */
static int pair_create(struct pair *p, const char *name, const char *attrs, uint64_t *seed)
{
    struct enas_err err = {0};
    if (oh_create_in(ref, &p->r, name, attrs, &err) != ENAS_OK ||
        oh_create_in(odn, &p->o, name, attrs, &err) != ENAS_OK) {
        CHECK_MSG(0, "%s(%s): %s", name, attrs, err.msg);
        return -1;
    }
    CHECK(p->r.n_p == p->o.n_p);
    for (size_t k = 0; k < p->r.n_p && k < p->o.n_p; k++) {
        struct enas_param *a = p->r.p[k], *b = p->o.p[k];
        CHECK(strcmp(a->name, b->name) == 0 && enas_tensor_same_shape(&a->value, &b->value));
        if (!a->grad || strstr(a->name, "gamma") || strstr(a->name, "beta") || strstr(a->name, ".b"))
            oh_fill(&a->value, 0.5, 1.5, seed); /* BN stats > 0 (a valid variance), gamma, beta, bias */
        memcpy(b->value.data, a->value.data, (size_t)enas_tensor_numel(&a->value) * sizeof(float));
    }
    return 0;
}

static void pair_destroy(struct pair *p)
{
    oh_destroy(&p->r);
    oh_destroy(&p->o);
}

/* One forward + backward of both on inputs in[0..n_in); compares everything. */
static void run_both(struct pair *p, const struct oh_run *mode, struct enas_tensor *in, size_t n_in,
                     const char *label, uint64_t *seed)
{
    struct oh_run rr = *mode, ro = *mode;
    struct enas_err err = {0};
    struct enas_tensor yr, yo, din_r[4], din_o[4], *dr[4], *dd[4];
    const struct enas_tensor *ins[4];
    for (size_t i = 0; i < n_in; i++)
        ins[i] = &in[i];
    if (oh_forward(&p->r, &rr, ins, n_in, &yr, &err) != ENAS_OK ||
        oh_forward(&p->o, &ro, ins, n_in, &yo, &err) != ENAS_OK) {
        CHECK_MSG(0, "%s: forward: %s", label, err.msg);
        return;
    }
    near(yo.data, yr.data, enas_tensor_numel(&yr), "output", label);
    struct enas_tensor dy = oh_tensor(yr.ndim, yr.dims[0], yr.dims[1], yr.dims[2], yr.dims[3]);
    oh_fill(&dy, -1.0, 1.0, seed);
    for (size_t i = 0; i < n_in; i++) {
        din_r[i] = oh_tensor(in[i].ndim, in[i].dims[0], in[i].dims[1], in[i].dims[2], in[i].dims[3]);
        din_o[i] = oh_tensor(in[i].ndim, in[i].dims[0], in[i].dims[1], in[i].dims[2], in[i].dims[3]);
        oh_fill(&din_o[i], 1e30, 1e30, seed); /* garbage that backward must overwrite */
        dr[i] = &din_r[i], dd[i] = &din_o[i];
    }
    for (size_t k = 0; k < p->r.n_p; k++)
        for (int64_t j = 0; p->r.p[k]->grad && j < enas_tensor_numel(&p->r.p[k]->value); j++)
            p->r.p[k]->grad[j] = p->o.p[k]->grad[j] = 0.25f;
    if (oh_backward(&p->r, &rr, ins, n_in, &yr, &dy, dr, &err) != ENAS_OK ||
        oh_backward(&p->o, &ro, ins, n_in, &yo, &dy, dd, &err) != ENAS_OK) {
        CHECK_MSG(0, "%s: backward: %s", label, err.msg);
    } else {
        for (size_t i = 0; i < n_in; i++)
            near(din_o[i].data, din_r[i].data, enas_tensor_numel(&in[i]), "input gradient", label);
        for (size_t k = 0; k < p->r.n_p; k++) {
            const struct enas_param *a = p->r.p[k], *b = p->o.p[k];
            const int64_t n = enas_tensor_numel(&a->value);
            near(b->grad ? b->grad : b->value.data, a->grad ? a->grad : a->value.data, n, a->name, label);
        }
    }
    for (size_t i = 0; i < n_in; i++) {
        oh_tensor_free(&din_r[i]);
        oh_tensor_free(&din_o[i]);
    }
    oh_tensor_free(&dy);
    oh_tensor_free(&yr);
    oh_tensor_free(&yo);
    oh_run_fini(&rr);
    oh_run_fini(&ro);
}

/* FILL_TIES: a ReLU's output in steps of 0.5, so that max-pool windows hold equal maxima (many zeros);
 * FILL_NONFINITE: uniform with every 5th element NaN and, in the first image, the even channels of the first
 * four rows -inf (whole windows of -inf and NaN, whose gradient goes to their first cell inside the image) */
enum fill_kind { FILL_UNIFORM, FILL_DISTINCT, FILL_TIES, FILL_NONFINITE };

static struct enas_tensor input(const struct enas_tensor *shape, int64_t n, enum fill_kind fill,
                                uint64_t *seed)
{
    struct enas_tensor t = oh_tensor(shape->ndim, n, shape->dims[1], shape->dims[2], shape->dims[3]);
    if (fill == FILL_DISTINCT)
        oh_fill_distinct(&t, -0.05 * (double)enas_tensor_numel(&t) + 0.0125, 0.1, seed);
    else
        oh_fill(&t, -1.0, 1.0, seed);
    for (int64_t i = 0; fill == FILL_TIES && i < enas_tensor_numel(&t); i++)
        t.data[i] = t.data[i] > 0.0f ? floorf(t.data[i] * 4.0f) * 0.5f : 0.0f;
    const int64_t c = t.dims[3], rows = t.dims[2] * c * (t.dims[1] < 4 ? t.dims[1] : 4);
    for (int64_t i = 0; fill == FILL_NONFINITE && i < enas_tensor_numel(&t); i++)
        t.data[i] = i % 5 == 0 ? NAN : i < rows && (i % c) % 2 == 0 ? -INFINITY : t.data[i];
    return t;
}

/* Parity of a one-input op on shape, then on batch n+2 (new primitives) and n again (cached). */
static void parity(const char *name, const char *attrs, const struct oh_run *mode, enum fill_kind fill,
                   struct enas_tensor shape)
{
    struct pair p;
    uint64_t seed = 4321 + (uint64_t)shape.dims[1] * 7 + (uint64_t)shape.dims[3];
    char label[256];
    if (pair_create(&p, name, attrs, &seed) != 0) {
        pair_destroy(&p);
        return;
    }
    const int64_t batches[3] = {shape.dims[0], shape.dims[0] + 2, shape.dims[0]};
    for (int b = 0; b < 3; b++) {
        struct enas_tensor x = input(&shape, batches[b], fill, &seed);
        snprintf(label, sizeof label, "%s(%s) on %lldx%lldx%lldx%lld%s", name, attrs, (long long)batches[b],
                 (long long)shape.dims[1], (long long)shape.dims[2], (long long)shape.dims[3],
                 mode->training ? " training" : "");
        run_both(&p, mode, &x, 1, label, &seed);
        oh_tensor_free(&x);
    }
    pair_destroy(&p);
}

static struct enas_tensor shp(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    return t;
}

static const struct oh_run TRAIN = {.training = 1, .arg = NAN, .seed = 5};

/* The hand depthwise forward and backward-data (AVX-512: onednn_dwf_avx512.c; elsewhere these run on oneDNN),
 * with and without relu_input (inputs in [-1, 1]: a dropped ReLU or dx mask fails): k 3/5/7, stride 1 and 2,
 * padding 0 and below SAME, channel tails packed over images (C = 4, 20, 36, 40) or not (9-15), batch 1 and
 * odd, H != W, images smaller than the kernel, rows of 16/8/4/2/1 output columns (W = 37, 40). */
static void test_dw_hand(void)
{
    static const struct {
        const char *op;
        int64_t c, cout, k, stride, pad, relu, n, h, w;
    } cs[] = {
        {"conv", 20, 20, 3, 1, -1, 1, 1, 6, 9},
        {"conv", 36, 36, 5, 2, -1, 1, 3, 9, 7},
        {"conv", 4, 4, 7, 1, -1, 1, 2, 5, 4},
        {"conv", 13, 13, 3, 2, 0, 1, 1, 7, 8},
        {"conv", 9, 9, 5, 1, 0, 0, 3, 6, 7},
        {"conv", 15, 15, 7, 2, -1, 1, 1, 3, 2},
        {"conv", 11, 11, 5, 1, 1, 1, 2, 4, 9},
        {"conv", 20, 20, 7, 1, -1, 0, 1, 10, 3},
        {"conv", 36, 36, 3, 1, -1, 1, 5, 4, 4},
        {"conv", 40, 40, 3, 2, 0, 1, 3, 8, 9},
        {"conv", 20, 20, 3, 1, -1, 1, 1, 5, 37},
        {"conv", 12, 12, 5, 2, -1, 1, 2, 4, 40},
        {"conv", 10, 10, 7, 2, 2, 0, 1, 9, 10},
        {"conv", 14, 14, 3, 1, -1, 0, 1, 2, 1},
        {"sep_conv", 20, 36, 3, 1, -1, 1, 3, 7, 5},
        {"sep_conv", 36, 20, 5, 2, -1, 1, 1, 6, 8},
        {"sep_conv", 12, 8, 7, 1, -1, 1, 2, 9, 11},
        {"sep_conv", 4, 6, 5, 1, 0, 1, 3, 5, 6},
        {"sep_conv", 20, 20, 3, 2, 0, 1, 1, 5, 5},
        {"sep_conv", 9, 9, 7, 2, -1, 0, 3, 4, 3},
        /* the weight gradient's k = 7 two-pass split at stride 2 with a packed tail over several images,
         * padding other than SAME, stride 3 (no hand forward: oneDNN's, and the C weight gradient) */
        {"conv", 20, 20, 7, 2, -1, 0, 3, 11, 9},
        {"conv", 36, 36, 5, 1, 1, 0, 2, 8, 7},
        {"conv", 12, 12, 5, 3, -1, 0, 2, 10, 11},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        char attrs[160];
        int len = snprintf(
            attrs, sizeof attrs, "in_channels=%lld out_channels=%lld kernel=%lld stride=%lld padding=%lld%s",
            (long long)cs[i].c, (long long)cs[i].cout, (long long)cs[i].k, (long long)cs[i].stride,
            (long long)cs[i].pad, cs[i].relu ? " relu_input=true" : "");
        if (strcmp(cs[i].op, "conv") == 0)
            snprintf(attrs + len, sizeof attrs - (size_t)len, " groups=%lld", (long long)cs[i].c);
        parity(cs[i].op, attrs, &TRAIN, FILL_UNIFORM, shp(4, cs[i].n, cs[i].h, cs[i].w, cs[i].c));
    }
    /* a bias on a depthwise conv whose weight gradient is the hand kernel's: its gradient too (this once
     * went missing with oneDNN's weights pass) */
    parity("conv", "in_channels=20 out_channels=20 kernel=5 groups=20 bias=true", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 6, 7, 20));
    parity("conv", "in_channels=9 out_channels=9 kernel=3 groups=9 bias=true relu_input=true", &TRAIN,
           FILL_UNIFORM, shp(4, 3, 5, 4, 9));
}

/* factorized_reduce's backward with one of its outputs not wanted: no dx (din[0] NULL), then no weight
 * gradients (grads hidden, as for frozen weights: they stay as they were), then neither; what is computed
 * agrees with ref. */
static void fr_partial(const char *attrs, struct enas_tensor shape)
{
    struct pair p;
    uint64_t seed = 99;
    char label[192];
    struct enas_err err = {0};
    if (pair_create(&p, "factorized_reduce", attrs, &seed) != 0) {
        pair_destroy(&p);
        return;
    }
    struct oh_run rr = TRAIN, ro = TRAIN;
    struct enas_tensor x = input(&shape, shape.dims[0], FILL_UNIFORM, &seed), yr, yo;
    const struct enas_tensor *ins[1] = {&x};
    if (oh_forward(&p.r, &rr, ins, 1, &yr, &err) != ENAS_OK ||
        oh_forward(&p.o, &ro, ins, 1, &yo, &err) != ENAS_OK) {
        CHECK_MSG(0, "factorized_reduce(%s): forward: %s", attrs, err.msg);
        oh_tensor_free(&x);
        pair_destroy(&p);
        return;
    }
    struct enas_tensor dy = oh_tensor(4, yr.dims[0], yr.dims[1], yr.dims[2], yr.dims[3]);
    struct enas_tensor dxr = oh_tensor(4, x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
    struct enas_tensor dxo = oh_tensor(4, x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
    oh_fill(&dy, -1.0, 1.0, &seed);
    for (int mode = 0; mode < 3; mode++) { /* 0: no dx; 1: no weight gradients; 2: neither */
        struct enas_tensor *dr[1] = {mode == 1 ? &dxr : NULL}, *dd[1] = {mode == 1 ? &dxo : NULL};
        float *grads[2][2];
        oh_fill(&dxo, 1e30, 1e30, &seed);
        for (size_t k = 0; k < 2; k++) {
            for (int64_t j = 0; j < enas_tensor_numel(&p.r.p[k]->value); j++)
                p.r.p[k]->grad[j] = p.o.p[k]->grad[j] = -0.5f;
            grads[k][0] = p.r.p[k]->grad, grads[k][1] = p.o.p[k]->grad;
            if (mode > 0)
                p.r.p[k]->grad = p.o.p[k]->grad = NULL;
        }
        snprintf(label, sizeof label, "factorized_reduce(%s) %s", attrs,
                 mode == 0   ? "without dx"
                 : mode == 1 ? "without weight gradients"
                             : "with nothing wanted");
        const int ok = oh_backward(&p.r, &rr, ins, 1, &yr, &dy, dr, &err) == ENAS_OK &&
                       oh_backward(&p.o, &ro, ins, 1, &yo, &dy, dd, &err) == ENAS_OK;
        CHECK_MSG(ok, "%s: backward: %s", label, err.msg);
        for (size_t k = 0; k < 2; k++)
            p.r.p[k]->grad = grads[k][0], p.o.p[k]->grad = grads[k][1];
        if (ok && mode == 1)
            near(dxo.data, dxr.data, enas_tensor_numel(&x), "input gradient", label);
        for (size_t k = 0; ok && mode == 0 && k < 2; k++)
            near(p.o.p[k]->grad, p.r.p[k]->grad, enas_tensor_numel(&p.r.p[k]->value), p.r.p[k]->name, label);
        for (size_t k = 0; ok && mode > 0 && k < 2; k++) { /* untouched */
            const float *gr = p.o.p[k]->grad;
            const int64_t last = enas_tensor_numel(&p.o.p[k]->value) - 1;
            CHECK_MSG(gr[0] == -0.5f && gr[last] == -0.5f, "%s: %s changed", label, p.o.p[k]->name);
        }
    }
    oh_tensor_free(&dxr);
    oh_tensor_free(&dxo);
    oh_tensor_free(&dy);
    oh_tensor_free(&yr);
    oh_tensor_free(&yo);
    oh_tensor_free(&x);
    oh_run_fini(&rr);
    oh_run_fini(&ro);
    pair_destroy(&p);
}

/* factorized_reduce (AVX-512: onednn_fr_avx512.c; elsewhere oneDNN's 1x1 convolutions): channel counts that
 * are multiples of 16 and not, halves of 1 to 72 channels (over 64: two blocks of vectors), even and odd H
 * and W, one-pixel-wide and one-row images (path 2 all zero), batch 1 to 5; dx starts as garbage and the
 * weight gradients at 0.25 (run_both), so that a pixel left unwritten or a gradient overwritten fails.
 * 46x46: images of over 512 output pixels, whose weight-gradient sums are flushed image by image. The last
 * case is big enough for two threads (x over 64k elements), its 36 output rows split in the middle of an
 * image. */
static void test_fr_hand(void)
{
    static const struct {
        int64_t cin, cout, n, h, w;
    } cs[] = {
        {20, 40, 2, 5, 7}, {3, 4, 1, 6, 6},     {36, 36, 2, 8, 8}, {36, 36, 3, 7, 9},  {16, 32, 2, 6, 5},
        {20, 40, 2, 5, 8}, {3, 4, 3, 5, 7},     {32, 16, 1, 4, 4}, {72, 144, 2, 4, 6}, {64, 128, 1, 3, 3},
        {5, 2, 2, 3, 4},   {40, 80, 1, 1, 12},  {12, 24, 2, 9, 1}, {17, 34, 1, 2, 2},  {36, 36, 1, 34, 3},
        {4, 8, 2, 46, 46}, {44, 44, 3, 23, 22},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        char attrs[96];
        snprintf(attrs, sizeof attrs, "in_channels=%lld out_channels=%lld", (long long)cs[i].cin,
                 (long long)cs[i].cout);
        const struct enas_tensor x = shp(4, cs[i].n, cs[i].h, cs[i].w, cs[i].cin);
        parity("factorized_reduce", attrs, &TRAIN, FILL_UNIFORM, x);
    }
    fr_partial("in_channels=20 out_channels=40", shp(4, 2, 7, 5, 20));
    fr_partial("in_channels=44 out_channels=44", shp(4, 3, 23, 22, 44)); /* two threads */
}

static void test_conv(void)
{
    parity("conv", "in_channels=20 out_channels=20 kernel=3", &TRAIN, FILL_UNIFORM, shp(4, 2, 5, 7, 20));
    parity("conv", "in_channels=36 out_channels=36 kernel=5", &TRAIN, FILL_UNIFORM, shp(4, 1, 8, 8, 36));
    parity("conv", "in_channels=3 out_channels=4 kernel=3 stride=2", &TRAIN, FILL_UNIFORM,
           shp(4, 1, 5, 7, 3));
    parity("conv", "in_channels=4 out_channels=6 kernel=3 stride=2 padding=0 groups=2 bias=true", &TRAIN,
           FILL_UNIFORM, shp(4, 2, 7, 5, 4));
    parity("conv", "in_channels=20 out_channels=20 kernel=5 groups=20", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 7, 9, 20));
    parity("conv", "in_channels=36 out_channels=36 kernel=3 stride=2 groups=36", &TRAIN, FILL_UNIFORM,
           shp(4, 1, 9, 6, 36));
    parity("conv", "in_channels=20 out_channels=40 kernel=1 bias=true", &TRAIN, FILL_UNIFORM,
           shp(4, 3, 4, 4, 20));
    parity("conv", "in_channels=5 out_channels=3 kernel=2", &TRAIN, FILL_UNIFORM, shp(4, 2, 4, 5, 5));
    /* strided 1x1 (run on gathered samples: oneDNN 2.6's own path is wrong below a vector of input channels,
     * onednn_prim.c): few and many channels, even and odd sizes, padding, stride 3, a bias */
    parity("conv", "in_channels=4 out_channels=4 kernel=1 stride=2 padding=0", &TRAIN, FILL_UNIFORM,
           shp(4, 4, 46, 46, 4));
    parity("conv", "in_channels=3 out_channels=5 kernel=1 stride=2 padding=0", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 9, 7, 3));
    parity("conv", "in_channels=7 out_channels=7 kernel=1 stride=2 padding=0 bias=true", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 32, 32, 7));
    parity("conv", "in_channels=36 out_channels=36 kernel=1 stride=2 padding=0", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 16, 16, 36));
    parity("conv", "in_channels=5 out_channels=6 kernel=1 stride=2 padding=1", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 8, 7, 5));
    parity("conv", "in_channels=6 out_channels=4 kernel=1 stride=3 padding=0", &TRAIN, FILL_UNIFORM,
           shp(4, 3, 10, 11, 6));
    parity("conv", "in_channels=3 out_channels=2 kernel=5 padding=1", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 6, 7, 3));
    parity("sep_conv", "in_channels=20 out_channels=20 kernel=3", &TRAIN, FILL_UNIFORM, shp(4, 2, 5, 7, 20));
    parity("sep_conv", "in_channels=36 out_channels=40 kernel=5 stride=2", &TRAIN, FILL_UNIFORM,
           shp(4, 1, 7, 5, 36));
    parity("sep_conv", "in_channels=20 out_channels=36 kernel=5 padding=0", &TRAIN, FILL_UNIFORM,
           shp(4, 2, 8, 7, 20));
    parity("sep_conv", "in_channels=2 out_channels=3 kernel=7", &TRAIN, FILL_UNIFORM, shp(4, 1, 9, 8, 2));
    parity("sep_conv", "in_channels=4 out_channels=4 kernel=3", &TRAIN, FILL_UNIFORM, shp(4, 4, 32, 32, 4));
    parity("sep_conv", "in_channels=4 out_channels=4 kernel=5", &TRAIN, FILL_UNIFORM, shp(4, 4, 32, 32, 4));
    parity("sep_conv", "in_channels=16 out_channels=16 kernel=3", &TRAIN, FILL_UNIFORM, shp(4, 8, 8, 8, 16));
    parity("sep_conv", "in_channels=8 out_channels=8 kernel=5 stride=2", &TRAIN, FILL_UNIFORM,
           shp(4, 8, 32, 32, 8));
    /* the hand-written depthwise weight gradient (k >= 5): an unpacked tail of 9-15 channels and an image
     * smaller than the kernel (k = 7 at stride 2, padding other than SAME and stride 3: test_dw_hand) */
    parity("sep_conv", "in_channels=25 out_channels=8 kernel=5", &TRAIN, FILL_UNIFORM, shp(4, 3, 6, 9, 25));
    parity("sep_conv", "in_channels=30 out_channels=30 kernel=5", &TRAIN, FILL_UNIFORM, shp(4, 2, 3, 3, 30));
    test_dw_hand();
    test_fr_hand();
    parity("linear", "in_features=36 out_features=10 bias=true", &TRAIN, FILL_UNIFORM, shp(2, 5, 36, 1, 1));
    parity("linear", "in_features=7 out_features=5", &TRAIN, FILL_UNIFORM, shp(2, 1, 7, 1, 1));
}

static void test_bn_pool(void)
{
    const struct oh_run infer = {.arg = NAN, .seed = 5};
    parity("batch_norm", "channels=20", &TRAIN, FILL_UNIFORM, shp(4, 4, 5, 7, 20));
    parity("batch_norm", "channels=36 affine=false momentum=0.3", &TRAIN, FILL_UNIFORM, shp(4, 1, 5, 3, 36));
    parity("batch_norm", "channels=4", &TRAIN, FILL_UNIFORM, shp(2, 6, 4, 1, 1));
    parity("batch_norm", "channels=20", &infer, FILL_UNIFORM, shp(4, 2, 3, 5, 20));
    const char *const pools[] = {"max_pool", "avg_pool"};
    const char *const attrs[] = {"", "kernel=3 stride=2", "kernel=3 stride=2 padding=0", "kernel=2 stride=2",
                                 "kernel=5 stride=3 padding=2"};
    const int64_t chans[] = {20, 36, 3, 13, 1};
    for (int i = 0; i < 2; i++)
        for (int a = 0; a < 5; a++)
            parity(pools[i], attrs[a], &TRAIN, i == 0 ? FILL_DISTINCT : FILL_UNIFORM,
                   shp(4, 1 + a % 2, 5 + a, 7, chans[a]));
    /* 3x3 at stride 1 (separable kernels): one-pixel-wide and one-row images, C not a multiple of 8 */
    const struct enas_tensor edge[] = {shp(4, 2, 1, 7, 3), shp(4, 1, 6, 1, 5), shp(4, 2, 2, 2, 9),
                                       shp(4, 1, 9, 8, 36)};
    for (int i = 0; i < 2; i++)
        for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
            parity(pools[i], "", &TRAIN, i == 0 ? FILL_DISTINCT : FILL_UNIFORM, edge[e]);
    /* windows of -inf and NaN (outputs -inf), NaN beside finite values: on every max-pool path */
    parity("max_pool", "", &TRAIN, FILL_NONFINITE, shp(4, 2, 7, 9, 20));
    parity("max_pool", "", &TRAIN, FILL_NONFINITE, shp(4, 1, 5, 1, 6));
    parity("max_pool", "kernel=3 stride=2", &TRAIN, FILL_NONFINITE, shp(4, 2, 7, 6, 3));
    /* ties: the gradient goes to the first maximum in window order, on both paths */
    parity("max_pool", "", &TRAIN, FILL_TIES, shp(4, 2, 8, 8, 20));
    parity("max_pool", "kernel=3 stride=2", &TRAIN, FILL_TIES, shp(4, 2, 8, 7, 20));
    parity("global_avg_pool", "", &TRAIN, FILL_UNIFORM, shp(4, 2, 3, 5, 20));
}

static void test_misc(void)
{
    const struct oh_run path = {.training = 1, .arg = 0.5, .seed = 5};
    parity("relu", "", &TRAIN, FILL_DISTINCT, shp(4, 2, 3, 4, 20));
    parity("relu", "", &TRAIN, FILL_DISTINCT, shp(2, 3, 7, 1, 1));
    parity("identity", "", &TRAIN, FILL_UNIFORM, shp(4, 1, 3, 3, 2));
    parity("dropout", "keep_prob=0.6", &TRAIN, FILL_UNIFORM, shp(4, 2, 3, 5, 20));
    parity("drop_path", "", &path, FILL_UNIFORM, shp(4, 8, 2, 3, 2));
    uint64_t seed = 77;
    struct pair p;
    struct enas_tensor s[3], c[3];
    for (int i = 0; i < 3; i++) {
        s[i] = oh_tensor(4, 2, 3, 5, 20);
        c[i] = oh_tensor(4, 2, 3, 4, 1 + (i * 2) % 3 + 8 * i);
        oh_fill(&s[i], -1.0, 1.0, &seed);
        oh_fill(&c[i], -1.0, 1.0, &seed);
    }
    if (pair_create(&p, "sum", "", &seed) == 0)
        run_both(&p, &TRAIN, s, 3, "sum of 3", &seed);
    pair_destroy(&p);
    if (pair_create(&p, "concat", "", &seed) == 0)
        run_both(&p, &TRAIN, c, 3, "concat of 3", &seed);
    pair_destroy(&p);
    for (int i = 0; i < 3; i++) {
        oh_tensor_free(&s[i]);
        oh_tensor_free(&c[i]);
    }
}

/* ENAS's stacked separable block, relu-sep-bn-relu-sep-bn, run as a chain on both providers (training):
 * fp32 rounding compounds through batch norm, so this checks at 1e-3 what the single ops check at REL. */
static void test_chain(int64_t n, int64_t hw, int64_t c, int64_t k)
{
    static const char *const names[6] = {"relu", "sep_conv", "batch_norm", "relu", "sep_conv", "batch_norm"};
    char attrs[6][96], label[96];
    struct pair p[6];
    struct oh_run rr[6], ro[6];
    struct enas_tensor yr[7], yo[7], dr[7], dd[7];
    struct enas_err err = {0};
    uint64_t seed = 31;
    int ok = 1;
    snprintf(label, sizeof label, "chain N=%lld %lldx%lld C=%lld k=%lld", (long long)n, (long long)hw,
             (long long)hw, (long long)c, (long long)k);
    for (int i = 0; i < 6; i++) {
        if (i % 3 == 1)
            snprintf(attrs[i], sizeof attrs[i], "in_channels=%lld out_channels=%lld kernel=%lld",
                     (long long)c, (long long)c, (long long)k);
        else if (i % 3 == 2)
            snprintf(attrs[i], sizeof attrs[i], "channels=%lld", (long long)c);
        else
            attrs[i][0] = '\0';
        ok &= pair_create(&p[i], names[i], attrs[i], &seed) == 0;
        rr[i] = ro[i] = TRAIN;
    }
    yr[0] = oh_tensor(4, n, hw, hw, c);
    oh_fill(&yr[0], -1.0, 1.0, &seed);
    yo[0] = yr[0];
    for (int i = 0; ok && i < 6; i++) {
        const struct enas_tensor *a[1] = {&yr[i]}, *b[1] = {&yo[i]};
        ok &= oh_forward(&p[i].r, &rr[i], a, 1, &yr[i + 1], &err) == ENAS_OK &&
              oh_forward(&p[i].o, &ro[i], b, 1, &yo[i + 1], &err) == ENAS_OK;
    }
    if (ok) {
        dr[6] = oh_tensor(4, n, hw, hw, c);
        oh_fill(&dr[6], -1.0, 1.0, &seed);
        dd[6] = dr[6];
    }
    for (int i = 5; ok && i >= 0; i--) {
        const struct enas_tensor *a[1] = {&yr[i]}, *b[1] = {&yo[i]};
        dr[i] = oh_tensor(4, n, hw, hw, c), dd[i] = oh_tensor(4, n, hw, hw, c);
        struct enas_tensor *da[1] = {&dr[i]}, *db[1] = {&dd[i]};
        ok &= oh_backward(&p[i].r, &rr[i], a, 1, &yr[i + 1], &dr[i + 1], da, &err) == ENAS_OK &&
              oh_backward(&p[i].o, &ro[i], b, 1, &yo[i + 1], &dd[i + 1], db, &err) == ENAS_OK;
    }
    CHECK_MSG(ok, "%s: %s", label, err.msg);
    for (int i = 0; ok && i < 6; i++)
        for (size_t q = 0; q < p[i].r.n_p; q++) {
            const struct enas_param *a = p[i].r.p[q], *b = p[i].o.p[q];
            double e = 0.0, m = 0.0;
            for (int64_t j = 0; a->grad && j < enas_tensor_numel(&a->value); j++) {
                e = fmax(e, fabs((double)a->grad[j] - (double)b->grad[j]));
                m = fmax(m, fabs((double)a->grad[j]));
            }
            CHECK_MSG(e <= 1e-3 * m + 1e-7, "%s: layer %d %s: relative error %.3g", label, i, a->name, e / m);
        }
    CHECK_MSG(!ok ||
                  (double)fabsf(dd[0].data[0] - dr[0].data[0]) <= 1e-3 * (1.0 + (double)fabsf(dr[0].data[0])),
              "%s: input gradient", label);
    for (int i = 0; i < 7; i++) {
        if (ok && i > 0) {
            oh_tensor_free(&yr[i]);
            oh_tensor_free(&yo[i]);
        }
        if (ok && i < 6)
            oh_tensor_free(&dd[i]);
        if (ok)
            oh_tensor_free(&dr[i]);
    }
    oh_tensor_free(&yr[0]);
    for (int i = 0; i < 6; i++) {
        oh_run_fini(&rr[i]);
        oh_run_fini(&ro[i]);
        pair_destroy(&p[i]);
    }
}

/* Two backward calls add twice: grad - 0.25 doubles (within fp32 rounding). */
static void test_accumulates(void)
{
    struct oh_op op;
    struct enas_err err = {0};
    uint64_t seed = 9;
    CHECK(oh_create_in(odn, &op, "sep_conv", "in_channels=20 out_channels=36 kernel=5", &err) == ENAS_OK);
    struct enas_tensor x = oh_tensor(4, 2, 6, 5, 20), dy = oh_tensor(4, 2, 6, 5, 36), out,
                       dx = oh_tensor(4, 2, 6, 5, 20);
    const struct enas_tensor *ins[1] = {&x};
    struct enas_tensor *din[1] = {&dx};
    struct oh_run r = TRAIN;
    oh_fill(&x, -1.0, 1.0, &seed);
    oh_fill(&dy, -1.0, 1.0, &seed);
    CHECK(oh_forward(&op, &r, ins, 1, &out, &err) == ENAS_OK);
    for (size_t k = 0; k < op.n_p; k++)
        memset(op.p[k]->grad, 0, (size_t)enas_tensor_numel(&op.p[k]->value) * sizeof(float));
    CHECK(oh_backward(&op, &r, ins, 1, &out, &dy, din, &err) == ENAS_OK);
    float *once[2];
    for (size_t k = 0; k < 2; k++) {
        once[k] = malloc((size_t)enas_tensor_numel(&op.p[k]->value) * sizeof(float));
        memcpy(once[k], op.p[k]->grad, (size_t)enas_tensor_numel(&op.p[k]->value) * sizeof(float));
        for (int64_t j = 0; j < enas_tensor_numel(&op.p[k]->value); j++)
            once[k][j] *= 2.0f;
    }
    CHECK(oh_backward(&op, &r, ins, 1, &out, &dy, din, &err) == ENAS_OK);
    for (size_t k = 0; k < 2; k++) {
        near(op.p[k]->grad, once[k], enas_tensor_numel(&op.p[k]->value), "grad after two backwards",
             op.p[k]->name);
        free(once[k]);
    }
    oh_tensor_free(&x);
    oh_tensor_free(&dy);
    oh_tensor_free(&dx);
    oh_tensor_free(&out);
    oh_run_fini(&r);
    oh_destroy(&op);
}

/* Same names, attributes (keys, types, defaults, ranges), input counts and bwd_flags as ref (the same flags:
 * a space's released tensors are then the same on both, and test_space_micro compares the rest). */
static void test_registration(void)
{
    const struct enas_backend_desc *b = oh_plugin_backend(odn);
    CHECK(b && strcmp(b->name, "onednn") == 0 && b->init && b->fini);
    CHECK(b && strcmp(b->description, "oneDNN 2.6 primitives on NHWC fp32, with hand-written kernels where "
                                      "oneDNN is slow") == 0);
    const char *const names[] = {"conv",      "sep_conv", "batch_norm",        "relu",
                                 "max_pool",  "avg_pool", "global_avg_pool",   "linear",
                                 "sum",       "concat",   "factorized_reduce", "dropout",
                                 "drop_path", "identity"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct enas_op_desc *o = oh_plugin_find(odn, names[i]), *r = oh_plugin_find(ref, names[i]);
        CHECK_MSG(o && r, "op %s", names[i]);
        if (!o || !r)
            continue;
        CHECK(strcmp(o->provider, "onednn") == 0 && o->backward && o->n_attrs == r->n_attrs);
        CHECK(o->min_inputs == r->min_inputs && o->max_inputs == r->max_inputs);
        CHECK_MSG(o->bwd_flags == r->bwd_flags, "%s: bwd_flags %u on onednn, %u on ref", names[i],
                  o->bwd_flags, r->bwd_flags);
        for (size_t a = 0; a < o->n_attrs && a < r->n_attrs; a++)
            CHECK_MSG(strcmp(o->attrs[a].key, r->attrs[a].key) == 0 && o->attrs[a].type == r->attrs[a].type &&
                          o->attrs[a].def == r->attrs[a].def && o->attrs[a].min == r->attrs[a].min &&
                          o->attrs[a].max == r->attrs[a].max,
                      "%s.%s", names[i], o->attrs[a].key);
    }
}

static void grad_case(const char *name, const char *attrs, enum fill_kind fill, struct enas_tensor shape)
{
    struct oh_op op;
    struct enas_err err = {0};
    uint64_t seed = 555;
    if (oh_create_in(odn, &op, name, attrs, &err) != ENAS_OK) {
        CHECK_MSG(0, "%s(%s): %s", name, attrs, err.msg);
        return;
    }
    struct enas_tensor x = input(&shape, shape.dims[0], fill, &seed);
    CHECK_MSG(oh_gradcheck(&op, &TRAIN, &x, 1, GC_EPS, GC_TOL, name) == 0, "gradcheck %s(%s)", name, attrs);
    oh_tensor_free(&x);
    oh_destroy(&op);
}

static void test_gradcheck(void)
{
    grad_case("conv", "in_channels=3 out_channels=4 kernel=3 stride=2 bias=true", FILL_UNIFORM,
              shp(4, 2, 5, 7, 3));
    grad_case("conv", "in_channels=4 out_channels=4 kernel=5 groups=4", FILL_UNIFORM, shp(4, 1, 6, 5, 4));
    grad_case("sep_conv", "in_channels=3 out_channels=2 kernel=5 stride=2", FILL_UNIFORM, shp(4, 1, 7, 5, 3));
    grad_case("factorized_reduce", "in_channels=3 out_channels=4", FILL_UNIFORM, shp(4, 2, 5, 5, 3));
    grad_case("factorized_reduce", "in_channels=18 out_channels=36", FILL_UNIFORM, shp(4, 2, 4, 5, 18));
    grad_case("linear", "in_features=4 out_features=3 bias=true", FILL_UNIFORM, shp(2, 3, 4, 1, 1));
    grad_case("batch_norm", "channels=3", FILL_UNIFORM, shp(4, 2, 3, 5, 3));
    grad_case("max_pool", "kernel=3 stride=2", FILL_DISTINCT, shp(4, 1, 5, 7, 10));
    grad_case("avg_pool", "", FILL_UNIFORM, shp(4, 2, 5, 4, 9));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_onednn_parity PATH/ref.so PATH/onednn.so\n");
        return 2;
    }
    ref = oh_plugin_load(argv[1], 1);
    odn = oh_plugin_load(argv[2], 2);
    if (!ref || !odn)
        return 1;
    test_registration();
    test_conv();
    test_bn_pool();
    test_misc();
    test_accumulates();
    test_chain(8, 8, 16, 3);
    test_chain(8, 8, 16, 5);
    test_chain(8, 32, 4, 3);
    test_gradcheck();
    oh_plugin_unload(odn);
    oh_plugin_unload(ref);
    printf("test_onednn_parity: %d tensors compared\n", n_compared);
    return check_exit("test_onednn_parity");
}
