/* ref_fr.c - `factorized_reduce` (ENAS.md §2.4): halves H and W and maps in -> out channels with two
 * 1x1 stride-2 convolutions: path 1 samples pixels (2i, 2j), path 2 the shifted pixels (2i+1, 2j+1)
 * (zero beyond the border), and the output is [path 1, path 2] along C. No BN and no ReLU inside.
 * Weights "w1", "w2" [out/2, 1, 1, in]. */
#include "ref.h"

#include "op_attrs.h"

struct fr_state {
    struct ref_base base;
    struct opu_fr d; /* attributes and parameters */
};

static enum enas_status fr_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, "factorized_reduce", sizeof(struct fr_state), state, err);
    if (st == ENAS_OK)
        st = opu_fr_read(a, &((struct fr_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
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
                              .cin = s->d.cin,
                              .ho = (in->dims[1] + 1) / 2,
                              .wo = (in->dims[2] + 1) / 2,
                              .cout = s->d.cout / 2,
                              .ldy = s->d.cout,
                              .k = 1,
                              .stride = 2,
                              .pad = shifted ? -1 : 0,
                              .groups = 1};
    return g;
}

static enum enas_status fr_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    return opu_fr_shape(&((const struct fr_state *)state)->d, in, n_in, out, err);
}

static double fr_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_fr_madds(&((const struct fr_state *)state)->d, in, n_in);
}

static enum enas_status fr_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    const struct fr_state *s = state;
    struct ref_conv_geom g1 = fr_geom(s, in[0], 0), g2 = fr_geom(s, in[0], 1);
    ref_conv_fwd(&g1, in[0]->data, s->d.w1->value.data, NULL, out->data);
    ref_conv_fwd(&g2, in[0]->data, s->d.w2->value.data, NULL, out->data + s->d.cout / 2);
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
    const int64_t nx = enas_tensor_numel(in[0]), nw = enas_tensor_numel(&s->d.w1->value);
    double *dx = din[0] ? opu_scratch0(x, "factorized_reduce", (size_t)nx * sizeof *dx, err) : NULL;
    double *dw1 = opu_scratch0(x, "factorized_reduce", (size_t)nw * sizeof *dw1, err);
    double *dw2 = opu_scratch0(x, "factorized_reduce", (size_t)nw * sizeof *dw2, err);
    if ((din[0] && !dx) || !dw1 || !dw2)
        return ENAS_ERR_NOMEM;
    ref_conv_bwd(&g1, in[0]->data, s->d.w1->value.data, dout->data, dx, dw1, NULL);
    ref_conv_bwd(&g2, in[0]->data, s->d.w2->value.data, dout->data + s->d.cout / 2, dx, dw2, NULL);
    if (dx)
        ref_store(din[0]->data, dx, nx);
    ref_grad_add(s->d.w1, dw1);
    ref_grad_add(s->d.w2, dw2);
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
