/* run_oot_op.c - `run_oot_op OOT_DIR PLUGIN_DIR BACKEND`: the third-party op `oot_scale` (built out of
 * tree against the installed headers) runs in the engine alongside a backend's own ops, forward and
 * backward: out = a * relu(x), so dx = a * dout * (x > 0) and da = sum(relu(x) * dout); then one SGD
 * step moves a. Exits 0 iff every value matches. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "tape/step.h"
#include "train/optim.h"

static struct enas_op *mk(struct enas_host *h, const char *name, const char *attrs, const char *scope)
{
    struct enas_err err;
    struct enas_op *op = NULL;
    if (h->api->op_create(h, name, attrs, scope, &op, &err) != ENAS_OK)
        fprintf(stderr, "run_oot_op: %s\n", err.msg);
    return op;
}

static void check_pass(struct enas_host *h, struct enas_op *relu, struct enas_op *scale)
{
    struct enas_err err;
    struct enas_step *s = NULL;
    CHECK(enas__step_create(h, &s, &err) == ENAS_OK);
    struct enas_step_opts o = {.training = 1, .record = 1, .seed = 3, .threads = 1};
    enas__step_begin(s, &o);
    int64_t dims[4] = {2, 3, 3, 2};
    struct enas_tensor *x = enas__step_tensor(s, 4, dims, 1), *r = NULL, *y = NULL;
    float dy[36];
    for (int i = 0; i < 36; i++) {
        x->data[i] = (float)((i * 7) % 11) - 5.0f;
        dy[i] = 0.25f * (float)(i % 5) - 0.5f;
    }
    const struct enas_tensor *in1[] = {x};
    CHECK(h->api->op_call(enas__step_exec(s), relu, in1, 1, NAN, &r, &err) == ENAS_OK);
    const struct enas_tensor *in2[] = {r};
    CHECK(h->api->op_call(enas__step_exec(s), scale, in2, 1, NAN, &y, &err) == ENAS_OK);
    if (!y) {
        fprintf(stderr, "run_oot_op: %s\n", err.msg);
        enas__step_destroy(s);
        return;
    }
    struct enas_tensor g = {dy, 4, {2, 3, 3, 2}};
    CHECK(enas__step_backward(s, y, &g, &err) == ENAS_OK);
    const struct enas_tensor *gx = enas__step_grad(s, x);
    size_t np;
    struct enas_param *const *ps = enas__host_params(h, &np);
    CHECK(np == 1 && strcmp(ps[0]->name, "head.a") == 0);
    double da = 0.0;
    for (int i = 0; i < 36; i++) {
        float rx = x->data[i] > 0 ? x->data[i] : 0.0f;
        CHECK_NEAR(y->data[i], 1.5f * rx, 1e-6);
        CHECK(gx != NULL && fabsf(gx->data[i] - (x->data[i] > 0 ? 1.5f * dy[i] : 0.0f)) < 1e-6f);
        da += (double)rx * (double)dy[i];
    }
    CHECK_NEAR(ps[0]->grad[0], da, 1e-5);
    struct enas_sgd *opt = NULL;
    struct enas_sgd_opts so = {0};
    CHECK(enas__optim_sgd_create(&so, &opt, &err) == ENAS_OK);
    CHECK(enas__optim_sgd_step(opt, ps, np, 0.1, &err) == ENAS_OK);
    CHECK_NEAR(ps[0]->value.data[0], 1.5 - 0.1 * da, 1e-5);
    enas__optim_sgd_destroy(opt);
    enas__step_destroy(s);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: run_oot_op OOT_DIR PLUGIN_DIR BACKEND\n");
        return 2;
    }
    struct enas_err err;
    struct enas_host *h = NULL;
    struct enas_load_report *rep = NULL;
    CHECK(enas__host_create(&h, &err) == ENAS_OK);
    const char *dirs[] = {argv[1], argv[2]};
    CHECK(enas__loader_load_all(h, dirs, 2, &rep, &err) == ENAS_OK);
    if (enas__host_init_backend(h, argv[3], 1, NULL, &err) != ENAS_OK) {
        fprintf(stderr, "run_oot_op: %s: skipped\n", err.msg);
        enas__loader_report_destroy(rep);
        enas__host_destroy(h);
        return 77;
    }
    struct enas_op *relu = mk(h, "relu", "", "body");
    struct enas_op *scale = mk(h, "oot_scale", "init=1.5", "head");
    CHECK(relu && scale);
    if (relu && scale)
        check_pass(h, relu, scale);
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
    return check_exit("run_oot_op");
}
