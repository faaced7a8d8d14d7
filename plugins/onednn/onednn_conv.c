/* onednn_conv.c - `conv` (grouped k x k convolution, optional bias) and `sep_conv` (depthwise k x k, then
 * pointwise 1x1) on oneDNN primitives (onednn_prim.c), with ref's attributes, parameters and layouts:
 * conv "w" [out, k, k, in/groups], "b" [out]; sep_conv "dw" [in, k, k, 1], "pw" [out, 1, 1, in].
 * Depthwise weight gradients come from the hand kernel (onednn_dw.c): oneDNN 2.6 has no fast path for them;
 * on AVX-512 the depthwise forward and backward-data too (onednn_dwf_avx512.c: oneDNN's run at 8-20% of peak
 * on NHWC), where odn_dw_fwd / odn_dw_bwd_data cover the shape, oneDNN's primitives elsewhere.
 * relu_input (as ref): the op convolves ReLU(input), so that the tape keeps one tensor for a ReLU-conv pair.
 * The hand kernels rectify the input as they load it and zero dx where input <= 0 as they store it; on the
 * oneDNN path the input is rectified into scratch at forward and again at backward, and dx masked after. */
#include "onednn.h"

#include "op_attrs.h"

struct conv_state {
    struct odn_base base;
    struct opu_conv d;     /* attributes and parameters */
    struct odn_conv main;  /* conv: the conv; sep_conv: the depthwise stage */
    struct odn_conv point; /* sep_conv: the pointwise stage */
};

/* The k x k stage: conv's whole op, or sep_conv's depthwise part (cout = groups = cin). */
static struct odn_conv_cfg conv_cfg(const struct conv_state *s, int depthwise)
{
    struct odn_conv_cfg c = {.cin = s->d.cin,
                             .cout = depthwise ? s->d.cin : s->d.cout,
                             .k = s->d.k,
                             .stride = s->d.stride,
                             .pad = s->d.pad,
                             .groups = depthwise ? s->d.cin : s->d.groups,
                             .bias = !depthwise && s->d.b};
    /* k >= 5: oneDNN 2.6 has a JIT depthwise 3x3 backward-weights, but none for 5x5 (measured); 3x3 too with
     * relu_input on AVX-512, where the hand forward and backward-data leave no rectified copy for oneDNN's */
    const int relu3 = s->d.relu_in && s->base.be && s->base.be->avx512 && c.k == 3 && !c.bias;
    c.hand_dw_wei = c.groups == c.cin && c.cout == c.cin && c.cin > 1 && (c.k >= 5 || relu3);
    return c;
}

/* The k x k stage is depthwise without bias: the hand forward / backward-data may take it (odn_dw_fwd). */
static int conv_dw(const struct odn_conv *u)
{
    return u->cfg.groups == u->cfg.cin && u->cfg.cout == u->cfg.cin && !u->cfg.bias;
}

static void conv_destroy(void *state)
{
    struct conv_state *s = state;
    if (!s)
        return;
    odn_conv_fini(&s->main);
    odn_conv_fini(&s->point);
    odn_state_destroy(s);
}

/* The state of a conv or sep_conv (op) with its attributes and parameters read; NULL on failure. */
static enum enas_status state_new(const struct enas_op_args *a, const char *op, void **state,
                                  struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, op, sizeof(struct conv_state), state, err);
    if (st == ENAS_OK)
        st = opu_conv_read(a, op, &((struct conv_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

static enum enas_status conv_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = state_new(a, "conv", state, err);
    if (st != ENAS_OK)
        return st;
    struct conv_state *s = *state;
    struct odn_conv_cfg c = conv_cfg(s, 0);
    odn_conv_init(&s->main, &s->base, "conv", &c);
    return ENAS_OK;
}

static enum enas_status sep_conv_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = state_new(a, "sep_conv", state, err);
    if (st != ENAS_OK)
        return st;
    struct conv_state *s = *state;
    struct odn_conv_cfg dc = conv_cfg(s, 1);
    struct odn_conv_cfg pc = {.cin = s->d.cin, .cout = s->d.cout, .k = 1, .stride = 1, .pad = 0, .groups = 1};
    odn_conv_init(&s->main, &s->base, "sep_conv", &dc);
    odn_conv_init(&s->point, &s->base, "sep_conv", &pc);
    return ENAS_OK;
}

static enum enas_status conv_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err)
{
    return opu_conv_shape(&((const struct conv_state *)state)->d, in, n_in, out, err);
}

static enum enas_status sep_conv_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                       struct enas_tensor *out, struct enas_err *err)
{
    return opu_conv_shape(&((const struct conv_state *)state)->d, in, n_in, out, err);
}

/* The depthwise stage's window (also the geometry of the hand weight-gradient kernel). */
static struct odn_win conv_win(const struct conv_state *s, const struct enas_tensor *in)
{
    struct odn_win g = {.n = in->dims[0],
                        .h = in->dims[1],
                        .w = in->dims[2],
                        .c = s->d.cin,
                        .ho = opu_out_size(in->dims[1], s->d.k, s->d.stride, s->d.pad),
                        .wo = opu_out_size(in->dims[2], s->d.k, s->d.stride, s->d.pad),
                        .k = s->d.k,
                        .stride = s->d.stride,
                        .pad = s->d.pad};
    return g;
}

static double conv_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_conv_madds(&((const struct conv_state *)state)->d, in, n_in);
}

static double sep_conv_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_conv_madds(&((const struct conv_state *)state)->d, in, n_in);
}

/* Weight gradient of a depthwise stage by the hand kernel (+= into grad), of ReLU(input) with relu_input. */
static enum enas_status dw_grad(struct conv_state *s, struct enas_exec *x, const char *op,
                                const struct enas_tensor *in, const float *dy, float *grad,
                                struct enas_err *err)
{
    struct odn_win g = conv_win(s, in);
    size_t bytes = ODN_DW_PART(s->base.be->threads, &g);
    double *part = opu_scratch(x, op, bytes, err);
    if (!part)
        return ENAS_ERR_NOMEM;
    odn_dw_wei(s->base.be, &g, s->d.relu_in, in->data, dy, grad, part);
    return ENAS_OK;
}

/* What the op convolves: the input, or with relu_input ReLU(input) in scratch; NULL when out of memory. */
static const float *conv_src(const struct conv_state *s, struct enas_exec *x, const char *op,
                             const struct enas_tensor *in, struct enas_err *err)
{
    if (!s->d.relu_in)
        return in->data;
    const int64_t n = enas_tensor_numel(in);
    float *r = opu_scratch(x, op, (size_t)n * sizeof *r, err);
    if (!r)
        return NULL;
    const float *restrict src = in->data;
#pragma omp parallel for num_threads(odn_threads(s->base.be, n)) schedule(static)
    for (int64_t i = 0; i < n; i++)
        r[i] = src[i] > 0.0f ? src[i] : 0.0f;
    return r;
}

/* relu_input: the input gradient is zero where ReLU cut the input off. */
static void conv_mask_dx(const struct conv_state *s, const struct enas_tensor *in, struct enas_tensor *din)
{
    if (!s->d.relu_in || !din)
        return;
    const int64_t n = enas_tensor_numel(in);
    const float *restrict src = in->data;
    float *restrict d = din->data;
#pragma omp parallel for num_threads(odn_threads(s->base.be, n)) schedule(static)
    for (int64_t i = 0; i < n; i++)
        d[i] = src[i] > 0.0f ? d[i] : 0.0f;
}

/* bgrad[c] += the sum of dy over the images and pixels (in double, in order: deterministic). */
static void bias_grad(const struct odn_win *g, const float *dy, float *bgrad)
{
    const int64_t rows = g->n * g->ho * g->wo, c = g->c;
    for (int64_t j = 0; j < c; j++) {
        double sum = 0.0;
        for (int64_t r = 0; r < rows; r++)
            sum += (double)dy[r * c + j];
        bgrad[j] += (float)sum;
    }
}

/* The k x k stage's forward: dst = conv(input or ReLU(input), wei); the hand kernel where it covers the
 * shape. */
static enum enas_status stage_fwd(struct conv_state *s, struct enas_exec *x, const char *op,
                                  const struct enas_tensor *in, const float *wei, const float *bias,
                                  float *dst, struct enas_err *err)
{
    struct odn_win g = conv_win(s, in);
    if (conv_dw(&s->main) && odn_dw_covers(s->base.be, &g, 0, s->d.relu_in)) {
        void *work = opu_scratch(x, op, ODN_DWF_SCRATCH(s->base.be->threads, &g), err);
        if (!work)
            return ENAS_ERR_NOMEM;
        if (odn_dw_fwd(s->base.be, &g, s->d.relu_in, in->data, wei, dst, work))
            return ENAS_OK;
    }
    const float *src = conv_src(s, x, op, in, err);
    if (!src)
        return ENAS_ERR_NOMEM;
    return odn_conv_fwd(&s->main, x, g.n, g.h, g.w, src, wei, bias, dst, err);
}

/* The k x k stage's backward: din = (masked) bwd_data (skipped when NULL), wgrad += dW, bgrad += db (each
 * skipped when NULL). The hand backward-data where it covers the shape (then with relu_input no mask pass);
 * the rectified copy only when oneDNN computes the weight gradient. */
static enum enas_status stage_bwd(struct conv_state *s, struct enas_exec *x, const char *op,
                                  const struct enas_tensor *in, const float *wei, const float *dy,
                                  struct enas_tensor *din, float *wgrad, float *bgrad, struct enas_err *err)
{
    struct odn_win g = conv_win(s, in);
    const int hand_wei = s->main.cfg.hand_dw_wei;
    int dx_done = 0;
    if (din && conv_dw(&s->main) && odn_dw_covers(s->base.be, &g, 1, s->d.relu_in)) {
        void *work = opu_scratch(x, op, ODN_DWF_SCRATCH(s->base.be->threads, &g), err);
        if (!work)
            return ENAS_ERR_NOMEM;
        dx_done = odn_dw_bwd_data(s->base.be, &g, s->d.relu_in ? in->data : NULL, wei, dy, din->data, work);
    }
    float *dsrc = din && !dx_done ? din->data : NULL, *wg = hand_wei ? NULL : wgrad;
    enum enas_status st = ENAS_OK;
    if (dsrc || wg || bgrad) {
        const float *src = wg || bgrad ? conv_src(s, x, op, in, err) : in->data; /* bwd_data reads no src */
        if (!src)
            return ENAS_ERR_NOMEM;
        st = odn_conv_bwd(&s->main, x, g.n, g.h, g.w, src, wei, dy, dsrc, wg, bgrad, err);
    }
    if (st == ENAS_OK && hand_wei && wgrad) /* a frozen weight (no grad) gets no gradient */
        st = dw_grad(s, x, op, in, dy, wgrad, err);
    if (st == ENAS_OK && hand_wei && bgrad) /* oneDNN's weights pass, which would sum it, did not run */
        bias_grad(&g, dy, bgrad);
    if (st == ENAS_OK && dsrc)
        conv_mask_dx(s, in, din);
    return st;
}

static enum enas_status conv_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct conv_state *s = state;
    return stage_fwd(s, x, "conv", in[0], s->d.w->value.data, s->d.b ? s->d.b->value.data : NULL, out->data,
                     err);
}

static enum enas_status conv_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)n_in, (void)out;
    struct conv_state *s = state;
    return stage_bwd(s, x, "conv", in[0], s->d.w->value.data, dout->data, din[0], s->d.w->grad,
                     s->d.b ? s->d.b->grad : NULL, err);
}

static enum enas_status sep_conv_forward(void *state, struct enas_exec *x,
                                         const struct enas_tensor *const *in, size_t n_in,
                                         struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct conv_state *s = state;
    struct odn_win g = conv_win(s, in[0]);
    float *t = opu_scratch(x, "sep_conv", (size_t)(g.n * g.ho * g.wo * g.c) * sizeof *t, err);
    if (!t)
        return ENAS_ERR_NOMEM;
    enum enas_status st = stage_fwd(s, x, "sep_conv", in[0], s->d.dw->value.data, NULL, t, err);
    if (st == ENAS_OK)
        st = odn_conv_fwd(&s->point, x, g.n, g.ho, g.wo, t, s->d.pw->value.data, NULL, out->data, err);
    return st;
}

/* The depthwise output is recomputed rather than saved, as in ref: cheap, and the tape stays small. */
static enum enas_status sep_conv_backward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          const struct enas_tensor *out, const struct enas_tensor *dout,
                                          struct enas_tensor *const *din, struct enas_err *err)
{
    (void)n_in, (void)out;
    struct conv_state *s = state;
    struct odn_win g = conv_win(s, in[0]);
    const size_t nt = (size_t)(g.n * g.ho * g.wo * g.c) * sizeof(float);
    float *t = opu_scratch(x, "sep_conv", nt, err), *dt = opu_scratch(x, "sep_conv", nt, err);
    if (!t || !dt)
        return ENAS_ERR_NOMEM;
    enum enas_status st = stage_fwd(s, x, "sep_conv", in[0], s->d.dw->value.data, NULL, t, err);
    if (st == ENAS_OK)
        st = odn_conv_bwd(&s->point, x, g.n, g.ho, g.wo, t, s->d.pw->value.data, dout->data, dt,
                          s->d.pw->grad, NULL, err);
    if (st == ENAS_OK)
        st = stage_bwd(s, x, "sep_conv", in[0], s->d.dw->value.data, dt, din[0], s->d.dw->grad, NULL, err);
    return st;
}

const struct enas_op_desc odn_conv_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "conv",
    .provider = "onednn",
    .attrs = conv_attrs,
    .n_attrs = sizeof conv_attrs / sizeof conv_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = conv_create,
    .shape = conv_shape,
    .madds = conv_madds,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = conv_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};

const struct enas_op_desc odn_sep_conv_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "sep_conv",
    .provider = "onednn",
    .attrs = conv_attrs,
    .n_attrs = SEP_CONV_N_ATTRS,
    .min_inputs = 1,
    .max_inputs = 1,
    .create = sep_conv_create,
    .shape = sep_conv_shape,
    .madds = sep_conv_madds,
    .forward = sep_conv_forward,
    .backward = sep_conv_backward,
    .destroy = conv_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
