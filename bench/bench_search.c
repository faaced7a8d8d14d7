/* bench_search.c - the engine's side of bench/run.sh: shared-weight training throughput of the macro or
 * micro search space at a given batch over a fixed list of architectures, peak RSS, and the time of one
 * controller update. The PyTorch side is bench/torch_enas.py; both print one JSON line.
 *
 *   bench_search gen   PLUGIN_DIR SPACE N SEED            N architectures sampled by a fresh controller
 *                                                          (seeded), one a line as TF ints
 *   bench_search train PLUGIN_DIR SPACE ARCHS [options]   --backend onednn --warmup 3 --steps 10
 *                                                          --batch 128 --ctrl-reps 3 --first-arch 0
 *                                                          --options "micro.num-layers=6 ..." (the space's
 *                                                          settings; default: the search's, below)
 *                                                          --fixed 1: the fixed (final-mode) network of the
 *                                                          architecture --first-arch, as enas retrain trains
 *                                                          it, instead of the search supergraph
 *
 * A training step is what the search's phase 1 does (tests/helpers/spacehelp.c sh_pass with lr > 0): forward
 * of the architecture's child network, cross-entropy backward through the tape, global-norm clip 5, SGD
 * (momentum 0.9, Nesterov). The data is the first BATCH CIFAR-10 images of $ENAS_DATA when it holds
 * them, else N(0, 1) noise; the same batch every step (the input pipeline is not measured). Threads: 2
 * (spacehelp opens the backend with 2 and runs every pass with 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/controller.h"
#include "plugin/host.h"
#include "plugin/registry.h"
#include "spacehelp.h"
#include "tape/step.h"
#include "train/optim.h"
#include "util/rng.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads): robust to other processes taking the cores. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? v[n / 2] : 0.0;
}

/* The search defaults, written out so that the benchmark does not move when a default does. */
static const char *space_options(const char *space)
{
    if (strcmp(space, "macro") == 0)
        return "macro.num-layers=12 macro.out-filters=36";
    if (strcmp(space, "micro") == 0)
        return "micro.num-layers=6 micro.out-filters=20 micro.num-nodes=5";
    return "";
}

static int ctrl_open(struct sh *s, struct enas_controller **c)
{
    struct enas_err err = {0};
    struct enas_ctrl_opts co = {.lstm_size = 64,
                                .lstm_layers = 1,
                                .tanh_constant = 1.5,
                                .temperature = 0,
                                .op_tanh_reduce = 1.0,
                                .skip_target = 0.4,
                                .seed = 3};
    if (enas__controller_create(&co, sh_desc(s), sh_state(s), c, &err) != ENAS_OK) {
        fprintf(stderr, "bench_search: controller: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* A fresh controller's samples; when the space's decisions do not (yet) suit the controller, uniform
 * samples (sh_random_arch) with a note on stderr. */
static int cmd_gen(const char *plugin_dir, const char *space, int n, unsigned long long seed)
{
    struct sh *s = NULL;
    struct enas_controller *c = NULL;
    int rc = sh_open(&s, plugin_dir, "ref", space, space_options(space), NULL, 0);
    if (rc == 0 && ctrl_open(s, &c) != 0)
        fprintf(stderr, "bench_search: gen: uniform architectures instead of controller samples\n");
    size_t len = rc == 0 ? sh_arch_len(s) : 0;
    int *arch = rc == 0 ? malloc(len * sizeof *arch) : NULL;
    struct enas_rng rng;
    enas__rng_seed(&rng, seed, 1);
    for (int i = 0; rc == 0 && arch && i < n; i++) {
        struct enas_err err = {0};
        struct enas_ctrl_sample cs;
        if (!c)
            sh_random_arch(s, seed * 1000003ull + (uint64_t)i, arch);
        else if (enas__controller_sample(c, &rng, arch, &cs, &err) != ENAS_OK) {
            fprintf(stderr, "bench_search: sample: %s\n", err.msg);
            rc = 1;
            break;
        }
        for (size_t k = 0; k < len; k++)
            printf("%s%d", k ? " " : "", arch[k]);
        printf("\n");
    }
    free(arch);
    enas__controller_destroy(c);
    sh_close(s);
    return rc;
}

/* Architectures, one a line of ints (separated by spaces, commas or '|'); '#' lines are skipped. */
static int read_archs(const char *path, size_t len, int **out, int *n_out)
{
    FILE *f = fopen(path, "r");
    char line[65536];
    int n = 0, cap = 0, *v = NULL;
    if (!f) {
        fprintf(stderr, "bench_search: cannot open %s\n", path);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            int *nv = realloc(v, (size_t)cap * len * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        size_t k = 0;
        for (char *p = line, *end; *p && k <= len; p = end) {
            p += strspn(p, " \t,|\r\n");
            if (!*p)
                break;
            long x = strtol(p, &end, 10);
            if (end == p)
                break;
            if (k < len)
                v[(size_t)n * len + k] = (int)x;
            k++;
        }
        if (k != len) {
            fprintf(stderr, "bench_search: %s line %d: %zu ints; this space takes %zu\n", path, n + 1, k,
                    len);
            fclose(f);
            free(v);
            return 1;
        }
        n++;
    }
    fclose(f);
    *out = v;
    *n_out = n;
    return n ? 0 : 1;
}

/* One training pass as sh_pass does it (tests/helpers/spacehelp.c), with its phases timed: forward, loss and
 * backward through the tape, clip and SGD. Its own step, so that the tape's peak bytes can be read. */
struct pass {
    struct sh *sh;
    struct enas_step *step;
    struct enas_sgd *sgd;
    const struct enas_loss_desc *loss;
    float *grad;
    size_t grad_cap;
    uint64_t n;
    double ph[3]; /* seconds of the phases of the last pass */
};

static int pass_open(struct pass *p, struct sh *s)
{
    struct enas_err err = {0};
    struct enas_sgd_opts so = {.momentum = 0.9, .nesterov = 1, .weight_decay = 0};
    p->sh = s;
    if (!(p->loss = enas__registry_find_loss(sh_host(s)->reg, "cross_entropy", &err)) ||
        enas__step_create(sh_host(s), &p->step, &err) != ENAS_OK ||
        enas__optim_sgd_create(&so, &p->sgd, &err) != ENAS_OK) {
        fprintf(stderr, "bench_search: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static void pass_close(struct pass *p)
{
    enas__step_destroy(p->step);
    enas__optim_sgd_destroy(p->sgd);
    free(p->grad);
}

static int pass_run(struct pass *p, const int *arch, const float *images, const int32_t *labels, int n,
                    double lr, double *loss)
{
    struct enas_err err = {0};
    struct enas_step_opts so = {.training = 1, .record = 1, .seed = 11, .stream = p->n++, .threads = 2};
    double t0 = now_s();
    enas__step_begin(p->step, &so);
    int64_t dims[4] = {n, 32, 32, 3};
    struct enas_tensor *img = enas__step_tensor(p->step, 4, dims, 0);
    if (!img)
        return 1;
    memcpy(img->data, images, (size_t)n * 3072 * sizeof(float));
    struct enas_child_out o = {0};
    struct enas_loss_result r = {0};
    const struct enas_space_desc *d = sh_desc(p->sh);
    enum enas_status st =
        d->forward(sh_state(p->sh), enas__step_exec(p->step), arch, sh_arch_len(p->sh), img, &o, &err);
    double t1 = now_s();
    if (st == ENAS_OK && o.aux_logits)
        st = enas_err_set(&err, ENAS_ERR_INVALID_ARG, "bench_search: aux heads are not benchmarked");
    size_t k = st == ENAS_OK ? (size_t)enas_tensor_numel(o.logits) : 0;
    if (st == ENAS_OK && k > p->grad_cap) {
        free(p->grad);
        p->grad_cap = 0;
        if (!(p->grad = malloc(k * sizeof *p->grad)))
            return 1;
        p->grad_cap = k;
    }
    struct enas_tensor g = st == ENAS_OK ? *o.logits : (struct enas_tensor){0};
    g.data = p->grad;
    if (st == ENAS_OK)
        st = p->loss->compute(NULL, o.logits, labels, &g, &r, &err);
    if (st == ENAS_OK)
        st = enas__step_backward(p->step, o.logits, &g, &err);
    double t2 = now_s();
    size_t np;
    struct enas_param *const *ps = enas__host_params(sh_host(p->sh), &np);
    if (st == ENAS_OK) {
        enas__optim_grad_clip(ps, np, 5.0);
        st = enas__optim_sgd_step(p->sgd, ps, np, lr, &err);
    }
    double t3 = now_s();
    if (st != ENAS_OK) {
        fprintf(stderr, "bench_search: pass: %s\n", err.msg);
        return 1;
    }
    p->ph[0] = t1 - t0;
    p->ph[1] = t2 - t1;
    p->ph[2] = t3 - t2;
    *loss = r.loss;
    return 0;
}

struct train_opts {
    const char *backend;
    int warmup, steps, batch, ctrl_reps, first;
    const char *options; /* the space's settings (NULL: space_options) */
    int fixed;           /* 1: only the fixed network of architecture `first` */
};

/* Median milliseconds of one controller update (20 samples, each with its REINFORCE backward, then the
 * Adam step), after one warm-up update. */
static int ctrl_time(struct sh *s, int reps, double *ms)
{
    struct enas_controller *c = NULL;
    *ms = -1.0;
    if (ctrl_open(s, &c) != 0)
        return 0; /* reported as null */
    int rc = 0;
    size_t len = sh_arch_len(s);
    int *arch = malloc(len * sizeof *arch);
    double *t = malloc((size_t)(reps + 1) * sizeof *t);
    struct enas_rng rng;
    enas__rng_seed(&rng, 5, 2);
    for (int r = 0; rc == 0 && arch && t && r <= reps; r++) {
        struct enas_err err = {0};
        double t0 = now_s();
        enas__controller_zero_grad(c);
        for (int k = 0; rc == 0 && k < 20; k++) {
            struct enas_ctrl_sample cs;
            if (enas__controller_sample(c, &rng, arch, &cs, &err) != ENAS_OK ||
                enas__controller_backward(c, (0.1 - 0.05) / 20.0, 0.8 / 20.0, &err) != ENAS_OK)
                rc = 1;
        }
        if (rc == 0 && enas__controller_step(c, 3.5e-4, 0.9, 0.999, 1e-8, 5.0, NULL, &err) != ENAS_OK)
            rc = 1;
        if (rc)
            fprintf(stderr, "bench_search: controller: %s\n", err.msg);
        t[r] = now_s() - t0;
    }
    *ms = rc == 0 && t ? 1e3 * median(t + 1, reps) : -1.0;
    free(t);
    free(arch);
    enas__controller_destroy(c);
    return rc;
}

static int cmd_train(const char *plugin_dir, const char *space, const char *archs_path,
                     const struct train_opts *o)
{
    struct sh *s = NULL;
    const char *opts = o->options ? o->options : space_options(space);
    int rc = sh_open(&s, plugin_dir, o->backend, space, opts, NULL, 0);
    if (rc) {
        sh_close(s);
        return rc;
    }
    size_t len = sh_arch_len(s);
    int *archs = NULL, n_archs = 0;
    float *images = NULL;
    int32_t *labels = NULL;
    const char *data = "cifar10";
    rc = read_archs(archs_path, len, &archs, &n_archs);
    if (rc == 0 && o->fixed) { /* the same space again, built for that one architecture */
        int *one = archs + (size_t)(o->first % n_archs) * len;
        sh_close(s);
        s = NULL;
        if ((rc = sh_open(&s, plugin_dir, o->backend, space, opts, one, len)) == 0) {
            memmove(archs, one, len * sizeof *archs);
            n_archs = 1;
        }
    }
    if (rc == 0 && sh_cifar(o->batch, &images, &labels) != 0) {
        data = "random";
        struct enas_rng rng;
        enas__rng_seed(&rng, 7, 3);
        images = malloc((size_t)o->batch * 3072 * sizeof *images);
        labels = malloc((size_t)o->batch * sizeof *labels);
        for (int64_t i = 0; images && labels && i < (int64_t)o->batch * 3072; i++)
            images[i] = (float)enas__rng_normal(&rng);
        for (int i = 0; images && labels && i < o->batch; i++)
            labels[i] = (int32_t)enas__rng_below(&rng, 10);
        rc = images && labels ? 0 : 1;
    }
    int total = o->warmup + o->steps;
    double *t = malloc((size_t)(total > 0 ? total : 1) * sizeof *t), first_loss = 0, last_loss = 0;
    double *tc = malloc((size_t)(total > 0 ? total : 1) * sizeof *tc);
    double *ph = malloc((size_t)(total > 0 ? total : 1) * 3 * sizeof *ph);
    struct pass ps = {0};
    if (rc == 0)
        rc = pass_open(&ps, s);
    for (int i = 0; rc == 0 && t && tc && ph && i < total; i++) {
        const int *arch = archs + (size_t)((o->first + i) % n_archs) * len;
        double loss = 0, t0 = now_s(), c0 = cpu_s();
        rc = pass_run(&ps, arch, images, labels, o->batch, 0.05, &loss);
        t[i] = now_s() - t0;
        tc[i] = cpu_s() - c0;
        for (int k = 0; k < 3; k++)
            ph[k * total + i] = ps.ph[k];
        if (i == 0)
            first_loss = loss;
        last_loss = loss;
    }
    long hwm = vm_hwm_kb();
    double ctrl_ms = 0;
    if (rc == 0 && o->ctrl_reps > 0)
        rc = ctrl_time(s, o->ctrl_reps, &ctrl_ms);
    if (rc == 0 && t && tc && ph) {
        printf("{\"program\": \"enas-%s%s\", \"space\": \"%s\", \"first_arch\": %d, \"batch\": %d, "
               "\"threads\": 2, "
               "\"data\": \"%s\", \"step_s\": [",
               o->backend, o->fixed ? "-fixed" : "", space, o->first, o->batch, data);
        for (int i = o->warmup; i < total; i++)
            printf("%s%.6f", i > o->warmup ? ", " : "", t[i]);
        printf("], \"cpu_s\": [");
        for (int i = o->warmup; i < total; i++)
            printf("%s%.6f", i > o->warmup ? ", " : "", tc[i]);
        double med = median(t + o->warmup, o->steps);
        printf("], \"median_s\": %.6f, \"images_per_s\": %.3f, \"peak_rss_mb\": %.1f, ", med, o->batch / med,
               (double)hwm / 1024.0);
        printf("\"tape_peak_mb\": %.1f, \"tape_live_peak_mb\": %.1f, \"phase_median_s\": {\"forward\": %.4f, "
               "\"backward\": %.4f, \"sgd\": %.4f}, ",
               (double)enas__step_peak_bytes(ps.step) / (1024.0 * 1024.0),
               (double)enas__step_live_peak_bytes(ps.step) / (1024.0 * 1024.0),
               median(ph + o->warmup, o->steps), median(ph + total + o->warmup, o->steps),
               median(ph + 2 * total + o->warmup, o->steps));
        if (o->ctrl_reps > 0 && ctrl_ms >= 0)
            printf("\"ctrl_update_ms\": %.3f, ", ctrl_ms);
        else
            printf("\"ctrl_update_ms\": null, ");
        struct enas_child_info info = {0};
        struct enas_err ierr = {0};
        if (sh_desc(s)->info(sh_state(s), archs, len, &info, &ierr) == ENAS_OK)
            printf("\"madds\": %.0f, \"params\": %lld, ", info.child_madds, (long long)info.child_params);
        printf("\"first_loss\": %.6f, \"last_loss\": %.6f}\n", first_loss, last_loss);
    }
    pass_close(&ps);
    free(t);
    free(tc);
    free(ph);
    free(archs);
    free(images);
    free(labels);
    sh_close(s);
    return rc == 77 ? 77 : rc ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_search gen PLUGIN_DIR SPACE N SEED\n"
            "       bench_search train PLUGIN_DIR SPACE ARCHS [--backend B] [--warmup N] [--steps N]\n"
            "                          [--batch N] [--ctrl-reps N] [--first-arch I] [--options \"K=V ...\"]\n"
            "                          [--fixed 0|1]\n");
    return 2;
}

int main(int argc, char **argv)
{
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0); /* as the enas program does (engine/main.c) */
    if (argc >= 6 && strcmp(argv[1], "gen") == 0)
        return cmd_gen(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10));
    if (argc < 5 || strcmp(argv[1], "train") != 0)
        return usage();
    struct train_opts o = {"onednn", 3, 10, 128, 3, 0, NULL, 0};
    for (int i = 5; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--backend") == 0)
            o.backend = v;
        else if (strcmp(k, "--warmup") == 0)
            o.warmup = atoi(v);
        else if (strcmp(k, "--steps") == 0)
            o.steps = atoi(v);
        else if (strcmp(k, "--batch") == 0)
            o.batch = atoi(v);
        else if (strcmp(k, "--ctrl-reps") == 0)
            o.ctrl_reps = atoi(v);
        else if (strcmp(k, "--first-arch") == 0)
            o.first = atoi(v);
        else if (strcmp(k, "--options") == 0)
            o.options = v;
        else if (strcmp(k, "--fixed") == 0)
            o.fixed = atoi(v);
        else
            return usage();
    }
    if (o.steps < 1 || o.batch < 1 || o.warmup < 0)
        return usage();
    return cmd_train(argv[2], argv[3], argv[4], &o);
}
