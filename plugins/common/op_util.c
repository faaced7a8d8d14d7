/* op_util.c - see op_util.h. */
#include "op_util.h"

#include <stdio.h>
#include <string.h>

struct enas_tensor opu_shape(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    for (int i = ndim; i < ENAS_MAX_DIMS; i++)
        t.dims[i] = 1;
    return t;
}

enum enas_status opu_param(const struct enas_op_args *a, const char *op, const char *name,
                           const struct enas_tensor *shape, enum enas_init_kind kind, double fan_in,
                           unsigned flags, struct enas_param **out, struct enas_err *err)
{
    const struct enas_init init = {.kind = kind, .a = 0.0, .fan_in = fan_in};
    enum enas_status st = a->api->param_create(a->host, a->scope, name, shape, &init, flags, out, err);
    if (st != ENAS_OK && err) {
        /* enas_err_prefix by hand: gcc 12 flags that inline function with -Wformat-truncation, and
         * cutting a long message short is what we want anyway. */
        char old[ENAS_ERRMSG_SIZE];
        memcpy(old, err->msg, sizeof old);
        old[sizeof old - 1] = '\0';
        int used = snprintf(err->msg, sizeof err->msg, "%s: parameter '%s': ", op, name);
        size_t at = used < 0 ? 0 : (size_t)used < sizeof err->msg ? (size_t)used : sizeof err->msg - 1;
        size_t room = sizeof err->msg - 1 - at, len = strlen(old);
        memcpy(err->msg + at, old, len < room ? len : room);
        err->msg[at + (len < room ? len : room)] = '\0';
    }
    return st;
}

const char *opu_fmt_shape(const struct enas_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && i < ENAS_MAX_DIMS && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%lld" : "%lld", (long long)t->dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

enum enas_status opu_want_inputs(const char *op, size_t n_in, size_t lo, size_t hi, struct enas_err *err)
{
    if (n_in < lo || n_in > hi)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: expected %zu..%zu inputs, got %zu", op, lo, hi,
                            n_in);
    return ENAS_OK;
}

enum enas_status opu_want_4d(const char *op, size_t idx, const struct enas_tensor *in, int64_t c,
                             struct enas_err *err)
{
    char got[96];
    int ok = in->ndim == 4 && in->dims[0] >= 1 && in->dims[1] >= 1 && in->dims[2] >= 1 && in->dims[3] >= 1;
    if (!ok)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected a 4-D N x H x W x C tensor, got %d-D %s", op, idx,
                            in->ndim, opu_fmt_shape(in, got, sizeof got));
    if (c >= 0 && in->dims[3] != c)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: input %zu: expected %lld channels, got %lld (shape %s)", op, idx,
                            (long long)c, (long long)in->dims[3], opu_fmt_shape(in, got, sizeof got));
    return ENAS_OK;
}

int64_t opu_out_size(int64_t n, int64_t k, int64_t s, int64_t p)
{
    int64_t span = n + 2 * p - k;
    return span < 0 ? 0 : span / s + 1;
}

int64_t opu_padding(int64_t pad_attr, int64_t k)
{
    return pad_attr < 0 ? (k - 1) / 2 : pad_attr;
}

void *opu_scratch(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = x->scratch(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of scratch memory (%zu bytes)", op, bytes);
    return p;
}

int opu_adds(const struct enas_exec *x, size_t i)
{
    return x->api && ENAS_API_HAS(x->api, grad_accumulates) && x->api->grad_accumulates(x, i);
}

void *opu_scratch0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = opu_scratch(x, op, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *opu_save(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    if (!x->save) /* an engine that records nothing for this call: backward will not come */
        return opu_scratch(x, op, bytes, err);
    void *p = x->save(x, bytes ? bytes : 1);
    if (!p)
        enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for what backward needs (%zu bytes)", op, bytes);
    return p;
}

void *opu_save0(struct enas_exec *x, const char *op, size_t bytes, struct enas_err *err)
{
    void *p = opu_save(x, op, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

double opu_uniform(struct enas_exec *x)
{
    return (double)(x->rng_u64(x) >> 11) * 0x1.0p-53;
}

/* ---- shared op definitions ---- */

enum enas_status opu_pool_read(const struct enas_op_args *a, const char *op, struct opu_pool *p,
                               struct enas_err *err)
{
    p->op = op;
    p->k = a->api->cfg_int(a->attrs, "kernel");
    p->stride = a->api->cfg_int(a->attrs, "stride");
    p->pad = opu_padding(a->api->cfg_int(a->attrs, "padding"), p->k);
    if (p->pad > p->k - 1)
        return enas_err_set(err, ENAS_ERR_CONFIG, "%s: padding %lld is more than kernel-1 = %lld", op,
                            (long long)p->pad, (long long)(p->k - 1));
    return ENAS_OK;
}

/* One N x H x W x C input (C = cin unless cin < 0) into which a k x k window with this stride and padding
 * fits; output N x Ho x Wo x cout (the input's C when cout < 0). */
static enum enas_status window_shape(const char *op, const struct enas_tensor *const *in, size_t n_in,
                                     int64_t cin, int64_t k, int64_t stride, int64_t pad, int64_t cout,
                                     struct enas_tensor *out, struct enas_err *err)
{
    enum enas_status st = opu_want_inputs(op, n_in, 1, 1, err);
    if (st == ENAS_OK)
        st = opu_want_4d(op, 0, in[0], cin, err);
    if (st != ENAS_OK)
        return st;
    const int64_t ho = opu_out_size(in[0]->dims[1], k, stride, pad),
                  wo = opu_out_size(in[0]->dims[2], k, stride, pad);
    if (ho < 1 || wo < 1)
        return enas_err_set(
            err, ENAS_ERR_INVALID_ARG, "%s: input 0: %lldx%lld is smaller than kernel %lld with padding %lld",
            op, (long long)in[0]->dims[1], (long long)in[0]->dims[2], (long long)k, (long long)pad);
    *out = opu_shape(4, in[0]->dims[0], ho, wo, cout < 0 ? in[0]->dims[3] : cout);
    return ENAS_OK;
}

enum enas_status opu_pool_shape(const struct opu_pool *p, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err)
{
    return window_shape(p->op, in, n_in, -1, p->k, p->stride, p->pad, -1, out, err);
}

enum enas_status opu_keep_read(const struct enas_op_args *a, double *keep, struct enas_err *err)
{
    *keep = a->api->cfg_float(a->attrs, "keep_prob");
    if (!(*keep > 0.0 && *keep <= 1.0))
        return enas_err_set(err, ENAS_ERR_CONFIG, "dropout: keep_prob %g is not in (0, 1]", *keep);
    return ENAS_OK;
}

static enum enas_status drop_shape(const char *op, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err)
{
    enum enas_status st = opu_want_inputs(op, n_in, 1, 1, err);
    if (st == ENAS_OK && (in[0]->ndim < 1 || in[0]->dims[0] < 1))
        st = enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: input 0: expected a tensor with N >= 1", op);
    if (st == ENAS_OK) {
        *out = *in[0];
        out->data = NULL;
    }
    return st;
}

enum enas_status opu_bn_read(const struct enas_op_args *a, struct opu_bn *b, struct enas_err *err)
{
    const char *op = "batch_norm";
    b->c = a->api->cfg_int(a->attrs, "channels");
    b->eps = a->api->cfg_float(a->attrs, "eps");
    b->momentum = a->api->cfg_float(a->attrs, "momentum");
    b->relu = a->api->cfg_bool(a->attrs, "relu");
    if (b->c < 1)
        return enas_err_set(err, ENAS_ERR_CONFIG, "batch_norm: channels must be set (>= 1), got %lld",
                            (long long)b->c);
    struct enas_tensor cs = opu_shape(1, b->c, 1, 1, 1);
    enum enas_status st = ENAS_OK;
    if (a->api->cfg_bool(a->attrs, "affine")) {
        st = opu_param(a, op, "gamma", &cs, ENAS_INIT_ONE, 0.0, 0, &b->gamma, err);
        if (st == ENAS_OK)
            st = opu_param(a, op, "beta", &cs, ENAS_INIT_ZERO, 0.0, 0, &b->beta, err);
    }
    if (st == ENAS_OK)
        st = opu_param(a, op, "running_mean", &cs, ENAS_INIT_ZERO, 0.0, ENAS_PARAM_BUFFER, &b->mean, err);
    if (st == ENAS_OK)
        st = opu_param(a, op, "running_var", &cs, ENAS_INIT_ONE, 0.0, ENAS_PARAM_BUFFER, &b->var, err);
    return st;
}

enum enas_status opu_bn_shape(const struct opu_bn *b, const struct enas_tensor *const *in, size_t n_in,
                              struct enas_tensor *out, struct enas_err *err)
{
    char got[96];
    enum enas_status st = opu_want_inputs("batch_norm", n_in, 1, 1, err);
    if (st != ENAS_OK)
        return st;
    const struct enas_tensor *t = in[0];
    if ((t->ndim != 4 && t->ndim != 2) || t->dims[t->ndim - 1] != b->c || enas_tensor_numel(t) < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batch_norm: input 0: expected N x H x W x %lld or N x %lld, got %d-D %s",
                            (long long)b->c, (long long)b->c, t->ndim, opu_fmt_shape(t, got, sizeof got));
    *out = *t;
    out->data = NULL;
    return ENAS_OK;
}

enum enas_status opu_linear_read(const struct enas_op_args *a, struct opu_linear *l, struct enas_err *err)
{
    l->in = a->api->cfg_int(a->attrs, "in_features");
    l->out = a->api->cfg_int(a->attrs, "out_features");
    if (l->in < 1 || l->out < 1)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "linear: in_features and out_features must be set (>= 1), got %lld and %lld",
                            (long long)l->in, (long long)l->out);
    struct enas_tensor ws = opu_shape(2, l->out, l->in, 1, 1), bs = opu_shape(1, l->out, 1, 1, 1);
    enum enas_status st = opu_param(a, "linear", "w", &ws, ENAS_INIT_HE_NORMAL, (double)l->in, 0, &l->w, err);
    if (st == ENAS_OK && a->api->cfg_bool(a->attrs, "bias"))
        st = opu_param(a, "linear", "b", &bs, ENAS_INIT_ZERO, 0.0, 0, &l->b, err);
    return st;
}

enum enas_status opu_linear_shape(const struct opu_linear *l, const struct enas_tensor *const *in,
                                  size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    char got[96];
    enum enas_status st = opu_want_inputs("linear", n_in, 1, 1, err);
    if (st != ENAS_OK)
        return st;
    if (in[0]->ndim != 2 || in[0]->dims[0] < 1 || in[0]->dims[1] != l->in)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "linear: input 0: expected N x %lld, got %d-D %s",
                            (long long)l->in, in[0]->ndim, opu_fmt_shape(in[0], got, sizeof got));
    *out = opu_shape(2, in[0]->dims[0], l->out, 1, 1);
    return ENAS_OK;
}

double opu_linear_madds(const struct opu_linear *l, const struct enas_tensor *const *in, size_t n_in)
{
    return n_in == 1 ? (double)in[0]->dims[0] * (double)l->in * (double)l->out : 0.0;
}

enum enas_status opu_fr_read(const struct enas_op_args *a, struct opu_fr *f, struct enas_err *err)
{
    const char *op = "factorized_reduce";
    f->cin = a->api->cfg_int(a->attrs, "in_channels");
    f->cout = a->api->cfg_int(a->attrs, "out_channels");
    if (f->cin < 1 || f->cout < 2 || f->cout % 2)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "factorized_reduce: in_channels must be >= 1 and out_channels even and >= 2, "
                            "got %lld and %lld",
                            (long long)f->cin, (long long)f->cout);
    struct enas_tensor ws = opu_shape(4, f->cout / 2, 1, 1, f->cin);
    enum enas_status st = opu_param(a, op, "w1", &ws, ENAS_INIT_HE_NORMAL, (double)f->cin, 0, &f->w1, err);
    if (st == ENAS_OK)
        st = opu_param(a, op, "w2", &ws, ENAS_INIT_HE_NORMAL, (double)f->cin, 0, &f->w2, err);
    return st;
}

enum enas_status opu_fr_shape(const struct opu_fr *f, const struct enas_tensor *const *in, size_t n_in,
                              struct enas_tensor *out, struct enas_err *err)
{
    enum enas_status st = opu_want_inputs("factorized_reduce", n_in, 1, 1, err);
    if (st == ENAS_OK)
        st = opu_want_4d("factorized_reduce", 0, in[0], f->cin, err);
    if (st == ENAS_OK)
        *out = opu_shape(4, in[0]->dims[0], (in[0]->dims[1] + 1) / 2, (in[0]->dims[2] + 1) / 2, f->cout);
    return st;
}

double opu_fr_madds(const struct opu_fr *f, const struct enas_tensor *const *in, size_t n_in)
{
    if (n_in != 1 || in[0]->ndim != 4)
        return 0.0;
    const int64_t oh = (in[0]->dims[1] + 1) / 2, ow = (in[0]->dims[2] + 1) / 2, half = f->cout / 2;
    const double px = (double)in[0]->dims[0] * (double)oh * (double)ow;
    return 2.0 * px * (double)f->cin * (double)half; /* two 1x1 paths of out/2 channels */
}

enum enas_status opu_dropout_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    return drop_shape("dropout", in, n_in, out, err);
}

enum enas_status opu_drop_path_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                     struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    return drop_shape("drop_path", in, n_in, out, err);
}

static enum enas_status same_shape(const char *op, const struct enas_tensor *const *in, size_t n_in,
                                   struct enas_tensor *out, struct enas_err *err)
{
    enum enas_status st = opu_want_inputs(op, n_in, 1, 1, err);
    if (st == ENAS_OK) {
        *out = *in[0];
        out->data = NULL;
    }
    return st;
}

enum enas_status opu_relu_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    return same_shape("relu", in, n_in, out, err);
}

enum enas_status opu_identity_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                    struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    return same_shape("identity", in, n_in, out, err);
}

enum enas_status opu_sum_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                               struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    char want[96], got[96];
    enum enas_status st = opu_want_inputs("sum", n_in, 1, OPU_MAX_INPUTS, err);
    for (size_t i = 1; st == ENAS_OK && i < n_in; i++)
        if (!enas_tensor_same_shape(in[i], in[0]))
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG, "sum: input %zu: expected %s (the shape of input 0), got %s", i,
                opu_fmt_shape(in[0], want, sizeof want), opu_fmt_shape(in[i], got, sizeof got));
    if (st == ENAS_OK) {
        *out = *in[0];
        out->data = NULL;
    }
    return st;
}

enum enas_status opu_concat_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                  struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    char want[96], got[96];
    enum enas_status st = opu_want_inputs("concat", n_in, 1, OPU_MAX_INPUTS, err);
    int64_t c = 0;
    for (size_t i = 0; st == ENAS_OK && i < n_in; i++) {
        st = opu_want_4d("concat", i, in[i], -1, err);
        if (st == ENAS_OK && (in[i]->dims[0] != in[0]->dims[0] || in[i]->dims[1] != in[0]->dims[1] ||
                              in[i]->dims[2] != in[0]->dims[2]))
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG, "concat: input %zu: expected N, H, W of input 0 (%s), got %s", i,
                opu_fmt_shape(in[0], want, sizeof want), opu_fmt_shape(in[i], got, sizeof got));
        c += st == ENAS_OK ? in[i]->dims[3] : 0;
    }
    if (st == ENAS_OK)
        *out = opu_shape(4, in[0]->dims[0], in[0]->dims[1], in[0]->dims[2], c);
    return st;
}

enum enas_status opu_gap_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                               struct enas_tensor *out, struct enas_err *err)
{
    (void)state;
    enum enas_status st = opu_want_inputs("global_avg_pool", n_in, 1, 1, err);
    if (st == ENAS_OK)
        st = opu_want_4d("global_avg_pool", 0, in[0], -1, err);
    if (st == ENAS_OK)
        *out = opu_shape(2, in[0]->dims[0], in[0]->dims[3], 1, 1);
    return st;
}

enum enas_status opu_conv_read(const struct enas_op_args *a, const char *op, struct opu_conv *c,
                               struct enas_err *err)
{
    const struct enas_host_api *api = a->api;
    const int conv = op[0] == 'c';
    c->op = op;
    c->cin = api->cfg_int(a->attrs, "in_channels");
    c->cout = api->cfg_int(a->attrs, "out_channels");
    c->k = api->cfg_int(a->attrs, "kernel");
    c->stride = api->cfg_int(a->attrs, "stride");
    c->pad = opu_padding(api->cfg_int(a->attrs, "padding"), c->k);
    c->groups = conv ? api->cfg_int(a->attrs, "groups") : 1;
    c->relu_in = api->cfg_bool(a->attrs, "relu_input");
    if (c->cin < 1 || c->cout < 1 || c->k < 1)
        return enas_err_set(
            err, ENAS_ERR_CONFIG,
            "%s: in_channels, out_channels and kernel must be set (>= 1), got %lld, %lld, %lld", op,
            (long long)c->cin, (long long)c->cout, (long long)c->k);
    if (c->groups < 1 || c->cin % c->groups || c->cout % c->groups)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "%s: groups %lld must divide in_channels %lld and out_channels %lld", op,
                            (long long)c->groups, (long long)c->cin, (long long)c->cout);
    enum enas_status st;
    if (conv) {
        const int64_t ipg = c->cin / c->groups;
        struct enas_tensor ws = opu_shape(4, c->cout, c->k, c->k, ipg), bs = opu_shape(1, c->cout, 1, 1, 1);
        st = opu_param(a, op, "w", &ws, ENAS_INIT_HE_NORMAL, (double)(c->k * c->k * ipg), 0, &c->w, err);
        if (st == ENAS_OK && api->cfg_bool(a->attrs, "bias"))
            st = opu_param(a, op, "b", &bs, ENAS_INIT_ZERO, 0.0, 0, &c->b, err);
    } else {
        struct enas_tensor dws = opu_shape(4, c->cin, c->k, c->k, 1),
                           pws = opu_shape(4, c->cout, 1, 1, c->cin);
        st = opu_param(a, op, "dw", &dws, ENAS_INIT_HE_NORMAL, (double)(c->k * c->k), 0, &c->dw, err);
        if (st == ENAS_OK)
            st = opu_param(a, op, "pw", &pws, ENAS_INIT_HE_NORMAL, (double)c->cin, 0, &c->pw, err);
    }
    return st;
}

enum enas_status opu_conv_shape(const struct opu_conv *c, const struct enas_tensor *const *in, size_t n_in,
                                struct enas_tensor *out, struct enas_err *err)
{
    return window_shape(c->op, in, n_in, c->cin, c->k, c->stride, c->pad, c->cout, out, err);
}

double opu_conv_madds(const struct opu_conv *c, const struct enas_tensor *const *in, size_t n_in)
{
    if (n_in != 1 || in[0]->ndim != 4)
        return 0.0;
    const double px = (double)in[0]->dims[0] * (double)opu_out_size(in[0]->dims[1], c->k, c->stride, c->pad) *
                      (double)opu_out_size(in[0]->dims[2], c->k, c->stride, c->pad);
    if (c->op[0] == 'c') {
        const int64_t per_group = c->cin / c->groups;
        return px * (double)c->cout * (double)(c->k * c->k) * (double)per_group;
    }
    return px * (double)c->cin * (double)(c->k * c->k) + px * (double)c->cin * (double)c->cout;
}
