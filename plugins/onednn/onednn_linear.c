/* onednn_linear.c - `linear`: y = x w^T (+ b) on N x in input through a oneDNN inner product (cached per
 * batch size by onednn_prim.c). Weight "w" [out, in] (He-normal, fan_in = in), optional bias "b" [out]. */
#include "onednn.h"

#include "op_attrs.h"

struct linear_state {
    struct odn_base base;
    struct opu_linear d; /* attributes and parameters */
    struct odn_conv ip;
};

static void linear_destroy(void *state)
{
    struct linear_state *s = state;
    if (s)
        odn_conv_fini(&s->ip);
    odn_state_destroy(s);
}

static enum enas_status linear_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = odn_state_new(a, "linear", sizeof(struct linear_state), state, err);
    if (st == ENAS_OK)
        st = opu_linear_read(a, &((struct linear_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        odn_state_destroy(*state);
        *state = NULL;
    }
    if (st != ENAS_OK)
        return st;
    struct linear_state *s = *state;
    struct odn_conv_cfg c = {
        .ip = 1, .cin = s->d.in, .cout = s->d.out, .k = 1, .stride = 1, .groups = 1, .bias = s->d.b != NULL};
    odn_conv_init(&s->ip, &s->base, "linear", &c);
    return ENAS_OK;
}

static enum enas_status linear_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                     struct enas_tensor *out, struct enas_err *err)
{
    return opu_linear_shape(&((const struct linear_state *)state)->d, in, n_in, out, err);
}

static double linear_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    return opu_linear_madds(&((const struct linear_state *)state)->d, in, n_in);
}

static enum enas_status linear_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)n_in;
    struct linear_state *s = state;
    return odn_conv_fwd(&s->ip, x, in[0]->dims[0], 1, 1, in[0]->data, s->d.w->value.data,
                        s->d.b ? s->d.b->value.data : NULL, out->data, err);
}

static enum enas_status linear_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, const struct enas_tensor *out,
                                        const struct enas_tensor *dout, struct enas_tensor *const *din,
                                        struct enas_err *err)
{
    (void)n_in, (void)out;
    struct linear_state *s = state;
    return odn_conv_bwd(&s->ip, x, in[0]->dims[0], 1, 1, in[0]->data, s->d.w->value.data, dout->data,
                        din[0] ? din[0]->data : NULL, s->d.w->grad, s->d.b ? s->d.b->grad : NULL, err);
}

const struct enas_op_desc odn_linear_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "linear",
    .provider = "onednn",
    .attrs = linear_attrs,
    .n_attrs = sizeof linear_attrs / sizeof linear_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = linear_create,
    .shape = linear_shape,
    .madds = linear_madds,
    .forward = linear_forward,
    .backward = linear_backward,
    .destroy = linear_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
