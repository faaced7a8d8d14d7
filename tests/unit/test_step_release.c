/* test_step_release.c - api->release through the engine: `test_step_release PLUGIN_DIR BACKEND`.
 * A chain conv -> BN(relu) -> conv -> sum with a skip, in which the space-side code releases what only the
 * sum read: the released tensor's memory is reused by the next tensor of its size, a released tensor
 * that a recorded backward still reads keeps its data, a released tensor passed on is an error, and the
 * gradients of every parameter and of the input equal those of the same pass without releases, bit for
 * bit. Scoring passes (nothing recorded) reuse everything released. After backward, recorded outputs have
 * served as gradient memory (no data) except the output backward started from, unless the pass keeps them. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "tape/step.h"
#include "train/optim.h"

#include <stdlib.h>
#include <string.h>

static struct enas_host *h;
static const struct enas_host_api *api;
static struct enas_op *conv0, *bn, *conv1, *sum, *gap;

static struct enas_op *mk(const char *name, const char *attrs, const char *scope)
{
    struct enas_err err;
    struct enas_op *op = NULL;
    if (api->op_create(h, name, attrs, scope, &op, &err) != ENAS_OK)
        fprintf(stderr, "op_create %s: %s\n", name, err.msg);
    CHECK(op != NULL);
    return op;
}

static struct enas_tensor *call(struct enas_exec *x, struct enas_op *op, const struct enas_tensor *a,
                                const struct enas_tensor *b)
{
    struct enas_err err = {0};
    const struct enas_tensor *in[2] = {a, b};
    struct enas_tensor *out = NULL;
    enum enas_status st = api->op_call(x, op, in, b ? 2 : 1, NAN, &out, &err);
    if (st != ENAS_OK)
        fprintf(stderr, "op_call: %s\n", err.msg);
    CHECK(st == ENAS_OK);
    return out;
}

enum { N = 4, H = 6, W = 5, C = 8, NI = N * H * W * C };

/* One pass: y = gap(sum(conv1(r), r)) with r = bn_relu(conv0(img)). With rel, the code releases what it
 * will not pass on (c1: only the sum read it; r: still read by conv1's and BN's backward). Returns the
 * logits; *c1_reused: whether the next tensor of c1's size took released memory (c1's, or where nothing
 * was recorded r's too: r and c1 lie side by side and merge into one free stretch). */
static int keep_outputs;

static struct enas_tensor *pass(struct enas_step *st, int record, int rel, const float *img, int *c1_reused)
{
    struct enas_step_opts o = {
        .training = 1, .record = record, .seed = 1, .threads = 2, .keep = keep_outputs};
    enas__step_begin(st, &o);
    struct enas_exec *x = enas__step_exec(st);
    const int64_t dims[4] = {N, H, W, C};
    struct enas_tensor *t = enas__step_tensor(st, 4, dims, record);
    memcpy(t->data, img, sizeof(float) * NI);
    struct enas_tensor *c0 = call(x, conv0, t, NULL);
    struct enas_tensor *r = call(x, bn, c0, NULL);
    struct enas_tensor *c1 = call(x, conv1, r, NULL);
    struct enas_tensor *s = call(x, sum, c1, r);
    float *c1_data = c1 ? c1->data : NULL, *r_data = r ? r->data : NULL;
    if (rel && c1 && r) {
        api->release(x, c1);
        api->release(x, r);
        CHECK(c1->data == NULL);                   /* freed: nothing reads it */
        CHECK((r->data != NULL) == (record != 0)); /* conv1's backward reads it when recorded */
    }
    struct enas_tensor *c2 = call(x, conv1, s, NULL); /* the size of c1 */
    if (c1_reused)
        *c1_reused = c2 && (c2->data == c1_data || (rel && !record && c2->data == r_data));
    return call(x, gap, c2, NULL);
}

static size_t grads(struct enas_step *st, int rel, const float *img, float *out)
{
    struct enas_err err;
    size_t np, k = 0;
    struct enas_param *const *ps = enas__host_params(h, &np);
    enas__optim_grad_zero(ps, np);
    int reused = 0;
    struct enas_tensor *y = pass(st, 1, rel, img, &reused);
    CHECK(reused == rel);
    float r[N * C];
    for (int i = 0; i < N * C; i++)
        r[i] = (float)(i % 5) - 1.7f;
    struct enas_tensor dy = {r, 2, {N, C, 1, 1}};
    CHECK(y && enas__step_backward(st, y, &dy, &err) == ENAS_OK);
    const struct enas_tensor *first = enas__step_record_output(st, 0, NULL);
    CHECK(first &&
          (first->data != NULL) == keep_outputs); /* conv0's output: gradient memory after backward */
    CHECK(y && y->data != NULL);                  /* the logits stay for the caller */
    for (size_t i = 0; i < np; i++)
        for (int64_t j = 0; ps[i]->grad && j < enas_tensor_numel(&ps[i]->value); j++)
            out[k++] = ps[i]->grad[j];
    return k;
}

/* The pass's free list merges neighbours and gives its top back to the arena: two released tensors serve
 * one of twice their size, and a released tensor at the top is where the next one goes. */
static void test_free_list(struct enas_step *st)
{
    struct enas_step_opts o = {.training = 1, .record = 0, .seed = 1, .threads = 1};
    enas__step_begin(st, &o);
    struct enas_exec *x = enas__step_exec(st);
    const int64_t d1[4] = {4, 8, 8, 16}, d2[4] = {8, 8, 8, 16}, ds[4] = {1, 1, 1, 16};
    struct enas_tensor *a = enas__step_tensor(st, 4, d1, 0), *b = enas__step_tensor(st, 4, d1, 0);
    struct enas_tensor *c = enas__step_tensor(st, 4, ds, 0);
    CHECK(a && b && c);
    if (!a || !b || !c)
        return;
    float *a_data = a->data, *c_data = c->data;
    api->release(x, b);
    api->release(x, a);
    CHECK(a->data == NULL && b->data == NULL);
    struct enas_tensor *ab = enas__step_tensor(st, 4, d2, 0);
    CHECK_MSG(ab && ab->data == a_data, "two released neighbours did not serve a tensor of both their sizes");
    const size_t peak = enas__step_peak_bytes(st);
    api->release(x, c);
    struct enas_tensor *c2 = enas__step_tensor(st, 4, ds, 0);
    CHECK_MSG(c2 && c2->data == c_data, "the arena's top was not reused");
    CHECK(enas__step_peak_bytes(st) == peak);
    CHECK(enas__step_live_peak_bytes(st) <= enas__step_peak_bytes(st));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_step_release PLUGIN_DIR BACKEND\n");
        return 2;
    }
    struct enas_err err;
    struct enas_load_report *rep = NULL;
    CHECK(enas__host_create(&h, &err) == ENAS_OK);
    api = h->api;
    const char *dirs[] = {argv[1]};
    enas__loader_load_all(h, dirs, 1, &rep, &err);
    if (!enas__registry_find_backend(h->reg, argv[2], &err)) {
        fprintf(stderr, "test_step_release: %s: skipped\n", err.msg);
        enas__loader_report_destroy(rep);
        enas__host_destroy(h);
        return 77;
    }
    CHECK(enas__host_init_backend(h, argv[2], 2, NULL, &err) == ENAS_OK);
    CHECK(ENAS_API_HAS(api, release));
    conv0 = mk("conv", "in_channels=8 out_channels=8 kernel=3", "c0");
    bn = mk("batch_norm", "channels=8 relu=true", "bn");
    conv1 = mk("conv", "in_channels=8 out_channels=8 kernel=1", "c1");
    sum = mk("sum", "", "sum");
    gap = mk("global_avg_pool", "", "gap");
    float img[NI];
    uint64_t seed = 3;
    for (int i = 0; i < NI; i++)
        img[i] =
            (float)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 40) / 16777216.0f -
            0.5f;
    struct enas_step *st = NULL;
    CHECK(enas__step_create(h, &st, &err) == ENAS_OK);
    enum { MAXG = 4096 };
    static float g_keep[MAXG], g_rel[MAXG];
    size_t n1 = grads(st, 0, img, g_keep), n2 = grads(st, 1, img, g_rel);
    CHECK(n1 == n2 && n1 > 0 && n1 <= MAXG);
    CHECK_MSG(memcmp(g_keep, g_rel, n1 * sizeof(float)) == 0, "gradients differ with releases");
    test_free_list(st);
    static float g_kept[MAXG];
    keep_outputs = 1; /* outputs kept after backward: the same gradients */
    CHECK(grads(st, 1, img, g_kept) == n1 && memcmp(g_kept, g_rel, n1 * sizeof(float)) == 0);
    keep_outputs = 0;
    /* scoring: nothing recorded, so r is freed too, and the logits are those of the recording pass */
    int reused = 0;
    struct enas_tensor *y = pass(st, 0, 1, img, &reused);
    CHECK(reused && y);
    /* a released tensor is no op's input any more */
    struct enas_step_opts o = {.training = 1, .record = 0, .seed = 1, .threads = 2};
    enas__step_begin(st, &o);
    const int64_t dims[4] = {N, H, W, C};
    struct enas_tensor *t = enas__step_tensor(st, 4, dims, 0);
    memcpy(t->data, img, sizeof img);
    struct enas_exec *x = enas__step_exec(st);
    struct enas_tensor *c = call(x, conv1, t, NULL), *out = NULL;
    api->release(x, c);
    const struct enas_tensor *in[1] = {c};
    CHECK_ERR(api->op_call(x, gap, in, 1, NAN, &out, &err), err, ENAS_ERR_INVALID_ARG,
              "input 0 has no data (released earlier in this pass?)");
    enas__step_destroy(st);
    struct enas_op *ops[] = {conv0, bn, conv1, sum, gap};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        api->op_destroy(ops[i]);
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
    return check_exit("test_step_release");
}
