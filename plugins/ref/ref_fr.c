/* ref_fr.c - `factorized_reduce` (ENAS.md §2.4): halves H and W and maps in -> out channels with two
 * 1x1 stride-2 convolutions: path 1 samples pixels (2i, 2j), path 2 the shifted pixels (2i+1, 2j+1)
 * (zero beyond the border), and the output is [path 1, path 2] along C. No BN and no ReLU inside.
 * Weights "w1", "w2" [out/2, 1, 1, in]. */
#include "ref.h"

#include "op_attrs.h"

struct fr_state {
    struct ref_base base;
    int64_t cin, cout;
    struct enas_param *w1, *w2;
};

static enum enas_status fr_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    struct fr_state *s;
    enum enas_status st = ref_state_new(a, "factorized_reduce", sizeof *s, state, err);
    if (st != ENAS_OK)
        return st;
    s = *state;
    s->cin = a->api->cfg_int(a->attrs, "in_channels");
    s->cout = a->api->cfg_int(a->attrs, "out_channels");
    if (s->cin < 1 || s->cout < 2 || s->cout % 2)
        st = enas_err_set(err, ENAS_ERR_CONFIG,
                          "factorized_reduce: in_channels must be >= 1 and out_channels "
                          "even and >= 2, got %lld and %lld",
                          (long long)s->cin, (long long)s->cout);
    struct enas_tensor ws = opu_shape(4, s->cout / 2, 1, 1, s->cin);
    if (st == ENAS_OK)
        st =
            opu_param(a, "factorized_reduce", "w1", &ws, ENAS_INIT_HE_NORMAL, (double)s->cin, 0, &s->w1, err);
    if (st == ENAS_OK)
        st =
            opu_param(a, "factorized_reduce", "w2", &ws, ENAS_INIT_HE_NORMAL, (double)s->cin, 0, &s->w2, err);
    if (st != ENAS_OK) {
        ref_state_destroy(s);
        *state = NULL;
    }
    return st;
}

/* Path 1 (shifted = 0) or path 2 (shifted = 1): a 1x1 stride-2 conv writing every other half of the
 * output pixel. Padding -1 makes the kernel read pixel (2i+1, 2j+1); both paths give ceil(H/2). */
static struct ref_conv_geom fr_geom(const struct fr_state *s, const struct enas_tensor *in, int shifted)
{
    struct ref_conv_geom g = {.n = in->dims[0],
                              .h = in->dims[1],
                              .w = in->dims[2],
                              .cin = s->cin,
                              .ho = (in->dims[1] + 1) / 2,
                              .wo = (in->dims[2] + 1) / 2,
                              .cout = s->cout / 2,
                              .ldy = s->cout,
                              .k = 1,
                              .stride = 2,
                              .pad = shifted ? -1 : 0,
                              .groups = 1};
    return g;
}

static enum enas_status fr_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    const struct fr_state *s = state;
    enum enas_status st = opu_want_inputs("factorized_reduce", n_in, 1, 1, err);
    if (st == ENAS_OK)
        st = opu_want_4d("factorized_reduce", 0, in[0], s->cin, err);
    if (st == ENAS_OK)
        *out = opu_shape(4, in[0]->dims[0], (in[0]->dims[1] + 1) / 2, (in[0]->dims[2] + 1) / 2, s->cout);
    return st;
}

static double fr_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    if (n_in != 1 || in[0]->ndim != 4)
        return 0.0;
    struct ref_conv_geom g = fr_geom(state, in[0], 0);
    return 2.0 * ref_conv_madds(&g);
}

static enum enas_status fr_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    const struct fr_state *s = state;
    struct ref_conv_geom g1 = fr_geom(s, in[0], 0), g2 = fr_geom(s, in[0], 1);
    ref_conv_fwd(&g1, in[0]->data, s->w1->value.data, NULL, out->data);
    ref_conv_fwd(&g2, in[0]->data, s->w2->value.data, NULL, out->data + s->cout / 2);
    return ENAS_OK;
}

static enum enas_status fr_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                    size_t n_in, const struct enas_tensor *out,
                                    const struct enas_tensor *dout, struct enas_tensor *const *din,
                                    struct enas_err *err)
{
    (void)n_in, (void)out;
    const struct fr_state *s = state;
    struct ref_conv_geom g1 = fr_geom(s, in[0], 0), g2 = fr_geom(s, in[0], 1);
    const int64_t nx = enas_tensor_numel(in[0]), nw = enas_tensor_numel(&s->w1->value);
    double *dx = din[0] ? opu_scratch0(x, "factorized_reduce", (size_t)nx * sizeof *dx, err) : NULL;
    double *dw1 = opu_scratch0(x, "factorized_reduce", (size_t)nw * sizeof *dw1, err);
    double *dw2 = opu_scratch0(x, "factorized_reduce", (size_t)nw * sizeof *dw2, err);
    if ((din[0] && !dx) || !dw1 || !dw2)
        return ENAS_ERR_NOMEM;
    ref_conv_bwd(&g1, in[0]->data, s->w1->value.data, dout->data, dx, dw1, NULL);
    ref_conv_bwd(&g2, in[0]->data, s->w2->value.data, dout->data + s->cout / 2, dx, dw2, NULL);
    if (dx)
        ref_store(din[0]->data, dx, nx);
    ref_grad_add(s->w1, dw1);
    ref_grad_add(s->w2, dw2);
    return ENAS_OK;
}

const struct enas_op_desc ref_factorized_reduce_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "factorized_reduce",
    .provider = "ref",
    .attrs = fr_attrs,
    .n_attrs = sizeof fr_attrs / sizeof fr_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = fr_create,
    .shape = fr_shape,
    .madds = fr_madds,
    .forward = fr_forward,
    .backward = fr_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
