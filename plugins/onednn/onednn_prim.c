/* onednn_prim.c - one oneDNN convolution (NHWC activations) or inner product with its forward,
 * backward-data and backward-weights primitives created once per input shape (N, H, W) and cached in the
 * op instance (ODN_CACHE shapes, least recently used evicted). Weights are kept plain in the parameter and
 * reordered into the layout oneDNN prefers (format_tag_any) at every forward, since the optimizer changes
 * them every step; bwd_data gets its own copy only when it prefers another layout. The weight gradient is
 * computed in oneDNN's layout into scratch and reordered into the plain grad with a sum post-op, which is
 * the accumulation (+=) that the op contract asks for. Scratchpads are user-mode, from x->scratch.
 *
 * A strided 1x1 convolution is run as a stride-1 one on its sampled pixels, gathered here into a dense
 * tensor (and its data gradient scattered back, zeros elsewhere). oneDNN 2.6 makes the same copy itself
 * ("reduce to unit stride"), but with fewer input channels than a vector holds its copy is wrong: on AVX2
 * (jit_1x1:avx2, 2-7 input channels, images of 4x4 to 46x46) it computed wrong weight gradients, wrote past
 * its scratchpad and hung in its barrier; on AVX-512 (jit_1x1:avx512_core, 4 channels) its backward-data
 * corrupted the heap. Checked in a standalone program against a direct loop; stride 1 was right. */
#include "onednn.h"

#include <string.h>

struct odn_prims {
    int64_t n, h, w;
    unsigned used; /* u->clock at the last use, for eviction */
    dnnl_primitive_t fwd, bwdd, bwdw;
    dnnl_primitive_t re_wf, re_wb, re_dw; /* plain -> fwd weights, plain -> bwd_data weights, dW -> grad */
    int dw_add;   /* re_dw could not take a sum post-op: reorder to scratch, then add */
    int wf_valid; /* wf holds the weights of this shape's last forward */
    int wb_plain; /* bwd_data takes the weights as the parameter holds them */
    size_t pad_bytes, dwei_bytes, wplain_bytes;
    float *wf, *wb; /* weights in the fwd / bwd_data layouts; NULL where the plain ones serve */
    dnnl_memory_t m_src, m_dst, m_dsrc, m_ddst, m_wplain, m_wf, m_wb, m_dwei, m_gplain, m_bias, m_dbias,
        m_pad;
};

#define CK(name, expr)                                                                                       \
    do {                                                                                                     \
        if ((st = odn_check((expr), u->op, (name), err)) != ENAS_OK)                                         \
            goto fail;                                                                                       \
    } while (0)

void odn_conv_init(struct odn_conv *u, struct odn_base *base, const char *op, const struct odn_conv_cfg *cfg)
{
    memset(u, 0, sizeof *u);
    u->op = op;
    u->cfg = *cfg;
    u->base = base;
}

static void prims_free(struct odn_conv *u, struct odn_prims *p)
{
    if (!p)
        return;
    dnnl_primitive_t prims[] = {p->fwd, p->bwdd, p->bwdw, p->re_wf, p->re_wb, p->re_dw};
    dnnl_memory_t mems[] = {p->m_src, p->m_dst,  p->m_dsrc,   p->m_ddst, p->m_wplain, p->m_wf,
                            p->m_wb,  p->m_dwei, p->m_gplain, p->m_bias, p->m_dbias,  p->m_pad};
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
        if (prims[i])
            dnnl_primitive_destroy(prims[i]);
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    u->base->free(p->wf);
    u->base->free(p->wb);
    u->base->free(p);
}

void odn_conv_fini(struct odn_conv *u)
{
    for (int i = 0; i < ODN_CACHE; i++)
        prims_free(u, u->slot[i]);
    memset(u->slot, 0, sizeof u->slot);
}

/* A strided 1x1 convolution, run on its gathered samples (see the top of this file). */
static int subsampled(const struct odn_conv_cfg *c)
{
    return !c->ip && c->k == 1 && c->stride > 1;
}

/* Between x (n x h x w x cin) and the dense n x ho x wo x cin tensor of its pixels (i*stride - pad,
 * j*stride - pad). gather: from x to the samples (zeros where one falls in the padding). Otherwise the
 * adjoint for a data gradient that is overwritten: from the samples to x, each sampled pixel of x getting
 * its sample's value and every other 0. */
static void subsample(const struct odn_conv *u, int64_t n, int64_t h, int64_t w, const float *from, float *to,
                      int gather)
{
    const int64_t c = u->cfg.cin, s = u->cfg.stride, p = u->cfg.pad;
    const int64_t ho = opu_out_size(h, 1, s, p), wo = opu_out_size(w, 1, s, p);
    const size_t row = (size_t)c * sizeof(float);
    const int64_t rows = gather ? n * ho : n * h;
#pragma omp parallel for num_threads(odn_threads(u->base->be, rows *(gather ? wo : w) * c)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        if (gather) {
            const int64_t b = r / ho, ih = r % ho * s - p;
            for (int64_t j = 0; j < wo; j++) {
                const int64_t iw = j * s - p;
                float *d = to + (r * wo + j) * c;
                if (ih >= 0 && ih < h && iw >= 0 && iw < w)
                    memcpy(d, from + ((b * h + ih) * w + iw) * c, row);
                else
                    memset(d, 0, row);
            }
            continue;
        }
        const int64_t b = r / h, ih = r % h, i = (ih + p) / s;
        const int row_hit = (ih + p) % s == 0 && i < ho;
        for (int64_t iw = 0; iw < w; iw++) {
            const int64_t j = (iw + p) / s;
            float *f = to + (r * w + iw) * c;
            if (row_hit && (iw + p) % s == 0 && j < wo)
                memcpy(f, from + ((b * ho + i) * wo + j) * c, row);
            else
                memset(f, 0, row);
        }
    }
}

/* The plain memory descriptors of one shape: src, dst, weights (as the parameter holds them), bias. */
struct odn_mds {
    dnnl_memory_desc_t src, dst, wplain, wany, bias;
};

static dnnl_status_t conv_mds(const struct odn_conv_cfg *c, int64_t n, int64_t h, int64_t w,
                              struct odn_mds *m)
{
    dnnl_status_t s;
    const dnnl_dims_t bd = {c->cout}; /* full dnnl_dims_t: the API reads 12 */
    if (c->ip) {
        const dnnl_dims_t sd = {n, c->cin}, dd = {n, c->cout}, wd = {c->cout, c->cin};
        if ((s = dnnl_memory_desc_init_by_tag(&m->src, 2, sd, dnnl_f32, dnnl_ab)) != dnnl_success ||
            (s = dnnl_memory_desc_init_by_tag(&m->dst, 2, dd, dnnl_f32, dnnl_ab)) != dnnl_success ||
            (s = dnnl_memory_desc_init_by_tag(&m->wplain, 2, wd, dnnl_f32, dnnl_ab)) != dnnl_success ||
            (s = dnnl_memory_desc_init_by_tag(&m->wany, 2, wd, dnnl_f32, dnnl_format_tag_any)) !=
                dnnl_success)
            return s;
        return dnnl_memory_desc_init_by_tag(&m->bias, 1, bd, dnnl_f32, dnnl_a);
    }
    const int64_t ho = opu_out_size(h, c->k, c->stride, c->pad),
                  wo = opu_out_size(w, c->k, c->stride, c->pad);
    const int64_t g = c->groups;
    const dnnl_dims_t sd = {n, c->cin, h, w}, dd = {n, c->cout, ho, wo};
    const dnnl_dims_t wd = {c->cout, c->cin, c->k, c->k}, gd = {g, c->cout / g, c->cin / g, c->k, c->k};
    /* The parameter is [O, kh, kw, I/G]: ohwi (acdb) without groups, g-o-h-w-i (abdec) with. */
    if ((s = dnnl_memory_desc_init_by_tag(&m->src, 4, sd, dnnl_f32, dnnl_acdb)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_tag(&m->dst, 4, dd, dnnl_f32, dnnl_acdb)) != dnnl_success)
        return s;
    if (g == 1)
        s = dnnl_memory_desc_init_by_tag(&m->wplain, 4, wd, dnnl_f32, dnnl_acdb);
    else
        s = dnnl_memory_desc_init_by_tag(&m->wplain, 5, gd, dnnl_f32, dnnl_abdec);
    if (s != dnnl_success)
        return s;
    s = g == 1 ? dnnl_memory_desc_init_by_tag(&m->wany, 4, wd, dnnl_f32, dnnl_format_tag_any)
               : dnnl_memory_desc_init_by_tag(&m->wany, 5, gd, dnnl_f32, dnnl_format_tag_any);
    if (s != dnnl_success)
        return s;
    return dnnl_memory_desc_init_by_tag(&m->bias, 1, bd, dnnl_f32, dnnl_a);
}

/* The op descriptor of one pass (0 fwd, 1 bwd_data, 2 bwd_weights) into *d (a conv or ip desc). */
static dnnl_status_t pass_desc(const struct odn_conv_cfg *c, int pass, const struct odn_mds *m, void *d)
{
    const dnnl_memory_desc_t *b = c->bias ? &m->bias : NULL;
    if (c->ip) {
        dnnl_inner_product_desc_t *ip = d;
        if (pass == 0)
            return dnnl_inner_product_forward_desc_init(ip, dnnl_forward_training, &m->src, &m->wany, b,
                                                        &m->dst);
        if (pass == 1)
            return dnnl_inner_product_backward_data_desc_init(ip, &m->src, &m->wany, &m->dst);
        return dnnl_inner_product_backward_weights_desc_init(ip, &m->src, &m->wany, b, &m->dst);
    }
    dnnl_convolution_desc_t *cd = d;
    const dnnl_dims_t st = {c->stride, c->stride}, pd = {c->pad, c->pad};
    const dnnl_alg_kind_t alg = dnnl_convolution_direct;
    if (pass == 0)
        return dnnl_convolution_forward_desc_init(cd, dnnl_forward_training, alg, &m->src, &m->wany, b,
                                                  &m->dst, st, pd, pd);
    if (pass == 1)
        return dnnl_convolution_backward_data_desc_init(cd, alg, &m->src, &m->wany, &m->dst, st, pd, pd);
    return dnnl_convolution_backward_weights_desc_init(cd, alg, &m->src, &m->wany, b, &m->dst, st, pd, pd);
}

/* A memory object on md with no buffer yet (the handle is set per call) or on buf. */
static dnnl_status_t mem(const struct odn_conv *u, const dnnl_memory_desc_t *md, void *buf,
                         dnnl_memory_t *out)
{
    return dnnl_memory_create(out, md, u->base->be->engine, buf ? buf : DNNL_MEMORY_NONE);
}

/* A reorder from -> to, accumulating into `to` when sum is set. */
static dnnl_status_t reorder(const struct odn_conv *u, const dnnl_memory_desc_t *from,
                             const dnnl_memory_desc_t *to, int sum, dnnl_primitive_t *out)
{
    dnnl_engine_t e = u->base->be->engine;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success && sum && (s = dnnl_post_ops_create(&po)) == dnnl_success &&
        (s = dnnl_post_ops_append_sum(po, 1.0f)) == dnnl_success)
        s = dnnl_primitive_attr_set_post_ops(attr, po);
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, from, e, to, e, attr);
    if (s == dnnl_success)
        s = dnnl_primitive_create(out, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

/* Creates one pass's pd (user scratchpad) and primitive; *wmd gets its (diff_)weights layout. */
static enum enas_status make_pass(struct odn_conv *u, struct odn_prims *p, const struct odn_conv_cfg *c,
                                  int pass, const struct odn_mds *m, const_dnnl_primitive_desc_t hint,
                                  dnnl_primitive_desc_t *pd_out, dnnl_primitive_t *prim,
                                  dnnl_memory_desc_t *wmd, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    union {
        dnnl_convolution_desc_t conv;
        dnnl_inner_product_desc_t ip;
    } d;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    static const char *const names[] = {"forward desc init", "backward data desc init",
                                        "backward weights desc init"};
    CK(names[pass], pass_desc(c, pass, m, &d));
    CK("dnnl_primitive_attr_create", dnnl_primitive_attr_create(&attr));
    CK("dnnl_primitive_attr_set_scratchpad_mode",
       dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    CK("dnnl_primitive_desc_create", dnnl_primitive_desc_create(&pd, &d, attr, u->base->be->engine, hint));
    CK("dnnl_primitive_create", dnnl_primitive_create(prim, pd));
    *wmd =
        *dnnl_primitive_desc_query_md(pd, pass == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    size_t pad = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
    p->pad_bytes = pad > p->pad_bytes ? pad : p->pad_bytes;
fail:
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (pd_out && st == ENAS_OK)
        *pd_out = pd;
    else if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

/* Weight copies and reorders once the fwd / bwd_data layouts are known. */
static enum enas_status make_weights(struct odn_conv *u, struct odn_prims *p, const struct odn_mds *m,
                                     const dnnl_memory_desc_t *wf, const dnnl_memory_desc_t *wb,
                                     struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    CK("dnnl_memory_create", mem(u, &m->wplain, NULL, &p->m_wplain));
    if (!dnnl_memory_desc_equal(wf, &m->wplain)) {
        p->wf = u->base->alloc(dnnl_memory_desc_get_size(wf));
        if (!p->wf)
            return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for the weights", u->op);
        CK("dnnl_memory_create", mem(u, wf, p->wf, &p->m_wf));
        CK("dnnl_reorder_primitive_desc_create", reorder(u, &m->wplain, wf, 0, &p->re_wf));
    }
    p->wb_plain = dnnl_memory_desc_equal(wb, &m->wplain);
    if (!p->wb_plain && !dnnl_memory_desc_equal(wb, wf)) {
        p->wb = u->base->alloc(dnnl_memory_desc_get_size(wb));
        if (!p->wb)
            return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for the weights", u->op);
        CK("dnnl_memory_create", mem(u, wb, p->wb, &p->m_wb));
        CK("dnnl_reorder_primitive_desc_create", reorder(u, &m->wplain, wb, 0, &p->re_wb));
    }
fail:
    return st;
}

static enum enas_status make_prims(struct odn_conv *u, struct odn_prims *p, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    struct odn_mds m;
    dnnl_memory_desc_t wf, wb, dw, padmd;
    dnnl_primitive_desc_t fpd = NULL;
    struct odn_conv_cfg c = u->cfg;
    int64_t h = p->h, w = p->w;
    if (subsampled(&c)) { /* a stride-1 1x1 convolution on the gathered samples */
        h = opu_out_size(h, 1, c.stride, c.pad), w = opu_out_size(w, 1, c.stride, c.pad);
        c.stride = 1, c.pad = 0;
    }
    CK("dnnl_memory_desc_init_by_tag", conv_mds(&c, p->n, h, w, &m));
    st = make_pass(u, p, &c, 0, &m, NULL, &fpd, &p->fwd, &wf, err);
    if (st == ENAS_OK)
        st = make_pass(u, p, &c, 1, &m, fpd, NULL, &p->bwdd, &wb, err);
    if (st == ENAS_OK && !u->cfg.hand_dw_wei)
        st = make_pass(u, p, &c, 2, &m, fpd, NULL, &p->bwdw, &dw, err);
    if (st != ENAS_OK)
        goto fail;
    st = make_weights(u, p, &m, &wf, &wb, err);
    if (st != ENAS_OK)
        goto fail;
    if (!u->cfg.hand_dw_wei) {
        p->dwei_bytes = dnnl_memory_desc_get_size(&dw);
        p->wplain_bytes = dnnl_memory_desc_get_size(&m.wplain);
        CK("dnnl_memory_create", mem(u, &dw, NULL, &p->m_dwei));
        CK("dnnl_memory_create", mem(u, &m.wplain, NULL, &p->m_gplain));
        if (reorder(u, &dw, &m.wplain, 1, &p->re_dw) != dnnl_success) {
            p->dw_add = 1; /* no sum post-op for this reorder: go through scratch */
            CK("dnnl_reorder_primitive_desc_create", reorder(u, &dw, &m.wplain, 0, &p->re_dw));
        }
        if (u->cfg.bias)
            CK("dnnl_memory_create", mem(u, &m.bias, NULL, &p->m_dbias));
    }
    CK("dnnl_memory_create", mem(u, &m.src, NULL, &p->m_src));
    CK("dnnl_memory_create", mem(u, &m.dst, NULL, &p->m_dst));
    CK("dnnl_memory_create", mem(u, &m.src, NULL, &p->m_dsrc));
    CK("dnnl_memory_create", mem(u, &m.dst, NULL, &p->m_ddst));
    if (u->cfg.bias)
        CK("dnnl_memory_create", mem(u, &m.bias, NULL, &p->m_bias));
    const dnnl_dims_t pdims = {(dnnl_dim_t)(p->pad_bytes ? p->pad_bytes : 1)};
    CK("dnnl_memory_desc_init_by_tag", dnnl_memory_desc_init_by_tag(&padmd, 1, pdims, dnnl_u8, dnnl_a));
    CK("dnnl_memory_create", mem(u, &padmd, NULL, &p->m_pad));
fail:
    if (fpd)
        dnnl_primitive_desc_destroy(fpd);
    return st;
}

/* The cached primitives of shape (n, h, w), made on a miss (evicting the least recently used). */
static enum enas_status get_prims(struct odn_conv *u, int64_t n, int64_t h, int64_t w, struct odn_prims **out,
                                  struct enas_err *err)
{
    int victim = 0;
    u->clock++;
    for (int i = 0; i < ODN_CACHE; i++) {
        struct odn_prims *p = u->slot[i];
        if (p && p->n == n && p->h == h && p->w == w) {
            p->used = u->clock;
            *out = p;
            return ENAS_OK;
        }
        if (!p || (u->slot[victim] && p->used < u->slot[victim]->used))
            victim = i;
    }
    prims_free(u, u->slot[victim]);
    u->slot[victim] = NULL;
    struct odn_prims *p = u->base->alloc(sizeof *p);
    if (!p)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory for the primitives", u->op);
    memset(p, 0, sizeof *p);
    p->n = n, p->h = h, p->w = w, p->used = u->clock;
    enum enas_status st = make_prims(u, p, err);
    if (st != ENAS_OK) {
        prims_free(u, p);
        return st;
    }
    *out = u->slot[victim] = p;
    return ENAS_OK;
}

/* Points the memory objects at this call's buffers (NULL: leave as is). */
static enum enas_status bind(const struct odn_conv *u, dnnl_memory_t m, const void *buf, struct enas_err *err)
{
    if (!m || !buf)
        return ENAS_OK;
    void *h;
    memcpy(&h, &buf, sizeof h); /* oneDNN takes non-const handles; the inputs are only read */
    return odn_check(dnnl_memory_set_data_handle(m, h), u->op, "dnnl_memory_set_data_handle", err);
}

static enum enas_status exec(const struct odn_conv *u, dnnl_primitive_t prim, int nargs,
                             const dnnl_exec_arg_t *args, struct enas_err *err)
{
    return odn_check(dnnl_primitive_execute(prim, u->base->be->stream, nargs, args), u->op,
                     "dnnl_primitive_execute", err);
}

/* Bytes of a subsampled convolution's dense samples of an n x h x w input. */
static size_t samples_bytes(const struct odn_conv *u, int64_t n, int64_t h, int64_t w)
{
    const int64_t s = u->cfg.stride, p = u->cfg.pad;
    return (size_t)(n * opu_out_size(h, 1, s, p) * opu_out_size(w, 1, s, p) * u->cfg.cin) * sizeof(float);
}

/* This call's scratchpad (user mode) bound to p->m_pad. */
static enum enas_status scratchpad(const struct odn_conv *u, struct odn_prims *p, struct enas_exec *x,
                                   struct enas_err *err)
{
    if (!p->pad_bytes)
        return ENAS_OK;
    void *s = opu_scratch(x, u->op, p->pad_bytes, err);
    return s ? bind(u, p->m_pad, s, err) : ENAS_ERR_NOMEM;
}

enum enas_status odn_conv_fwd(struct odn_conv *u, struct enas_exec *x, int64_t n, int64_t h, int64_t w,
                              const float *src, const float *wei, const float *bias, float *dst,
                              struct enas_err *err)
{
    struct odn_prims *p = NULL;
    enum enas_status st = get_prims(u, n, h, w, &p, err);
    if (st == ENAS_OK)
        st = scratchpad(u, p, x, err);
    if (st == ENAS_OK && subsampled(&u->cfg)) {
        float *dense = opu_scratch(x, u->op, samples_bytes(u, n, h, w), err);
        if (!dense)
            return ENAS_ERR_NOMEM;
        subsample(u, n, h, w, src, dense, 1);
        src = dense;
    }
    if (st == ENAS_OK && (st = bind(u, p->m_src, src, err)) == ENAS_OK &&
        (st = bind(u, p->m_dst, dst, err)) == ENAS_OK && (st = bind(u, p->m_wplain, wei, err)) == ENAS_OK)
        st = bind(u, p->m_bias, bias, err);
    if (st == ENAS_OK && p->re_wf) {
        const dnnl_exec_arg_t ra[] = {{DNNL_ARG_FROM, p->m_wplain}, {DNNL_ARG_TO, p->m_wf}};
        st = exec(u, p->re_wf, 2, ra, err);
        p->wf_valid = st == ENAS_OK;
    }
    if (st != ENAS_OK)
        return st;
    const dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->m_src},
                                 {DNNL_ARG_WEIGHTS, p->m_wf ? p->m_wf : p->m_wplain},
                                 {DNNL_ARG_DST, p->m_dst},
                                 {DNNL_ARG_SCRATCHPAD, p->m_pad},
                                 {DNNL_ARG_BIAS, p->m_bias}};
    st = exec(u, p->fwd, u->cfg.bias ? 5 : 4, a, err);
    if (st == ENAS_OK)
        st = odn_check(dnnl_stream_wait(u->base->be->stream), u->op, "dnnl_stream_wait", err);
    return st;
}

/* bwd_data: the weights in its layout: the parameter itself, the forward's copy when the layouts agree, or
 * a copy of its own. (On AVX2, oneDNN's inner product takes transposed weights (ba) forward and plain ones
 * backward: handing it the forward's copy there gave wrong input gradients.) */
static enum enas_status bwd_data(struct odn_conv *u, struct odn_prims *p, const float *wei, float *dsrc,
                                 struct enas_err *err)
{
    enum enas_status st = bind(u, p->m_wplain, wei, err);
    if (st == ENAS_OK)
        st = bind(u, p->m_dsrc, dsrc, err);
    dnnl_memory_t wm = p->wb_plain ? p->m_wplain : p->m_wb ? p->m_wb : p->m_wf ? p->m_wf : p->m_wplain;
    if (st == ENAS_OK && wm == p->m_wf && !p->wf_valid) { /* a slot made after its forward */
        const dnnl_exec_arg_t ra[] = {{DNNL_ARG_FROM, p->m_wplain}, {DNNL_ARG_TO, p->m_wf}};
        st = exec(u, p->re_wf, 2, ra, err);
    }
    if (st == ENAS_OK && p->re_wb) {
        const dnnl_exec_arg_t ra[] = {{DNNL_ARG_FROM, p->m_wplain}, {DNNL_ARG_TO, p->m_wb}};
        st = exec(u, p->re_wb, 2, ra, err);
    }
    const dnnl_exec_arg_t a[] = {{DNNL_ARG_DIFF_DST, p->m_ddst},
                                 {DNNL_ARG_WEIGHTS, wm},
                                 {DNNL_ARG_DIFF_SRC, p->m_dsrc},
                                 {DNNL_ARG_SCRATCHPAD, p->m_pad}};
    return st == ENAS_OK ? exec(u, p->bwdd, 4, a, err) : st;
}

/* bwd_weights into scratch in oneDNN's layout, then reordered (+=) into the plain gradients. */
static enum enas_status bwd_weights(struct odn_conv *u, struct odn_prims *p, struct enas_exec *x,
                                    float *wgrad, float *bgrad, struct enas_err *err)
{
    const size_t nb = (size_t)u->cfg.cout * sizeof(float);
    float *dwei = opu_scratch(x, u->op, p->dwei_bytes, err);
    float *tmp = p->dw_add ? opu_scratch(x, u->op, p->wplain_bytes, err) : NULL;
    float *db = u->cfg.bias ? opu_scratch(x, u->op, nb, err) : NULL;
    if (!dwei || (p->dw_add && !tmp) || (u->cfg.bias && !db))
        return ENAS_ERR_NOMEM;
    enum enas_status st = bind(u, p->m_dwei, dwei, err);
    if (st == ENAS_OK)
        st = bind(u, p->m_dbias, db, err);
    if (st == ENAS_OK) {
        const dnnl_exec_arg_t a[] = {{DNNL_ARG_SRC, p->m_src},
                                     {DNNL_ARG_DIFF_DST, p->m_ddst},
                                     {DNNL_ARG_DIFF_WEIGHTS, p->m_dwei},
                                     {DNNL_ARG_SCRATCHPAD, p->m_pad},
                                     {DNNL_ARG_DIFF_BIAS, p->m_dbias}};
        st = exec(u, p->bwdw, u->cfg.bias ? 5 : 4, a, err);
    }
    if (st == ENAS_OK && wgrad)
        st = bind(u, p->m_gplain, p->dw_add ? tmp : wgrad, err);
    if (st == ENAS_OK && wgrad) {
        const dnnl_exec_arg_t ra[] = {{DNNL_ARG_FROM, p->m_dwei}, {DNNL_ARG_TO, p->m_gplain}};
        st = exec(u, p->re_dw, 2, ra, err);
    }
    if (st == ENAS_OK)
        st = odn_check(dnnl_stream_wait(u->base->be->stream), u->op, "dnnl_stream_wait", err);
    if (st == ENAS_OK && p->dw_add)
        odn_add(wgrad, tmp, (int64_t)(p->wplain_bytes / sizeof(float)));
    if (st == ENAS_OK && bgrad)
        odn_add(bgrad, db, u->cfg.cout);
    return st;
}

enum enas_status odn_conv_bwd(struct odn_conv *u, struct enas_exec *x, int64_t n, int64_t h, int64_t w,
                              const float *src, const float *wei, const float *ddst, float *dsrc,
                              float *wgrad, float *bgrad, struct enas_err *err)
{
    struct odn_prims *p = NULL;
    const int wei_pass = !u->cfg.hand_dw_wei && (wgrad || bgrad);
    float *dense_dsrc = NULL;
    enum enas_status st = get_prims(u, n, h, w, &p, err);
    if (st == ENAS_OK)
        st = scratchpad(u, p, x, err);
    if (st == ENAS_OK && subsampled(&u->cfg)) {
        const size_t bytes = samples_bytes(u, n, h, w);
        float *dense = wei_pass ? opu_scratch(x, u->op, bytes, err) : NULL;
        dense_dsrc = dsrc ? opu_scratch(x, u->op, bytes, err) : NULL;
        if ((wei_pass && !dense) || (dsrc && !dense_dsrc))
            return ENAS_ERR_NOMEM;
        if (dense)
            subsample(u, n, h, w, src, dense, 1);
        src = dense;
    }
    if (st == ENAS_OK && (st = bind(u, p->m_src, src, err)) == ENAS_OK)
        st = bind(u, p->m_ddst, ddst, err);
    if (st == ENAS_OK && dsrc)
        st = bwd_data(u, p, wei, dense_dsrc ? dense_dsrc : dsrc, err);
    if (st == ENAS_OK && wei_pass)
        st = bwd_weights(u, p, x, wgrad, bgrad, err);
    else if (st == ENAS_OK)
        st = odn_check(dnnl_stream_wait(u->base->be->stream), u->op, "dnnl_stream_wait", err);
    if (st == ENAS_OK && dense_dsrc)
        subsample(u, n, h, w, dense_dsrc, dsrc, 0);
    return st;
}
