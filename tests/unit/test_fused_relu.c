/* test_fused_relu.c - the fused ReLUs of one provider (argument: its .so; a second argument: the relative
 * tolerance, 0 for bit equality) against the same provider's unfused ops: `batch_norm relu=true` against
 * batch_norm then relu, and `conv` / `sep_conv relu_input=true` against relu then the op. Outputs, input
 * gradients, parameter gradients and BN running statistics must agree, in training and in inference.
 * Inputs straddle zero so that both sides of every ReLU are exercised. */
#include "ophelp.h"

#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double tol;

static int close_all(const float *a, const float *b, int64_t n, const char *what, const char *label)
{
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (tol == 0.0 ? a[i] != b[i] : d > tol * (1.0 + fabs((double)b[i]))) {
            fprintf(stderr, "%s: %s[%lld]: fused %.9g, unfused %.9g\n", label, what, (long long)i,
                    (double)a[i], (double)b[i]);
            return 0;
        }
    }
    return 1;
}

/* fused(x) against relu_first ? op(relu(x)) : relu(op(x)), forward and backward with dy = R. */
static void fused_case(const char *name, const char *plain_attrs, const char *fused_attrs, int relu_first,
                       int training, struct enas_tensor shape)
{
    char label[240];
    snprintf(label, sizeof label, "%s(%s)%s", name, fused_attrs, training ? " training" : " inference");
    struct enas_err err = {0};
    struct oh_op plain, fused, relu;
    if (oh_create(&plain, name, plain_attrs, &err) != ENAS_OK ||
        oh_create(&fused, name, fused_attrs, &err) != ENAS_OK ||
        oh_create(&relu, "relu", "", &err) != ENAS_OK) {
        CHECK_MSG(0, "%s: %s", label, err.msg);
        return;
    }
    CHECK(plain.n_p == fused.n_p);
    uint64_t seed = 99 + (uint64_t)shape.dims[3];
    for (size_t k = 0; k < plain.n_p && k < fused.n_p; k++) { /* same weights, non-trivial gamma/beta/stats */
        struct enas_param *p = plain.p[k];
        if (strstr(p->name, "gamma") || strstr(p->name, "var"))
            oh_fill(&p->value, 0.5, 1.5, &seed);
        else if (strstr(p->name, "beta") || strstr(p->name, "mean"))
            oh_fill(&p->value, -0.5, 0.5, &seed);
        memcpy(fused.p[k]->value.data, p->value.data, (size_t)enas_tensor_numel(&p->value) * sizeof(float));
    }
    struct enas_tensor x = oh_tensor(shape.ndim, shape.dims[0], shape.dims[1], shape.dims[2], shape.dims[3]);
    oh_fill(&x, -1.0, 1.0, &seed);
    struct oh_run rf = {.training = training, .arg = NAN, .seed = 7}, rp = rf, rr = rf;
    const struct enas_tensor *xin[1] = {&x};
    struct enas_tensor yf = {0}, mid = {0}, yp = {0};
    int ok = oh_forward(&fused, &rf, xin, 1, &yf, &err) == ENAS_OK;
    if (ok && relu_first) {
        ok = oh_forward(&relu, &rr, xin, 1, &mid, &err) == ENAS_OK;
        const struct enas_tensor *m[1] = {&mid};
        ok = ok && oh_forward(&plain, &rp, m, 1, &yp, &err) == ENAS_OK;
    } else if (ok) {
        ok = oh_forward(&plain, &rp, xin, 1, &mid, &err) == ENAS_OK;
        const struct enas_tensor *m[1] = {&mid};
        ok = ok && oh_forward(&relu, &rr, m, 1, &yp, &err) == ENAS_OK;
    }
    CHECK_MSG(ok, "%s: forward: %s", label, err.msg);
    if (!ok)
        goto out;
    const int64_t ny = enas_tensor_numel(&yf);
    const struct enas_tensor *r = relu_first ? &mid : &yp; /* the ReLU's output */
    int zeros = 0, pos = 0;
    for (int64_t i = 0; i < enas_tensor_numel(r); i++)
        zeros += r->data[i] == 0.0f, pos += r->data[i] > 0.0f;
    CHECK_MSG(zeros > 0 && pos > 0, "%s: the case does not straddle the ReLU (%d zeros, %d positive)", label,
              zeros, pos);
    CHECK(close_all(yf.data, yp.data, ny, "output", label));
    for (size_t k = 0; k < plain.n_p; k++)
        if (!plain.p[k]->grad) /* running statistics */
            CHECK(close_all(fused.p[k]->value.data, plain.p[k]->value.data,
                            enas_tensor_numel(&plain.p[k]->value), plain.p[k]->name, label));
    struct enas_tensor dy = oh_tensor(yf.ndim, yf.dims[0], yf.dims[1], yf.dims[2], yf.dims[3]);
    struct enas_tensor dxf = oh_tensor(x.ndim, x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
    struct enas_tensor dxp = oh_tensor(x.ndim, x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
    struct enas_tensor dmid = oh_tensor(mid.ndim, mid.dims[0], mid.dims[1], mid.dims[2], mid.dims[3]);
    oh_fill(&dy, -1.0, 1.0, &seed);
    struct enas_tensor *df[1] = {&dxf}, *dm[1] = {&dmid}, *dp[1] = {&dxp};
    const struct enas_tensor *m[1] = {&mid};
    ok = oh_backward(&fused, &rf, xin, 1, &yf, &dy, df, &err) == ENAS_OK;
    if (relu_first)
        ok = ok && oh_backward(&plain, &rp, m, 1, &yp, &dy, dm, &err) == ENAS_OK &&
             oh_backward(&relu, &rr, xin, 1, &mid, &dmid, dp, &err) == ENAS_OK;
    else
        ok = ok && oh_backward(&relu, &rr, m, 1, &yp, &dy, dm, &err) == ENAS_OK &&
             oh_backward(&plain, &rp, xin, 1, &mid, &dmid, dp, &err) == ENAS_OK;
    CHECK_MSG(ok, "%s: backward: %s", label, err.msg);
    if (ok) {
        CHECK(close_all(dxf.data, dxp.data, enas_tensor_numel(&x), "input gradient", label));
        for (size_t k = 0; k < plain.n_p; k++)
            if (plain.p[k]->grad)
                CHECK(close_all(fused.p[k]->grad, plain.p[k]->grad, enas_tensor_numel(&plain.p[k]->value),
                                plain.p[k]->name, label));
    }
    oh_tensor_free(&dy);
    oh_tensor_free(&dxf);
    oh_tensor_free(&dxp);
    oh_tensor_free(&dmid);
out:
    oh_run_fini(&rf);
    oh_run_fini(&rp);
    oh_run_fini(&rr);
    oh_tensor_free(&x);
    oh_tensor_free(&yf);
    oh_tensor_free(&mid);
    oh_tensor_free(&yp);
    oh_destroy(&plain);
    oh_destroy(&fused);
    oh_destroy(&relu);
}

static struct enas_tensor shp(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    struct enas_tensor t = {.data = NULL, .ndim = ndim, .dims = {d0, d1, d2, d3}};
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2 || oh_load(argv[1]) != 0) {
        fprintf(stderr, "usage: test_fused_relu PLUGIN.so [TOLERANCE]\n");
        return 2;
    }
    tol = argc > 2 ? atof(argv[2]) : 0.0;
    for (int training = 1; training >= 0; training--) {
        fused_case("batch_norm", "channels=20", "channels=20 relu=true", 0, training, shp(4, 3, 9, 7, 20));
        fused_case("batch_norm", "channels=5 affine=false", "channels=5 affine=false relu=true", 0, training,
                   shp(4, 2, 5, 3, 5));
        fused_case("batch_norm", "channels=6", "channels=6 relu=true", 0, training, shp(2, 7, 6, 1, 1));
        fused_case("conv", "in_channels=20 out_channels=20 kernel=1",
                   "in_channels=20 out_channels=20 kernel=1 "
                   "relu_input=true",
                   1, training, shp(4, 3, 8, 8, 20));
        fused_case("conv", "in_channels=6 out_channels=4 kernel=3 stride=2 bias=true",
                   "in_channels=6 out_channels=4 kernel=3 stride=2 bias=true relu_input=true", 1, training,
                   shp(4, 2, 7, 9, 6));
        fused_case("sep_conv", "in_channels=20 out_channels=20 kernel=5",
                   "in_channels=20 out_channels=20 kernel=5 relu_input=true", 1, training,
                   shp(4, 2, 11, 10, 20));
        fused_case("sep_conv", "in_channels=8 out_channels=12 kernel=3 stride=2",
                   "in_channels=8 out_channels=12 kernel=3 stride=2 relu_input=true", 1, training,
                   shp(4, 3, 9, 9, 8));
    }
    oh_unload();
    return check_exit("test_fused_relu");
}
