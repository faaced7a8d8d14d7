/* ref_linear.c - `linear`: y = x w^T (+ b) on N x in input. Weight "w" [out, in] (He-normal, fan_in = in),
 * optional bias "b" [out] (ZERO). Sums in double, like every ref kernel. */
#include "ref.h"

#include "op_attrs.h"

struct linear_state {
    struct ref_base base;
    int64_t in, out;
    struct enas_param *w, *b; /* b is NULL without bias */
};

static enum enas_status linear_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    struct linear_state *s;
    enum enas_status st = ref_state_new(a, "linear", sizeof *s, state, err);
    if (st != ENAS_OK)
        return st;
    s = *state;
    s->in = a->api->cfg_int(a->attrs, "in_features");
    s->out = a->api->cfg_int(a->attrs, "out_features");
    if (s->in < 1 || s->out < 1)
        st = enas_err_set(err, ENAS_ERR_CONFIG,
                          "linear: in_features and out_features must be set (>= 1), got %lld "
                          "and %lld",
                          (long long)s->in, (long long)s->out);
    struct enas_tensor ws = opu_shape(2, s->out, s->in, 1, 1), bs = opu_shape(1, s->out, 1, 1, 1);
    if (st == ENAS_OK)
        st = opu_param(a, "linear", "w", &ws, ENAS_INIT_HE_NORMAL, (double)s->in, 0, &s->w, err);
    if (st == ENAS_OK && a->api->cfg_bool(a->attrs, "bias"))
        st = opu_param(a, "linear", "b", &bs, ENAS_INIT_ZERO, 0.0, 0, &s->b, err);
    if (st != ENAS_OK) {
        ref_state_destroy(s);
        *state = NULL;
    }
    return st;
}

static enum enas_status linear_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                     struct enas_tensor *out, struct enas_err *err)
{
    const struct linear_state *s = state;
    char got[96];
    enum enas_status st = opu_want_inputs("linear", n_in, 1, 1, err);
    if (st != ENAS_OK)
        return st;
    if (in[0]->ndim != 2 || in[0]->dims[0] < 1 || in[0]->dims[1] != s->in)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "linear: input 0: expected N x %lld, got %d-D %s",
                            (long long)s->in, in[0]->ndim, opu_fmt_shape(in[0], got, sizeof got));
    *out = opu_shape(2, in[0]->dims[0], s->out, 1, 1);
    return ENAS_OK;
}

static double linear_madds(void *state, const struct enas_tensor *const *in, size_t n_in)
{
    const struct linear_state *s = state;
    return n_in == 1 ? (double)in[0]->dims[0] * (double)s->in * (double)s->out : 0.0;
}

static enum enas_status linear_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                       size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)x, (void)n_in, (void)err;
    const struct linear_state *s = state;
    const float *xd = in[0]->data, *w = s->w->value.data;
    for (int64_t n = 0; n < in[0]->dims[0]; n++)
        for (int64_t o = 0; o < s->out; o++) {
            double acc = s->b ? (double)s->b->value.data[o] : 0.0;
            for (int64_t i = 0; i < s->in; i++)
                acc += (double)xd[n * s->in + i] * (double)w[o * s->in + i];
            out->data[n * s->out + o] = (float)acc;
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
    const float *xd = in[0]->data, *w = s->w->value.data, *dy = dout->data;
    double *dw = opu_scratch0(x, "linear", (size_t)(s->out * s->in) * sizeof *dw, err);
    double *db = opu_scratch0(x, "linear", (size_t)s->out * sizeof *db, err);
    if (!dw || !db)
        return ENAS_ERR_NOMEM;
    for (int64_t n = 0; n < nb; n++)
        for (int64_t o = 0; o < s->out; o++) {
            db[o] += (double)dy[n * s->out + o];
            for (int64_t i = 0; i < s->in; i++)
                dw[o * s->in + i] += (double)dy[n * s->out + o] * (double)xd[n * s->in + i];
        }
    for (int64_t n = 0; din[0] && n < nb; n++)
        for (int64_t i = 0; i < s->in; i++) {
            double acc = 0.0;
            for (int64_t o = 0; o < s->out; o++)
                acc += (double)dy[n * s->out + o] * (double)w[o * s->in + i];
            din[0]->data[n * s->in + i] = (float)acc;
        }
    ref_grad_add(s->w, dw);
    ref_grad_add(s->b, db);
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
