/* test_ref_ops.c - the ref plugin (argument: the path of ref.so), loaded through ophelp's fake host:
 * registration, parameters, forward values on hand-computed cases, multiply-adds and error messages.
 * test_ref_grad.c checks the gradients. */
#include "ophelp.h"

#include "settings/config.h"

#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const all_ops[] = {
    "conv", "sep_conv", "batch_norm",        "relu",    "max_pool",  "avg_pool", "global_avg_pool", "linear",
    "sum",  "concat",   "factorized_reduce", "dropout", "drop_path", "identity"};
#define N_ALL (sizeof all_ops / sizeof all_ops[0])

static void test_registration(void)
{
    const struct enas_backend_desc *b = oh_backend();
    CHECK(b && strcmp(b->name, "ref") == 0 && b->init == NULL);
    CHECK(b &&
          strcmp(b->description, "plain C11 reference ops: readable loops, the ground truth for tests") == 0);
    CHECK(oh_n_ops() == N_ALL);
    for (size_t i = 0; i < N_ALL; i++) {
        const struct enas_op_desc *d = oh_find(all_ops[i]);
        CHECK_MSG(d != NULL, "op %s not registered", all_ops[i]);
        if (!d)
            continue;
        CHECK(strcmp(d->provider, "ref") == 0 && d->backward && d->destroy);
        /* The attribute table is valid (defaults in range), as the engine's registry requires. */
        struct enas_cfg *c = NULL;
        struct enas_err err = {0};
        CHECK_MSG(enas__cfg_from_string(d->attrs, d->n_attrs, "", &c, &err) == ENAS_OK, "%s: %s", d->name,
                  err.msg);
        enas__cfg_destroy(c);
    }
    CHECK(oh_find("sum")->max_inputs == 16 && oh_find("concat")->max_inputs == 16);
    CHECK(oh_find("conv")->max_inputs == 1 && oh_find("conv")->min_inputs == 1);
}

static int shape_is(const struct enas_param *p, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    const int64_t want[4] = {d0, d1, d2, d3};
    if (!p || p->value.ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (p->value.dims[i] != want[i])
            return 0;
    return 1;
}

static int all_equal(const struct enas_param *p, float v)
{
    for (int64_t i = 0; p && i < enas_tensor_numel(&p->value); i++)
        if (p->value.data[i] != v)
            return 0;
    return p != NULL;
}

static void test_params(void)
{
    struct oh_op op;
    struct enas_err err = {0};
    CHECK(oh_create(&op, "conv", "in_channels=6 out_channels=4 kernel=3 groups=2 bias=true", &err) ==
          ENAS_OK);
    CHECK(op.n_p == 2 && shape_is(oh_param(&op, "w"), 4, 4, 3, 3, 3) &&
          shape_is(oh_param(&op, "b"), 1, 4, 0, 0, 0));
    CHECK(all_equal(oh_param(&op, "b"), 0.0f));
    /* He-normal, truncated at 2 sigma, sigma = sqrt(2 / (3*3*3)) */
    const struct enas_param *w = oh_param(&op, "w");
    for (int64_t i = 0; w && i < enas_tensor_numel(&w->value); i++)
        CHECK(fabs((double)w->value.data[i]) <= 2.0 * sqrt(2.0 / 27.0) + 1e-6);
    oh_destroy(&op);
    CHECK(oh_create(&op, "conv", "in_channels=3 out_channels=5 kernel=1", &err) == ENAS_OK);
    CHECK(op.n_p == 1 && oh_param(&op, "b") == NULL);
    oh_destroy(&op);
    CHECK(oh_create(&op, "sep_conv", "in_channels=3 out_channels=5 kernel=5", &err) == ENAS_OK);
    CHECK(shape_is(oh_param(&op, "dw"), 4, 3, 5, 5, 1) && shape_is(oh_param(&op, "pw"), 4, 5, 1, 1, 3));
    oh_destroy(&op);
    CHECK(oh_create(&op, "factorized_reduce", "in_channels=3 out_channels=8", &err) == ENAS_OK);
    CHECK(shape_is(oh_param(&op, "w1"), 4, 4, 1, 1, 3) && shape_is(oh_param(&op, "w2"), 4, 4, 1, 1, 3));
    oh_destroy(&op);
    CHECK(oh_create(&op, "linear", "in_features=7 out_features=3 bias=true", &err) == ENAS_OK);
    CHECK(shape_is(oh_param(&op, "w"), 2, 3, 7, 0, 0) && all_equal(oh_param(&op, "b"), 0.0f));
    oh_destroy(&op);
    CHECK(oh_create(&op, "batch_norm", "channels=3", &err) == ENAS_OK);
    CHECK(op.n_p == 4 && all_equal(oh_param(&op, "gamma"), 1.0f) && all_equal(oh_param(&op, "beta"), 0.0f));
    CHECK(all_equal(oh_param(&op, "running_mean"), 0.0f) && all_equal(oh_param(&op, "running_var"), 1.0f));
    CHECK(oh_param(&op, "running_mean")->flags & ENAS_PARAM_BUFFER);
    CHECK(oh_param(&op, "running_var")->grad == NULL && oh_param(&op, "gamma")->grad != NULL);
    oh_destroy(&op);
    CHECK(oh_create(&op, "batch_norm", "channels=3 affine=false", &err) == ENAS_OK);
    CHECK(op.n_p == 2 && oh_param(&op, "gamma") == NULL);
    oh_destroy(&op);
}

/* Runs a one-input op forward; returns the output (free it) or an empty tensor on failure. */
static struct enas_tensor run1(const struct oh_op *op, struct oh_run *r, const struct enas_tensor *in)
{
    struct enas_tensor out = {0};
    struct enas_err err = {0};
    const struct enas_tensor *ins[1] = {in};
    if (oh_forward(op, r, ins, 1, &out, &err) != ENAS_OK) {
        fprintf(stderr, "%s: forward failed: %s\n", op->d->name, err.msg);
        check_failures++;
        oh_tensor_free(&out);
    }
    return out;
}

/* A 1 x 3 x 3 x 1 image with values 1..9 (or their negatives). */
static struct enas_tensor image9(float sign)
{
    struct enas_tensor t = oh_tensor(4, 1, 3, 3, 1);
    for (int i = 0; i < 9; i++)
        t.data[i] = sign * (float)(i + 1);
    return t;
}

static void test_conv_known(void)
{
    struct oh_op op;
    struct oh_run r = {0};
    struct enas_err err = {0};
    CHECK(oh_create(&op, "conv", "in_channels=1 out_channels=1 kernel=3 bias=true", &err) == ENAS_OK);
    for (int i = 0; i < 9; i++)
        oh_param(&op, "w")->value.data[i] = (float)(i + 1); /* kernel 1..9, cross-correlation */
    oh_param(&op, "b")->value.data[0] = 0.5f;
    struct enas_tensor x = image9(1.0f), y = run1(&op, &r, &x);
    CHECK(y.ndim == 4 && y.dims[1] == 3 && y.dims[2] == 3 && y.dims[3] == 1);
    if (y.data) {
        CHECK_NEAR(y.data[4], 285.5, 1e-4);                  /* sum i^2, i = 1..9, + bias */
        CHECK_NEAR(y.data[0], 5 + 12 + 32 + 45 + 0.5, 1e-4); /* kernel 5,6,8,9 on pixels 1,2,4,5 */
        CHECK_NEAR(y.data[8], 1 * 5 + 2 * 6 + 4 * 8 + 5 * 9 + 0.5, 1e-4);
    }
    oh_tensor_free(&y);
    oh_destroy(&op);
    /* Stride 2, no padding, on 5x5: one output per 2 pixels; H = (5 - 3)/2 + 1 = 2. */
    CHECK(oh_create(&op, "conv", "in_channels=1 out_channels=1 kernel=3 stride=2 padding=0", &err) ==
          ENAS_OK);
    struct enas_tensor x5 = oh_tensor(4, 1, 5, 5, 1);
    for (int i = 0; i < 25; i++)
        x5.data[i] = (float)i;
    for (int i = 0; i < 9; i++)
        oh_param(&op, "w")->value.data[i] = i == 4 ? 1.0f : 0.0f; /* picks the window centre */
    y = run1(&op, &r, &x5);
    CHECK(y.dims[1] == 2 && y.dims[2] == 2);
    if (y.data)
        CHECK(y.data[0] == 6.0f && y.data[1] == 8.0f && y.data[2] == 16.0f && y.data[3] == 18.0f);
    oh_tensor_free(&y);
    oh_tensor_free(&x5);
    oh_tensor_free(&x);
    oh_destroy(&op);
    oh_run_fini(&r);
}

static void test_pool_known(void)
{
    struct oh_op op;
    struct oh_run r = {0};
    struct enas_err err = {0};
    struct enas_tensor x = image9(1.0f), xn = image9(-1.0f);
    CHECK(oh_create(&op, "avg_pool", "", &err) == ENAS_OK); /* 3x3, stride 1, same */
    struct enas_tensor y = run1(&op, &r, &x);
    if (y.data) {
        CHECK_NEAR(y.data[0], (1 + 2 + 4 + 5) / 4.0, 1e-6); /* padded cells excluded from the count */
        CHECK_NEAR(y.data[1], (1 + 2 + 3 + 4 + 5 + 6) / 6.0, 1e-6);
        CHECK_NEAR(y.data[4], 5.0, 1e-6);
        CHECK_NEAR(y.data[8], (5 + 6 + 8 + 9) / 4.0, 1e-6);
    }
    oh_tensor_free(&y);
    oh_destroy(&op);
    CHECK(oh_create(&op, "max_pool", "kernel=3 stride=1 padding=1", &err) == ENAS_OK);
    y = run1(&op, &r, &x);
    if (y.data)
        CHECK(y.data[0] == 5.0f && y.data[1] == 6.0f && y.data[4] == 9.0f && y.data[8] == 9.0f);
    oh_tensor_free(&y);
    y = run1(&op, &r, &xn); /* all negative: a padded zero must never win */
    if (y.data)
        CHECK(y.data[0] == -1.0f && y.data[4] == -1.0f && y.data[8] == -5.0f);
    oh_tensor_free(&y);
    oh_destroy(&op);
    CHECK(oh_create(&op, "max_pool", "kernel=2 stride=2 padding=0", &err) == ENAS_OK);
    y = run1(&op, &r, &x); /* (3 - 2)/2 + 1 = 1 */
    CHECK(y.dims[1] == 1 && y.dims[2] == 1 && y.data && y.data[0] == 5.0f);
    oh_tensor_free(&y);
    oh_destroy(&op);
    CHECK(oh_create(&op, "global_avg_pool", "", &err) == ENAS_OK);
    y = run1(&op, &r, &x);
    CHECK(y.ndim == 2 && y.dims[0] == 1 && y.dims[1] == 1 && y.data && y.data[0] == 5.0f);
    oh_tensor_free(&y);
    oh_destroy(&op);
    oh_tensor_free(&x);
    oh_tensor_free(&xn);
    oh_run_fini(&r);
}

static void test_fr_known(void)
{
    struct oh_op op;
    struct oh_run r = {0};
    struct enas_err err = {0};
    CHECK(oh_create(&op, "factorized_reduce", "in_channels=1 out_channels=2", &err) == ENAS_OK);
    oh_param(&op, "w1")->value.data[0] = 1.0f;
    oh_param(&op, "w2")->value.data[0] = 1.0f;
    struct enas_tensor x = oh_tensor(4, 1, 5, 5, 1);
    for (int h = 0; h < 5; h++)
        for (int w = 0; w < 5; w++)
            x.data[h * 5 + w] = (float)(10 * h + w + 1);
    struct enas_tensor y = run1(&op, &r, &x);
    CHECK(y.dims[1] == 3 && y.dims[2] == 3 && y.dims[3] == 2);
    for (int i = 0; y.data && i < 3; i++)
        for (int j = 0; j < 3; j++) {
            float p1 = (float)(20 * i + 2 * j + 1);                                   /* pixel (2i, 2j) */
            float p2 = i < 2 && j < 2 ? (float)(10 * (2 * i + 1) + 2 * j + 2) : 0.0f; /* (2i+1, 2j+1) */
            CHECK_MSG(y.data[(size_t)(i * 3 + j) * 2] == p1 && y.data[(size_t)(i * 3 + j) * 2 + 1] == p2,
                      "fr at %d,%d", i, j);
        }
    oh_tensor_free(&y);
    oh_tensor_free(&x);
    oh_destroy(&op);
    oh_run_fini(&r);
}

static void test_bn_known(void)
{
    struct oh_op op;
    struct oh_run train = {.training = 1}, infer = {0};
    struct enas_err err = {0};
    CHECK(oh_create(&op, "batch_norm", "channels=1 momentum=0.1 eps=1e-5", &err) == ENAS_OK);
    struct enas_tensor x = oh_tensor(2, 4, 1, 0, 0);
    for (int i = 0; i < 4; i++)
        x.data[i] = (float)(i + 1);
    struct enas_tensor y = run1(&op, &train, &x);
    /* mean 2.5, biased variance 1.25 normalises; unbiased 5/3 goes into the running average. */
    for (int i = 0; y.data && i < 4; i++)
        CHECK_NEAR(y.data[i], ((i + 1) - 2.5) / sqrt(1.25 + 1e-5), 1e-5);
    CHECK_NEAR(oh_param(&op, "running_mean")->value.data[0], 0.25, 1e-6);
    CHECK_NEAR(oh_param(&op, "running_var")->value.data[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    oh_tensor_free(&y);
    y = run1(&op, &infer, &x); /* inference: the running statistics, and no update */
    for (int i = 0; y.data && i < 4; i++)
        CHECK_NEAR(y.data[i], ((i + 1) - 0.25) / sqrt(0.9 + 0.1 * 5.0 / 3.0 + 1e-5), 1e-5);
    CHECK_NEAR(oh_param(&op, "running_mean")->value.data[0], 0.25, 1e-6);
    oh_tensor_free(&y);
    oh_tensor_free(&x);
    /* One value per channel cannot be trained on (the unbiased variance needs two). */
    struct enas_tensor x1 = oh_tensor(2, 1, 1, 0, 0);
    const struct enas_tensor *ins[1] = {&x1};
    CHECK_ERR(oh_forward(&op, &train, ins, 1, &y, &err), err, ENAS_ERR_INVALID_ARG, "batch_norm: input 0");
    oh_tensor_free(&y);
    oh_tensor_free(&x1);
    oh_destroy(&op);
    oh_run_fini(&train);
    oh_run_fini(&infer);
}

static void test_bn_channels(void)
{
    struct oh_op op;
    struct oh_run train = {.training = 1};
    struct enas_err err = {0};
    CHECK(oh_create(&op, "batch_norm", "channels=2 momentum=1", &err) == ENAS_OK);
    struct enas_tensor x = oh_tensor(4, 1, 2, 2, 2); /* channel 0: 1..4, channel 1: 10..40 */
    for (int p = 0; p < 4; p++) {
        x.data[(size_t)p * 2] = (float)(p + 1);
        x.data[(size_t)p * 2 + 1] = (float)(10 * (p + 1));
    }
    struct enas_tensor y = run1(&op, &train, &x);
    CHECK_NEAR(oh_param(&op, "running_mean")->value.data[0], 2.5, 1e-6);
    CHECK_NEAR(oh_param(&op, "running_mean")->value.data[1], 25.0, 1e-5);
    CHECK_NEAR(oh_param(&op, "running_var")->value.data[1], 500.0 / 3.0, 1e-3);
    if (y.data)
        CHECK_NEAR(y.data[1], y.data[0], 1e-5); /* both channels normalise to the same values */
    oh_tensor_free(&y);
    oh_tensor_free(&x);
    oh_destroy(&op);
    oh_run_fini(&train);
}

static void test_joins_known(void)
{
    struct oh_op op;
    struct oh_run r = {0};
    struct enas_err err = {0};
    struct enas_tensor a = oh_tensor(4, 1, 1, 2, 1), b = oh_tensor(4, 1, 1, 2, 2), y;
    a.data[0] = 1, a.data[1] = 2;
    b.data[0] = 10, b.data[1] = 11, b.data[2] = 20, b.data[3] = 21;
    const struct enas_tensor *ab[2] = {&a, &b}, *ba[2] = {&b, &a};
    CHECK(oh_create(&op, "concat", "", &err) == ENAS_OK);
    CHECK(oh_forward(&op, &r, ab, 2, &y, &err) == ENAS_OK && y.dims[3] == 3);
    const float want_ab[6] = {1, 10, 11, 2, 20, 21}, want_ba[6] = {10, 11, 1, 20, 21, 2};
    CHECK(y.data && oh_same(y.data, want_ab, 6));
    oh_tensor_free(&y);
    CHECK(oh_forward(&op, &r, ba, 2, &y, &err) == ENAS_OK);
    CHECK(y.data && oh_same(y.data, want_ba, 6));
    oh_tensor_free(&y);
    oh_destroy(&op);
    const struct enas_tensor *aa[3] = {&a, &a, &a};
    CHECK(oh_create(&op, "sum", "", &err) == ENAS_OK);
    CHECK(oh_forward(&op, &r, aa, 3, &y, &err) == ENAS_OK && y.data && y.data[0] == 3 && y.data[1] == 6);
    oh_tensor_free(&y);
    oh_destroy(&op);
    CHECK(oh_create(&op, "linear", "in_features=2 out_features=1 bias=true", &err) == ENAS_OK);
    struct enas_tensor f = oh_tensor(2, 2, 2, 0, 0); /* rows (1, 2) and (3, 4) */
    for (int i = 0; i < 4; i++)
        f.data[i] = (float)(i + 1);
    oh_param(&op, "w")->value.data[0] = 0.5f, oh_param(&op, "w")->value.data[1] = -1.0f;
    oh_param(&op, "b")->value.data[0] = 2.0f;
    y = run1(&op, &r, &f);
    CHECK(y.ndim == 2 && y.dims[0] == 2 && y.dims[1] == 1 && y.data && y.data[0] == 0.5f &&
          y.data[1] == -0.5f);
    oh_tensor_free(&y);
    oh_tensor_free(&f);
    oh_destroy(&op);
    oh_tensor_free(&a);
    oh_tensor_free(&b);
    oh_run_fini(&r);
}

/* Dropout keeps each element with probability keep (scaled by 1/keep); drop path keeps or drops whole
 * examples; neither does anything outside training. */
static void test_dropout(void)
{
    struct oh_op op;
    struct oh_run train = {.training = 1, .arg = NAN, .seed = 7}, infer = {.arg = 0.5};
    struct enas_err err = {0};
    uint64_t seed = 3;
    struct enas_tensor x = oh_tensor(4, 64, 2, 2, 3), y;
    oh_fill(&x, 1.0, 2.0, &seed);
    CHECK(oh_create(&op, "dropout", "keep_prob=0.5", &err) == ENAS_OK);
    y = run1(&op, &train, &x);
    int64_t kept = 0, n = enas_tensor_numel(&x);
    for (int64_t i = 0; y.data && i < n; i++) {
        CHECK(y.data[i] == 0.0f || y.data[i] == 2.0f * x.data[i]);
        kept += y.data[i] != 0.0f;
    }
    CHECK(kept > n / 2 - n / 8 && kept < n / 2 + n / 8);
    oh_tensor_free(&y);
    y = run1(&op, &infer, &x);
    CHECK(y.data && oh_same(y.data, x.data, n) && infer.saved == NULL);
    oh_tensor_free(&y);
    oh_destroy(&op);
    CHECK(oh_create(&op, "drop_path", "", &err) == ENAS_OK);
    y = run1(&op, &train, &x); /* arg NaN: identity */
    CHECK(y.data && oh_same(y.data, x.data, n));
    oh_tensor_free(&y);
    train.arg = 0.5;
    y = run1(&op, &train, &x);
    int64_t per = n / 64, kept_ex = 0;
    for (int64_t e = 0; y.data && e < 64; e++) {
        int keep = y.data[e * per] != 0.0f;
        kept_ex += keep;
        for (int64_t i = e * per; i < (e + 1) * per; i++)
            CHECK(y.data[i] == (keep ? 2.0f * x.data[i] : 0.0f));
    }
    CHECK(kept_ex > 16 && kept_ex < 48);
    oh_tensor_free(&y);
    y = run1(&op, &infer, &x); /* inference ignores the keep probability */
    CHECK(y.data && oh_same(y.data, x.data, n));
    oh_tensor_free(&y);
    train.arg = 0.0;
    const struct enas_tensor *ins[1] = {&x};
    CHECK_ERR(oh_forward(&op, &train, ins, 1, &y, &err), err, ENAS_ERR_INVALID_ARG,
              "drop_path: keep probability");
    oh_tensor_free(&y);
    oh_destroy(&op);
    oh_tensor_free(&x);
    oh_run_fini(&train);
    oh_run_fini(&infer);
}

static double madds_of(const char *name, const char *attrs, struct enas_tensor shape)
{
    struct oh_op op;
    struct enas_err err = {0};
    const struct enas_tensor *ins[1] = {&shape};
    double m = -1.0;
    if (oh_create(&op, name, attrs, &err) == ENAS_OK)
        m = op.d->madds ? op.d->madds(op.state, ins, 1) : 0.0;
    oh_destroy(&op);
    return m;
}

static void test_madds(void)
{
    struct enas_tensor s = {.data = NULL, .ndim = 4, .dims = {2, 8, 8, 6}};
    CHECK(madds_of("conv", "in_channels=6 out_channels=4 kernel=3", s) == 2.0 * 8 * 8 * 4 * 9 * 6);
    CHECK(madds_of("conv", "in_channels=6 out_channels=4 kernel=3 stride=2 groups=2", s) ==
          2.0 * 4 * 4 * 4 * 9 * 3);
    CHECK(madds_of("sep_conv", "in_channels=6 out_channels=4 kernel=5", s) ==
          2.0 * 8 * 8 * 6 * 25 + 2.0 * 8 * 8 * 6 * 4);
    CHECK(madds_of("factorized_reduce", "in_channels=6 out_channels=4", s) == 2.0 * 4 * 4 * 6 * 4);
    CHECK(madds_of("avg_pool", "", s) == 0.0 && madds_of("batch_norm", "channels=6", s) == 0.0);
    struct enas_tensor f = {.data = NULL, .ndim = 2, .dims = {3, 10, 1, 1}};
    CHECK(madds_of("linear", "in_features=10 out_features=7", f) == 3.0 * 10 * 7);
}

/* The status and message of shape() for op(attrs) on the given inputs. */
static void shape_err(const char *name, const char *attrs, const struct enas_tensor *const *in, size_t n_in,
                      const char *needle)
{
    struct oh_op op;
    struct enas_err err = {0};
    struct enas_tensor out;
    CHECK_MSG(oh_create(&op, name, attrs, &err) == ENAS_OK, "%s: %s", name, err.msg);
    if (op.d)
        CHECK_ERR(op.d->shape(op.state, in, n_in, &out, &err), err, ENAS_ERR_INVALID_ARG, needle);
    oh_destroy(&op);
}

static void create_err(const char *name, const char *attrs, const char *needle)
{
    struct oh_op op;
    struct enas_err err = {0};
    CHECK_ERR(oh_create(&op, name, attrs, &err), err, ENAS_ERR_CONFIG, needle);
    CHECK(op.state == NULL);
    oh_destroy(&op);
}

static void test_errors(void)
{
    struct enas_tensor x5 = {.ndim = 4, .dims = {2, 8, 8, 5}}, x4 = {.ndim = 4, .dims = {2, 8, 8, 4}};
    struct enas_tensor small = {.ndim = 4, .dims = {1, 3, 3, 4}}, f = {.ndim = 2, .dims = {2, 5, 1, 1}};
    struct enas_tensor h7 = {.ndim = 4, .dims = {2, 7, 8, 4}};
    const struct enas_tensor *in5[1] = {&x5}, *inf[1] = {&f}, *insmall[1] = {&small};
    const struct enas_tensor *two[2] = {&x4, &x5}, *three[3] = {&x4, &x4, &h7};
    shape_err("conv", "in_channels=4 out_channels=4 kernel=3", in5, 1,
              "conv: input 0: expected 4 channels, got 5");
    shape_err("conv", "in_channels=4 out_channels=4 kernel=3", inf, 1, "conv: input 0: expected a 4-D");
    shape_err("conv", "in_channels=4 out_channels=4 kernel=5 padding=0", insmall, 1, "smaller than kernel 5");
    shape_err("conv", "in_channels=4 out_channels=4 kernel=3", two, 2, "conv: expected 1..1 inputs, got 2");
    shape_err("sep_conv", "in_channels=4 out_channels=4 kernel=3", in5, 1,
              "sep_conv: input 0: expected 4 channels");
    shape_err("factorized_reduce", "in_channels=4 out_channels=4", in5, 1, "factorized_reduce: input 0");
    shape_err("batch_norm", "channels=4", in5, 1,
              "batch_norm: input 0: expected N x H x W x 4 or N x 4, got 4-D 2x8x8x5");
    shape_err("linear", "in_features=4 out_features=2", inf, 1,
              "linear: input 0: expected N x 4, got 2-D 2x5");
    shape_err("global_avg_pool", "", inf, 1, "global_avg_pool: input 0: expected a 4-D");
    shape_err("max_pool", "", inf, 1, "max_pool: input 0");
    shape_err("sum", "", two, 2, "sum: input 1: expected 2x8x8x4 (the shape of input 0), got 2x8x8x5");
    shape_err("concat", "", three, 3, "concat: input 2: expected N, H, W of input 0");
    /* Attributes: unknown keys and bad values never reach create; create checks the rest. */
    const struct enas_op_desc *conv = oh_find("conv");
    struct enas_cfg *c = NULL;
    struct enas_err err = {0};
    CHECK_ERR(enas__cfg_from_string(conv->attrs, conv->n_attrs, "in_channels=4 kernal=3", &c, &err), err,
              ENAS_ERR_CONFIG, "kernal");
    CHECK(c == NULL);
    create_err("conv", "in_channels=4 out_channels=4 kernel=3 stride=0", "stride");
    create_err("relu", "inplace=true", "inplace");
    create_err("conv", "kernel=3", "conv: in_channels, out_channels and kernel must be set");
    create_err("conv", "in_channels=4 out_channels=6 kernel=3 groups=4", "conv: groups 4 must divide");
    create_err("factorized_reduce", "in_channels=4 out_channels=3", "factorized_reduce: ");
    create_err("avg_pool", "kernel=3 padding=3", "avg_pool: padding 3 is more than kernel-1");
    create_err("dropout", "keep_prob=0", "dropout: keep_prob");
    create_err("batch_norm", "", "batch_norm: channels must be set");
    create_err("linear", "in_features=3", "linear: in_features and out_features");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ref_ops PATH/ref.so\n");
        return 2;
    }
    if (oh_load(argv[1]) != 0)
        return 1;
    test_registration();
    test_params();
    test_conv_known();
    test_pool_known();
    test_fr_known();
    test_bn_known();
    test_bn_channels();
    test_joins_known();
    test_dropout();
    test_madds();
    test_errors();
    oh_unload();
    return check_exit("test_ref_ops");
}
