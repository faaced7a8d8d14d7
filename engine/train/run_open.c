/* run_open.c - opening a search run: settings resolved, plugins instantiated, supergraph, controller,
 * optimizer, data and batchers made, the run folder prepared (or an earlier run's checkpoint read). */
#include "train/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin/host.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "util/err.h"
#include "util/log.h"
#include "util/path.h"

static enum enas_status mkdirs(const char *path, struct enas_err *err)
{
    char p[ENAS__PATH_MAX];
    enum enas_status st = enas__path_join(p, sizeof p, err, "%s", path);
    if (st != ENAS_OK)
        return st;
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

enum enas_status enas__run_parse_arch(struct enas_host *h, struct enas_config *cfg, const char *text,
                                      const char *name, int **arch, size_t *len, struct enas_err *err)
{
    const char *space = enas__cfg_string(enas__config_section(cfg, ""), "space");
    struct enas_arch_space s = {enas__registry_find_space(h->reg, space, err), NULL};
    if (!s.desc)
        return ENAS_ERR_CONFIG;
    struct enas_space_args a = {.api = h->api,
                                .host = h,
                                .cfg = enas__config_section(cfg, space),
                                .image_h = ENAS_CIFAR10_SIDE,
                                .image_w = ENAS_CIFAR10_SIDE,
                                .image_c = ENAS_CIFAR10_CHANNELS,
                                .n_classes = ENAS_CIFAR10_CLASSES};
    /* the decisions come with a supergraph, whose weights are dropped again at once */
    const size_t first = enas__host_n_params(h);
    enum enas_status st = s.desc->create(&a, &s.state, err);
    if (st != ENAS_OK) {
        enas__err_terminate(err); /* the space plugin's message */
        enas__err_prefix(err, "space '%s': ", space);
    }
    if (st == ENAS_OK)
        st = enas__arch_parse(&s, text, name, arch, len, err);
    if (s.state)
        s.desc->destroy(s.state);
    enas__host_params_truncate(h, first);
    return st;
}

static enum enas_status open_plugins(struct enas_run *r, struct enas_err *err)
{
    const char *backend = enas__cfg_string(r->core, "backend");
    r->space_name = enas__cfg_string(r->core, "space");
    if (!(r->space.desc = enas__registry_find_space(r->h->reg, r->space_name, err)) ||
        !(r->loss_d = enas__registry_find_loss(r->h->reg, enas__cfg_string(r->core, "loss"), err)) ||
        (!r->retrain &&
         !(r->reward_d = enas__registry_find_reward(r->h->reg, enas__cfg_string(r->core, "reward"), err))))
        return ENAS_ERR_CONFIG;
    enum enas_status st =
        enas__host_init_backend(r->h, backend, r->threads, enas__config_section(r->cfg, backend), err);
    int *fixed = NULL;
    size_t fixed_len = 0;
    if (st == ENAS_OK && r->retrain) /* read against the space's decisions before the network is built */
        st = enas__run_parse_arch(r->h, r->cfg, enas__cfg_string(r->core, "arch"),
                                  r->arch_name ? r->arch_name : "the arch setting", &fixed, &fixed_len, err);
    if (st != ENAS_OK)
        return st;
    struct enas_space_args sa = {.api = r->h->api,
                                 .host = r->h,
                                 .cfg = enas__config_section(r->cfg, r->space_name),
                                 .image_h = ENAS_CIFAR10_SIDE,
                                 .image_w = ENAS_CIFAR10_SIDE,
                                 .image_c = ENAS_CIFAR10_CHANNELS,
                                 .n_classes = ENAS_CIFAR10_CLASSES,
                                 .fixed_arch = fixed,
                                 .fixed_arch_len = fixed_len};
    /* each plugin's message is cut at the buffer's end before the engine reads it (enas__err_terminate) */
    if ((st = r->space.desc->create(&sa, &r->space.state, err)) != ENAS_OK) {
        free(fixed);
        enas__err_terminate(err);
        enas__err_prefix(err, "space '%s': ", r->space_name);
        return st;
    }
    struct enas_create_args la = {
        .api = r->h->api, .host = r->h, .cfg = enas__config_section(r->cfg, r->loss_d->name)};
    if (r->loss_d->create && (st = r->loss_d->create(&la, &r->loss, err)) != ENAS_OK) {
        enas__err_terminate(err);
        return st;
    }
    struct enas_create_args ra = {.api = r->h->api,
                                  .host = r->h,
                                  .cfg =
                                      r->reward_d ? enas__config_section(r->cfg, r->reward_d->name) : NULL};
    if (r->reward_d && r->reward_d->create && (st = r->reward_d->create(&ra, &r->reward, err)) != ENAS_OK) {
        free(fixed);
        enas__err_terminate(err);
        return st;
    }
    r->arch_len = enas__arch_len(&r->space);
    r->arch = calloc(r->arch_len ? r->arch_len : 1, sizeof *r->arch);
    r->best = calloc(r->arch_len ? r->arch_len : 1, sizeof *r->best);
    r->st.best_arch = r->best;
    r->st.best_cap = (int64_t)r->arch_len;
    if (r->arch && r->best && fixed) { /* a retrain's architecture is its "best" for good */
        for (size_t i = 0; i < r->arch_len && i < fixed_len; i++)
            r->arch[i] = r->best[i] = fixed[i];
        r->st.best_len = (int64_t)r->arch_len;
        /* the setting as config.cfg and model.enas keep it: the TF string, whatever format it came in */
        char *tf = enas__arch_format(&r->space, fixed, fixed_len, ENAS_ARCH_TF);
        if (tf)
            tf[strcspn(tf, "\n")] = '\0';
        st = tf ? enas__config_set_option(r->cfg, "arch", tf, err)
                : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
        free(tf);
    }
    free(fixed);
    if (st != ENAS_OK)
        return st;
    return r->arch && r->best ? ENAS_OK : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
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
        .skip_kl_sampling = strcmp(enas__cfg_string(r->core, "skip_kl"), "sampling") == 0,
        .skip_kl_sum = strcmp(enas__cfg_string(r->core, "skip_kl_reduce"), "sum") == 0,
        .seed = r->st.seed,
    };
    struct enas_sgd_opts so = {.momentum = enas__cfg_float(r->core, "momentum"),
                               .nesterov = enas__cfg_bool(r->core, "nesterov"),
                               .weight_decay = enas__cfg_float(r->core, "weight_decay")};
    enum enas_status st =
        r->retrain ? ENAS_OK : enas__controller_create(&co, r->space.desc, r->space.state, &r->ctrl, err);
    if (st == ENAS_OK)
        st = enas__optim_sgd_create(&so, &r->sgd, err);
    if (st == ENAS_OK)
        st = enas__step_create(r->h, &r->step, err);
    return st;
}

/* a * b + c for a, b, c >= 0, saturated at INT64_MAX (ctrl_steps may be set absurdly high). */
static int64_t mul_add(int64_t a, int64_t b, int64_t c)
{
    if (b && a > (INT64_MAX - c) / b)
        return INT64_MAX;
    return a * b + c;
}

/* A retrain's data: every training image (or train_subset of them) trains, augmented as in a search; the
 * test set (or test_subset of it) is evaluated in order, not augmented. */
static enum enas_status open_retrain_data(struct enas_run *r, const char *dir, struct enas_err *err)
{
    enum enas_status st = enas__cifar10_load(dir, 0, enas__cfg_int(r->core, "train_subset"), &r->data, err);
    if (st == ENAS_OK)
        st = enas__cifar10_load(dir, 1, enas__cfg_int(r->core, "test_subset"), &r->test, err);
    if (st != ENAS_OK)
        return st;
    r->split = (struct enas_cifar10_split){0, r->data.n, r->data.n, r->data.n};
    struct enas_batcher_opts o = {.data = &r->data,
                                  .begin = 0,
                                  .end = r->data.n,
                                  .batch_size = enas__cfg_int(r->core, "batch_size"),
                                  .shuffle = 1,
                                  .augment = 1,
                                  .cutout = (int)enas__cfg_int(r->core, "cutout"),
                                  .seed = r->st.seed,
                                  .workers = (int)enas__cfg_int(r->core, "workers")};
    if ((st = enas__batcher_create(&o, &r->train, err)) != ENAS_OK)
        return st;
    o.data = &r->test;
    o.end = r->test.n;
    o.augment = o.cutout = o.shuffle = 0;
    o.stream = 2;
    if ((st = enas__batcher_create(&o, &r->eval, err)) != ENAS_OK)
        return st;
    r->steps_per_epoch = enas__batcher_num_batches(r->train);
    enas__log(ENAS_LOG_INFO, "data: %s: %lld training images, %lld test images; %lld steps per epoch", dir,
              (long long)r->data.n, (long long)r->test.n, (long long)r->steps_per_epoch);
    return ENAS_OK;
}

/* enas eval's images: the data setting names a CIFAR-10-format file, or a folder whose test_batch.bin is
 * read (found as a search finds its data); in order, not augmented. */
static enum enas_status open_test_data(struct enas_run *r, struct enas_err *err)
{
    const char *data = enas__cfg_string(r->core, "data");
    const int64_t limit = enas__cfg_int(r->core, "test_subset");
    struct stat sb;
    char dir[ENAS__PATH_MAX];
    enum enas_status st = ENAS_OK;
    if (r->test.n) { /* pictures the caller read (enas eval --images) */
        snprintf(dir, sizeof dir, "the pictures given");
    } else if (*data && stat(data, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        st = enas__cifar10_load_file(data, limit, &r->test, err);
        snprintf(dir, sizeof dir, "%s", data);
    } else if ((st = enas__cifar10_find_dir(data, dir, sizeof dir, err)) == ENAS_OK) {
        st = enas__cifar10_load(dir, 1, limit, &r->test, err);
    }
    if (st != ENAS_OK)
        return st;
    struct enas_batcher_opts o = {.data = &r->test,
                                  .end = r->test.n,
                                  .batch_size = enas__cfg_int(r->core, "batch_size"),
                                  .seed = r->st.seed,
                                  .stream = 2,
                                  .workers = (int)enas__cfg_int(r->core, "workers")};
    if ((st = enas__batcher_create(&o, &r->eval, err)) != ENAS_OK)
        return st;
    enas__log(ENAS_LOG_INFO, "data: %s: %lld images", dir, (long long)r->test.n);
    return ENAS_OK;
}

static enum enas_status open_data(struct enas_run *r, struct enas_err *err)
{
    if (r->eval_only)
        return open_test_data(r, err);
    char dir[ENAS__PATH_MAX];
    enum enas_status st = enas__cifar10_find_dir(enas__cfg_string(r->core, "data"), dir, sizeof dir, err);
    if (st == ENAS_OK && r->retrain)
        return open_retrain_data(r, dir, err);
    if (st == ENAS_OK)
        st = enas__cifar10_load(dir, 0, enas__cfg_int(r->core, "train_subset"), &r->data, err);
    if (st == ENAS_OK)
        st = enas__cifar10_split(r->data.n, enas__cfg_string(r->core, "split"), &r->split, err);
    if (st != ENAS_OK)
        return st;
    int64_t bs = enas__cfg_int(r->core, "batch_size");
    struct enas_batcher_opts o = {.data = &r->data,
                                  .begin = r->split.train_begin,
                                  .end = r->split.train_end,
                                  .batch_size = bs,
                                  .drop_last = 0,
                                  .shuffle = 1,
                                  .augment = 1,
                                  .cutout = (int)enas__cfg_int(r->core, "cutout"),
                                  .seed = r->st.seed,
                                  .stream = 0,
                                  .workers = (int)enas__cfg_int(r->core, "workers"),
                                  .depth = 0};
    if ((st = enas__batcher_create(&o, &r->train, err)) != ENAS_OK)
        return st;
    o.begin = r->split.valid_begin;
    o.end = r->split.valid_end;
    o.augment = enas__cfg_bool(r->core, "valid_augment");
    o.cutout = o.augment ? o.cutout : 0;
    o.drop_last = enas__cfg_bool(r->core, "valid_drop_last");
    o.stream = 1;
    if ((st = enas__batcher_create(&o, &r->valid, err)) != ENAS_OK)
        return st;
    /* the epoch end's batches (derivation, comparison, validation accuracy): the controller half in
     * order, not augmented, every image */
    o.augment = o.cutout = o.drop_last = o.shuffle = 0;
    o.stream = 2;
    if ((st = enas__batcher_create(&o, &r->eval, err)) != ENAS_OK)
        return st;
    r->steps_per_epoch = enas__batcher_num_batches(r->train);
    int64_t valid_batches = enas__batcher_num_batches(r->valid);
    r->entropy_exact = strcmp(enas__cfg_string(r->core, "entropy_mode"), "exact") == 0;
    r->samples_per_update = enas__cfg_int(r->core, "ctrl_steps_aggregate");
    r->ctrl_steps = enas__cfg_int(r->core, "ctrl_steps");
    if (r->ctrl_steps == 0) /* the reference: one pass over the controller half, leftovers dropped */
        r->ctrl_steps = valid_batches / r->samples_per_update > 0 ? valid_batches / r->samples_per_update : 1;
    /* Each epoch's controller phase starts a pass of its own, after the passes of the epochs before: TF's
     * 1,000 samples over 40 batches take 25 passes, and re-seeding every epoch from its number made epoch
     * e + 1 replay 24 of epoch e's. What is left of an epoch's last pass is not used (as NNI drops the rest
     * of its loader); with the one-pass default each epoch is one fresh pass, as before. */
    const int64_t used = mul_add(r->ctrl_steps, r->samples_per_update, 0);
    r->valid_passes = used / valid_batches + (used % valid_batches != 0);
    enas__log(ENAS_LOG_INFO,
              "data: %s: %lld images, %lld train / %lld controller; %lld steps and %lld controller "
              "updates per epoch",
              dir, (long long)r->data.n, (long long)(r->split.train_end - r->split.train_begin),
              (long long)(r->split.valid_end - r->split.valid_begin), (long long)r->steps_per_epoch,
              (long long)r->ctrl_steps);
    return ENAS_OK;
}

/* An array named "<name><suffix>": the optimizer states carry their parameter's name, so that a message
 * about one ("'cell0.w (momentum)' holds nan at index 3") says which it is. */
static enum enas_status add_array(struct enas_run *r, const char *name, const char *suffix, float *data,
                                  int64_t numel, size_t *cap, struct enas_err *err)
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
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for '%s%s'", name, suffix);
    size_t len = strlen(name) + strlen(suffix) + 1;
    char *full = malloc(len);
    if (!full)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    snprintf(full, len, "%s%s", name, suffix);
    r->arrays[r->n_arrays++] = (struct enas_ckpt_array){full, data, numel};
    return ENAS_OK;
}

/* Everything a checkpoint holds: shared weights and buffers, momentum, controller weights and Adam. */
static enum enas_status list_arrays(struct enas_run *r, struct enas_err *err)
{
    size_t np, nc, cap = 0;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    struct enas_param *const *cs = r->ctrl ? enas__controller_params(r->ctrl, &nc) : NULL;
    if (!r->ctrl)
        nc = 0;
    enum enas_status st = ENAS_OK;
    for (size_t i = 0; i < np && st == ENAS_OK; i++) {
        int64_t k = enas_tensor_numel(&ps[i]->value);
        st = add_array(r, ps[i]->name, "", ps[i]->value.data, k, &cap, err);
        if (st == ENAS_OK && ps[i]->grad && !(ps[i]->flags & ENAS_PARAM_BUFFER))
            st = add_array(r, ps[i]->name, " (momentum)", enas__optim_sgd_buffer(r->sgd, i, (size_t)k), k,
                           &cap, err);
    }
    for (size_t i = 0; i < nc && st == ENAS_OK; i++) {
        int64_t k = enas_tensor_numel(&cs[i]->value);
        st = add_array(r, cs[i]->name, "", cs[i]->value.data, k, &cap, err);
        if (st == ENAS_OK)
            st = add_array(r, cs[i]->name, " (adam m)", enas__controller_adam_m(r->ctrl, i), k, &cap, err);
        if (st == ENAS_OK)
            st = add_array(r, cs[i]->name, " (adam v)", enas__controller_adam_v(r->ctrl, i), k, &cap, err);
    }
    return st;
}

/* The folder's lock: a POSIX record lock on run.lock (an empty file). The kernel drops it when the process
 * ends, however it ends, so the lock of a killed run never blocks the next one, and it names the holder's
 * pid (F_GETLK); nothing is written, so a refused run changes no file of the folder. */
static enum enas_status lock_folder(struct enas_run *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    enum enas_status st = enas__path_join(path, sizeof path, err, "%s/run.lock", r->dir);
    if (st != ENAS_OK)
        return st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return enas_err_set(err, ENAS_ERR_IO, "run folder lock '%s': %s", path, strerror(errno));
    for (int tries = 0; tries < 3; tries++) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_SETLK, &fl) == 0) {
            r->lock_fd = fd;
            return ENAS_OK;
        }
        int e = errno;
        if (e != EACCES && e != EAGAIN) {
            close(fd);
            return enas_err_set(err, ENAS_ERR_IO, "run folder lock '%s': %s", path, strerror(e));
        }
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK) {
            close(fd);
            return enas_err_set(err, ENAS_ERR_IO,
                                "run folder '%s' is in use by another search (pid %ld); wait for "
                                "it to end, or choose another --output",
                                r->dir, (long)who.l_pid);
        }
        /* the holder ended between the two calls: try again */
    }
    close(fd);
    return enas_err_set(err, ENAS_ERR_IO,
                        "run folder '%s' is in use by another search; wait for it to end, or "
                        "choose another --output",
                        r->dir);
}

/* "<stem>.<ext>" or "<stem>.<ext>.tmp" for an ext that runlog writes; with digits, stem is followed by a
 * number ("epoch_12.json"). */
static int is_arch_output(const char *name, const char *stem, int digits)
{
    static const char *const exts[] = {".tf", ".json", ".dot", ".png"};
    size_t k = strlen(stem);
    if (strncmp(name, stem, k) != 0)
        return 0;
    name += k;
    if (digits && !(*name >= '0' && *name <= '9'))
        return 0;
    while (digits && *name >= '0' && *name <= '9')
        name++;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (strncmp(name, exts[i], e) == 0 && (name[e] == '\0' || strcmp(name + e, ".tmp") == 0))
            return 1;
    }
    return 0;
}

static enum enas_status remove_file(const char *dir, const char *name, struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    enum enas_status st = enas__path_join(path, sizeof path, err, "%s/%s", dir, name);
    if (st != ENAS_OK)
        return st;
    if (unlink(path) != 0 && errno != ENOENT)
        return enas_err_set(err, ENAS_ERR_IO, "cannot remove '%s' (left by an earlier start): %s", path,
                            strerror(errno));
    return ENAS_OK;
}

/* A fresh start in a folder without a checkpoint: what an earlier start left before its first checkpoint
 * (metrics lines, architectures, curves) would mix with this run's. Only the names enas writes go. */
static enum enas_status clear_outputs(const struct enas_run *r, struct enas_err *err)
{
    static const char *const top[] = {"metrics.jsonl",  "train.tsv",         "ctrl.tsv",       "eval.tsv",
                                      "test.tsv",       "curves.png",        "curves.png.tmp", "model.enas",
                                      "model.enas.tmp", "checkpoint.bin.tmp"};
    enum enas_status st = ENAS_OK;
    for (size_t i = 0; i < sizeof top / sizeof top[0] && st == ENAS_OK; i++)
        st = remove_file(r->dir, top[i], err);
    DIR *d = st == ENAS_OK ? opendir(r->dir) : NULL;
    for (struct dirent *e; d && st == ENAS_OK && (e = readdir(d));)
        if (is_arch_output(e->d_name, "best_arch", 0) || is_arch_output(e->d_name, "arch", 0))
            st = remove_file(r->dir, e->d_name, err);
    if (d)
        closedir(d);
    char arch[ENAS__PATH_MAX];
    if (st == ENAS_OK)
        st = enas__path_join(arch, sizeof arch, err, "%s/arch", r->dir);
    d = st == ENAS_OK ? opendir(arch) : NULL;
    for (struct dirent *e; d && st == ENAS_OK && (e = readdir(d));)
        if (is_arch_output(e->d_name, "epoch_", 1))
            st = remove_file(arch, e->d_name, err);
    if (d)
        closedir(d);
    return st;
}

static enum enas_status open_folder(struct enas_run *r, const char *resume_dir, struct enas_err *err)
{
    const char *out = resume_dir ? resume_dir : enas__cfg_string(r->core, "output");
    /* room for the longest name enas writes inside it, so that only this can fail for length */
    char stamp[32] = "";
    if (!*out) {
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    }
    enum enas_status st =
        *out ? enas__path_join(r->dir, sizeof r->dir - 64, err, "%s", out)
             : enas__path_join(r->dir, sizeof r->dir - 64, err, "runs/%s-%s", r->space_name, stamp);
    if (st != ENAS_OK) {
        enas__err_prefix(err, "%s: ", resume_dir ? "--resume" : "--output");
        return ENAS_ERR_CONFIG;
    }
    char path[ENAS__PATH_MAX];
    /* the lock comes before anything in the folder is looked at or changed */
    st = resume_dir ? ENAS_OK : mkdirs(r->dir, err);
    if (st == ENAS_OK)
        st = lock_folder(r, err);
    if (st == ENAS_OK)
        st = enas__path_join(path, sizeof path, err, "%s/checkpoint.bin", r->dir);
    if (st == ENAS_OK && !resume_dir && access(path, F_OK) == 0)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "'%s' already holds a run; continue it with --resume %s, or "
                            "choose another --output",
                            r->dir, r->dir);
    if (st == ENAS_OK && resume_dir && access(path, F_OK) != 0)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "'%s' holds no checkpoint (the run ended before its first epoch "
                            "did, or this is not a run folder); start it again with --config %s/config.cfg",
                            r->dir, r->dir);
    if (st == ENAS_OK && !r->retrain &&
        (st = enas__path_join(path, sizeof path, err, "%s/arch", r->dir)) == ENAS_OK)
        st = mkdirs(path, err); /* each epoch's architecture: a search's */
    if (st == ENAS_OK && !resume_dir)
        st = clear_outputs(r, err);
    if (st == ENAS_OK)
        st = enas__path_join(path, sizeof path, err, "%s/config.cfg", r->dir);
    if (st == ENAS_OK && !resume_dir)
        st = enas__config_write(r->cfg, path, err);
    return st;
}

/* What a checkpoint's fields are checked against. */
struct resume_check {
    const struct enas_run *r;
    const char *metrics; /* metrics.jsonl, and its size now */
    int64_t metrics_size;
};

static enum enas_status out_of_range(struct enas_err *err, const char *path, const char *field, int64_t v,
                                     int64_t lo, int64_t hi, const char *why)
{
    return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': %s is %lld; allowed %lld..%lld (%s)", path,
                        field, (long long)v, (long long)lo, (long long)hi, why);
}

/* Every field of a checkpoint against this run's settings: the file is untrusted input (a valid checksum
 * says only that it is whole). A position past the run's would make resume skip batches for ever, an Adam
 * step count near INT64_MAX overflows, a zero random state samples one architecture for ever. */
static enum enas_status check_state(void *ctx, const char *path, const struct enas_ckpt_state *s,
                                    struct enas_err *err)
{
    const struct resume_check *c = ctx;
    const struct enas_run *r = c->r;
    const int64_t spe = r->steps_per_epoch, cs = r->ctrl_steps, len = (int64_t)r->arch_len;
    if (s->seed != r->st.seed)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': seed is %llu; allowed %llu (the run's seed, from "
                            "its config.cfg)",
                            path, (unsigned long long)s->seed, (unsigned long long)r->st.seed);
    if (s->epoch < 0 || s->epoch > r->epochs)
        return out_of_range(err, path, "epoch", s->epoch, 0, r->epochs, "num_epochs");
    if (s->phase < 0 || s->phase > 1)
        return out_of_range(err, path, "phase", s->phase, 0, 1, "0 shared weights, 1 controller");
    if (s->batch < 0 || s->batch > spe)
        return out_of_range(err, path, "batch", s->batch, 0, spe, "the run's steps per epoch");
    const int64_t in_epoch_max = s->phase ? cs : 0;
    if (s->ctrl_in_epoch < 0 || s->ctrl_in_epoch > in_epoch_max)
        return out_of_range(err, path, "ctrl_in_epoch", s->ctrl_in_epoch, 0, in_epoch_max,
                            s->phase ? "ctrl_steps" : "phase 0: no controller update yet in this epoch");
    const int64_t steps_max = mul_add(s->epoch, spe, s->batch);
    if (s->global_step < s->batch || s->global_step > steps_max)
        return out_of_range(err, path, "global_step", s->global_step, s->batch, steps_max,
                            "this epoch's batches, up to every epoch's so far");
    const int64_t updates = mul_add(s->epoch, cs, s->ctrl_in_epoch);
    if (s->ctrl_updates != updates)
        return out_of_range(err, path, "ctrl_updates", s->ctrl_updates, updates, updates,
                            "epoch x ctrl_steps + ctrl_in_epoch");
    if (s->adam_t < 0 || s->adam_t > s->ctrl_updates)
        return out_of_range(err, path, "adam_t", s->adam_t, 0, s->ctrl_updates,
                            "one Adam step per controller update");
    if (s->metrics_bytes < 0 || s->metrics_bytes > c->metrics_size) {
        char why[ENAS__PATH_MAX + 32];
        snprintf(why, sizeof why, "the size of '%s' now", c->metrics); /* a message: may be cut */
        return out_of_range(err, path, "metrics_bytes", s->metrics_bytes, 0, c->metrics_size, why);
    }
    if (!(s->rng[0] | s->rng[1] | s->rng[2] | s->rng[3]))
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': rng is all zero; allowed: any state but all zero "
                            "(it would draw zeros for ever)",
                            path);
    if (s->best_len != 0 && s->best_len != len)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': best_len is %lld; allowed 0 or %lld (the length "
                            "of this run's architectures)",
                            path, (long long)s->best_len, (long long)len);
    if (s->best_len == 0 && s->epoch > 0)
        return out_of_range(err, path, "best_len", 0, len, len, "every finished epoch chose an architecture");
    for (int64_t i = 0; r->retrain && i < len; i++)
        if (s->best_len != len || s->best_arch[i] != r->arch[i])
            return enas_err_set(err, ENAS_ERR_DATA,
                                "checkpoint '%s': its architecture differs from the run's arch setting (in "
                                "its config.cfg) at position %lld; a retrain's weights belong to one "
                                "architecture",
                                path, (long long)i);
    if (s->best_len == 0)
        return ENAS_OK;
    int *arch = malloc((size_t)len * sizeof *arch);
    if (!arch)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < len; i++)
        arch[i] = s->best_arch[i];
    enum enas_status st = enas__arch_validate(&r->space, arch, (size_t)len, err);
    free(arch);
    if (st != ENAS_OK) {
        enas__err_prefix(err, "checkpoint '%s': best_arch is not an architecture of this run: ", path);
        if (err)
            err->code = ENAS_ERR_DATA;
        return ENAS_ERR_DATA;
    }
    return ENAS_OK;
}

/* Continues from the folder's checkpoint, checked field by field; config.cfg then records the settings
 * (options may have changed some), and metrics written after the checkpoint are dropped. */
static enum enas_status resume(struct enas_run *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX], metrics[ENAS__PATH_MAX];
    enum enas_status st = enas__path_join(path, sizeof path, err, "%s/checkpoint.bin", r->dir);
    if (st == ENAS_OK)
        st = enas__path_join(metrics, sizeof metrics, err, "%s/metrics.jsonl", r->dir);
    if (st != ENAS_OK)
        return st;
    struct resume_check c = {r, metrics, 0};
    struct stat sb;
    const int have = stat(metrics, &sb) == 0;
    if (!have && errno != ENOENT)
        return enas_err_set(err, ENAS_ERR_IO, "'%s': %s", metrics, strerror(errno));
    if (have && !S_ISREG(sb.st_mode)) /* a FIFO would block the run's first line */
        return enas_err_set(err, ENAS_ERR_IO, "'%s': not a regular file", metrics);
    if (have)
        c.metrics_size = (int64_t)sb.st_size;
    st = enas__checkpoint_read(path, r->space_name, &r->st, r->arrays, r->n_arrays, check_state, &c, err);
    if (st != ENAS_OK)
        return st;
    memcpy(r->ctrl_rng.s, r->st.rng, sizeof r->ctrl_rng.s);
    if (r->ctrl)
        *enas__controller_adam_t(r->ctrl) = r->st.adam_t;
    if ((st = enas__path_join(path, sizeof path, err, "%s/config.cfg", r->dir)) != ENAS_OK ||
        (st = enas__config_write(r->cfg, path, err)) != ENAS_OK)
        return st;
    if (truncate(metrics, r->st.metrics_bytes) != 0 && errno != ENOENT)
        return enas_err_set(err, ENAS_ERR_IO, "'%s': %s", metrics, strerror(errno));
    enas__log(ENAS_LOG_INFO, "resuming %s at epoch %lld, step %lld", r->dir, (long long)r->st.epoch,
              (long long)r->st.global_step);
    return ENAS_OK;
}

/* eval: NULL for a search or a retrain; for enas eval, the images to test (taken over by the run), or an
 * empty set for the data setting's. */
static enum enas_status open_run(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                 const char *resume_dir, const char *arch_name, struct enas_cifar10 *eval,
                                 struct enas_err *err)
{
    memset(r, 0, sizeof *r);
    r->arch_name = arch_name;
    r->eval_only = eval != NULL;
    const int eval_only = r->eval_only;
    if (eval) {
        r->test = *eval;
        memset(eval, 0, sizeof *eval);
    }
    r->lock_fd = -1;
    r->h = h;
    r->cfg = cfg;
    r->core = enas__config_section(cfg, "");
    r->retrain = *enas__cfg_string(r->core, "arch") != '\0';
    r->tty = isatty(STDERR_FILENO);
    /* A full disk's cousin, a file-size limit (ulimit -f), must fail the write that meets it (EFBIG, reported
     * with the file's name, the last checkpoint kept), not kill the run with SIGXFSZ in the middle of one. */
    signal(SIGXFSZ, SIG_IGN);
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
    if (eval_only)
        return st;
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
        char path[ENAS__PATH_MAX];
        if ((st = enas__path_join(path, sizeof path, err, "%s/metrics.jsonl", r->dir)) == ENAS_OK &&
            !(r->metrics = fopen(path, "a")))
            st = enas_err_set(err, ENAS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    return st;
}

enum enas_status enas__run_open(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                const char *resume_dir, const char *arch_name, struct enas_err *err)
{
    return open_run(r, h, cfg, resume_dir, arch_name, NULL, err);
}

enum enas_status enas__run_open_eval(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                     struct enas_cifar10 *images, struct enas_err *err)
{
    return open_run(r, h, cfg, NULL, NULL, images, err);
}

void enas__run_close(struct enas_run *r)
{
    if (r->metrics)
        fclose(r->metrics);
    enas__batcher_destroy(r->train);
    enas__batcher_destroy(r->valid);
    enas__batcher_destroy(r->eval);
    enas__cifar10_fini(&r->data);
    enas__cifar10_fini(&r->test);
    enas__step_destroy(r->step);
    enas__optim_sgd_destroy(r->sgd);
    enas__controller_destroy(r->ctrl);
    if (r->reward_d && r->reward_d->destroy)
        r->reward_d->destroy(r->reward);
    if (r->loss_d && r->loss_d->destroy)
        r->loss_d->destroy(r->loss);
    if (r->space.desc && r->space.state)
        r->space.desc->destroy(r->space.state);
    for (size_t i = 0; i < r->n_arrays; i++)
        free((char *)(uintptr_t)r->arrays[i].name);
    free(r->arrays);
    free(r->arch);
    free(r->best);
    free(r->grad);
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* last: the folder is free once everything in it is written */
    memset(r, 0, sizeof *r);
    r->lock_fd = -1;
}

enum enas_status enas__run_sync_metrics(struct enas_run *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    enas__path_join(path, sizeof path, NULL, "%s/metrics.jsonl", r->dir); /* fits: checked at open */
    const int flushed = fflush(r->metrics) == 0;
    const int e = errno;
    if (!flushed || ferror(r->metrics))
        return enas_err_set(err, ENAS_ERR_IO, "'%s': write failed: %s; the previous checkpoint is kept", path,
                            flushed ? "a line could not be written" : strerror(e));
    struct stat sb;
    if (fstat(fileno(r->metrics), &sb) != 0)
        return enas_err_set(err, ENAS_ERR_IO, "'%s': %s", path, strerror(errno));
    r->st.metrics_bytes = (int64_t)sb.st_size;
    return ENAS_OK;
}

/* ---- resuming with options ---- */

/* The settings a resumed run cannot change, and why (README, "A search and its run folder"). */
static const struct {
    const char *key, *why;
} fixed_on_resume[] = {
    {"space", "the shared weights and the architectures belong to it"},
    {"seed", "the batches and every random stream derive from it"},
    {"batch_size",
     "it fixes which images each batch of an epoch holds, so the checkpoint's position would point "
     "elsewhere"},
    {"train_subset",
     "it fixes which images each batch of an epoch holds, so the checkpoint's position would point "
     "elsewhere"},
    {"split", "it fixes which images each batch of an epoch holds, so the checkpoint's position would point "
              "elsewhere"},
    {"ctrl_steps", "it fixes the controller's position within an epoch"},
    {"ctrl_steps_aggregate", "it fixes the controller's position within an epoch"},
    {"lstm_size", "the controller's weights have its shape"},
    {"lstm_layers", "the controller's weights have its shape"},
    {"arch", "the network's weights belong to that architecture"},
};

/* A setting's value as text, to compare before and after an option. */
static void value_text(const struct enas_cfg *sec, const struct enas_setting *d, char *buf, size_t cap)
{
    switch (d->type) {
    case ENAS_SET_INT:
        snprintf(buf, cap, "%lld", (long long)enas__cfg_int(sec, d->key));
        break;
    case ENAS_SET_FLOAT:
        snprintf(buf, cap, "%.17g", enas__cfg_float(sec, d->key));
        break;
    case ENAS_SET_BOOL:
        snprintf(buf, cap, "%s", enas__cfg_bool(sec, d->key) ? "true" : "false");
        break;
    case ENAS_SET_STRING:
        snprintf(buf, cap, "%s", enas__cfg_string(sec, d->key));
        break;
    }
}

static const struct enas_setting *find_setting(const struct enas_setting *t, size_t n, const char *key)
{
    for (size_t i = 0; t && i < n; i++)
        if (strcmp(t[i].key, key) == 0)
            return &t[i];
    return NULL;
}

enum enas_status enas__run_resume_option(struct enas_host *h, struct enas_config *cfg, const char *resume_dir,
                                         const char *name, const char *value, struct enas_err *err)
{
    char opt[256], key[256];
    snprintf(opt, sizeof opt, "%s", name);
    for (char *p = opt; *p; p++)
        *p = *p == '_' ? '-' : *p; /* as the user would type it */
    snprintf(key, sizeof key, "%s", name);
    for (char *p = key; *p; p++)
        *p = *p == '-' ? '_' : *p;
    if (strcmp(key, "output") == 0)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "--output cannot be given with --resume: the run folder is the one "
                            "resumed ('%s')",
                            resume_dir);
    const struct enas_cfg *core = enas__config_section(cfg, "");
    const char *space = enas__cfg_string(core, "space");
    const struct enas_setting *d = NULL;
    const struct enas_cfg *sec = core;
    const char *why = NULL;
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        if (strcmp(key, space) == 0) { /* the space's own settings shape its weights and architectures */
            const struct enas_space_desc *sd = enas__registry_find_space(h->reg, space, NULL);
            d = sd ? find_setting(sd->settings, sd->n_settings, dot + 1) : NULL;
            sec = enas__config_section(cfg, key);
            why = "the space's settings shape the shared weights and the architectures";
        }
    } else {
        for (size_t i = 0; i < sizeof fixed_on_resume / sizeof fixed_on_resume[0]; i++)
            if (strcmp(key, fixed_on_resume[i].key) == 0)
                why = fixed_on_resume[i].why;
        d = why ? find_setting(enas__core_settings, enas__core_n_settings, key) : NULL;
    }
    if (!why || !d || !sec) /* free to change (or unknown: set_option says so) */
        return enas__config_set_option(cfg, name, value, err);
    char before[512], after[512];
    value_text(sec, d, before, sizeof before);
    enum enas_status st = enas__config_set_option(cfg, name, value, err);
    if (st != ENAS_OK)
        return st;
    value_text(sec, d, after, sizeof after);
    if (strcmp(before, after) == 0)
        return ENAS_OK;
    return enas_err_set(err, ENAS_ERR_CONFIG,
                        "--%s cannot change on resume (the run has %s, the option gives %s): "
                        "%s. Start a new run (another --output) to change it",
                        opt, before, after, why);
}
