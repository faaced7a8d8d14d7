/* macro_plugin.c - the `macro` search space (ENAS.md section 2, TF semantics): settings, the decisions
 * (which are the TF integer string and the NNI-v1 keys), create/destroy, validate and info.
 * The network itself is built in macro_build.c and run in macro_run.c; README.md lists the deviations. */
#include "macro.h"

#include <stdio.h>
#include <string.h>

static const struct enas_setting macro_settings[] = {
    {.key = "num_layers",
     .type = ENAS_SET_INT,
     .def = 12,
     .min = 1,
     .max = 256,
     .help = "searched layers L (TF child_num_layers; final script 24)"},
    {.key = "out_filters",
     .type = ENAS_SET_INT,
     .def = 36,
     .min = 2,
     .max = 4096,
     .help = "filters F of every layer, even (TF child_out_filters; final script 96)"},
    {.key = "num_branches",
     .type = ENAS_SET_INT,
     .def = 6,
     .min = 1,
     .max = MACRO_MAX_BRANCHES,
     .help = "op candidates: conv3, sep3, conv5, sep5, avg3, max3 in that order (4: no pooling)"},
    {.key = "keep_prob",
     .type = ENAS_SET_FLOAT,
     .def = 0.9,
     .min = 1e-3,
     .max = 1.0,
     .help = "dropout keep probability before the classifier (TF child_keep_prob; final script 0.5)"},
    {.key = "final_double_filters",
     .type = ENAS_SET_BOOL,
     .def = 1,
     .help = "fixed architecture: double the filters at each reduction, as TF final mode (96/192/384)"},
    {.key = "final_sep_conv",
     .type = ENAS_SET_BOOL,
     .def = 1,
     .help = "fixed architecture: ops 1 and 3 are separable (the paper); false: ordinary convs, as TF's "
             "final code builds them (ENAS.md 8.3)"},
    {.key = "bn_placement",
     .type = ENAS_SET_STRING,
     .def_str = "tf",
     .choices = "tf|nni",
     .help = "search: tf: affine BN after each conv and each join but layer 0's; nni: BN without gamma/beta "
             "after each conv, pool, reduction and every layer's join, layer 0's too (NNI GeneralNetwork)"},
    {.key = "shared_reduce",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "search: one factorized reduction per reduction point, run on every earlier output (NNI); "
             "false: one per output, run only where a later layer reads it (TF)"},
    {.key = "conv_bias",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help =
         "the ordinary k x k convs of the branches add a bias (NNI's nn.Conv2d default); false: none (TF)"},
    {.key = "fc_bias",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "the classifier adds a bias (NNI's nn.Linear); false: none (TF)"},
    {.key = "controller_style",
     .type = ENAS_SET_STRING,
     .def_str = "tf",
     .choices = "tf|nni",
     .help = "how the controller walks the decisions: tf (GeneralController: one softmax for every op, "
             "attention over the layers for skips); nni (ReinforceController: every op decision, then every "
             "skip decision, each with its own softmax and embedding, no attention)"},
};

int macro_nred(const struct macro *m, int64_t i)
{
    int r = 0;
    for (int k = 0; k < m->n_red; k++)
        r += m->pool_at[k] < i;
    return r;
}

int64_t macro_width(const struct macro *m, int r)
{
    return m->fixed && m->double_filters ? m->F << r : m->F;
}

enum enas_status macro_check_arch(const struct macro *m, const int *arch, size_t len, struct enas_err *err)
{
    if (!arch || len != macro_arch_len(m->L))
        return enas_err_set(
            err, ENAS_ERR_INVALID_ARG,
            "macro: an architecture of %lld layers has %zu ints (op + skip bits per layer), got %zu",
            (long long)m->L, macro_arch_len(m->L), arch ? len : 0);
    for (int64_t i = 0; i < m->L; i++) {
        size_t p = macro_op_pos(i);
        if (arch[p] < 0 || arch[p] >= m->nb)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "macro: layer %lld (position %zu): op %d is not one of the %lld branches%s",
                                (long long)i, p, arch[p], (long long)m->nb,
                                m->nb == 4 && arch[p] >= 4 ? " (num_branches = 4 has no pooling ops)" : "");
        for (int64_t j = 0; j < i; j++)
            if (arch[p + 1 + (size_t)j] != 0 && arch[p + 1 + (size_t)j] != 1)
                return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                    "macro: layer %lld (position %zu): skip bit %lld is %d, not 0 or 1",
                                    (long long)i, p + 1 + (size_t)j, (long long)j, arch[p + 1 + (size_t)j]);
    }
    return ENAS_OK;
}

/* Marks the reductions list position j needs to reach the level of a consumer that runs after
 * `target` reductions; level[j] tracks how far it has been brought, as macro_run's get() does. */
static void plan_demand(const struct macro *m, int *level, unsigned char *used, int64_t j, int target)
{
    for (; level[j] < target; level[j]++)
        used[(size_t)level[j] * (size_t)(m->L + 1) + (size_t)j] = 1;
}

void macro_fr_plan(const struct macro *m, const int *arch, unsigned char *used)
{
    int *level = m->level;
    memset(used, 0, (size_t)m->n_red * (size_t)(m->L + 1));
    level[0] = 0;
    for (int64_t i = 0; i < m->L; i++) {
        int t = macro_nred(m, i);
        plan_demand(m, level, used, i, t);
        for (int64_t j = 0; j < i; j++)
            if (arch[macro_op_pos(i) + 1 + (size_t)j])
                plan_demand(m, level, used, j, t);
        level[i + 1] = t;
    }
    plan_demand(m, level, used, m->L, macro_nred(m, m->L));
}

static size_t macro_n_decisions(void *state)
{
    const struct macro *m = state;
    return (size_t)(2 * m->L - 1);
}

static const struct enas_decision *macro_decision(void *state, size_t i)
{
    const struct macro *m = state;
    return i < macro_n_decisions(state) ? &m->dec[i] : NULL;
}

/* NNI's ReinforceController (ENAS.md 4.4) samples its fields in the order its trainer replaced the modules:
 * every LayerChoice, then every InputChoice. */
static void macro_sample_order(void *state, size_t *order)
{
    const struct macro *m = state;
    const size_t nd = macro_n_decisions(state);
    size_t s = 0;
    for (int any = 0; any < 2; any++)
        for (size_t i = 0; i < nd; i++)
            if (!m->ctrl_nni ? any == 0 : (m->dec[i].kind == ENAS_CHOICE_ANY) == any)
                order[s++] = i; /* tf: decision order, as TF's GeneralController samples */
}

/* NNI's controller gives every field its own softmax and embedding (a group of its own) and no attention:
 * a skip decision is then an op-role decision over its candidates, sampled bit by bit from that softmax,
 * and no decision makes an anchor. */
static void nni_hints(struct enas_decision *d, size_t i)
{
    d->role = ENAS_ROLE_OP;
    d->group = (unsigned)i;
    d->new_scope = 0;
    d->anchor = ENAS_ANCHOR_NONE;
}

/* Layer 0's op, then per layer i >= 1 its op and its skip subset; labels are the NNI-v1 keys that a
 * network built first in its process gets from NNI's global counter (ENAS.md 10.3). */
static enum enas_status make_decisions(struct macro *m, struct enas_err *err)
{
    const size_t nd = macro_n_decisions(m), L = (size_t)m->L;
    m->dec = m->api->alloc(nd * sizeof *m->dec);
    m->labels = m->api->alloc(nd * MACRO_LABEL_SIZE);
    m->cand = m->api->alloc(L * sizeof *m->cand);
    m->cand_text = m->api->alloc(L * MACRO_LABEL_SIZE);
    if (!m->dec || !m->labels || !m->cand || !m->cand_text)
        return enas_err_set(err, ENAS_ERR_NOMEM, "macro: out of memory for the decisions");
    memset(m->dec, 0, nd * sizeof *m->dec);
    for (size_t j = 0; j < L; j++) {
        snprintf(m->cand_text + j * MACRO_LABEL_SIZE, MACRO_LABEL_SIZE, "layer_%zu", j);
        m->cand[j] = m->cand_text + j * MACRO_LABEL_SIZE;
    }
    for (size_t i = 0, d = 0; i < L; i++) {
        char *lab = m->labels + d * MACRO_LABEL_SIZE;
        snprintf(lab, MACRO_LABEL_SIZE, "LayerChoice%zu", i == 0 ? (size_t)1 : 2 * i);
        /* TF GeneralController (ENAS.md 4.2): layer 0's anchor is one more LSTM step after its op; a
         * later layer's anchor is the state its skip bits were sampled from. */
        m->dec[d++] = (struct enas_decision){.label = lab,
                                             .kind = ENAS_CHOICE_ONE,
                                             .role = ENAS_ROLE_OP,
                                             .n_candidates = (unsigned)m->nb,
                                             .group = 0,
                                             .new_scope = i == 0,
                                             .anchor = i == 0 ? ENAS_ANCHOR_STEP : ENAS_ANCHOR_NONE};
        if (m->ctrl_nni)
            nni_hints(&m->dec[d - 1], d - 1);
        if (i == 0)
            continue;
        lab = m->labels + d * MACRO_LABEL_SIZE;
        snprintf(lab, MACRO_LABEL_SIZE, "InputChoice%zu", 2 * i + 1);
        m->dec[d++] = (struct enas_decision){.label = lab,
                                             .kind = ENAS_CHOICE_ANY,
                                             .role = ENAS_ROLE_INPUT,
                                             .n_candidates = (unsigned)i,
                                             .candidate_names = m->cand,
                                             .anchor = ENAS_ANCHOR_QUERY};
        if (m->ctrl_nni)
            nni_hints(&m->dec[d - 1], d - 1);
    }
    return ENAS_OK;
}

static void macro_destroy(void *state)
{
    struct macro *m = state;
    if (!m)
        return;
    for (size_t i = m->n_ops; i-- > 0;)
        m->api->op_destroy(m->ops[i]);
    void *bufs[] = {m->ops,  m->arch,      m->layers, m->fr,    m->dec,  m->labels,
                    m->cand, m->cand_text, m->cur,    m->level, m->list, m->shapes};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        m->api->free(bufs[i]);
    m->api->free(m);
}

/* Settings, geometry and the per-pass working memory. */
static enum enas_status macro_setup(struct macro *m, const struct enas_space_args *a, struct enas_err *err)
{
    const struct enas_host_api *api = a->api;
    m->L = api->cfg_int(a->cfg, "num_layers");
    m->F = api->cfg_int(a->cfg, "out_filters");
    m->nb = api->cfg_int(a->cfg, "num_branches");
    m->keep_prob = api->cfg_float(a->cfg, "keep_prob");
    m->double_filters = api->cfg_bool(a->cfg, "final_double_filters");
    m->final_sep = api->cfg_bool(a->cfg, "final_sep_conv");
    m->bn_nni = strcmp(api->cfg_string(a->cfg, "bn_placement"), "nni") == 0;
    m->shared_fr = api->cfg_bool(a->cfg, "shared_reduce");
    m->conv_bias = api->cfg_bool(a->cfg, "conv_bias");
    m->fc_bias = api->cfg_bool(a->cfg, "fc_bias");
    m->ctrl_nni = strcmp(api->cfg_string(a->cfg, "controller_style"), "nni") == 0;
    m->fixed = a->fixed_arch != NULL;
    if (m->fixed) /* NNI's example has no final network: its placements are settings of the supergraph */
        m->bn_nni = m->shared_fr = 0;
    m->n_classes = a->n_classes;
    if (m->F % 2)
        return enas_err_set(
            err, ENAS_ERR_CONFIG,
            "macro: out_filters must be even (factorized reduction splits it in two), got %lld",
            (long long)m->F);
    if (a->image_h < 1 || a->image_w < 1 || a->image_c < 1 || a->n_classes < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "macro: bad image shape %lldx%lldx%lld or %lld classes", (long long)a->image_h,
                            (long long)a->image_w, (long long)a->image_c, (long long)a->n_classes);
    m->image = (struct enas_tensor){NULL, 4, {1, a->image_h, a->image_w, a->image_c}};
    const int64_t d = m->L / 3; /* TF pool_layers = [d - 1, 2d - 1] */
    m->n_red = d >= 1 ? 2 : 0;
    m->pool_at[0] = d - 1;
    m->pool_at[1] = 2 * d - 1;
    const size_t L1 = (size_t)m->L + 1;
    m->cap_shapes = 32 + L1 * (24 + L1);
    m->layers = api->alloc((size_t)m->L * sizeof *m->layers);
    m->fr = api->alloc((size_t)(m->n_red ? m->n_red : 1) * L1 * sizeof *m->fr);
    m->cur = api->alloc(L1 * sizeof(void *)); /* tensor pointers */
    m->level = api->alloc(L1 * sizeof *m->level);
    m->list = api->alloc(L1 * sizeof(void *));
    m->shapes = api->alloc(m->cap_shapes * sizeof *m->shapes);
    if (!m->layers || !m->fr || !m->cur || !m->level || !m->list || !m->shapes)
        return enas_err_set(err, ENAS_ERR_NOMEM, "macro: out of memory for %lld layers", (long long)m->L);
    memset(m->layers, 0, (size_t)m->L * sizeof *m->layers);
    memset(m->fr, 0, (size_t)(m->n_red ? m->n_red : 1) * L1 * sizeof *m->fr);
    return make_decisions(m, err);
}

static enum enas_status copy_arch(struct macro *m, const struct enas_space_args *a, struct enas_err *err)
{
    enum enas_status st = macro_check_arch(m, a->fixed_arch, a->fixed_arch_len, err);
    if (st != ENAS_OK) {
        enas_err_prefix(err, "fixed architecture: ");
        return st;
    }
    m->arch = a->api->alloc(a->fixed_arch_len * sizeof *m->arch);
    if (!m->arch)
        return enas_err_set(err, ENAS_ERR_NOMEM, "macro: out of memory");
    m->arch_len = a->fixed_arch_len;
    memcpy(m->arch, a->fixed_arch, m->arch_len * sizeof *m->arch);
    return ENAS_OK;
}

static enum enas_status macro_create(const struct enas_space_args *a, void **state, struct enas_err *err)
{
    *state = NULL;
    struct macro *m = a->api->alloc(sizeof *m);
    if (!m)
        return enas_err_set(err, ENAS_ERR_NOMEM, "macro: out of memory");
    memset(m, 0, sizeof *m);
    m->api = a->api;
    m->host = a->host;
    enum enas_status st = macro_setup(m, a, err);
    if (st == ENAS_OK && a->fixed_arch)
        st = copy_arch(m, a, err);
    if (st == ENAS_OK)
        st = macro_build(m, err);
    if (st != ENAS_OK) {
        macro_destroy(m);
        return st;
    }
    *state = m;
    return ENAS_OK;
}

/* A fixed-architecture network only has the ops of the architecture it was built for. */
static enum enas_status macro_check_run(const struct macro *m, const int *arch, size_t len,
                                        struct enas_err *err)
{
    enum enas_status st = macro_check_arch(m, arch, len, err);
    for (size_t p = 0; st == ENAS_OK && m->fixed && p < len; p++)
        if (arch[p] != m->arch[p])
            st = enas_err_set(err, ENAS_ERR_INVALID_ARG,
                              "macro: the network was built for a fixed architecture that has %d at position "
                              "%zu, got %d",
                              m->arch[p], p, arch[p]);
    return st;
}

static enum enas_status macro_validate(void *state, const int *arch, size_t len, struct enas_err *err)
{
    return macro_check_arch(state, arch, len, err);
}

static enum enas_status macro_forward(void *state, struct enas_exec *x, const int *arch, size_t len,
                                      const struct enas_tensor *images, struct enas_child_out *out,
                                      struct enas_err *err)
{
    struct macro *m = state;
    enum enas_status st = macro_check_run(m, arch, len, err);
    memset(out, 0, sizeof *out);
    if (st == ENAS_OK && (images->ndim != 4 || images->dims[3] != m->image.dims[3]))
        st = enas_err_set(err, ENAS_ERR_INVALID_ARG, "macro: images must be N x H x W x %lld",
                          (long long)m->image.dims[3]);
    if (st == ENAS_OK)
        st = macro_run(m, x, arch, images, &out->logits, NULL, NULL, err);
    return st;
}

static enum enas_status macro_info(void *state, const int *arch, size_t len, struct enas_child_info *out,
                                   struct enas_err *err)
{
    struct macro *m = state;
    enum enas_status st = macro_check_run(m, arch, len, err);
    out->supergraph_params = 0;
    for (size_t i = 0; i < m->n_ops; i++)
        out->supergraph_params += m->api->op_param_count(m->ops[i]);
    if (st == ENAS_OK)
        st = macro_run(m, NULL, arch, &m->image, NULL, &out->child_madds, &out->child_params, err);
    return st;
}

static const struct enas_space_desc macro_desc = {
    ENAS_DESC_INIT(struct enas_space_desc),
    .name = "macro",
    .description = "ENAS macro space: L layers, each one of 6 ops plus skip connections (TF general child)",
    .settings = macro_settings,
    .n_settings = sizeof macro_settings / sizeof macro_settings[0],
    .default_epochs = 310,
    .create = macro_create,
    .n_decisions = macro_n_decisions,
    .decision = macro_decision,
    .validate = macro_validate,
    .forward = macro_forward,
    .info = macro_info,
    .dot = macro_dot,
    .destroy = macro_destroy,
    .sample_order = macro_sample_order,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    return st == ENAS_OK ? api->register_space(h, &macro_desc, err) : st;
}
