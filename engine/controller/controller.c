/* controller.c - creating the controller: reading the space's sample order, checking its decisions against
 * the controller hints walked in that order, laying out its parameters (initialised U(-0.1, 0.1), TF's
 * init for every controller variable), and sizing every tape buffer so that sampling and backward never
 * allocate. */
#include "controller/controller_impl.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Running totals of the walk over the decisions. */
struct ctrl_count {
    size_t steps, anchors, live; /* live: anchors in the current scope */
};

static const char *label(const struct enas_decision *d)
{
    return d->label ? d->label : "?";
}

static struct ctrl_grp *find_grp(struct enas_controller *c, unsigned id)
{
    for (size_t g = 0; g < c->n_grp; g++)
        if (c->grp[g].id == id)
            return &c->grp[g];
    return NULL;
}

static enum enas_status check_opts(const struct enas_ctrl_opts *o, struct enas_err *err)
{
    if (o->lstm_size < 1 || o->lstm_size > 4096 || o->lstm_layers < 1 || o->lstm_layers > 64)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "controller: lstm_size %d / lstm_layers %d out of range", o->lstm_size,
                            o->lstm_layers);
    if (!(o->tanh_constant >= 0) || !(o->temperature >= 0) || !(o->op_tanh_reduce >= 0))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "controller: tanh_constant, temperature and op_tanh_reduce must be >= 0");
    return ENAS_OK;
}

/* The dense group of an OP decision, made on first sight; the candidate counts must agree. */
static enum enas_status add_to_group(struct enas_controller *c, struct ctrl_dec *cd, struct enas_err *err)
{
    const struct enas_decision *d = cd->d;
    struct ctrl_grp *g = find_grp(c, d->group);
    if (!g) {
        g = &c->grp[c->n_grp++];
        *g = (struct ctrl_grp){.id = d->group, .k = d->n_candidates, .b_soft = SIZE_MAX, .first = d};
    } else if (g->k != d->n_candidates) {
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "controller: decisions '%s' and '%s' share op group %u but have %u and %u "
                            "candidates (a group shares one softmax and embedding)",
                            label(g->first), label(d), d->group, g->k, d->n_candidates);
    }
    if (d->bias_init)
        g->b_soft = 0; /* marked; the real index is set when the parameters are laid out */
    cd->grp = (int)(g - c->grp);
    return ENAS_OK;
}

/* Checks one decision on its own and lays out its place in the architecture and the logits tape. Called
 * in decision order, so that the architecture offsets and the groups (thus the parameter layout) do not
 * depend on the sample order. */
static enum enas_status place_one(struct enas_controller *c, size_t i, struct enas_err *err)
{
    struct ctrl_dec *cd = &c->dec[i];
    const struct enas_decision *d = cd->d;
    const char *lab = label(d);
    if (d->n_candidates < 1 || (d->kind != ENAS_CHOICE_ONE && d->kind != ENAS_CHOICE_ANY) ||
        (d->role != ENAS_ROLE_OP && d->role != ENAS_ROLE_INPUT) || d->anchor < ENAS_ANCHOR_NONE ||
        d->anchor > ENAS_ANCHOR_STEP)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: decision '%s' (#%zu) is malformed", lab,
                            i);
    if (d->warmup_anchors && !d->new_scope)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "controller: decision '%s' asks for warm-up anchors without a new scope", lab);
    cd->grp = -1;
    if (d->role == ENAS_ROLE_INPUT) {
        if (d->bias_init)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "controller: input decision '%s' has bias_init; only op decisions have a "
                                "learnable bias",
                                lab);
    } else {
        enum enas_status st = add_to_group(c, cd, err);
        if (st != ENAS_OK)
            return st;
    }
    cd->arch_off = c->arch_len;
    c->arch_len += d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates;
    cd->k_off = c->n_k;
    c->n_k += d->n_candidates;
    if (d->n_candidates > c->k_max)
        c->k_max = d->n_candidates;
    c->n_any += d->kind == ENAS_CHOICE_ANY;
    double red = d->tanh_reduce && c->o.op_tanh_reduce > 0 ? c->o.op_tanh_reduce : 1.0;
    cd->cmul = c->o.tanh_constant / red;
    return ENAS_OK;
}

/* Follows the hints of decision i, the next one in sample order: counts the steps and anchors it needs
 * and checks that its input candidates exist at that point of the walk. */
static enum enas_status walk_one(struct enas_controller *c, size_t i, struct ctrl_count *n,
                                 struct enas_err *err)
{
    struct ctrl_dec *cd = &c->dec[i];
    const struct enas_decision *d = cd->d;
    if (d->new_scope) {
        n->live = d->warmup_anchors;
        n->steps += d->warmup_anchors;
        n->anchors += d->warmup_anchors;
    }
    if (d->role == ENAS_ROLE_INPUT) {
        if (d->n_candidates > n->live)
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG,
                "controller: input decision '%s' (#%zu) has %u candidates but only %zu anchors "
                "exist at that point (see the new_scope / warmup_anchors / anchor hints%s)",
                label(d), i, d->n_candidates, n->live, c->ordered ? " and the space's sample_order" : "");
        cd->u_off = c->n_u;
        c->n_u += d->n_candidates;
        c->has_attn = 1;
    }
    n->steps += 1 + (d->anchor == ENAS_ANCHOR_STEP);
    if (d->anchor != ENAS_ANCHOR_NONE) {
        n->anchors++;
        n->live++;
    }
    return ENAS_OK;
}

/* The space's sample order into c->order: decision order when it has none, or when its descriptor
 * predates the member (struct_size too small to hold it). Anything but a permutation is an error that
 * names the space and the first bad entry. */
static enum enas_status read_order(struct enas_controller *c, const struct enas_space_desc *space,
                                   void *state, struct enas_err *err)
{
    const size_t need = offsetof(struct enas_space_desc, sample_order) + sizeof space->sample_order;
    c->ordered = space->struct_size >= need && space->sample_order;
    for (size_t s = 0; s < c->n_dec; s++)
        c->order[s] = c->ordered ? SIZE_MAX : s; /* an entry the space leaves alone is out of range */
    if (!c->ordered)
        return ENAS_OK;
    space->sample_order(state, c->order);
    size_t *at = calloc(c->n_dec ? c->n_dec : 1, sizeof *at); /* 1 + the step that samples decision i */
    if (!at)
        return enas_err_set(err, ENAS_ERR_NOMEM, "controller: out of memory");
    const char *name = space->name ? space->name : "?";
    enum enas_status st = ENAS_OK;
    for (size_t s = 0; s < c->n_dec && st == ENAS_OK; s++) {
        size_t i = c->order[s];
        if (i >= c->n_dec)
            st = enas_err_set(
                err, ENAS_ERR_INVALID_ARG,
                "controller: space '%s': sample_order[%zu] = %zu is out of range: the order must "
                "be a permutation of the decisions 0..%zu",
                name, s, i, c->n_dec - 1);
        else if (at[i])
            st = enas_err_set(err, ENAS_ERR_INVALID_ARG,
                              "controller: space '%s': sample_order[%zu] = %zu ('%s') repeats "
                              "sample_order[%zu]: the order must be a permutation of the decisions 0..%zu",
                              name, s, i, label(c->dec[i].d), at[i] - 1, c->n_dec - 1);
        else
            at[i] = s + 1;
    }
    free(at);
    return st;
}

static enum enas_status walk(struct enas_controller *c, const struct enas_space_desc *space, void *state,
                             struct enas_err *err)
{
    struct ctrl_count n = {0, 0, 0};
    for (size_t i = 0; i < c->n_dec; i++) {
        c->dec[i].d = space->decision(state, i);
        if (!c->dec[i].d)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: space '%s' has no decision #%zu",
                                space->name ? space->name : "?", i);
        enum enas_status st = place_one(c, i, err);
        if (st != ENAS_OK)
            return st;
    }
    enum enas_status st = read_order(c, space, state, err);
    for (size_t s = 0; s < c->n_dec && st == ENAS_OK; s++)
        st = walk_one(c, c->order[s], &n, err);
    if (st != ENAS_OK)
        return st;
    if (c->n_any && !(c->o.skip_target > 0 && c->o.skip_target < 1))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: skip_target %g must lie in (0, 1)",
                            c->o.skip_target);
    c->max_steps = n.steps;
    c->max_anchors = n.anchors;
    /* an input is at most k_max terms (a mean of chosen anchors or embeddings) or one (g_emb) */
    c->max_terms = n.steps * (c->k_max > 1 ? c->k_max : 1);
    return ENAS_OK;
}

/* Appends a parameter's name and shape; with c->par == NULL it only counts. */
static size_t add_param(struct enas_controller *c, const char *name, unsigned g, int64_t d0, int64_t d1)
{
    size_t i = c->n_par++;
    if (c->par) {
        snprintf(c->names[i], sizeof c->names[i], name, g);
        struct enas_param *p = &c->par[i];
        p->name = c->names[i];
        p->value.ndim = d1 ? 2 : 1;
        p->value.dims[0] = d0;
        p->value.dims[1] = d1 ? d1 : 1;
        p->value.dims[2] = p->value.dims[3] = 1;
        p->flags = ENAS_PARAM_NO_DECAY;
        p->used = 1; /* every controller parameter takes part in every sample */
        c->off[i] = c->n_val;
    }
    c->n_val += (size_t)(d0 * (d1 ? d1 : 1));
    return i;
}

static void layout(struct enas_controller *c)
{
    int64_t h = c->h;
    c->n_par = c->n_val = 0;
    for (int l = 0; l < c->nl; l++) {
        size_t i = add_param(c, "ctrl.lstm%u.w", (unsigned)l, 2 * h, 4 * h);
        if (l == 0)
            c->p_lstm = i;
    }
    c->p_gemb = add_param(c, "ctrl.g_emb", 0, 1, h);
    for (size_t g = 0; g < c->n_grp; g++) {
        struct ctrl_grp *gr = &c->grp[g];
        gr->w_soft = add_param(c, "ctrl.w_soft.g%u", gr->id, h, gr->k);
        if (gr->b_soft != SIZE_MAX)
            gr->b_soft = add_param(c, "ctrl.b_soft.g%u", gr->id, gr->k, 0);
        gr->w_emb = add_param(c, "ctrl.w_emb.g%u", gr->id, gr->k, h);
    }
    if (c->has_attn) {
        c->p_attn1 = add_param(c, "ctrl.attn1", 0, h, h);
        c->p_attn2 = add_param(c, "ctrl.attn2", 0, h, h);
        c->p_v = add_param(c, "ctrl.v", 0, h, 1);
    }
}

/* U(-0.1, 0.1) everywhere, then each learnable bias from the first bias_init of its group. */
static void init_params(struct enas_controller *c)
{
    struct enas_rng r;
    enas__rng_seed(&r, c->o.seed, 0x0c7a11e5u);
    for (size_t i = 0; i < c->n_val; i++)
        c->val[i] = (float)(0.2 * enas__rng_uniform(&r) - 0.1);
    for (size_t g = 0; g < c->n_grp; g++) {
        if (c->grp[g].b_soft == SIZE_MAX)
            continue;
        for (size_t i = 0; i < c->n_dec; i++)
            if (c->dec[i].grp == (int)g && c->dec[i].d->bias_init) {
                /* the group's first bias_init wins; the others share the same bias anyway */
                memcpy(c->val + c->off[c->grp[g].b_soft], c->dec[i].d->bias_init,
                       c->grp[g].k * sizeof(float));
                break;
            }
    }
    for (size_t i = 0; i < c->n_par; i++) {
        c->par[i].value.data = c->val + c->off[i];
        c->par[i].grad = c->grad + c->off[i];
        c->pp[i] = &c->par[i];
    }
}

#define CTRL_ALLOC(p, n) (((p) = calloc((n) > 0 ? (n) : 1, sizeof *(p))) != NULL)

static int alloc_params(struct enas_controller *c)
{
    layout(c); /* counts */
    size_t np = c->n_par, nv = c->n_val;
    if (!CTRL_ALLOC(c->par, np) || !CTRL_ALLOC(c->pp, np) || !CTRL_ALLOC(c->names, np) ||
        !CTRL_ALLOC(c->off, np) || !CTRL_ALLOC(c->val, nv) || !CTRL_ALLOC(c->grad, nv) ||
        !CTRL_ALLOC(c->am, nv) || !CTRL_ALLOC(c->av, nv) || !CTRL_ALLOC(c->gd, nv))
        return 0;
    layout(c); /* fills */
    init_params(c);
    return 1;
}

static int alloc_tape(struct enas_controller *c)
{
    size_t h = (size_t)c->h, s = c->max_steps, a = c->max_anchors, nl = (size_t)c->nl;
    return CTRL_ALLOC(c->x, s * h) && CTRL_ALLOC(c->st, s * nl * 7 * h) && CTRL_ALLOC(c->zero, h) &&
           CTRL_ALLOC(c->term_at, s + 1) && CTRL_ALLOC(c->terms, c->max_terms) &&
           CTRL_ALLOC(c->pend, c->k_max + 1) && CTRL_ALLOC(c->a_key, a) && CTRL_ALLOC(c->a_emb, a) &&
           CTRL_ALLOC(c->key, a * h) && CTRL_ALLOC(c->dkey, a * h) && CTRL_ALLOC(c->q_step, c->n_dec) &&
           CTRL_ALLOC(c->scope, c->n_dec) && CTRL_ALLOC(c->arch, c->arch_len) &&
           CTRL_ALLOC(c->lraw, c->n_k) && CTRL_ALLOC(c->lsq, c->n_k) && CTRL_ALLOC(c->prob, c->n_k) &&
           CTRL_ALLOC(c->u, c->n_u * h) && CTRL_ALLOC(c->dzs, s * nl * 4 * h) &&
           CTRL_ALLOC(c->dh_ext, s * h) && CTRL_ALLOC(c->dh_next, nl * h) && CTRL_ALLOC(c->dc_next, nl * h) &&
           CTRL_ALLOC(c->dz, 4 * h) && CTRL_ALLOC(c->dxin, 2 * h) && CTRL_ALLOC(c->dq, h) &&
           CTRL_ALLOC(c->gk, c->k_max + 1);
}

enum enas_status enas__controller_create(const struct enas_ctrl_opts *o, const struct enas_space_desc *space,
                                         void *space_state, struct enas_controller **out,
                                         struct enas_err *err)
{
    *out = NULL;
    if (!o || !space || !space->n_decisions || !space->decision)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "controller: no options or no space decisions");
    enum enas_status st = check_opts(o, err);
    if (st != ENAS_OK)
        return st;
    struct enas_controller *c = calloc(1, sizeof *c);
    if (!c)
        return enas_err_set(err, ENAS_ERR_NOMEM, "controller: out of memory");
    c->o = *o;
    c->h = o->lstm_size;
    c->nl = o->lstm_layers;
    c->n_dec = space->n_decisions(space_state);
    if (!CTRL_ALLOC(c->dec, c->n_dec) || !CTRL_ALLOC(c->grp, c->n_dec) || !CTRL_ALLOC(c->order, c->n_dec)) {
        st = enas_err_set(err, ENAS_ERR_NOMEM, "controller: out of memory");
        goto fail;
    }
    st = walk(c, space, space_state, err);
    if (st != ENAS_OK)
        goto fail;
    if (!alloc_params(c) || !alloc_tape(c)) {
        st = enas_err_set(err, ENAS_ERR_NOMEM, "controller: out of memory");
        goto fail;
    }
    *out = c;
    return ENAS_OK;
fail:
    enas__controller_destroy(c);
    return st;
}

void enas__controller_destroy(struct enas_controller *c)
{
    if (!c)
        return;
    void *all[] = {c->dec,     c->order, c->grp,  c->par,   c->pp,    c->names, c->off,    c->val,
                   c->grad,    c->am,    c->av,   c->dzs,   c->gd,    c->x,     c->st,     c->zero,
                   c->term_at, c->terms, c->pend, c->a_key, c->a_emb, c->key,   c->dkey,   c->q_step,
                   c->scope,   c->arch,  c->lraw, c->lsq,   c->prob,  c->u,     c->dh_ext, c->dh_next,
                   c->dc_next, c->dz,    c->dxin, c->dq,    c->gk};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    free(c);
}

size_t enas__controller_arch_len(const struct enas_controller *c)
{
    return c->arch_len;
}

struct enas_param *const *enas__controller_params(struct enas_controller *c, size_t *n)
{
    *n = c->n_par;
    return c->pp;
}

struct enas_param *enas__controller_param(struct enas_controller *c, const char *name)
{
    for (size_t i = 0; i < c->n_par; i++)
        if (strcmp(c->par[i].name, name) == 0)
            return &c->par[i];
    return NULL;
}

float *enas__controller_adam_m(struct enas_controller *c, size_t i)
{
    return i < c->n_par ? c->am + c->off[i] : NULL;
}

float *enas__controller_adam_v(struct enas_controller *c, size_t i)
{
    return i < c->n_par ? c->av + c->off[i] : NULL;
}

int64_t *enas__controller_adam_t(struct enas_controller *c)
{
    return &c->adam_t;
}
