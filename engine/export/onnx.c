/* onnx.c - the ONNX exporter (onnx.h): a traced inference pass of the fixed network, each op call mapped to
 * ONNX nodes (NHWC weights reordered to ONNX's OIHW), pruned to what the logits need, encoded with
 * protobuf-c. Everything the message holds is allocated through one context and freed together. */
#include "export/onnx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "onnx.pb-c.h"
#include "plugin/host.h"
#include "settings/cfg.h"
#include "train/run.h"
#include "util/err.h"
#include "util/file.h"

struct ex {
    struct enas_err *err;
    enum enas_status st;
    void **blocks; /* every allocation of the message */
    size_t n_blocks, cap_blocks;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    struct named {
        const struct enas_tensor *t; /* a tensor of the pass */
        const char *name;            /* its ONNX name */
    } * names;
    size_t n_names, cap_names;
    int counter;
};

static int grow(struct ex *e, void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*(void **)arr, c * size);
    if (!p) {
        e->st = enas_err_set(e->err, ENAS_ERR_NOMEM, "export: out of memory");
        return 0;
    }
    *(void **)arr = p;
    *cap = c;
    return 1;
}

static void *ex_alloc(struct ex *e, size_t n)
{
    if (e->st != ENAS_OK || !grow(e, &e->blocks, &e->cap_blocks, e->n_blocks, sizeof *e->blocks))
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        e->st = enas_err_set(e->err, ENAS_ERR_NOMEM, "export: out of memory");
        return NULL;
    }
    e->blocks[e->n_blocks++] = p;
    return p;
}

static char *ex_str(struct ex *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ex_str(struct ex *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? ex_alloc(e, (size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

static const char *find_name(const struct ex *e, const struct enas_tensor *t)
{
    for (size_t i = e->n_names; i-- > 0;)
        if (e->names[i].t == t)
            return e->names[i].name;
    return NULL;
}

static void set_name(struct ex *e, const struct enas_tensor *t, const char *name)
{
    if (name && grow(e, &e->names, &e->cap_names, e->n_names, sizeof *e->names))
        e->names[e->n_names++] = (struct named){t, name};
}

/* The ONNX name of a tensor of the pass: its own once assigned, else a fresh one. */
static const char *tname(struct ex *e, const struct enas_tensor *t)
{
    const char *n = find_name(e, t);
    if (!n) {
        n = ex_str(e, "t%d", e->counter++);
        set_name(e, t, n);
    }
    return n;
}

static const char *fresh(struct ex *e)
{
    return ex_str(e, "t%d", e->counter++);
}

/* An attribute of the given type; its value is set by the caller. */
static Onnx__AttributeProto *attr_new(struct ex *e, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = ex_alloc(e, sizeof *a);
    if (a) {
        onnx__attribute_proto__init(a);
        a->name = (char *)(uintptr_t)name;
        a->has_type = 1;
        a->type = type;
    }
    return a;
}

static Onnx__AttributeProto *attr_ints(struct ex *e, const char *name, const int64_t *v, size_t n)
{
    Onnx__AttributeProto *a = attr_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *ints = ex_alloc(e, n * sizeof *ints);
    if (!a || !ints)
        return NULL;
    memcpy(ints, v, n * sizeof *ints);
    a->ints = ints;
    a->n_ints = n;
    return a;
}

static Onnx__AttributeProto *attr_int(struct ex *e, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = 1;
        a->i = v;
    }
    return a;
}

static Onnx__AttributeProto *attr_float(struct ex *e, const char *name, float v)
{
    Onnx__AttributeProto *a = attr_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = 1;
        a->f = v;
    }
    return a;
}

/* A node of the NULL-terminated inputs and attributes; returns its output's name. */
static const char *node(struct ex *e, const char *type, const char *const *in, const char *out,
                        Onnx__AttributeProto *const *attrs)
{
    size_t ni = 0, na = 0;
    while (in[ni])
        ni++;
    while (attrs && attrs[na])
        na++;
    Onnx__NodeProto *n = ex_alloc(e, sizeof *n);
    char **ins = ex_alloc(e, ni * sizeof *ins), **outs = ex_alloc(e, sizeof *outs);
    Onnx__AttributeProto **as = ex_alloc(e, (na ? na : 1) * sizeof *as);
    if (!n || !ins || !outs || !as || !out ||
        !grow(e, &e->nodes, &e->cap_nodes, e->n_nodes, sizeof *e->nodes))
        return NULL;
    for (size_t i = 0; i < ni; i++)
        ins[i] = (char *)(uintptr_t)in[i];
    onnx__node_proto__init(n);
    outs[0] = (char *)(uintptr_t)out;
    n->input = ins;
    n->n_input = ni;
    n->output = outs;
    n->n_output = 1;
    n->op_type = (char *)(uintptr_t)type;
    n->name = ex_str(e, "%s_%zu", type, e->n_nodes);
    n->attribute = as;
    n->n_attribute = na;
    if (na)
        memcpy(as, attrs, na * sizeof *as);
    e->nodes[e->n_nodes++] = n;
    return out;
}

/* An initializer named name, dims[0..nd), holding data (copied); returns its name. */
static const char *init(struct ex *e, const char *name, const int64_t *dims, size_t nd, const float *data)
{
    for (size_t i = 0; name && i < e->n_inits; i++) /* an op called twice: its weights once */
        if (strcmp(e->inits[i]->name, name) == 0)
            return name;
    size_t numel = 1;
    for (size_t i = 0; i < nd; i++)
        numel *= (size_t)dims[i];
    Onnx__TensorProto *t = ex_alloc(e, sizeof *t);
    int64_t *d = ex_alloc(e, nd * sizeof *d);
    float *v = ex_alloc(e, numel * sizeof *v);
    if (!t || !d || !v || !name || !grow(e, &e->inits, &e->cap_inits, e->n_inits, sizeof *e->inits))
        return NULL;
    onnx__tensor_proto__init(t);
    memcpy(d, dims, nd * sizeof *d);
    memcpy(v, data, numel * sizeof *v);
    t->name = (char *)(uintptr_t)name;
    t->dims = d;
    t->n_dims = nd;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->float_data = v;
    t->n_float_data = numel;
    e->inits[e->n_inits++] = t;
    return name;
}

/* The op's parameter "<scope>.<short>", or NULL. */
static const struct enas_param *param(const struct enas_op *op, const char *short_name)
{
    size_t np;
    struct enas_param *const *ps = enas__host_params(op->h, &np);
    const size_t k = strlen(short_name);
    for (size_t i = op->p_first; i < op->p_end && i < np; i++) {
        const size_t l = strlen(ps[i]->name);
        if (l > k && ps[i]->name[l - k - 1] == '.' && strcmp(ps[i]->name + l - k, short_name) == 0)
            return ps[i];
    }
    return NULL;
}

/* A weight [O, kh, kw, I] (the ops' layout) as ONNX's [O, I, kh, kw]; kh = kw = k. */
static const char *conv_weight(struct ex *e, const struct enas_param *p, int64_t k)
{
    const int64_t o = p->value.dims[0], ci = enas_tensor_numel(&p->value) / (o * k * k);
    float *w = ex_alloc(e, (size_t)(o * ci * k * k) * sizeof *w);
    if (!w)
        return NULL;
    for (int64_t a = 0; a < o; a++)
        for (int64_t y = 0; y < k; y++)
            for (int64_t x = 0; x < k; x++)
                for (int64_t i = 0; i < ci; i++)
                    w[((a * ci + i) * k + y) * k + x] = p->value.data[((a * k + y) * k + x) * ci + i];
    const int64_t dims[4] = {o, ci, k, k};
    return init(e, p->name, dims, 4, w);
}

static const char *relu(struct ex *e, const char *x)
{
    return node(e, "Relu", (const char *[]){x, NULL}, fresh(e), NULL);
}

static const char *conv_node(struct ex *e, const char *x, const char *w, const char *b, int64_t k,
                             int64_t stride, const int64_t pads[4], int64_t group, const char *out)
{
    const int64_t ks[2] = {k, k}, st[2] = {stride, stride};
    Onnx__AttributeProto *a[] = {attr_ints(e, "kernel_shape", ks, 2), attr_ints(e, "strides", st, 2),
                                 attr_ints(e, "pads", pads, 4), attr_int(e, "group", group), NULL};
    for (int i = 0; i < 4; i++)
        if (!a[i])
            return NULL;
    return node(e, "Conv", (const char *[]){x, w, b, NULL}, out, a);
}

static int64_t pad_of(const struct enas_op *op, int64_t k)
{
    const int64_t p = enas__cfg_int(op->attrs, "padding");
    return p < 0 ? (k - 1) / 2 : p;
}

static const char *map_conv(struct ex *e, const struct enas_step_call *c, const char *x, const char *out)
{
    const struct enas_op *op = c->op;
    const int64_t k = enas__cfg_int(op->attrs, "kernel"), p = pad_of(op, k), pads[4] = {p, p, p, p};
    if (enas__cfg_bool(op->attrs, "relu_input"))
        x = relu(e, x);
    if (strcmp(op->desc->name, "sep_conv") == 0) {
        const int64_t cin = enas__cfg_int(op->attrs, "in_channels"), zero[4] = {0, 0, 0, 0};
        const char *dw = conv_weight(e, param(op, "dw"), k), *pw = conv_weight(e, param(op, "pw"), 1);
        const char *mid =
            conv_node(e, x, dw, NULL, k, enas__cfg_int(op->attrs, "stride"), pads, cin, fresh(e));
        return conv_node(e, mid, pw, NULL, 1, 1, zero, 1, out);
    }
    const struct enas_param *b = enas__cfg_bool(op->attrs, "bias") ? param(op, "b") : NULL;
    const char *bn = b ? init(e, b->name, b->value.dims, 1, b->value.data) : NULL;
    return conv_node(e, x, conv_weight(e, param(op, "w"), k), bn, k, enas__cfg_int(op->attrs, "stride"), pads,
                     enas__cfg_int(op->attrs, "groups"), out);
}

static const char *map_bn(struct ex *e, const struct enas_step_call *c, const char *x, const char *out)
{
    const struct enas_op *op = c->op;
    const int64_t ch = enas__cfg_int(op->attrs, "channels");
    const struct enas_param *g = param(op, "gamma"), *b = param(op, "beta"), *m = param(op, "running_mean"),
                            *v = param(op, "running_var");
    float *ones = ex_alloc(e, (size_t)ch * sizeof *ones), *zeros = ex_alloc(e, (size_t)ch * sizeof *zeros);
    if (!ones || !zeros || !m || !v)
        return NULL;
    for (int64_t i = 0; i < ch; i++)
        ones[i] = 1.0f;
    const char *gn = g ? init(e, g->name, &ch, 1, g->value.data) : init(e, fresh(e), &ch, 1, ones);
    const char *bn = b ? init(e, b->name, &ch, 1, b->value.data) : init(e, fresh(e), &ch, 1, zeros);
    const char *mn = init(e, m->name, &ch, 1, m->value.data), *vn = init(e, v->name, &ch, 1, v->value.data);
    const int fused = enas__cfg_bool(op->attrs, "relu");
    Onnx__AttributeProto *a[] = {attr_float(e, "epsilon", (float)enas__cfg_float(op->attrs, "eps")), NULL};
    const char *y =
        node(e, "BatchNormalization", (const char *[]){x, gn, bn, mn, vn, NULL}, fused ? fresh(e) : out, a);
    return fused ? node(e, "Relu", (const char *[]){y, NULL}, out, NULL) : y;
}

static const char *map_pool(struct ex *e, const struct enas_step_call *c, const char *x, const char *out)
{
    const struct enas_op *op = c->op;
    const int64_t k = enas__cfg_int(op->attrs, "kernel"), p = pad_of(op, k),
                  s = enas__cfg_int(op->attrs, "stride");
    const int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {p, p, p, p};
    const int avg = strcmp(op->desc->name, "avg_pool") == 0;
    /* padded cells: ignored by max, out of the average's count (count_include_pad 0), as the ops do */
    Onnx__AttributeProto *a[] = {attr_ints(e, "kernel_shape", ks, 2), attr_ints(e, "strides", st, 2),
                                 attr_ints(e, "pads", pads, 4),
                                 avg ? attr_int(e, "count_include_pad", 0) : NULL, NULL};
    return node(e, avg ? "AveragePool" : "MaxPool", (const char *[]){x, NULL}, out, a);
}

/* Path 1 samples pixels (2i, 2j), path 2 pixels (2i+1, 2j+1) (zero past the border): a 2x2 stride-2 conv
 * whose only non-zero tap is the bottom-right one, padded at the end when H is odd. */
static const char *map_fr(struct ex *e, const struct enas_step_call *c, const char *x, const char *out)
{
    const struct enas_op *op = c->op;
    const struct enas_param *w2 = param(op, "w2");
    const char *w1 = conv_weight(e, param(op, "w1"), 1);
    if (!w2 || !w1)
        return NULL;
    const int64_t o = w2->value.dims[0], ci = enas_tensor_numel(&w2->value) / o;
    float *w = ex_alloc(e, (size_t)(o * ci * 4) * sizeof *w);
    if (!w)
        return NULL;
    for (int64_t a = 0; a < o; a++)
        for (int64_t i = 0; i < ci; i++)
            w[(a * ci + i) * 4 + 3] = w2->value.data[a * ci + i];
    const int64_t dims[4] = {o, ci, 2, 2}, zero[4] = {0, 0, 0, 0};
    const int64_t eh = c->in[0]->dims[1] % 2, ew = c->in[0]->dims[2] % 2, pads[4] = {0, 0, eh, ew};
    const char *p1 = conv_node(e, x, w1, NULL, 1, 2, zero, 1, fresh(e));
    const char *p2 = conv_node(e, x, init(e, w2->name, dims, 4, w), NULL, 2, 2, pads, 1, fresh(e));
    Onnx__AttributeProto *a[] = {attr_int(e, "axis", 1), NULL};
    return node(e, "Concat", (const char *[]){p1, p2, NULL}, out, a);
}

static const char *map_linear(struct ex *e, const struct enas_step_call *c, const char *x, const char *out)
{
    const struct enas_param *w = param(c->op, "w"), *b = param(c->op, "b");
    if (!w)
        return NULL;
    Onnx__AttributeProto *a[] = {attr_int(e, "transB", 1), NULL};
    return node(e, "Gemm",
                (const char *[]){x, init(e, w->name, w->value.dims, 2, w->value.data),
                                 b ? init(e, b->name, b->value.dims, 1, b->value.data) : NULL, NULL},
                out, a);
}

/* Many-input ops: sum, concat (the ops' last axis, C, is ONNX's axis 1). */
static const char *map_multi(struct ex *e, const struct enas_step_call *c, const char *out)
{
    const char **in = ex_alloc(e, (c->n_in + 1) * sizeof *in); /* NULL-terminated */
    if (!in)
        return NULL;
    for (size_t i = 0; i < c->n_in; i++)
        in[i] = tname(e, c->in[i]);
    if (strcmp(c->op->desc->name, "sum") == 0)
        return node(e, "Sum", in, out, NULL);
    Onnx__AttributeProto *a[] = {attr_int(e, "axis", 1), NULL};
    return node(e, "Concat", in, out, a);
}

/* One op call as nodes whose last output is out. */
static enum enas_status map_call(struct ex *e, const struct enas_step_call *c)
{
    const char *name = c->op->desc->name;
    if ((strcmp(name, "identity") == 0 || strcmp(name, "dropout") == 0 || strcmp(name, "drop_path") == 0 ||
         ((strcmp(name, "sum") == 0 || strcmp(name, "concat") == 0) && c->n_in == 1)) &&
        !find_name(e, c->out)) {
        set_name(e, c->out, tname(e, c->in[0])); /* an identity at inference: no node */
        return e->st;
    }
    const char *out = tname(e, c->out), *x = c->n_in ? tname(e, c->in[0]) : NULL, *r = NULL;
    if (strcmp(name, "conv") == 0 || strcmp(name, "sep_conv") == 0)
        r = map_conv(e, c, x, out);
    else if (strcmp(name, "batch_norm") == 0)
        r = map_bn(e, c, x, out);
    else if (strcmp(name, "relu") == 0)
        r = node(e, "Relu", (const char *[]){x, NULL}, out, NULL);
    else if (strcmp(name, "max_pool") == 0 || strcmp(name, "avg_pool") == 0)
        r = map_pool(e, c, x, out);
    else if (strcmp(name, "global_avg_pool") == 0) {
        Onnx__AttributeProto *a[] = {attr_int(e, "axis", 1), NULL};
        r = node(
            e, "Flatten",
            (const char *[]){node(e, "GlobalAveragePool", (const char *[]){x, NULL}, fresh(e), NULL), NULL},
            out, a);
    } else if (strcmp(name, "linear") == 0)
        r = map_linear(e, c, x, out);
    else if (strcmp(name, "factorized_reduce") == 0)
        r = map_fr(e, c, x, out);
    else if (strcmp(name, "sum") == 0 || strcmp(name, "concat") == 0 || strcmp(name, "identity") == 0)
        r = strcmp(name, "identity") == 0 ? node(e, "Identity", (const char *[]){x, NULL}, out, NULL)
                                          : map_multi(e, c, out);
    else
        return e->st = enas_err_set(e->err, ENAS_ERR_UNSUPPORTED,
                                    "export: op '%s' (provider %s) has no ONNX form in this exporter", name,
                                    c->op->desc->provider);
    if (!r && e->st == ENAS_OK)
        e->st = enas_err_set(e->err, ENAS_ERR_DATA, "export: op '%s': a parameter is missing", name);
    return e->st;
}

/* Which calls the logits depend on: walked back from the output (the trace is in call order). */
static unsigned char *needed(const struct enas_step_call *calls, size_t n, const struct enas_tensor *logits)
{
    unsigned char *need = calloc(n ? n : 1, 1);
    const struct enas_tensor **live = calloc(n * 8 + 2, sizeof *live);
    size_t nl = 0;
    if (!need || !live) {
        free(need);
        free(live);
        return NULL;
    }
    live[nl++] = logits;
    for (size_t i = n; i-- > 0;) {
        for (size_t j = 0; j < nl && !need[i]; j++)
            need[i] = calls[i].out == live[j];
        for (size_t k = 0; need[i] && k < calls[i].n_in && nl < n * 8 + 2; k++)
            live[nl++] = calls[i].in[k];
    }
    free(live);
    return need;
}

static Onnx__ValueInfoProto *value_info(struct ex *e, const char *name, const int64_t *dims, size_t nd)
{
    Onnx__ValueInfoProto *v = ex_alloc(e, sizeof *v);
    Onnx__TypeProto *t = ex_alloc(e, sizeof *t);
    Onnx__TypeProto__Tensor *tt = ex_alloc(e, sizeof *tt);
    Onnx__TensorShapeProto *sh = ex_alloc(e, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **d = ex_alloc(e, nd * sizeof *d);
    if (!v || !t || !tt || !sh || !d)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (size_t i = 0; i < nd; i++) {
        if (!(d[i] = ex_alloc(e, sizeof *d[i])))
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (dims[i] < 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = "N";
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i];
        }
    }
    sh->dim = d;
    sh->n_dim = nd;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = (char *)(uintptr_t)name;
    v->type = t;
    return v;
}

/* input [N, 3, 32, 32] in [0, 1] -> (input - mean) / std, the network's own input: a 1x1 conv with weights
 * diag(1 / std) and bias -mean / std (the most widely read form: OpenCV 4.6 cannot broadcast a Sub). */
static void normalise_input(struct ex *e, const struct enas_tensor *x)
{
    float w[9] = {0}, b[3];
    for (int c = 0; c < 3; c++) {
        w[c * 3 + c] = 1.0f / enas__augment_std[c];
        b[c] = -enas__augment_mean[c] / enas__augment_std[c];
    }
    const int64_t wd[4] = {3, 3, 1, 1}, bd[1] = {3}, zero[4] = {0, 0, 0, 0};
    set_name(e, x,
             conv_node(e, "input", init(e, "input_normalise.w", wd, 4, w),
                       init(e, "input_normalise.b", bd, 1, b), 1, 1, zero, 1, fresh(e)));
}

static enum enas_status encode(struct ex *e, const char *path)
{
    const int64_t in_dims[4] = {-1, 3, ENAS_CIFAR10_SIDE, ENAS_CIFAR10_SIDE},
                  out_dims[2] = {-1, ENAS_CIFAR10_CLASSES};
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__OperatorSetIdProto ops = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsp = &ops;
    Onnx__ValueInfoProto *in = value_info(e, "input", in_dims, 4),
                         *out = value_info(e, "logits", out_dims, 2);
    if (e->st != ENAS_OK || !in || !out)
        return e->st != ENAS_OK ? e->st : enas_err_set(e->err, ENAS_ERR_NOMEM, "export: out of memory");
    g.name = "enas";
    g.node = e->nodes;
    g.n_node = e->n_nodes;
    g.initializer = e->inits;
    g.n_initializer = e->n_inits;
    g.input = &in;
    g.n_input = 1;
    g.output = &out;
    g.n_output = 1;
    ops.domain = "";
    ops.has_version = 1;
    ops.version = ENAS_ONNX_OPSET;
    m.has_ir_version = 1;
    m.ir_version = 7; /* ONNX 1.8+, the IR version of opset 13 */
    m.opset_import = &opsp;
    m.n_opset_import = 1;
    m.producer_name = "enas";
    m.graph = &g;
    const size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return enas_err_set(e->err, ENAS_ERR_NOMEM, "export: out of memory for %zu bytes", len);
    onnx__model_proto__pack(&m, buf);
    enum enas_status st = enas__file_replace(path, buf, len, 1, e->err);
    free(buf);
    return st;
}

enum enas_status enas__onnx_export(struct enas_run *r, const char *path, struct enas_err *err)
{
    struct ex e = {.err = err, .st = ENAS_OK};
    struct enas_step_opts so = {.seed = r->st.seed, .threads = r->threads, .trace = 1};
    enas__step_begin(r->step, &so);
    const int64_t dims[4] = {1, ENAS_CIFAR10_SIDE, ENAS_CIFAR10_SIDE, ENAS_CIFAR10_CHANNELS};
    struct enas_tensor *x = enas__step_tensor(r->step, 4, dims, 0);
    struct enas_child_out o = {0};
    if (!x)
        return enas_err_set(err, ENAS_ERR_NOMEM, "export: out of memory");
    memset(x->data, 0, (size_t)enas_tensor_numel(x) * sizeof *x->data);
    enum enas_status st =
        r->space.desc->forward(r->space.state, enas__step_exec(r->step), r->arch, r->arch_len, x, &o, err);
    if (st != ENAS_OK) {
        enas__err_terminate(err);
        return st;
    }
    size_t n;
    const struct enas_step_call *calls = enas__step_calls(r->step, &n);
    unsigned char *need = needed(calls, n, o.logits);
    if (!need)
        return enas_err_set(err, ENAS_ERR_NOMEM, "export: out of memory");
    normalise_input(&e, x);
    set_name(&e, o.logits, "logits");
    for (size_t i = 0; i < n && e.st == ENAS_OK; i++)
        if (need[i])
            map_call(&e, &calls[i]);
    free(need);
    st = e.st == ENAS_OK ? encode(&e, path) : e.st;
    for (size_t i = 0; i < e.n_blocks; i++)
        free(e.blocks[i]);
    free(e.blocks);
    free(e.nodes);
    free(e.inits);
    free(e.names);
    return st;
}
