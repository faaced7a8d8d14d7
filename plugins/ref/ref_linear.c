/* ref_linear.c - `linear`: y = x w^T (+ b) on N x in input. Weight "w" [out, in] (He-normal, fan_in = in),
 * optional bias "b" [out] (ZERO). Sums in double, like every ref kernel. */
#include "ref.h"

#include "op_attrs.h"

struct linear_state {
    struct ref_base base;
    struct opu_linear d; /* attributes and parameters */
};

static enum enas_status linear_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    enum enas_status st = ref_state_new(a, "linear", sizeof(struct linear_state), state, err);
    if (st == ENAS_OK)
        st = opu_linear_read(a, &((struct linear_state *)*state)->d, err);
    if (st != ENAS_OK && *state) {
        ref_state_destroy(*state);
        *state = NULL;
    }
    return st;
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
    (void)x, (void)n_in, (void)err;
    const struct linear_state *s = state;
    const float *xd = in[0]->data, *w = s->d.w->value.data;
    for (int64_t n = 0; n < in[0]->dims[0]; n++)
        for (int64_t o = 0; o < s->d.out; o++) {
            double acc = s->d.b ? (double)s->d.b->value.data[o] : 0.0;
            for (int64_t i = 0; i < s->d.in; i++)
                acc += (double)xd[n * s->d.in + i] * (double)w[o * s->d.in + i];
            out->data[n * s->d.out + o] = (float)acc;
        }
    return ENAS_OK;
}

static enum enas_status linear_backward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                        size_t n_in, const struct enas_tensor *out,
                                        const struct enas_tensor *dout, struct enas_tensor *const *din,
                                        struct enas_err *err)
{
    (void)n_in, (void)out;
    const struct linear_state *s = state;
    const int64_t nb = in[0]->dims[0];
    const float *xd = in[0]->data, *w = s->d.w->value.data, *dy = dout->data;
    double *dw = opu_scratch0(x, "linear", (size_t)(s->d.out * s->d.in) * sizeof *dw, err);
    double *db = opu_scratch0(x, "linear", (size_t)s->d.out * sizeof *db, err);
    if (!dw || !db)
        return ENAS_ERR_NOMEM;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t o = 0; o < s->d.out; o++) {
            db[o] += (double)dy[n * s->d.out + o];
            for (int64_t i = 0; i < s->d.in; i++)
                dw[o * s->d.in + i] += (double)dy[n * s->d.out + o] * (double)xd[n * s->d.in + i];
        }
    for (int64_t n = 0; din[0] && n < nb; n++)
        for (int64_t i = 0; i < s->d.in; i++) {
            double acc = 0.0;
            for (int64_t o = 0; o < s->d.out; o++)
                acc += (double)dy[n * s->d.out + o] * (double)w[o * s->d.in + i];
            din[0]->data[n * s->d.in + i] = (float)acc;
        }
    ref_grad_add(s->d.w, dw);
    ref_grad_add(s->d.b, db);
    return ENAS_OK;
}

const struct enas_op_desc ref_linear_desc = {
    ENAS_DESC_INIT(struct enas_op_desc),
    .name = "linear",
    .provider = "ref",
    .attrs = linear_attrs,
    .n_attrs = sizeof linear_attrs / sizeof linear_attrs[0],
    .min_inputs = 1,
    .max_inputs = 1,
    .create = linear_create,
    .shape = linear_shape,
    .madds = linear_madds,
    .forward = linear_forward,
    .backward = linear_backward,
    .destroy = ref_state_destroy,
    .bwd_flags = ENAS_OP_BWD_NO_OUTPUT_DATA,
};
