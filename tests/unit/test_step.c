/* test_step.c - reverse-mode execution through the engine: `test_step PLUGIN_DIR BACKEND`.
 * - a network with fan-out, a tensor fed twice into one op, and identity/concat/sum reading tensors whose
 *   gradient later readers already started (the ops that add into it, ENAS_OP_BWD_ACCUMULATE) or that
 *   take dout's buffer as a fresh gradient (ENAS_OP_BWD_PASS_THROUGH): the tape's
 *   input and parameter gradients match central finite differences of the whole network;
 * - inference passes record nothing, and a repeated pass reuses the step's memory;
 * - conv-BN-ReLU-pool-linear trained with SGD on a generated, separable problem exceeds 95%
 *   accuracy on held-out examples. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "tape/step.h"
#include "train/optim.h"

#include <stdlib.h>

struct net {
    struct enas_op *conv, *bn, *relu, *conv1, *sum, *id, *cat, *pool, *gap, *fc;
};

static struct enas_host *h;
static const struct enas_host_api *api;

static int net_count; /* parameters live as long as the host: each net gets its own scopes */

static struct enas_op *mk(const char *name, const char *attrs, const char *what)
{
    struct enas_err err;
    struct enas_op *op = NULL;
    char scope[64];
    snprintf(scope, sizeof scope, "net%d.%s", net_count, what);
    if (api->op_create(h, name, attrs, scope, &op, &err) != ENAS_OK)
        fprintf(stderr, "op_create %s: %s\n", name, err.msg);
    CHECK(op != NULL);
    return op;
}

static void net_make(struct net *n, int cin, int classes)
{
    char a[160];
    net_count++;
    snprintf(a, sizeof a, "in_channels=%d out_channels=8 kernel=3", cin);
    n->conv = mk("conv", a, "conv");
    n->bn = mk("batch_norm", "channels=8", "bn");
    n->relu = mk("relu", "", "relu");
    n->conv1 = mk("conv", "in_channels=8 out_channels=8 kernel=1", "conv1");
    n->sum = mk("sum", "", "sum");
    n->id = mk("identity", "", "id");
    n->cat = mk("concat", "", "cat");
    n->pool = mk("max_pool", "kernel=3 stride=2", "pool");
    n->gap = mk("global_avg_pool", "", "gap");
    snprintf(a, sizeof a, "in_features=16 out_features=%d bias=true", classes);
    n->fc = mk("linear", a, "fc");
}

static void net_free(struct net *n)
{
    struct enas_op **ops = (struct enas_op **)n;
    for (size_t i = 0; i < sizeof *n / sizeof *ops; i++)
        api->op_destroy(ops[i]);
}

#define CALL(op, out, ...)                                                                                   \
    do {                                                                                                     \
        const struct enas_tensor *in_[] = {__VA_ARGS__};                                                     \
        if (st == ENAS_OK)                                                                                   \
            st = api->op_call(x, (op), in_, sizeof in_ / sizeof in_[0], NAN, &(out), &err);                  \
    } while (0)

/* images -> logits; a = relu(bn(conv(x))); s = a + a + conv1(a) (fan-out and a doubled input), then
 * concat(s, a) + concat(identity(a), s): replayed backward, the first concat and the sum add into the
 * gradients of a and s that the later ops began. */
static struct enas_tensor *net_forward(const struct net *n, struct enas_exec *x,
                                       const struct enas_tensor *img)
{
    struct enas_err err;
    enum enas_status st = ENAS_OK;
    struct enas_tensor *c = NULL, *b = NULL, *a = NULL, *p = NULL, *s = NULL, *q = NULL, *g = NULL, *o = NULL;
    struct enas_tensor *k = NULL, *i = NULL, *m = NULL, *t = NULL;
    CALL(n->conv, c, img);
    CALL(n->bn, b, c);
    CALL(n->relu, a, b);
    CALL(n->conv1, p, a);
    CALL(n->sum, s, a, a, p);
    CALL(n->cat, k, s, a);
    CALL(n->id, i, a);
    CALL(n->cat, m, i, s);
    CALL(n->sum, t, k, m);
    CALL(n->pool, q, t);
    CALL(n->gap, g, q);
    CALL(n->fc, o, g);
    if (st != ENAS_OK)
        fprintf(stderr, "forward: %s\n", err.msg);
    CHECK(st == ENAS_OK);
    return o;
}

/* L = sum(logits * R) in double */
static double loss_of(const struct enas_tensor *o, const float *r)
{
    double l = 0.0;
    for (int64_t i = 0; i < enas_tensor_numel(o); i++)
        l += (double)o->data[i] * (double)r[i];
    return l;
}

static double run_loss(struct enas_step *st, const struct net *n, const float *img, const float *r)
{
    struct enas_step_opts o = {.training = 1, .record = 0, .seed = 1, .threads = 1};
    enas__step_begin(st, &o);
    int64_t dims[4] = {2, 5, 6, 3};
    struct enas_tensor *t = enas__step_tensor(st, 4, dims, 0);
    memcpy(t->data, img, sizeof(float) * 2 * 5 * 6 * 3);
    return loss_of(net_forward(n, enas__step_exec(st), t), r);
}

static void test_gradients(void)
{
    struct net n;
    net_make(&n, 3, 4);
    struct enas_step *st = NULL;
    struct enas_err err;
    CHECK(enas__step_create(h, &st, &err) == ENAS_OK);
    enum { NI = 2 * 5 * 6 * 3 };
    float img[NI], r[2 * 4];
    uint64_t seed = 7;
    for (int i = 0; i < NI; i++)
        img[i] =
            (float)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 40) / 16777216.0f -
            0.5f;
    for (int i = 0; i < 8; i++)
        r[i] = (float)(i % 3) - 0.7f;
    size_t np;
    struct enas_param *const *ps = enas__host_params(h, &np);
    enas__optim_grad_zero(ps, np);
    struct enas_step_opts o = {.training = 1, .record = 1, .seed = 1, .threads = 1};
    enas__step_begin(st, &o);
    int64_t dims[4] = {2, 5, 6, 3};
    struct enas_tensor *t = enas__step_tensor(st, 4, dims, 1);
    memcpy(t->data, img, sizeof img);
    struct enas_tensor *out = net_forward(&n, enas__step_exec(st), t);
    CHECK(enas__step_n_records(st) == 12);
    struct enas_tensor dout = {r, 2, {2, 4, 1, 1}};
    CHECK(enas__step_backward(st, out, &dout, &err) == ENAS_OK);
    const struct enas_tensor *gx = enas__step_grad(st, t);
    CHECK(gx != NULL);
    float gimg[NI];
    memcpy(gimg, gx->data, sizeof gimg);
    int bad = 0;
    for (int i = 0; i < NI; i += 7) { /* input gradient, sampled */
        float keep = img[i];
        img[i] = keep + 1e-3f;
        double up = run_loss(st, &n, img, r);
        img[i] = keep - 1e-3f;
        double dn = run_loss(st, &n, img, r);
        img[i] = keep;
        double fd = (up - dn) / 2e-3;
        bad += fabs(fd - (double)gimg[i]) > 2e-3 * (1.0 + fabs(fd));
    }
    CHECK_MSG(bad == 0, "%d input-gradient mismatches", bad);
    bad = 0;
    for (size_t k = 0; k < np; k++) { /* every trained parameter, sampled */
        struct enas_param *p = ps[k];
        if (!p->grad)
            continue;
        for (int64_t i = 0; i < enas_tensor_numel(&p->value); i += 5) {
            float keep = p->value.data[i], g = p->grad[i];
            p->value.data[i] = keep + 1e-3f;
            double up = run_loss(st, &n, img, r);
            p->value.data[i] = keep - 1e-3f;
            double dn = run_loss(st, &n, img, r);
            p->value.data[i] = keep;
            double fd = (up - dn) / 2e-3;
            if (fabs(fd - (double)g) > 2e-3 * (1.0 + fabs(fd))) {
                fprintf(stderr, "%s[%lld]: tape %g, fd %g\n", p->name, (long long)i, (double)g, fd);
                bad++;
            }
        }
    }
    CHECK_MSG(bad == 0, "%d parameter-gradient mismatches", bad);
    /* inference records nothing; the same pass again needs no more memory */
    size_t peak = enas__step_peak_bytes(st);
    run_loss(st, &n, img, r);
    CHECK(enas__step_n_records(st) == 0);
    CHECK(enas__step_peak_bytes(st) == peak);
    enas__step_destroy(st);
    net_free(&n);
}

/* images -> logits without the BN (whose backward reads the batch statistics its forward saved): every
 * other op's backward reads only the tape's tensors. */
static struct enas_tensor *net_forward_nobn(const struct net *n, struct enas_exec *x,
                                            const struct enas_tensor *img)
{
    struct enas_err err;
    enum enas_status st = ENAS_OK;
    struct enas_tensor *c = NULL, *a = NULL, *p = NULL, *s = NULL, *q = NULL, *g = NULL, *o = NULL;
    struct enas_tensor *k = NULL, *i = NULL, *m = NULL, *t = NULL;
    CALL(n->conv, c, img);
    CALL(n->relu, a, c);
    CALL(n->conv1, p, a);
    CALL(n->sum, s, a, a, p);
    CALL(n->cat, k, s, a);
    CALL(n->id, i, a);
    CALL(n->cat, m, i, s);
    CALL(n->sum, t, k, m);
    CALL(n->pool, q, t);
    CALL(n->gap, g, q);
    CALL(n->fc, o, g);
    CHECK(st == ENAS_OK);
    return o;
}

/* Gradients of every parameter (concatenated), and the input's, after one recorded pass on img with
 * dlogits r. at: before backward, the input becomes at_img and every recorded output takes the value of
 * the same call in at's pass (on at_img). */
static size_t grads_of(struct enas_step *st, struct enas_step *at, const float *at_img, const struct net *n,
                       const float *img, const float *r, float *out)
{
    struct enas_err err;
    size_t np, k = 0;
    struct enas_param *const *ps = enas__host_params(h, &np);
    enas__optim_grad_zero(ps, np);
    struct enas_step_opts o = {.training = 1, .record = 1, .seed = 1, .threads = 2, .keep = 1};
    enas__step_begin(st, &o);
    int64_t dims[4] = {2, 5, 6, 3};
    struct enas_tensor *t = enas__step_tensor(st, 4, dims, 1);
    memcpy(t->data, img, sizeof(float) * 2 * 5 * 6 * 3);
    struct enas_tensor *logits = net_forward_nobn(n, enas__step_exec(st), t);
    const size_t nr = enas__step_n_records(st);
    CHECK(nr == 11 && enas__step_record_output(st, nr, NULL) == NULL);
    for (size_t i = 0; at && i < nr; i++) {
        const char *mine = NULL, *theirs = NULL;
        struct enas_tensor *y = enas__step_record_output(st, i, &mine);
        const struct enas_tensor *z = enas__step_record_output(at, i, &theirs);
        CHECK(y && z && strcmp(mine, theirs) == 0 && enas_tensor_same_shape(y, z));
        if (y && z && enas_tensor_same_shape(y, z))
            memcpy(y->data, z->data, (size_t)enas_tensor_numel(y) * sizeof(float));
    }
    if (at) /* the input is no op's output: the caller's to set */
        memcpy(t->data, at_img, sizeof(float) * 2 * 5 * 6 * 3);
    struct enas_tensor dout = {(float *)(uintptr_t)r, 2, {2, 4, 1, 1}};
    CHECK(enas__step_backward(st, logits, &dout, &err) == ENAS_OK);
    for (size_t i = 0; i < np; i++)
        for (int64_t j = 0; ps[i]->grad && j < enas_tensor_numel(&ps[i]->value); j++)
            out[k++] = ps[i]->grad[j];
    const struct enas_tensor *gx = enas__step_grad(st, t);
    for (int64_t j = 0; gx && j < enas_tensor_numel(gx); j++)
        out[k++] = gx->data[j];
    return k;
}

/* Backward reads the tape: a pass on another image whose input and recorded outputs are overwritten with
 * pass A's before backward gets A's gradients exactly, A's ReLU and max-pool branches included; on its own
 * values it gets different ones. (test_space_micro runs ref's backward at oneDNN's activations so: rounding
 * can tip a ReLU input within 1e-6 of zero to either side, and one such element moves a BN network's
 * gradients by percents.) */
static void test_adopt(void)
{
    struct net n;
    net_make(&n, 3, 4);
    struct enas_step *sa = NULL, *sb = NULL;
    struct enas_err err;
    CHECK(enas__step_create(h, &sa, &err) == ENAS_OK && enas__step_create(h, &sb, &err) == ENAS_OK);
    enum { NI = 2 * 5 * 6 * 3, NG = 4096 };
    static float ia[NI], ib[NI], r[8], ga[NG], gb[NG], gc[NG];
    uint64_t seed = 21;
    for (int i = 0; i < 2 * NI; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        (i < NI ? ia : ib)[i % NI] = (float)(seed >> 40) / 16777216.0f - 0.5f;
    }
    for (int i = 0; i < 8; i++)
        r[i] = (float)(i % 3) - 0.7f;
    size_t k = grads_of(sa, NULL, NULL, &n, ia, r, ga); /* sa's tape stays for the adopting pass below */
    CHECK(k > NI && k < NG);
    CHECK(grads_of(sb, NULL, NULL, &n, ib, r, gb) == k);
    int differ = 0, same = 1;
    for (size_t i = 0; i < k; i++)
        differ += fabsf(ga[i] - gb[i]) > 1e-3f * (1.0f + fabsf(ga[i]));
    CHECK_MSG(differ > 0, "another image gave the same gradients");
    CHECK(grads_of(sb, sa, ia, &n, ib, r, gc) == k);
    for (size_t i = 0; i < k; i++)
        same &= memcmp(&ga[i], &gc[i], sizeof(float)) == 0;
    CHECK_MSG(same, "backward at pass A's activations differs from A's");
    enas__step_destroy(sa);
    enas__step_destroy(sb);
    net_free(&n);
}

/* class c: a bright 3x3 blob in quadrant c of an 8x8 image, channel c % 3, plus noise */
static void make_example(uint64_t *s, float *img, int32_t *label)
{
    int c = (int)((*s = *s * 6364136223846793005ull + 1442695040888963407ull) >> 62);
    for (int i = 0; i < 8 * 8 * 3; i++)
        img[i] =
            (float)((*s = *s * 6364136223846793005ull + 1442695040888963407ull) >> 40) / 16777216.0f - 0.5f;
    int y0 = (c / 2) * 4 + 1, x0 = (c % 2) * 4 + 1;
    for (int y = y0; y < y0 + 3; y++)
        for (int xx = x0; xx < x0 + 3; xx++)
            img[(y * 8 + xx) * 3 + c % 3] += 1.5f;
    *label = c;
}

struct loss_ctx {
    const struct enas_loss_desc *loss;
};

static double train_eval(const struct loss_ctx *lc)
{
    struct net n;
    net_make(&n, 3, 4);
    struct enas_step *st = NULL;
    struct enas_sgd *opt = NULL;
    struct enas_err err;
    struct enas_sgd_opts so = {.momentum = 0.9, .nesterov = 1, .weight_decay = 1e-4};
    CHECK(enas__step_create(h, &st, &err) == ENAS_OK && enas__optim_sgd_create(&so, &opt, &err) == ENAS_OK);
    enum { B = 32 };
    int64_t dims[4] = {B, 8, 8, 3};
    float dl[B * 4];
    int32_t y[B];
    uint64_t seed = 99;
    size_t np;
    struct enas_param *const *ps = enas__host_params(h, &np);
    enas__optim_grad_zero(ps, np);
    for (int it = 0; it < 300; it++) {
        struct enas_step_opts o = {
            .training = 1, .record = 1, .seed = 5, .stream = (uint64_t)it, .threads = 2};
        enas__step_begin(st, &o);
        struct enas_tensor *t = enas__step_tensor(st, 4, dims, 0);
        for (int i = 0; i < B; i++)
            make_example(&seed, t->data + i * 192, &y[i]);
        struct enas_tensor *out = net_forward(&n, enas__step_exec(st), t);
        struct enas_tensor g = {dl, 2, {B, 4, 1, 1}};
        struct enas_loss_result lr;
        CHECK(lc->loss->compute(NULL, out, y, &g, &lr, &err) == ENAS_OK);
        CHECK(enas__step_backward(st, out, &g, &err) == ENAS_OK);
        enas__optim_grad_clip(ps, np, 5.0);
        CHECK(enas__optim_sgd_step(opt, ps, np, 0.05, &err) == ENAS_OK);
    }
    /* held-out examples, inference mode (running BN statistics) */
    double acc = 0.0;
    for (int rep = 0; rep < 8; rep++) {
        struct enas_step_opts o = {.training = 0, .record = 0, .seed = 6, .threads = 2};
        enas__step_begin(st, &o);
        struct enas_tensor *t = enas__step_tensor(st, 4, dims, 0);
        for (int i = 0; i < B; i++)
            make_example(&seed, t->data + i * 192, &y[i]);
        acc += enas_top1(net_forward(&n, enas__step_exec(st), t), y) / 8.0;
    }
    enas__optim_sgd_destroy(opt);
    enas__step_destroy(st);
    net_free(&n);
    return acc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_step PLUGIN_DIR BACKEND\n");
        return 2;
    }
    struct enas_err err;
    struct enas_load_report *rep = NULL;
    CHECK(enas__host_create(&h, &err) == ENAS_OK);
    api = h->api;
    const char *dirs[] = {argv[1]};
    enas__loader_load_all(h, dirs, 1, &rep, &err);
    if (!enas__registry_find_backend(h->reg, argv[2], &err)) {
        fprintf(stderr, "test_step: %s: skipped\n", err.msg);
        enas__loader_report_destroy(rep);
        enas__host_destroy(h);
        return 77;
    }
    CHECK(enas__host_init_backend(h, argv[2], 2, NULL, &err) == ENAS_OK);
    struct loss_ctx lc = {enas__registry_find_loss(h->reg, "cross_entropy", &err)};
    CHECK(lc.loss != NULL);
    test_gradients();
    test_adopt();
    if (lc.loss) {
        double acc = train_eval(&lc);
        printf("test_step: %s: held-out accuracy %.3f after 300 steps\n", argv[2], acc);
        CHECK(acc > 0.95);
    }
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
    return check_exit("test_step");
}
