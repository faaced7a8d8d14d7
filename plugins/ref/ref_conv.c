/* ref_conv.c - `conv` (grouped k x k convolution, optional bias) and `sep_conv` (depthwise k x k with
 * channel multiplier 1, then pointwise 1x1; no bias or BN inside), both over ref_conv_kernel.c.
 * Weights: conv "w" [out, k, k, in/groups], "b" [out]; sep_conv "dw" [in, k, k, 1], "pw" [out, 1, 1, in].
 * relu_input: the op convolves ReLU(input); the rectified copy lives in scratch (recomputed in backward),
 * so a network's ReLU-conv pairs keep one tensor on the tape instead of two. */
#include "ref.h"

#include "op_attrs.h"

struct conv_state {
    struct ref_base base;
    struct opu_conv d; /* attributes and parameters */
};

/* conv and sep_conv (op): the state with the attributes and parameters read; NULL on failure. */
static enum enas_status state_new(const struct enas_op_args *a, const char *op, void **state,
                                  struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, op, sizeof(struct conv_state), state, err);
    if (st == ENAS_OK)
        st = opu_conv_read(a, op, &((struct conv_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
        *state = NULL;
    }
    return st;
}

static enum enas_status conv_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    return state_new(a, "conv", state, err);
}

static enum enas_status sep_conv_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    return state_new(a, "sep_conv", state, err);
}

/* The k x k stage's geometry on input in (conv: the whole op; sep_conv: the depthwise part). */
static struct ref_conv_geom conv_geom(const struct conv_state *s, const struct enas_tensor *in, int depthwise)
{
    struct ref_conv_geom g = {.n = in->dims[0],
                              .h = in->dims[1],
                              .w = in->dims[2],
                              .cin = s->d.cin,
                              .ho = opu_out_size(in->dims[1], s->d.k, s->d.stride, s->d.pad),
                              .wo = opu_out_size(in->dims[2], s->d.k, s->d.stride, s->d.pad),
                              .cout = depthwise ? s->d.cin : s->d.cout,
                              .k = s->d.k,
                              .stride = s->d.stride,
                              .pad = s->d.pad,
                              .groups = depthwise ? s->d.cin : s->d.groups};
    g.ldy = g.cout;
    return g;
}

/* sep_conv's pointwise stage: 1x1 over the depthwise output. */
static struct ref_conv_geom conv_pointwise(const struct conv_state *s, const struct ref_conv_geom *dw)
{
    struct ref_conv_geom g = {.n = dw->n,
                              .h = dw->ho,
                              .w = dw->wo,
                              .cin = s->d.cin,
                              .ho = dw->ho,
                              .wo = dw->wo,
                              .cout = s->d.cout,
                              .ldy = s->d.cout,
                              .k = 1,
                              .stride = 1,
                              .pad = 0,
                              .groups = 1};
    return g;
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

static double conv_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_conv_madds(&((const struct conv_state *)state)->d, in, n_in);
}

static double sep_conv_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_conv_madds(&((const struct conv_state *)state)->d, in, n_in);
}

/* What the op convolves: the input itself, or with relu_input ReLU(input) in scratch; NULL when out of
 * memory (err set). */
static const float *conv_src(const struct conv_state *s, struct enas_exec *x, const char *op,
                             const struct enas_tensor *in, struct enas_err *err)
{
    if (!s->d.relu_in)
        return in->data;
    const int64_t n = enas_tensor_numel(in);
    float *r = opu_scratch0(x, op, (size_t)n * sizeof *r, err);
    for (int64_t i = 0; r && i < n; i++)
        r[i] = in->data[i] > 0.0f ? in->data[i] : 0.0f;
    return r;
}

/* din = dx where the input is positive (relu_input), else dx; zero where ReLU cut the input off. */
static void conv_store_dx(const struct conv_state *s, const struct enas_tensor *in, float *din,
                          const double *dx)
{
    const int64_t n = enas_tensor_numel(in);
    ref_store(din, dx, n);
    for (int64_t i = 0; s->d.relu_in && i < n; i++)
        if (!(in->data[i] > 0.0f))
            din[i] = 0.0f;
}

static enum enas_status conv_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                     size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct conv_state *s = state;
    struct ref_conv_geom g = conv_geom(s, in[0], 0);
    const float *src = conv_src(s, x, "conv", in[0], err);
    if (!src)
        return ENAS_ERR_NOMEM;
    ref_conv_fwd(&g, src, s->d.w->value.data, s->d.b ? s->d.b->value.data : NULL, out->data);
    return ENAS_OK;
}

static enum enas_status conv_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                      size_t n_in, const struct enas_tensor *out,
                                      const struct enas_tensor *dout, struct enas_tensor *const *din,
                                      struct enas_err *err)
{
    (void)n_in, (void)out;
    struct conv_state *s = state;
    struct ref_conv_geom g = conv_geom(s, in[0], 0);
    const int64_t nx = enas_tensor_numel(in[0]), nw = enas_tensor_numel(&s->d.w->value);
    double *dx = din[0] ? opu_scratch0(x, "conv", (size_t)nx * sizeof *dx, err) : NULL;
    double *dw = opu_scratch0(x, "conv", (size_t)nw * sizeof *dw, err);
    double *db = s->d.b ? opu_scratch0(x, "conv", (size_t)s->d.cout * sizeof *db, err) : NULL;
    const float *src = conv_src(s, x, "conv", in[0], err);
    if ((din[0] && !dx) || !dw || (s->d.b && !db) || !src)
        return ENAS_ERR_NOMEM;
    ref_conv_bwd(&g, src, s->d.w->value.data, dout->data, dx, dw, db);
    if (dx)
        conv_store_dx(s, in[0], din[0]->data, dx);
    ref_grad_add(s->d.w, dw);
    ref_grad_add(s->d.b, db);
    return ENAS_OK;
}

static enum enas_status sep_conv_forward(void *state, struct enas_exec *x,
                                         const struct enas_tensor *const *in, size_t n_in,
                                         struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct conv_state *s = state;
    struct ref_conv_geom dw = conv_geom(s, in[0], 1), pw = conv_pointwise(s, &dw);
    float *t = opu_scratch0(x, "sep_conv", (size_t)(dw.n * dw.ho * dw.wo * dw.cout) * sizeof *t, err);
    const float *src = conv_src(s, x, "sep_conv", in[0], err);
    if (!t || !src)
        return ENAS_ERR_NOMEM;
    ref_conv_fwd(&dw, src, s->d.dw->value.data, NULL, t);
    ref_conv_fwd(&pw, t, s->d.pw->value.data, NULL, out->data);
    return ENAS_OK;
}

/* The depthwise output is recomputed rather than saved: it is cheap, and the tape stays small. */
static enum enas_status sep_conv_backward(void *state, struct enas_exec *x,
                                          const struct enas_tensor *const *in, size_t n_in,
                                          const struct enas_tensor *out, const struct enas_tensor *dout,
                                          struct enas_tensor *const *din, struct enas_err *err)
{
    (void)n_in, (void)out;
    struct conv_state *s = state;
    struct ref_conv_geom dw = conv_geom(s, in[0], 1), pw = conv_pointwise(s, &dw);
    const int64_t nt = dw.n * dw.ho * dw.wo * dw.cout, nx = enas_tensor_numel(in[0]);
    float *t = opu_scratch0(x, "sep_conv", (size_t)nt * sizeof *t, err);
    double *dtd = opu_scratch0(x, "sep_conv", (size_t)nt * sizeof *dtd, err);
    double *dx = din[0] ? opu_scratch0(x, "sep_conv", (size_t)nx * sizeof *dx, err) : NULL;
    double *ddw = opu_scratch0(x, "sep_conv", (size_t)enas_tensor_numel(&s->d.dw->value) * sizeof *ddw, err);
    double *dpw = opu_scratch0(x, "sep_conv", (size_t)enas_tensor_numel(&s->d.pw->value) * sizeof *dpw, err);
    const float *src = conv_src(s, x, "sep_conv", in[0], err);
    if (!t || !dtd || (din[0] && !dx) || !ddw || !dpw || !src)
        return ENAS_ERR_NOMEM;
    ref_conv_fwd(&dw, src, s->d.dw->value.data, NULL, t);
    ref_conv_bwd(&pw, t, s->d.pw->value.data, dout->data, dtd, dpw, NULL);
    ref_store(t, dtd, nt); /* t now holds the gradient of the depthwise output */
    ref_conv_bwd(&dw, src, s->d.dw->value.data, t, dx, ddw, NULL);
    if (dx)
        conv_store_dx(s, in[0], din[0]->data, dx);
    ref_grad_add(s->d.dw, ddw);
    ref_grad_add(s->d.pw, dpw);
    return ENAS_OK;
}

const struct enas_op_desc ref_conv_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "conv",
    .provider = "ref",
    .attrs = conv_attrs,
    .n_attrs = sizeof conv_attrs / sizeof conv_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = conv_create,
    .shape = conv_shape,
    .madds = conv_madds,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};

const struct enas_op_desc ref_sep_conv_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "sep_conv",
    .provider = "ref",
    .attrs = conv_attrs,
    .n_attrs = SEP_CONV_N_ATTRS,
    .min_inputs = 1,
    .max_inputs = 1,
    .create = sep_conv_create,
    .shape = sep_conv_shape,
    .madds = sep_conv_madds,
    .forward = sep_conv_forward,
    .backward = sep_conv_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
