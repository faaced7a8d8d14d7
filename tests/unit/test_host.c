/* test_host.c - the host API table with the good fixture loaded: op_create with attributes, the
 * parameter store and its initialisers, op_param_count, op_madds, op_call's argument check, alloc, rng,
 * log; messages a plugin left without a NUL, a backend init that crashes.
 * `test_host GOOD_FIXTURE_DIR BACKEND_NO_NUL_FIXTURE_DIR CRASH_BACKEND_FIXTURE_DIR`. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "util/log.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct enas_host *load_good(const char *dir)
{
    struct enas_host *h = NULL;
    struct enas_load_report *rep = NULL;
    struct enas_err err;
    CHECK_ERR(enas__host_create(&h, &err), err, ENAS_OK, NULL);
    if (!h)
        return NULL;
    const char *dirs[] = {dir};
    CHECK_ERR(enas__loader_load_all(h, dirs, 1, &rep, &err), err, ENAS_OK, NULL);
    enas__loader_report_destroy(rep);
    enas__host_seed(h, 1);
    return h;
}

static const struct enas_param *param(const struct enas_host *h, const char *name)
{
    size_t n;
    struct enas_param *const *ps = enas__host_params(h, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ps[i]->name, name) == 0)
            return ps[i];
    return NULL;
}

static void stats(const float *v, int64_t n, double *mean, double *sd, double *maxabs)
{
    double s = 0, s2 = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)v[i];
        s += x;
        s2 += x * x;
        if (fabs(x) > m)
            m = fabs(x);
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
    *maxabs = m;
}

static void test_op_create(struct enas_host *h)
{
    const struct enas_host_api *api = h->api;
    struct enas_err err;
    struct enas_op *op = NULL, *big = NULL, *dup = NULL;
    CHECK_ERR(enas__host_set_backend(h, "good_be", &err), err, ENAS_OK, NULL);
    CHECK_ERR(api->op_create(h, "good_conv", "kernel=3 out_channels=8", "layer1.conv", &op, &err), err,
              ENAS_OK, NULL);
    CHECK(op != NULL);
    CHECK(api->op_param_count(op) == 8 * 3 * 3 * 3 + 8); /* w + b; the buffer does not count */
    const struct enas_param *w = param(h, "layer1.conv.w"), *b = param(h, "layer1.conv.b"),
                            *rv = param(h, "layer1.conv.running_var");
    CHECK(w && b && rv);
    if (w && b && rv) {
        CHECK(w->value.ndim == 4 && w->value.dims[0] == 8 && w->value.dims[1] == 3 && w->value.dims[3] == 3);
        CHECK(((uintptr_t)w->value.data & 63) == 0 && w->grad && w->grad[0] == 0.0f);
        CHECK(b->flags == ENAS_PARAM_NO_DECAY && b->value.data[7] == 0.0f && b->grad);
        CHECK(rv->flags == ENAS_PARAM_BUFFER && rv->grad == NULL && rv->value.data[0] == 1.0f);
    }
    /* He init statistics on a larger instance: sigma = sqrt(2 / fan_in), truncated at 2 sigma */
    CHECK_ERR(api->op_create(h, "good_conv", "kernel=3 out_channels=64 in_channels=16", "big", &big, &err),
              err, ENAS_OK, NULL);
    const struct enas_param *bw = param(h, "big.w");
    CHECK(bw && api->op_param_count(big) == 64 * 9 * 16 + 64);
    if (bw) {
        double mean, sd, maxabs, sigma = sqrt(2.0 / (9 * 16));
        stats(bw->value.data, enas_tensor_numel(&bw->value), &mean, &sd, &maxabs);
        /* a normal truncated at 2 sigma has sd 0.880 sigma */
        CHECK_MSG(fabs(mean) < 0.05 * sigma && fabs(sd / sigma - 0.880) < 0.03 &&
                      maxabs <= 2.0 * sigma * 1.0001,
                  "mean %g sd/sigma %g max/sigma %g", mean, sd / sigma, maxabs / sigma);
    }
    /* madds from the op's function on a 2 x 8 x 8 x 3 input */
    struct enas_tensor x = {NULL, 4, {2, 8, 8, 3}};
    const struct enas_tensor *in[] = {&x};
    CHECK_NEAR(api->op_madds(op, in, 1), 2.0 * 8 * 8 * 8 * 9 * 3, 0.5);

    /* errors: unknown attribute names the key; out of range names it; duplicate scope is refused */
    size_t n_before;
    enas__host_params(h, &n_before);
    CHECK(api->op_create(h, "good_conv", "kernal=3", "l2", &dup, &err) != ENAS_OK && dup == NULL);
    CHECK_MSG(strstr(err.msg, "kernal") && strstr(err.msg, "good_conv"), "%s", err.msg);
    CHECK(api->op_create(h, "good_conv", "kernel=9", "l2", &dup, &err) != ENAS_OK && dup == NULL);
    CHECK_MSG(strstr(err.msg, "kernel"), "%s", err.msg);
    CHECK_ERR(api->op_create(h, "good_conv", "", "layer1.conv", &dup, &err), err, ENAS_ERR_INVALID_ARG,
              "param 'layer1.conv.w' already exists");
    CHECK(dup == NULL);
    size_t n_after;
    enas__host_params(h, &n_after);
    CHECK(n_after == n_before);
    CHECK_ERR(api->op_create(h, "sep3x3", "", "l3", &dup, &err), err, ENAS_ERR_NOT_FOUND,
              "no op named 'sep3x3'; registered ops: good_conv");

    /* op_call needs the exec context of a step (test_step runs networks through it) */
    struct enas_tensor *out = &x;
    CHECK_ERR(api->op_call(NULL, op, in, 1, NAN, &out, &err), err, ENAS_ERR_INVALID_ARG,
              "op_call: exec, op, inputs and out must not be NULL");
    CHECK(out == NULL);
    api->op_destroy(op);
    api->op_destroy(NULL);
    /* big is left for enas__host_destroy */
}

static void test_params(struct enas_host *h)
{
    const struct enas_host_api *api = h->api;
    struct enas_err err;
    struct enas_param *p = NULL;
    struct enas_tensor s = {NULL, 2, {100, 100, 7, 7}};
    struct enas_init u = {ENAS_INIT_UNIFORM, 0.5, 0}, nrm = {ENAS_INIT_NORMAL, 0.1, 0},
                     c = {ENAS_INIT_CONST, 3, 0};
    double mean, sd, maxabs;
    CHECK_ERR(api->param_create(h, "t", "u", &s, &u, 0, &p, &err), err, ENAS_OK, NULL);
    CHECK(p && strcmp(p->name, "t.u") == 0 && p->value.dims[2] == 1 && p->value.dims[3] == 1);
    if (p) {
        stats(p->value.data, 10000, &mean, &sd, &maxabs);
        CHECK_MSG(maxabs <= 0.5 && fabs(mean) < 0.02 && fabs(sd - 0.5 / sqrt(3.0)) < 0.01, "uniform sd %g",
                  sd);
    }
    CHECK_ERR(api->param_create(h, "", "n", &s, &nrm, 0, &p, &err), err, ENAS_OK, NULL);
    CHECK(p && strcmp(p->name, "n") == 0);
    if (p) {
        stats(p->value.data, 10000, &mean, &sd, &maxabs);
        CHECK_MSG(fabs(mean) < 0.005 && fabs(sd - 0.1) < 0.005, "normal sd %g", sd);
    }
    CHECK_ERR(api->param_create(h, NULL, "c", &s, &c, ENAS_PARAM_BUFFER, &p, &err), err, ENAS_OK, NULL);
    CHECK(p && p->value.data[9999] == 3.0f && p->grad == NULL);
    CHECK_ERR(api->param_create(h, NULL, "c", &s, &c, 0, &p, &err), err, ENAS_ERR_INVALID_ARG,
              "param 'c' already exists");
    CHECK(p == NULL);
    struct enas_init he0 = {ENAS_INIT_HE_NORMAL, 0, 0};
    CHECK_ERR(api->param_create(h, "t", "he", &s, &he0, 0, &p, &err), err, ENAS_ERR_INVALID_ARG,
              "param 't.he': HE_NORMAL needs fan_in > 0");
    struct enas_tensor zero = {NULL, 2, {4, 0, 1, 1}};
    CHECK_ERR(api->param_create(h, "t", "z", &zero, &c, 0, &p, &err), err, ENAS_ERR_INVALID_ARG,
              "param 't.z': dim 1");
    CHECK_ERR(api->param_create(h, "t", "Bad", &s, &c, 0, &p, &err), err, ENAS_ERR_INVALID_ARG, "'Bad'");
    /* many names: the hash keeps finding duplicates after it grows */
    char nm[32];
    struct enas_tensor one = {NULL, 1, {1, 1, 1, 1}};
    for (int i = 0; i < 1000; i++) {
        snprintf(nm, sizeof nm, "p%d", i);
        CHECK(api->param_create(h, "many", nm, &one, &c, 0, &p, &err) == ENAS_OK);
    }
    CHECK(api->param_create(h, "many", "p17", &one, &c, 0, &p, &err) == ENAS_ERR_INVALID_ARG);
    CHECK(param(h, "many.p999") != NULL);
}

static void test_services(const char *dir)
{
    struct enas_host *a = load_good(dir), *b = load_good(dir);
    if (!a || !b)
        return;
    const struct enas_host_api *api = enas__host_api();
    CHECK(api == a->api && api->abi_version == ENAS_ABI_VERSION && api->struct_size == sizeof *api);
    enas__host_seed(a, 5);
    enas__host_seed(b, 5);
    int same = 1;
    for (int i = 0; i < 10; i++)
        same &= api->rng_u64(a) == api->rng_u64(b);
    CHECK(same);
    void *m = api->alloc(0), *m2 = api->alloc(100);
    CHECK(m && m2 && ((uintptr_t)m & 63) == 0 && ((uintptr_t)m2 & 63) == 0);
    api->free(m);
    api->free(m2);
    CHECK(api->alloc(SIZE_MAX) == NULL);

    FILE *f = tmpfile();
    if (f) {
        char out[512];
        enas__log_set_stream(f);
        enas__host_set_log_level(a, ENAS_LOG_WARN);
        api->log(a, ENAS_LOG_WARN, "careful %d\n", 7);
        api->log(a, ENAS_LOG_INFO, "dropped");
        enas__host_begin_init(a, 99, "/some/dir/thing.so");
        api->log(a, ENAS_LOG_ERROR, "from a plugin");
        enas__host_end_init(a);
        enas__log_set_stream(NULL);
        enas__log_set_level(ENAS_LOG_INFO);
        rewind(f);
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        CHECK_MSG(strcmp(out, "enas: warning: careful 7\nenas: thing.so: from a plugin\n") == 0, "log: '%s'",
                  out);
        fclose(f);
    }
    enas__host_destroy(a);
    enas__host_destroy(b);
    enas__host_destroy(NULL);
}

/* A backend init and an op create that fill err->msg to its last byte without a NUL: the engine puts its
 * head in front and the message ends inside the buffer (a sanitizer build reports any overread). */
static void test_unterminated_messages(const char *dir)
{
    struct enas_host *h = load_good(dir);
    if (!h)
        return;
    struct enas_err err;
    const char *want = "backend 'nonul_be': yyyyyyyy";
    CHECK_ERR(enas__host_init_backend(h, "nonul_be", 1, NULL, &err), err, ENAS_ERR_BACKEND, want);
    CHECK_MSG(strnlen(err.msg, sizeof err.msg) == sizeof err.msg - 1 &&
                  strncmp(err.msg, want, strlen(want)) == 0,
              "%.80s", err.msg);
    struct enas_op *op = NULL;
    want = "op 'nonul_op' (provider 'nonul_be'): yyyyyyyy";
    CHECK_ERR(h->api->op_create(h, "nonul_op", "", "x", &op, &err), err, ENAS_ERR_BACKEND, want);
    CHECK(op == NULL && strnlen(err.msg, sizeof err.msg) == sizeof err.msg - 1);
    CHECK(strncmp(err.msg, want, strlen(want)) == 0);
    enas__host_destroy(h);
}

/* A backend whose init crashes: in a child, which must die of the signal after naming the plugin file
 * and the backend on stderr. */
static void test_backend_crash(const char *dir)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        struct enas_host *h = load_good(dir);
        struct enas_err err;
        if (h)
            enas__host_init_backend(h, "crash_be", 1, NULL, &err);
        _exit(3); /* not reached when the init crashes */
    }
    close(fds[1]);
    char out[8192];
    size_t n = 0;
    for (ssize_t r; n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0;)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    char want[1200];
    snprintf(
        want, sizeof want,
        "enas: plugin '%s/crash_backend.so' crashed in the init of backend 'crash_be' (signal 11, SIGSEGV)\n",
        dir);
    /* a sanitizer build reports the fault after this line and aborts */
    CHECK_MSG(WIFSIGNALED(status) && strncmp(out, want, strlen(want)) == 0, "status %#x, stderr:\n%s", status,
              out);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr,
                "usage: test_host GOOD_FIXTURE_DIR BACKEND_NO_NUL_FIXTURE_DIR CRASH_BACKEND_FIXTURE_DIR\n");
        return 2;
    }
    test_unterminated_messages(argv[2]);
    test_backend_crash(argv[3]);
    struct enas_host *h = load_good(argv[1]);
    if (h) {
        test_op_create(h);
        test_params(h);
        enas__host_destroy(h);
    }
    test_services(argv[1]);
    return check_exit("test_host");
}
