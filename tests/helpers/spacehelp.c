/* spacehelp.c - see spacehelp.h. */
#include "spacehelp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "data/cifar10.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "tape/step.h"
#include "train/optim.h"

struct sh {
    struct enas_host *h;
    struct enas_config *cfg;
    struct enas_load_report *rep;
    const struct enas_space_desc *space;
    void *state;
    const struct enas_loss_desc *loss;
    struct enas_step *step;
    struct enas_sgd *opt;
    const struct enas_tensor *logits;
    float *grad; /* dlogits */
    size_t grad_cap;
    uint64_t passes;
    int keep; /* sh_keep_outputs */
};

static int apply_options(struct enas_config *cfg, const char *options, struct enas_err *err)
{
    char *copy = strdup(options ? options : ""), *save = NULL;
    int rc = copy ? 0 : 1;
    for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok && rc == 0;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            fprintf(stderr, "spacehelp: option '%s' lacks '='\n", tok);
            rc = 1;
            break;
        }
        *eq = '\0';
        if (enas__config_set_option(cfg, tok, eq + 1, err) != ENAS_OK) {
            fprintf(stderr, "spacehelp: %s\n", err->msg);
            rc = 1;
        }
    }
    free(copy);
    return rc;
}

static int open_engine(struct sh *s, const char *plugin_dir, const char *backend, struct enas_err *err)
{
    const char *dirs[] = {plugin_dir};
    if (enas__host_create(&s->h, err) != ENAS_OK || enas__config_create(&s->cfg, err) != ENAS_OK)
        return 1;
    enas__loader_load_all(s->h, dirs, 1, &s->rep, err);
    if (!s->rep || s->rep->n_failed) {
        if (s->rep)
            enas__loader_report_print(s->rep, stderr, 0);
        return 1;
    }
    if (!enas__registry_find_backend(s->h->reg, backend, err)) {
        fprintf(stderr, "spacehelp: %s: skipped\n", err->msg);
        return 77;
    }
    if (enas__config_add_section(s->cfg, "", "enas", enas__core_settings, enas__core_n_settings, err) !=
            ENAS_OK ||
        enas__registry_declare_sections(s->h->reg, s->cfg, err) != ENAS_OK)
        return 1;
    enas__host_set_config(s->h, s->cfg);
    enas__host_seed(s->h, 1);
    return enas__host_init_backend(s->h, backend, 2, enas__config_section(s->cfg, backend), err) == ENAS_OK
               ? 0
               : 1;
}

int sh_open(struct sh **out, const char *plugin_dir, const char *backend, const char *space,
            const char *options, const int *fixed_arch, size_t fixed_len)
{
    struct enas_err err = {0};
    struct sh *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return 1;
    int rc = open_engine(s, plugin_dir, backend, &err);
    if (rc == 0 && apply_options(s->cfg, options, &err) != 0)
        rc = 1;
    if (rc == 0 && (!(s->space = enas__registry_find_space(s->h->reg, space, &err)) ||
                    !(s->loss = enas__registry_find_loss(s->h->reg, "cross_entropy", &err))))
        rc = 1;
    struct enas_sgd_opts so = {.momentum = 0.9, .nesterov = 1, .weight_decay = 0};
    if (rc == 0 && (enas__step_create(s->h, &s->step, &err) != ENAS_OK ||
                    enas__optim_sgd_create(&so, &s->opt, &err) != ENAS_OK))
        rc = 1;
    if (rc == 0) {
        struct enas_space_args a = {s->h->api,  s->h,     enas__config_section(s->cfg, space), 32, 32, 3, 10,
                                    fixed_arch, fixed_len};
        if (s->space->create(&a, &s->state, &err) != ENAS_OK)
            rc = 1;
    }
    if (rc == 1)
        fprintf(stderr, "spacehelp: %s\n", err.msg);
    return rc;
}

void sh_close(struct sh *s)
{
    if (!s)
        return;
    if (s->space && s->state)
        s->space->destroy(s->state);
    enas__step_destroy(s->step);
    enas__optim_sgd_destroy(s->opt);
    enas__loader_report_destroy(s->rep);
    enas__config_destroy(s->cfg); /* borrows tables from the plugins: before they close */
    enas__host_destroy(s->h);
    free(s->grad);
    free(s);
}

const struct enas_space_desc *sh_desc(struct sh *s)
{
    return s->space;
}

void *sh_state(struct sh *s)
{
    return s->state;
}

struct enas_host *sh_host(struct sh *s)
{
    return s->h;
}

size_t sh_arch_len(struct sh *s)
{
    size_t n = 0, k = s->space->n_decisions(s->state);
    for (size_t i = 0; i < k; i++) {
        const struct enas_decision *d = s->space->decision(s->state, i);
        n += d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates;
    }
    return n;
}

void sh_random_arch(struct sh *s, uint64_t seed, int *arch)
{
    size_t k = s->space->n_decisions(s->state), pos = 0;
    for (size_t i = 0; i < k; i++) {
        const struct enas_decision *d = s->space->decision(s->state, i);
        unsigned m = d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates;
        for (unsigned j = 0; j < m; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(seed >> 33);
            arch[pos++] = d->kind == ENAS_CHOICE_ONE ? (int)(r % d->n_candidates) : (int)(r & 1);
        }
    }
}

static float *grad_buf(struct sh *s, size_t n)
{
    if (n > s->grad_cap) {
        float *g = realloc(s->grad, n * sizeof *g);
        if (!g)
            return NULL;
        s->grad = g;
        s->grad_cap = n;
    }
    return s->grad;
}

/* Loss gradients of the main and (weighted) aux heads, then one backward from both. */
static enum enas_status backward(struct sh *s, const struct enas_child_out *o, const int32_t *labels,
                                 struct enas_loss_result *r, struct enas_err *err)
{
    size_t k = (size_t)enas_tensor_numel(o->logits),
           ka = o->aux_logits ? (size_t)enas_tensor_numel(o->aux_logits) : 0;
    float *g = grad_buf(s, k + ka);
    if (!g)
        return enas_err_set(err, ENAS_ERR_NOMEM, "spacehelp: out of memory");
    struct enas_tensor gm = *o->logits, ga = o->aux_logits ? *o->aux_logits : *o->logits;
    gm.data = g;
    ga.data = g + k;
    enum enas_status st = s->loss->compute(NULL, o->logits, labels, &gm, r, err);
    if (st == ENAS_OK && o->aux_logits) {
        struct enas_loss_result ra;
        st = s->loss->compute(NULL, o->aux_logits, labels, &ga, &ra, err);
        for (size_t i = 0; i < ka; i++)
            ga.data[i] *= (float)o->aux_weight;
    }
    const struct enas_tensor *outs[] = {o->logits, o->aux_logits}, *douts[] = {&gm, &ga};
    if (st == ENAS_OK)
        st = enas__step_backward_n(s->step, outs, douts, o->aux_logits ? 2 : 1, err);
    return st;
}

/* s's recorded op outputs against the same records of at's last pass (the same architecture on the same
 * images: the same calls in the same order), then replaced by at's. */
static int adopt(struct sh *s, struct sh *at, struct sh_adopted *ad)
{
    const size_t n = enas__step_n_records(s->step);
    memset(ad, 0, sizeof *ad);
    ad->n_records = n;
    if (n != enas__step_n_records(at->step)) {
        fprintf(stderr, "spacehelp: pass_at: %zu op calls recorded here, %zu in the other pass\n", n,
                enas__step_n_records(at->step));
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        const char *mine_op = NULL, *their_op = NULL;
        struct enas_tensor *mine = enas__step_record_output(s->step, k, &mine_op);
        const struct enas_tensor *theirs = enas__step_record_output(at->step, k, &their_op);
        if (strcmp(mine_op, their_op) != 0 || !enas_tensor_same_shape(mine, theirs)) {
            fprintf(stderr, "spacehelp: pass_at: op call %zu: '%s' here, '%s' there, or shapes differ\n", k,
                    mine_op, their_op);
            return 1;
        }
        if (!mine->data || !theirs->data) /* released (api->release): its pass's backward does not read it */
            continue;
        const int64_t m = enas_tensor_numel(mine);
        ad->n_compared++;
        double d = 0.0, r = 0.0;
        for (int64_t i = 0; i < m; i++) {
            const double a = (double)mine->data[i], b = (double)theirs->data[i];
            d += (a - b) * (a - b);
            r += a * a;
        }
        const double e = d == 0.0 ? 0.0 : r == 0.0 ? HUGE_VAL : sqrt(d / r);
        if (!(e <= ad->worst)) { /* NaN counts as worst */
            ad->worst = e;
            ad->record = k;
            ad->op = mine_op;
        }
        memcpy(mine->data, theirs->data, (size_t)m * sizeof(float));
    }
    return 0;
}

static int pass_run(struct sh *s, struct sh *at, struct sh_adopted *ad, const int *arch, const float *images,
                    const int32_t *labels, int n, int train, double lr, double *loss, double *acc)
{
    struct enas_err err = {0};
    struct enas_step_opts so = {
        .training = train, .record = train, .seed = 11, .stream = s->passes++, .threads = 2, .keep = s->keep};
    enas__step_begin(s->step, &so);
    int64_t dims[4] = {n, 32, 32, 3};
    struct enas_tensor *img = enas__step_tensor(s->step, 4, dims, 0);
    if (!img)
        return 1;
    memcpy(img->data, images, (size_t)n * 32 * 32 * 3 * sizeof(float));
    struct enas_child_out o = {0};
    struct enas_loss_result r = {0};
    enum enas_status st =
        s->space->forward(s->state, enas__step_exec(s->step), arch, sh_arch_len(s), img, &o, &err);
    if (st == ENAS_OK && at && adopt(s, at, ad) != 0)
        return 1;
    if (st == ENAS_OK && train)
        st = backward(s, &o, labels, &r, &err);
    else if (st == ENAS_OK)
        st = s->loss->compute(NULL, o.logits, labels, NULL, &r, &err);
    size_t np;
    struct enas_param *const *ps = enas__host_params(s->h, &np);
    if (st == ENAS_OK && train && lr > 0) {
        enas__optim_grad_clip(ps, np, 5.0);
        st = enas__optim_sgd_step(s->opt, ps, np, lr, &err);
    }
    if (st != ENAS_OK) {
        fprintf(stderr, "spacehelp: pass: %s\n", err.msg);
        return 1;
    }
    s->logits = o.logits;
    *loss = r.loss;
    *acc = r.accuracy;
    return 0;
}

int sh_pass(struct sh *s, const int *arch, const float *images, const int32_t *labels, int n, int train,
            double lr, double *loss, double *acc)
{
    return pass_run(s, NULL, NULL, arch, images, labels, n, train, lr, loss, acc);
}

void sh_keep_outputs(struct sh *s, int keep)
{
    s->keep = keep;
}

int sh_pass_at(struct sh *s, struct sh *at, const int *arch, const float *images, const int32_t *labels,
               int n, struct sh_adopted *ad, double *loss, double *acc)
{
    return pass_run(s, at, ad, arch, images, labels, n, 1, 0.0, loss, acc);
}

const struct enas_tensor *sh_logits(struct sh *s)
{
    return s->logits;
}

struct enas_param *const *sh_params(struct sh *s, size_t *n)
{
    return enas__host_params(s->h, n);
}

int sh_cifar(int64_t n, float **images, int32_t **labels)
{
    struct enas_err err = {0};
    const char *env = getenv("ENAS_DATA");
    char dir[4096];
    struct enas_cifar10 d = {0};
    if (!env || !*env || enas__cifar10_find_dir(env, dir, sizeof dir, &err) != ENAS_OK) {
        fprintf(stderr, "spacehelp: no CIFAR-10 in ENAS_DATA: skipped\n");
        return 77;
    }
    if (enas__cifar10_load(dir, 0, n, &d, &err) != ENAS_OK) {
        fprintf(stderr, "spacehelp: %s\n", err.msg);
        return 1;
    }
    *images = malloc((size_t)d.n * 3072 * sizeof(float));
    *labels = malloc((size_t)d.n * sizeof(int32_t));
    if (!*images || !*labels) {
        enas__cifar10_fini(&d);
        return 1;
    }
    struct enas_augment_opts ao = {0, 0};
    for (int64_t i = 0; i < d.n; i++) {
        enas__augment_image(d.pixels + i * 3072, &ao, NULL, *images + i * 3072);
        (*labels)[i] = d.labels[i];
    }
    enas__cifar10_fini(&d);
    return 0;
}
