/* run.c - opening a search run: settings resolved, plugins instantiated, supergraph, controller,
 * optimizer, data and batchers made, the run folder prepared (or an earlier run's checkpoint read). */
#include "run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "log.h"
#include "registry.h"

static enum enas_status mkdirs(const char *path, struct enas_err *err)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return enas_err_set(err, ENAS_ERR_IO, "cannot create '%s': %s", p, strerror(errno));
            *s = '/';
        }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return enas_err_set(err, ENAS_ERR_IO, "cannot create '%s': %s", p, strerror(errno));
    return ENAS_OK;
}

/* Seed 0 means "pick one": from the clock, written back so that config.cfg reproduces the run. */
static enum enas_status resolve_seed(struct enas_run *r, struct enas_err *err)
{
    uint64_t seed = (uint64_t)enas__cfg_int(r->core, "seed");
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec) % 9007199254740991ull + 1;
        char text[32];
        snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
        enum enas_status st = enas__config_set_option(r->cfg, "seed", text, err);
        if (st != ENAS_OK)
            return st;
    }
    r->st.seed = seed;
    enas__host_seed(r->h, seed);
    enas__rng_seed(&r->ctrl_rng, seed, 0xc0417011e2ull);
    return ENAS_OK;
}

static enum enas_status open_plugins(struct enas_run *r, struct enas_err *err)
{
    const char *backend = enas__cfg_string(r->core, "backend");
    r->space_name = enas__cfg_string(r->core, "space");
    if (!(r->space.desc = enas__registry_find_space(r->h->reg, r->space_name, err)) ||
        !(r->loss_d = enas__registry_find_loss(r->h->reg, enas__cfg_string(r->core, "loss"), err)) ||
        !(r->reward_d = enas__registry_find_reward(r->h->reg, enas__cfg_string(r->core, "reward"), err)))
        return ENAS_ERR_CONFIG;
    enum enas_status st = enas__host_init_backend(r->h, backend, r->threads, enas__config_section(r->cfg, backend), err);
    if (st != ENAS_OK)
        return st;
    struct enas_space_args sa = {r->h->api, r->h, enas__config_section(r->cfg, r->space_name), 32, 32, 3, 10, NULL, 0};
    if ((st = r->space.desc->create(&sa, &r->space.state, err)) != ENAS_OK) {
        enas_err_prefix(err, "space '%s': ", r->space_name);
        return st;
    }
    struct enas_create_args la = {r->h->api, r->h, enas__config_section(r->cfg, r->loss_d->name)};
    if (r->loss_d->create && (st = r->loss_d->create(&la, &r->loss, err)) != ENAS_OK)
        return st;
    struct enas_create_args ra = {r->h->api, r->h, enas__config_section(r->cfg, r->reward_d->name)};
    if (r->reward_d->create && (st = r->reward_d->create(&ra, &r->reward, err)) != ENAS_OK)
        return st;
    r->arch_len = enas__arch_len(&r->space);
    r->arch = calloc(r->arch_len ? r->arch_len : 1, sizeof *r->arch);
    return r->arch ? ENAS_OK : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
}

static enum enas_status open_learners(struct enas_run *r, struct enas_err *err)
{
    struct enas_ctrl_opts co = {
        .lstm_size = (int)enas__cfg_int(r->core, "lstm_size"),
        .lstm_layers = (int)enas__cfg_int(r->core, "lstm_layers"),
        .tanh_constant = enas__cfg_float(r->core, "tanh_constant"),
        .temperature = enas__cfg_float(r->core, "temperature"),
        .op_tanh_reduce = enas__cfg_float(r->core, "op_tanh_reduce"),
        .skip_target = enas__cfg_float(r->core, "skip_target"),
        .seed = r->st.seed,
    };
    struct enas_sgd_opts so = {enas__cfg_float(r->core, "momentum"), enas__cfg_bool(r->core, "nesterov"),
                               enas__cfg_float(r->core, "weight_decay")};
    enum enas_status st = enas__ctrl_create(&co, r->space.desc, r->space.state, &r->ctrl, err);
    if (st == ENAS_OK)
        st = enas__sgd_create(&so, &r->sgd, err);
    if (st == ENAS_OK)
        st = enas__step_create(r->h, &r->step, err);
    return st;
}

static enum enas_status open_data(struct enas_run *r, struct enas_err *err)
{
    char dir[4096];
    enum enas_status st = enas__cifar10_find_dir(enas__cfg_string(r->core, "data"), dir, sizeof dir, err);
    if (st == ENAS_OK)
        st = enas__cifar10_load(dir, 0, enas__cfg_int(r->core, "train_subset"), &r->data, err);
    if (st == ENAS_OK)
        st = enas__cifar10_split(r->data.n, enas__cfg_string(r->core, "split"), &r->split, err);
    if (st != ENAS_OK)
        return st;
    int64_t bs = enas__cfg_int(r->core, "batch_size");
    struct enas_batcher_opts o = {&r->data, r->split.train_begin, r->split.train_end, bs, 0, 1, 1,
                                  (int)enas__cfg_int(r->core, "cutout"), r->st.seed, 0,
                                  (int)enas__cfg_int(r->core, "workers"), 0};
    if ((st = enas__batcher_create(&o, &r->train, err)) != ENAS_OK)
        return st;
    o.begin = r->split.valid_begin;
    o.end = r->split.valid_end;
    o.augment = enas__cfg_bool(r->core, "valid_augment");
    o.cutout = o.augment ? o.cutout : 0;
    o.stream = 1;
    if ((st = enas__batcher_create(&o, &r->valid, err)) != ENAS_OK)
        return st;
    r->steps_per_epoch = enas__batcher_num_batches(r->train);
    int64_t valid_batches = enas__batcher_num_batches(r->valid);
    r->samples_per_update = enas__cfg_int(r->core, "ctrl_steps_aggregate");
    r->ctrl_steps = enas__cfg_int(r->core, "ctrl_steps");
    if (r->ctrl_steps == 0) /* the reference: one pass over the controller half, leftovers dropped */
        r->ctrl_steps = valid_batches / r->samples_per_update > 0 ? valid_batches / r->samples_per_update : 1;
    enas__log(ENAS_LOG_INFO, "data: %s: %lld images, %lld train / %lld controller; %lld steps and %lld controller "
              "updates per epoch", dir, (long long)r->data.n, (long long)(r->split.train_end - r->split.train_begin),
              (long long)(r->split.valid_end - r->split.valid_begin), (long long)r->steps_per_epoch,
              (long long)r->ctrl_steps);
    return ENAS_OK;
}

static enum enas_status add_array(struct enas_run *r, const char *name, float *data, int64_t numel,
                                  size_t *cap, struct enas_err *err)
{
    if (r->n_arrays == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct enas_ckpt_array *a = realloc(r->arrays, c * sizeof *a);
        if (!a)
            return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
        r->arrays = a;
        *cap = c;
    }
    if (!data)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for '%s'", name);
    r->arrays[r->n_arrays++] = (struct enas_ckpt_array){name, data, numel};
    return ENAS_OK;
}

/* Everything a checkpoint holds: shared weights and buffers, momentum, controller weights and Adam. */
static enum enas_status list_arrays(struct enas_run *r, struct enas_err *err)
{
    size_t np, nc, cap = 0;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    struct enas_param *const *cs = enas__ctrl_params(r->ctrl, &nc);
    enum enas_status st = ENAS_OK;
    for (size_t i = 0; i < np && st == ENAS_OK; i++) {
        int64_t k = enas_tensor_numel(&ps[i]->value);
        st = add_array(r, ps[i]->name, ps[i]->value.data, k, &cap, err);
        if (st == ENAS_OK && ps[i]->grad && !(ps[i]->flags & ENAS_PARAM_BUFFER))
            st = add_array(r, "(momentum)", enas__sgd_buffer(r->sgd, i, (size_t)k), k, &cap, err);
    }
    for (size_t i = 0; i < nc && st == ENAS_OK; i++) {
        int64_t k = enas_tensor_numel(&cs[i]->value);
        st = add_array(r, cs[i]->name, cs[i]->value.data, k, &cap, err);
        if (st == ENAS_OK)
            st = add_array(r, "(adam m)", enas__ctrl_adam_m(r->ctrl, i), k, &cap, err);
        if (st == ENAS_OK)
            st = add_array(r, "(adam v)", enas__ctrl_adam_v(r->ctrl, i), k, &cap, err);
    }
    return st;
}

static enum enas_status open_folder(struct enas_run *r, const char *resume_dir, struct enas_err *err)
{
    const char *out = resume_dir ? resume_dir : enas__cfg_string(r->core, "output");
    if (*out) {
        snprintf(r->dir, sizeof r->dir, "%s", out);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(r->dir, sizeof r->dir, "runs/%s-%s", r->space_name, stamp);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", r->dir);
    if (!resume_dir && access(path, F_OK) == 0)
        return enas_err_set(err, ENAS_ERR_CONFIG, "'%s' already holds a run; continue it with --resume %s, or "
                            "choose another --output", r->dir, r->dir);
    enum enas_status st = mkdirs(r->dir, err);
    snprintf(path, sizeof path, "%s/arch", r->dir);
    if (st == ENAS_OK)
        st = mkdirs(path, err);
    snprintf(path, sizeof path, "%s/config.cfg", r->dir);
    if (st == ENAS_OK && !resume_dir)
        st = enas__config_write(r->cfg, path, err);
    return st;
}

/* Continues from the folder's checkpoint; metrics written after it are dropped. */
static enum enas_status resume(struct enas_run *r, struct enas_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", r->dir);
    enum enas_status st = enas__ckpt_read(path, r->space_name, &r->st, r->arrays, r->n_arrays, err);
    if (st != ENAS_OK)
        return st;
    memcpy(r->ctrl_rng.s, r->st.rng, sizeof r->ctrl_rng.s);
    *enas__ctrl_adam_t(r->ctrl) = r->st.adam_t;
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
    if (truncate(path, r->st.metrics_bytes) != 0 && errno != ENOENT)
        return enas_err_set(err, ENAS_ERR_IO, "'%s': %s", path, strerror(errno));
    enas__log(ENAS_LOG_INFO, "resuming %s at epoch %lld, step %lld", r->dir, (long long)r->st.epoch,
              (long long)r->st.global_step);
    return ENAS_OK;
}

enum enas_status enas__run_open(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                const char *resume_dir, struct enas_err *err)
{
    memset(r, 0, sizeof *r);
    r->h = h;
    r->cfg = cfg;
    r->core = enas__config_section(cfg, "");
    r->tty = isatty(STDERR_FILENO);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    r->threads = (int)enas__cfg_int(r->core, "threads");
    if (r->threads == 0)
        r->threads = cores > 0 ? (int)cores : 1;
    if (enas__cfg_bool(r->core, "deterministic"))
        r->threads = 1; /* reductions split across threads may add in another order */
    enum enas_status st = resolve_seed(r, err);
    if (st == ENAS_OK) /* the data first: a missing file is found before minutes of set-up */
        st = open_data(r, err);
    if (st == ENAS_OK)
        st = open_plugins(r, err);
    if (st == ENAS_OK)
        st = open_learners(r, err);
    if (st == ENAS_OK)
        st = list_arrays(r, err);
    if (st == ENAS_OK)
        st = open_folder(r, resume_dir, err);
    snprintf(r->st.space, sizeof r->st.space, "%s", r->space_name ? r->space_name : "");
    r->epochs = enas__cfg_int(r->core, "num_epochs");
    if (r->epochs == 0 && r->space.desc)
        r->epochs = r->space.desc->default_epochs;
    if (st == ENAS_OK && resume_dir)
        st = resume(r, err);
    if (st == ENAS_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
        if (!(r->metrics = fopen(path, "a")))
            st = enas_err_set(err, ENAS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    return st;
}

void enas__run_close(struct enas_run *r)
{
    if (r->metrics)
        fclose(r->metrics);
    enas__batcher_destroy(r->train);
    enas__batcher_destroy(r->valid);
    enas__cifar10_fini(&r->data);
    enas__step_destroy(r->step);
    enas__sgd_destroy(r->sgd);
    enas__ctrl_destroy(r->ctrl);
    if (r->reward_d && r->reward_d->destroy)
        r->reward_d->destroy(r->reward);
    if (r->loss_d && r->loss_d->destroy)
        r->loss_d->destroy(r->loss);
    if (r->space.desc && r->space.state)
        r->space.desc->destroy(r->space.state);
    free(r->arrays);
    free(r->arch);
    free(r->grad);
    memset(r, 0, sizeof *r);
}
