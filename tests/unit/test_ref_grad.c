/* test_ref_grad.c - every ref op's input and parameter gradients against central differences of
 * L = sum(out * R), through the real ref.so (argument) and ophelp's fake host: small odd shapes, batch 1,
 * stride 2, groups and depthwise, both paddings, BN in training and inference, fixed dropout masks. */
#include "ophelp.h"

#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EPS 1e-2 /* finite-difference step: ref accumulates in double, so fp32 rounding stays small */
#define TOL 1e-3 /* relative: |analytic - numeric| <= TOL * (1 + |numeric|); the errors seen are < 2e-4 */

enum fill_kind { FILL_UNIFORM, FILL_DISTINCT };

/* Gradient check of one op on one random input of the given shape. Distinct inputs keep ReLU and
 * max-pool away from kinks and ties by more than the finite-difference step. With random_stats the
 * BN running statistics are randomised first, so that inference mode is not the identity. */
static void grad_case(const char *name, const char *attrs, const struct oh_run *mode, enum fill_kind fill,
                      int random_stats, struct enas_tensor shape)
{
    struct oh_op op;
    struct enas_err err = {0};
    uint64_t seed = 1234 + (uint64_t)shape.dims[1];
    char label[200];
    if (oh_create(&op, name, attrs, &err) != ENAS_OK) {
        CHECK_MSG(0, "%s(%s): %s", name, attrs, err.msg);
        return;
    }
    struct enas_tensor x = oh_tensor(shape.ndim, shape.dims[0], shape.dims[1], shape.dims[2], shape.dims[3]);
    if (fill == FILL_DISTINCT)
        oh_fill_distinct(&x, -0.05 * (double)enas_tensor_numel(&x) + 0.0125, 0.1, &seed);
    else
        oh_fill(&x, -1.0, 1.0, &seed);
    for (size_t k = 0; random_stats && k < op.n_p; k++)
        if (!op.p[k]->grad)
            oh_fill(&op.p[k]->value, 0.5, 1.5, &seed); /* positive, so valid as a variance */
    for (size_t k = 0; k < op.n_p; k++)                /* non-trivial gamma and beta */
        if (op.p[k]->grad && (strstr(op.p[k]->name, "gamma") || strstr(op.p[k]->name, "beta")))
            oh_fill(&op.p[k]->value, 0.5, 1.5, &seed);
    snprintf(label, sizeof label, "%s(%s) on %lldx%lldx%lldx%lld%s", name, attrs, (long long)shape.dims[0],
             (long long)shape.dims[1], (long long)shape.dims[2], (long long)shape.dims[3],
             mode->training ? " training" : "");
    int bad = oh_gradcheck(&op, mode, &x, 1, EPS, TOL, label);
    CHECK_MSG(bad == 0, "%s", label);
    oh_tensor_free(&x);
    oh_destroy(&op);
}

static struct enas_tensor shp(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    return t;
}

static void test_grad_conv(void)
{
    const struct oh_run m = {.training = 1, .arg = NAN, .seed = 5};
    grad_case("conv", "in_channels=3 out_channels=4 kernel=3", &m, FILL_UNIFORM, 0, shp(4, 2, 5, 7, 3));
    grad_case("conv", "in_channels=3 out_channels=4 kernel=3 stride=2", &m, FILL_UNIFORM, 0,
              shp(4, 1, 5, 7, 3));
    grad_case("conv", "in_channels=4 out_channels=6 kernel=3 stride=2 padding=0 groups=2 bias=true", &m,
              FILL_UNIFORM, 0, shp(4, 2, 7, 5, 4));
    grad_case("conv", "in_channels=4 out_channels=4 kernel=3 groups=4", &m, FILL_UNIFORM, 0,
              shp(4, 1, 5, 5, 4));
    grad_case("conv", "in_channels=3 out_channels=2 kernel=5 padding=1", &m, FILL_UNIFORM, 0,
              shp(4, 2, 6, 7, 3));
    grad_case("conv", "in_channels=3 out_channels=2 kernel=2", &m, FILL_UNIFORM, 0, shp(4, 2, 4, 5, 3));
    grad_case("conv", "in_channels=5 out_channels=3 kernel=1 bias=true", &m, FILL_UNIFORM, 0,
              shp(4, 1, 3, 3, 5));
    grad_case("sep_conv", "in_channels=3 out_channels=4 kernel=3", &m, FILL_UNIFORM, 0, shp(4, 2, 5, 7, 3));
    grad_case("sep_conv", "in_channels=3 out_channels=2 kernel=5 stride=2", &m, FILL_UNIFORM, 0,
              shp(4, 1, 7, 5, 3));
    grad_case("sep_conv", "in_channels=2 out_channels=3 kernel=3 padding=0", &m, FILL_UNIFORM, 0,
              shp(4, 2, 5, 5, 2));
    /* the fused input ReLU: distinct values keep the finite differences away from its kink */
    grad_case("conv", "in_channels=3 out_channels=4 kernel=3 stride=2 relu_input=true", &m, FILL_DISTINCT, 0,
              shp(4, 2, 5, 7, 3));
    grad_case("sep_conv", "in_channels=3 out_channels=4 kernel=3 relu_input=true", &m, FILL_DISTINCT, 0,
              shp(4, 2, 5, 7, 3));
    grad_case("factorized_reduce", "in_channels=3 out_channels=4", &m, FILL_UNIFORM, 0, shp(4, 2, 5, 7, 3));
    grad_case("factorized_reduce", "in_channels=2 out_channels=6", &m, FILL_UNIFORM, 0, shp(4, 1, 6, 6, 2));
    grad_case("linear", "in_features=7 out_features=5", &m, FILL_UNIFORM, 0, shp(2, 3, 7, 1, 1));
    grad_case("linear", "in_features=4 out_features=3 bias=true", &m, FILL_UNIFORM, 0, shp(2, 1, 4, 1, 1));
}

static void test_grad_bn(void)
{
    const struct oh_run train = {.training = 1, .arg = NAN, .seed = 5}, infer = {.arg = NAN, .seed = 5};
    grad_case("batch_norm", "channels=3", &train, FILL_UNIFORM, 0, shp(4, 2, 3, 5, 3));
    grad_case("batch_norm", "channels=2 affine=false", &train, FILL_UNIFORM, 0, shp(4, 1, 4, 5, 2));
    grad_case("batch_norm", "channels=4", &train, FILL_UNIFORM, 0, shp(2, 6, 4, 1, 1));
    grad_case("batch_norm", "channels=3", &infer, FILL_UNIFORM, 1, shp(4, 2, 3, 5, 3));
    grad_case("batch_norm", "channels=4 affine=false", &infer, FILL_UNIFORM, 1, shp(2, 1, 4, 1, 1));
}

static void test_grad_pool(void)
{
    const struct oh_run m = {.training = 1, .arg = NAN, .seed = 5};
    const char *const pools[] = {"max_pool", "avg_pool"};
    for (int i = 0; i < 2; i++) {
        enum fill_kind fill = i == 0 ? FILL_DISTINCT : FILL_UNIFORM;
        grad_case(pools[i], "", &m, fill, 0, shp(4, 2, 5, 7, 3));
        grad_case(pools[i], "kernel=3 stride=2", &m, fill, 0, shp(4, 1, 5, 7, 3));
        grad_case(pools[i], "kernel=3 stride=2 padding=0", &m, fill, 0, shp(4, 2, 7, 5, 2));
        grad_case(pools[i], "kernel=2 stride=2", &m, fill, 0, shp(4, 1, 5, 5, 2));
        grad_case(pools[i], "kernel=5 stride=3 padding=2", &m, fill, 0, shp(4, 1, 8, 8, 2));
    }
    grad_case("global_avg_pool", "", &m, FILL_UNIFORM, 0, shp(4, 2, 3, 5, 4));
}

static void test_grad_misc(void)
{
    const struct oh_run m = {.training = 1, .arg = NAN, .seed = 5}, infer = {.arg = 0.5, .seed = 5};
    const struct oh_run path = {.training = 1, .arg = 0.5, .seed = 5};
    grad_case("relu", "", &m, FILL_DISTINCT, 0, shp(4, 2, 3, 4, 5));
    grad_case("relu", "", &m, FILL_DISTINCT, 0, shp(2, 3, 7, 1, 1));
    grad_case("identity", "", &m, FILL_UNIFORM, 0, shp(4, 1, 3, 3, 2));
    grad_case("dropout", "keep_prob=0.6", &m, FILL_UNIFORM, 0, shp(4, 2, 3, 5, 2));
    grad_case("dropout", "keep_prob=0.6", &infer, FILL_UNIFORM, 0, shp(4, 2, 3, 5, 2));
    grad_case("dropout", "keep_prob=0.9", &m, FILL_UNIFORM, 0, shp(2, 4, 6, 1, 1));
    grad_case("drop_path", "", &path, FILL_UNIFORM, 0, shp(4, 8, 2, 3, 2));
    grad_case("drop_path", "", &m, FILL_UNIFORM, 0, shp(4, 2, 2, 3, 2));
    grad_case("drop_path", "", &infer, FILL_UNIFORM, 0, shp(4, 2, 2, 3, 2));
}

/* sum and concat: several inputs, each with its own gradient; then a NULL din is skipped. */
static void test_grad_multi(void)
{
    const struct oh_run m = {.training = 1, .arg = NAN, .seed = 5};
    struct oh_op op;
    struct enas_err err = {0};
    uint64_t seed = 77;
    struct enas_tensor s[3], c[3];
    for (int i = 0; i < 3; i++) {
        s[i] = oh_tensor(4, 2, 3, 5, 2);
        c[i] = oh_tensor(4, 2, 3, 4, 1 + (i * 2) % 3); /* channels 1, 3, 2 */
        oh_fill(&s[i], -1.0, 1.0, &seed);
        oh_fill(&c[i], -1.0, 1.0, &seed);
    }
    CHECK(oh_create(&op, "sum", "", &err) == ENAS_OK);
    CHECK(oh_gradcheck(&op, &m, s, 3, EPS, TOL, "sum of 3") == 0);
    CHECK(oh_gradcheck(&op, &m, s, 1, EPS, TOL, "sum of 1") == 0);
    oh_destroy(&op);
    CHECK(oh_create(&op, "concat", "", &err) == ENAS_OK);
    CHECK(oh_gradcheck(&op, &m, c, 3, EPS, TOL, "concat of 3") == 0);
    struct oh_run r = m;
    struct enas_tensor out, d0 = oh_tensor(4, 2, 3, 4, 1), d2 = oh_tensor(4, 2, 3, 4, 2);
    const struct enas_tensor *ins[3] = {&c[0], &c[1], &c[2]};
    struct enas_tensor *din[3] = {&d0, NULL, &d2};
    CHECK(oh_forward(&op, &r, ins, 3, &out, &err) == ENAS_OK);
    CHECK(oh_backward(&op, &r, ins, 3, &out, &out, din, &err) == ENAS_OK); /* dout = out: din = inputs */
    CHECK(oh_same(d0.data, c[0].data, 24) && oh_same(d2.data, c[2].data, 48));
    oh_tensor_free(&out);
    oh_tensor_free(&d0);
    oh_tensor_free(&d2);
    oh_run_fini(&r);
    oh_destroy(&op);
    for (int i = 0; i < 3; i++) {
        oh_tensor_free(&s[i]);
        oh_tensor_free(&c[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ref_grad PATH/ref.so\n");
        return 2;
    }
    if (oh_load(argv[1]) != 0)
        return 1;
    test_grad_conv();
    test_grad_bn();
    test_grad_pool();
    test_grad_misc();
    test_grad_multi();
    oh_unload();
    return check_exit("test_ref_grad");
}
