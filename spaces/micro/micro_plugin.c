/* micro_plugin.c - registers the ENAS micro (cell) search space `micro` (ENAS.md §3, TF semantics):
 * its settings, its decisions in the order of TF's integer string (normal cell, then reduction cell; per
 * node x_input, x_op, y_input, y_op), the order TF's controller samples them in (per node x_input,
 * y_input, x_op, y_op), range checks of an architecture, and the state's lifetime. */
#include "micro.h"

#include <stdio.h>
#include <string.h>

#define MC_DEFAULT_OPS "sep_conv_3x3|sep_conv_5x5|avg_pool_3x3|max_pool_3x3|identity"

static const struct enas_setting mc_settings[] = {
    {.key = "num_layers",
     .type = ENAS_SET_INT,
     .def = 6,
     .min = 1,
     .max = 1000,
     .help = "normal cells L (TF child_num_layers); reduction cells go in at L/3 and 2(L/3)+1"},
    {.key = "out_filters",
     .type = ENAS_SET_INT,
     .def = 20,
     .min = 1,
     .max = 4096,
     .help = "F, channels of the first cells, doubled at each reduction (TF child_out_filters)"},
    {.key = "num_nodes",
     .type = ENAS_SET_INT,
     .def = 5,
     .min = 1,
     .max = MC_MAX_NODES,
     .help = "computed nodes per cell (TF child_num_cells)"},
    {.key = "ops",
     .type = ENAS_SET_STRING,
     .def_str = MC_DEFAULT_OPS,
     .help = "candidate ops, '|'-separated: sep_conv_KxK, conv_KxK, avg_pool_KxK, max_pool_KxK, identity, "
             "or a registered op name, optionally name(key=value,...)"},
    {.key = "keep_prob",
     .type = ENAS_SET_FLOAT,
     .def = 0.9,
     .min = 1e-3,
     .max = 1.0,
     .help = "keep probability of the dropout before the classifier (TF child_keep_prob)"},
    {.key = "use_aux_heads",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "aux classifier after the second reduction, in training passes (TF sets it; NNI does not)"},
    {.key = "aux_weight",
     .type = ENAS_SET_FLOAT,
     .def = 0.4,
     .min = 0.0,
     .max = ENAS_UNBOUNDED,
     .help = "weight of the aux head's loss"},
    {.key = "drop_path_keep_prob",
     .type = ENAS_SET_FLOAT,
     .def = 0.6,
     .min = 1e-3,
     .max = 1.0,
     .help = "final mode: drop-path keep probability of the last cell (earlier cells keep more)"},
    {.key = "drop_path_steps",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "final mode: training steps over which drop path ramps in (TF num_train_steps); 0: no ramp"},
    {.key = "search_batch_stats",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "search mode: BN batch statistics and dropout in every pass, also when scoring (TF); false: "
             "the mode the engine asks for (scoring: running statistics unless reward_train_mode)"},
    {.key = "sep_conv_stack",
     .type = ENAS_SET_INT,
     .def = 2,
     .min = 1,
     .max = 2,
     .help = "ReLU-sep_conv-BN units per sep_conv_KxK candidate: 2 as TF stacks them, 1 as NNI's SepConvBN"},
    {.key = "op_weights",
     .type = ENAS_SET_STRING,
     .def_str = "per_input",
     .choices = "per_input|shared",
     .help = "search mode: a node slot's candidate ops have one weight set per possible input (TF's banks) "
             "or one whatever the input (shared, NNI)"},
    {.key = "reduction",
     .type = ENAS_SET_STRING,
     .def_str = "tf",
     .choices = "tf|nni",
     .help = "search mode: a reduction cell reads the previous output and its factorized reduction (tf), or "
             "factorized reductions of both its inputs (nni, NNI's ReductionLayer)"},
    {.key = "calibration",
     .type = ENAS_SET_STRING,
     .def_str = "relu_conv_bn",
     .choices = "relu_conv_bn|conv_bn_relu",
     .help = "a cell input with other than F channels goes through ReLU, 1x1 conv, BN (TF) or 1x1 conv, BN, "
             "ReLU (NNI's StdConv)"},
    {.key = "bn_affine",
     .type = ENAS_SET_BOOL,
     .def = 1,
     .help =
         "the BNs of calibrations, factorized reductions and the search cell output learn gamma and beta; "
         "false: NNI's affine=False there (the stem's and the ops' BNs keep theirs)"},
    {.key = "fc_bias",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "the classifier adds a bias (NNI's nn.Linear); false: none (TF)"},
    {.key = "controller_style",
     .type = ENAS_SET_STRING,
     .def_str = "tf",
     .choices = "tf|nni",
     .help =
         "how the controller walks the decisions: tf (MicroController: attention over node anchors, "
         "shared op softmax with TF's op biases); nni (ReinforceController: every op decision, then every "
         "input decision, each with its own softmax and embedding, no attention, no biases)"},
};

static size_t mc_n_decisions(void *state)
{
    return ((const struct mc_state *)state)->n_dec;
}

static const struct enas_decision *mc_decision(void *state, size_t i)
{
    const struct mc_state *m = state;
    return i < m->n_dec ? &m->dec[i] : NULL;
}

/* NNI's ReinforceController samples its fields in the order its trainer replaced the modules: every
 * LayerChoice (the op decisions, normal cell's first), then every InputChoice (ENAS.md 4.4). Its repeats of
 * a key (one per cell of that kind) are one decision here. */
static void nni_order(const struct mc_state *m, size_t *order)
{
    size_t s = 0;
    for (int pass = 0; pass < 2; pass++) /* the ops (odd positions), then the inputs */
        for (size_t i = 0; i < m->n_dec; i++)
            if ((i % 2 == 1) == (pass == 0))
                order[s++] = i;
}

/* TF's MicroController samples each node's two inputs, then its two ops, then takes the step that makes
 * the node's anchor (ENAS.md §4.3), but writes them as [index_1, op_1, index_2, op_2]: per node of 4
 * decisions, positions 0, 2, 1, 3. y_op, the node's ENAS_ANCHOR_STEP decision, stays last. */
static void mc_sample_order(void *state, size_t *order)
{
    const struct mc_state *m = state;
    static const size_t node[4] = {0, 2, 1, 3};
    if (m->ctrl_nni) {
        nni_order(m, order);
        return;
    }
    for (size_t i = 0; i < m->n_dec; i++)
        order[i] = i - i % 4 + node[i % 4];
}

/* TF's MicroController adds [0.25, 0.25, -0.25, -0.25, -0.25] to the normal cell's op logits, favouring
 * the two sep-convs; here every convolution candidate gets +0.25 and the rest -0.25. */
static enum enas_status decisions_make(struct mc_state *m, struct enas_err *err)
{
    m->n_dec = (size_t)(8 * m->nodes);
    m->dec = m->api->alloc(m->n_dec * sizeof *m->dec);
    m->labels = m->api->alloc(m->n_dec * sizeof *m->labels);
    m->bias = m->api->alloc(m->n_ops * sizeof *m->bias);
    m->bias_init = m->api->alloc(m->n_ops * sizeof *m->bias_init);
    if (!m->dec || !m->labels || !m->bias || !m->bias_init)
        return enas_err_set(err, ENAS_ERR_NOMEM, "micro: out of memory");
    for (unsigned k = 0; k < m->n_ops; k++) {
        const int conv = m->defs[k].kind == MC_SEP || m->defs[k].kind == MC_CONV;
        m->bias[k] = conv ? 0.25f : -0.25f;
        m->bias_init[k] = conv ? 10.0f : 0.0f; /* TF's learnable b_soft starts at [10, 10, 0, 0, 0] */
    }
    for (size_t i = 0; i < m->n_dec; i++) {
        const int reduce = i >= m->n_dec / 2, n = (int)(i % (size_t)(4 * m->nodes) / 4);
        const int pos = (int)(i % 4), is_op = pos % 2;
        snprintf(m->labels[i], sizeof m->labels[i], "%s_node_%d_%c_%s", reduce ? "reduce" : "normal", n,
                 pos < 2 ? 'x' : 'y', is_op ? "op" : "input");
        struct enas_decision d = {.label = m->labels[i],
                                  .kind = ENAS_CHOICE_ONE,
                                  .role = is_op ? ENAS_ROLE_OP : ENAS_ROLE_INPUT,
                                  .n_candidates = is_op ? m->n_ops : (unsigned)(n + 2),
                                  .group = 0,
                                  .tanh_reduce = is_op,
                                  .logit_bias = is_op && !reduce ? m->bias : NULL,
                                  /* TF's sampler: each cell starts from two warm-up anchors (the cell
                                   * inputs; x_input of node 0 comes first in both orders), and each node
                                   * ends with one more LSTM step whose output is the node's anchor (after
                                   * y_op, the node's last decision in sample order) */
                                  .new_scope = i % (size_t)(4 * m->nodes) == 0,
                                  .warmup_anchors = i % (size_t)(4 * m->nodes) == 0 ? 2u : 0u,
                                  .anchor = pos == 3 ? ENAS_ANCHOR_STEP : ENAS_ANCHOR_NONE,
                                  .bias_init = is_op ? m->bias_init : NULL};
        /* NNI: a softmax and an embedding per field (a group of its own), no anchors, no biases */
        if (m->ctrl_nni) {
            d.role = ENAS_ROLE_OP;
            d.group = (unsigned)i;
            d.tanh_reduce = 0;
            d.logit_bias = d.bias_init = NULL;
            d.new_scope = 0;
            d.warmup_anchors = 0;
            d.anchor = ENAS_ANCHOR_NONE;
        }
        m->dec[i] = d;
    }
    return ENAS_OK;
}

static enum enas_status check_ranges(const struct mc_state *m, const int *arch, size_t len,
                                     struct enas_err *err)
{
    if (len != m->n_dec)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "micro: the architecture has %zu ints; this space takes %zu "
                            "(4 per node, %lld nodes, normal and reduction cell)",
                            len, m->n_dec, (long long)m->nodes);
    for (size_t i = 0; i < len; i++)
        if (arch[i] < 0 || (unsigned)arch[i] >= m->dec[i].n_candidates)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "micro: position %zu (%s): %d is not in 0..%u", i,
                                m->dec[i].label, arch[i], m->dec[i].n_candidates - 1);
    return ENAS_OK;
}

/* Final mode builds one architecture: NULL means it, anything else must equal it. */
enum enas_status mc_validate(void *state, const int *arch, size_t len, struct enas_err *err)
{
    const struct mc_state *m = state;
    if (m->fixed && !arch)
        return ENAS_OK;
    if (!arch)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "micro: no architecture given to the search supergraph");
    enum enas_status st = check_ranges(m, arch, len, err);
    for (size_t i = 0; st == ENAS_OK && m->fixed && i < len; i++)
        if (arch[i] != m->fixed[i])
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG,
                "micro: position %zu (%s): %d differs from the fixed architecture's %d that this "
                "network was built for",
                i, m->dec[i].label, arch[i], m->fixed[i]);
    return st;
}

static void mc_destroy(void *state)
{
    struct mc_state *m = state;
    if (!m)
        return;
    const struct enas_host_api *api = m->api;
    for (size_t i = m->n_all; i-- > 0;)
        api->op_destroy(m->all[i]);
    for (int64_t id = 0; m->cells && id < m->n_cells; id++)
        for (int n = 0; n < MC_MAX_NODES; n++)
            for (int j = 0; j < 2; j++)
                api->free(m->cells[id].slot[n][j]);
    api->free(m->cells);
    api->free(m->all);
    api->free(m->dec);
    api->free(m->labels);
    api->free(m->bias);
    api->free(m->bias_init);
    api->free(m->fixed);
    api->free(m);
}

static enum enas_status settings_read(struct mc_state *m, const struct enas_space_args *a,
                                      struct enas_err *err)
{
    const struct enas_host_api *api = a->api;
    m->L = api->cfg_int(a->cfg, "num_layers");
    m->F = api->cfg_int(a->cfg, "out_filters");
    m->nodes = api->cfg_int(a->cfg, "num_nodes");
    m->keep_prob = api->cfg_float(a->cfg, "keep_prob");
    m->aux = api->cfg_bool(a->cfg, "use_aux_heads");
    m->aux_weight = api->cfg_float(a->cfg, "aux_weight");
    m->dp_keep = api->cfg_float(a->cfg, "drop_path_keep_prob");
    m->dp_steps = api->cfg_int(a->cfg, "drop_path_steps");
    m->search_bs = api->cfg_bool(a->cfg, "search_batch_stats");
    m->sep_stack = (int)api->cfg_int(a->cfg, "sep_conv_stack");
    m->shared_ops = strcmp(api->cfg_string(a->cfg, "op_weights"), "shared") == 0;
    m->nni_reduce = strcmp(api->cfg_string(a->cfg, "reduction"), "nni") == 0;
    m->cal_post = strcmp(api->cfg_string(a->cfg, "calibration"), "conv_bn_relu") == 0;
    m->bn_affine = api->cfg_bool(a->cfg, "bn_affine");
    m->fc_bias = api->cfg_bool(a->cfg, "fc_bias");
    m->ctrl_nni = strcmp(api->cfg_string(a->cfg, "controller_style"), "nni") == 0;
    m->img_h = a->image_h;
    m->img_w = a->image_w;
    m->img_c = a->image_c;
    m->classes = a->n_classes;
    if (m->img_h < 1 || m->img_h != m->img_w || m->img_c < 1 || m->classes < 1)
        return enas_err_set(
            err, ENAS_ERR_INVALID_ARG,
            "micro: needs square images and classes >= 1, got %lldx%lldx%lld and %lld classes",
            (long long)m->img_h, (long long)m->img_w, (long long)m->img_c, (long long)m->classes);
    return mc_parse_ops(m, api->cfg_string(a->cfg, "ops"), err);
}

static enum enas_status mc_create(const struct enas_space_args *a, void **state, struct enas_err *err)
{
    *state = NULL;
    struct mc_state *m = a->api->alloc(sizeof *m);
    if (!m)
        return enas_err_set(err, ENAS_ERR_NOMEM, "micro: out of memory");
    memset(m, 0, sizeof *m);
    m->api = a->api;
    m->host = a->host;
    enum enas_status st = settings_read(m, a, err);
    if (st == ENAS_OK)
        st = decisions_make(m, err);
    if (st == ENAS_OK && a->fixed_arch) {
        st = check_ranges(m, a->fixed_arch, a->fixed_arch_len, err);
        if (st != ENAS_OK)
            enas_err_prefix(err, "fixed architecture: ");
        else if (!(m->fixed = a->api->alloc(m->n_dec * sizeof *m->fixed)))
            st = enas_err_set(err, ENAS_ERR_NOMEM, "micro: out of memory");
        else
            memcpy(m->fixed, a->fixed_arch, m->n_dec * sizeof *m->fixed);
    }
    if (st == ENAS_OK)
        st = mc_build(m, err);
    if (st != ENAS_OK) {
        mc_destroy(m);
        return st;
    }
    *state = m;
    return ENAS_OK;
}

static const struct enas_space_desc mc_desc = {
    ENAS_DESC_INIT(struct enas_space_desc),
    .name = "micro",
    .description = "ENAS micro space (TF): normal and reduction cells of sep-convs, pools and identity",
    .settings = mc_settings,
    .n_settings = sizeof mc_settings / sizeof mc_settings[0],
    .default_epochs = 150,
    .create = mc_create,
    .n_decisions = mc_n_decisions,
    .decision = mc_decision,
    .validate = mc_validate,
    .forward = mc_forward,
    .info = mc_info,
    .dot = mc_dot,
    .destroy = mc_destroy,
    .sample_order = mc_sample_order,
};

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    return st == ENAS_OK ? api->register_space(h, &mc_desc, err) : st;
}
