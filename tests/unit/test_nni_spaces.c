/* test_nni_spaces.c - the space settings that build NNI v2.7's ENAS example networks (configs/nni_macro.cfg,
 * configs/nni_micro.cfg; ENAS.md 2.5, 3.4, 4.4), and the mode micro scores in:
 * `test_nni_spaces PLUGIN_DIR BACKEND PART`, PART one of
 *   macro  bn_placement = nni, shared_reduce, conv_bias, fc_bias: weights and multiply-adds against NNI's
 *          GeneralNetwork by hand, the parameters they add or drop, SGD steps and inference passes;
 *   micro  sep_conv_stack, op_weights, reduction, calibration, bn_affine, fc_bias: weights against NNI's
 *          MicroNetwork by hand, the parameters, the calibration order changing the function, SGD steps;
 *   ctrl   controller_style = nni in both spaces: hints and sample order, and the engine's controller
 *          sampling, scoring and stepping through them;
 *   eval   micro search-mode scoring in inference mode uses the running statistics: an image's logits do
 *          not depend on the rest of its batch, unless search_batch_stats asks for TF's batch statistics.
 * NNI_VERBOSE=1 lists every parameter of the NNI networks. */
#include "check.h"
#include "controller/controller.h"
#include "spacehelp.h"
#include "util/rng.h"

#include <stdlib.h>

static const char *plugin_dir, *backend;

#define NNI_MACRO                                                                                            \
    "macro.keep-prob=1 macro.bn-placement=nni macro.shared-reduce=true macro.conv-bias=true "                \
    "macro.fc-bias=true"
#define NNI_MICRO                                                                                            \
    "micro.sep-conv-stack=1 micro.op-weights=shared micro.reduction=nni micro.calibration=conv_bn_relu "     \
    "micro.bn-affine=false micro.fc-bias=true"

static struct sh *open_or_exit(const char *space, const char *opts, const int *arch, size_t len)
{
    struct sh *s = NULL;
    int rc = sh_open(&s, plugin_dir, backend, space, opts, arch, len);
    if (rc == 77) {
        sh_close(s);
        exit(77);
    }
    CHECK_MSG(rc == 0, "sh_open(%s, %s, '%s') failed", backend, space, opts);
    if (rc) {
        sh_close(s);
        exit(check_exit("test_nni_spaces"));
    }
    return s;
}

static void make_batch(uint64_t seed, int n, float *img, int32_t *lab)
{
    for (int i = 0; i < n * 3072; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        img[i] = (float)(seed >> 40) / 8388608.0f - 1.0f;
    }
    for (int i = 0; i < n; i++)
        lab[i] = i % 10;
}

static struct enas_child_info info_of(struct sh *s, const int *arch)
{
    struct enas_child_info ci = {0};
    struct enas_err err = {0};
    enum enas_status st = sh_desc(s)->info(sh_state(s), arch, sh_arch_len(s), &ci, &err);
    CHECK_MSG(st == ENAS_OK, "info: %s", err.msg);
    return ci;
}

/* The number of parameters whose name contains needle (and ends with tail, when given). */
static int n_named(struct sh *s, const char *needle, const char *tail)
{
    size_t n;
    struct enas_param *const *ps = sh_params(s, &n);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = ps[i]->name;
        size_t ln = strlen(name), lt = tail ? strlen(tail) : 0;
        k += strstr(name, needle) && (!tail || (ln >= lt && strcmp(name + ln - lt, tail) == 0));
    }
    return k;
}

static void list_params(struct sh *s)
{
    size_t n;
    struct enas_param *const *ps = sh_params(s, &n);
    for (size_t i = 0; getenv("NNI_VERBOSE") && i < n; i++)
        fprintf(stderr, "%s %lld\n", ps[i]->name, (long long)enas_tensor_numel(&ps[i]->value));
}

/* SGD steps and an inference pass with finite losses and logits. */
static void steps(struct sh *s, const int *arch, const char *what)
{
    enum { N = 4 };
    static float img[N * 3072];
    int32_t lab[N];
    double loss = NAN, acc;
    for (int k = 0; k < 2; k++) {
        make_batch(11 + (uint64_t)k, N, img, lab);
        int rc = sh_pass(s, arch, img, lab, N, 1, 0.01, &loss, &acc);
        CHECK_MSG(rc == 0 && isfinite(loss), "%s: training step %d failed (loss %g)", what, k, loss);
    }
    int rc = sh_pass(s, arch, img, lab, N, 0, 0.0, &loss, &acc);
    const struct enas_tensor *lg = sh_logits(s);
    int finite = rc == 0 && lg;
    for (int64_t i = 0; finite && i < enas_tensor_numel(lg); i++)
        finite = isfinite(lg->data[i]);
    CHECK_MSG(finite && isfinite(loss), "%s: inference pass failed or not finite", what);
}

/* ---- macro: NNI's GeneralNetwork (examples/nas/oneshot/enas/macro.py, ops.py) ---- */

/* ConvBranch / PoolBranch at width f: StdConv (1x1 conv without bias, BN(affine=False)), then a k x k
 * nn.Conv2d with its bias, or SeparableConv (depthwise k x k, pointwise, no biases), then BN(affine=False);
 * PoolBranch: the pool and BN(affine=False), no weights. */
static int64_t nni_branch(int op, int64_t f)
{
    static const int64_t k2[4] = {9, 9, 25, 25};
    const int64_t std_conv = f * f;
    if (op >= 4)
        return std_conv;
    return std_conv + (op % 2 ? k2[op] * f + f * f : k2[op] * f * f + f);
}

/* stem conv 3x3 (27F) + BN(affine) 2F; the branches; the layers' BNs have no weights; one FactorizedReduce
 * per reduction point (2 x F/2 x F, BN(affine=False)); dense F -> 10 with its bias. ops == NULL: all six
 * branches of every layer (the supergraph). The shared FRs run at every reduction whatever the skips. */
static int64_t nni_macro_params(const int *ops, int L, int64_t f)
{
    int64_t n = 29 * f + 2 * (f * f) + 10 * f + 10;
    for (int i = 0; i < L; i++)
        for (int op = 0; op < 6; op++)
            n += ops ? (op == ops[i] ? nni_branch(op, f) : 0) : nni_branch(op, f);
    return n;
}

static void make_macro_arch(int L, const int *ops, int skips, int *arch)
{
    for (int i = 0, p = 0; i < L; i++) {
        arch[p++] = ops[i];
        for (int j = 0; j < i; j++)
            arch[p++] = skips == 2 ? (i + j) % 2 : skips;
    }
}

static void test_macro(void)
{
    const int L = 4, F = 8;
    struct sh *s = open_or_exit("macro", "macro.num-layers=4 macro.out-filters=8 " NNI_MACRO, NULL, 0);
    list_params(s);
    int arch[10];
    const int a_ops[4] = {0, 1, 2, 3}, pools[4] = {4, 4, 4, 4};
    /* 232 + 4 x (42 F^2 + 36 F) + 2 F^2 + 90; TF's placement gives 13,240 (test_space_macro) */
    CHECK(nni_macro_params(NULL, L, F) == 12354);
    make_macro_arch(L, a_ops, 1, arch);
    struct enas_child_info ci = info_of(s, arch);
    CHECK_MSG(ci.supergraph_params == 12354, "supergraph %lld", (long long)ci.supergraph_params);
    CHECK_MSG(ci.child_params == nni_macro_params(a_ops, L, F), "child, all skips: %lld, by hand %lld",
              (long long)ci.child_params, (long long)nni_macro_params(a_ops, L, F));
    make_macro_arch(L, a_ops, 0, arch); /* the shared FRs count once, with or without skips */
    CHECK(info_of(s, arch).child_params == nni_macro_params(a_ops, L, F));
    /* All avg pools, no skips (reductions after layers 0 and 1): NNI reduces every list tensor, 2 at 32 ->
     * 16 and 3 at 16 -> 8; TF's space only the chain's one each. Stem 32*32*27*8, 1x1 convs 64 H W at 32,
     * 16, 8, 8, FRs 64 Ho Wo, FC 80. */
    make_macro_arch(L, pools, 0, arch);
    CHECK_NEAR(info_of(s, arch).child_madds,
               1024.0 * 216 + 64.0 * (1024 + 256 + 64 + 64) + 64.0 * (2 * 256 + 3 * 64) + 80, 0.5);
    /* the graph: one FR per reduction point, BNs after layer 0 and after the pools, none with gamma/beta but
     * the stem's, biases on the ordinary k x k convs and the classifier */
    CHECK(n_named(s, "macro.reduce0.fr.", NULL) == 2 && n_named(s, "macro.reduce1.fr.", NULL) == 2);
    CHECK(n_named(s, ".from", NULL) == 0);
    CHECK(n_named(s, "macro.layer0.skip_bn.", "running_mean") == 1);
    CHECK(n_named(s, ".pool_bn.", "running_mean") == 2 * L);
    CHECK(n_named(s, "", "gamma") == 1 && n_named(s, "macro.stem.", "gamma") == 1);
    CHECK(n_named(s, ".conv.", ".b") == 2 * L && n_named(s, ".sep_conv.", ".b") == 0);
    CHECK(n_named(s, "macro.fc.", ".b") == 1);
    for (int op = 0; op < 6; op++)
        for (int sk = 0; sk < 3; sk++) {
            const int ops[4] = {op, op, (op + 1) % 6, (op + 4) % 6};
            char what[48];
            make_macro_arch(L, ops, sk, arch);
            snprintf(what, sizeof what, "macro nni op %d skips %d", op, sk);
            steps(s, arch, what);
        }
    sh_close(s);
    /* each setting alone, against the TF default's 13,240: without gamma/beta (2F per BN: stem aside, 4 x 10
     * branch BNs + 3 join BNs + 5 FR BNs), pool BNs and layer 0's BN have none either; one FR per reduction
     * (3 of the 5 F^2 + 2F fewer); 2 x 4 conv biases; 10 classifier biases */
    static const struct {
        const char *opts;
        int64_t want;
    } one[] = {{"macro.bn-placement=nni", 13240 - 2 * F * (40 + 3 + 5)},
               {"macro.shared-reduce=true", 13240 - 3 * (F * F + 2 * F)},
               {"macro.conv-bias=true", 13240 + 2 * L * F},
               {"macro.fc-bias=true", 13240 + 10}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        char opts[160];
        snprintf(opts, sizeof opts, "macro.num-layers=4 macro.out-filters=8 %s", one[i].opts);
        s = open_or_exit("macro", opts, NULL, 0);
        make_macro_arch(L, a_ops, 1, arch);
        const int64_t got = info_of(s, arch).supergraph_params;
        CHECK_MSG(got == one[i].want, "%s: supergraph %lld, want %lld", one[i].opts, (long long)got,
                  (long long)one[i].want);
        steps(s, arch, one[i].opts);
        sh_close(s);
    }
}

/* ---- micro: NNI's MicroNetwork (examples/nas/oneshot/enas/micro.py, ops.py) ---- */

/* SepConvBN: ReLU, depthwise k x k, pointwise, BN(affine=True), applied once. */
static int64_t nni_op(int op, int64_t c)
{
    return op == 0 ? 9 * c + c * c + 2 * c : op == 1 ? 25 * c + c * c + 2 * c : 0;
}

/* MicroNetwork's weights: the stem (conv 3 -> 3F, BN with gamma/beta); per layer: a ReductionLayer before a
 * reduction cell (FactorizedReduce of both inputs to c = 2 c_p, BN(affine=False)), Calibration where the
 * channels differ (StdConv 1x1, BN(affine=False)), per node and slot one LayerChoice (arch == NULL: all of
 * it; else the chosen op), final_conv_w's slices of the unused nodes (all N + 2 for the supergraph), BN
 * (affine=False); dense with its bias. */
static int64_t nni_micro_params(int64_t L, int64_t F, int N, const int *arch)
{
    int64_t total = 27 * 3 * F + 2 * 3 * F, cpp = 3 * F, cp = 3 * F, c = F;
    for (int64_t id = 0; id < L + 2; id++) {
        const int red = id == L / 3 || id == 2 * (L / 3) + 1;
        const int *arc = arch ? arch + (red ? 4 * N : 0) : NULL;
        int used[16] = {0}, unused = 0;
        if (red) {
            c = 2 * cp;
            total += cpp * c + cp * c;
            cpp = cp = c;
        }
        total += (cpp != c ? cpp * c : 0) + (cp != c ? cp * c : 0);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < 2; j++) {
                for (int op = 0; !arc && op < 5; op++)
                    total += nni_op(op, c);
                if (arc) {
                    used[arc[4 * n + 2 * j]] = 1;
                    total += nni_op(arc[4 * n + 2 * j + 1], c);
                }
            }
        for (int i = 0; i < N + 2; i++)
            unused += !used[i];
        total += (arc ? unused : N + 2) * c * c;
        cpp = cp;
        cp = c;
    }
    return total + cp * 10 + 10;
}

/* TF's micro final example (ENAS.md 10.2). */
static const int tf_arc[40] = {0, 2, 0, 0, 0, 4, 0, 1, 0, 4, 1, 1, 1, 0, 0, 1, 0, 2, 1, 1,
                               1, 0, 1, 0, 0, 3, 0, 2, 1, 1, 3, 1, 1, 0, 0, 4, 0, 3, 1, 1};

static void copy_params(struct sh *from, struct sh *to)
{
    size_t na, nb;
    struct enas_param *const *a = sh_params(from, &na), *const *b = sh_params(to, &nb);
    CHECK(na == nb);
    for (size_t i = 0; i < na && i < nb; i++)
        if (strcmp(a[i]->name, b[i]->name) == 0 && enas_tensor_same_shape(&a[i]->value, &b[i]->value))
            memcpy(b[i]->value.data, a[i]->value.data,
                   (size_t)enas_tensor_numel(&a[i]->value) * sizeof(float));
        else
            CHECK_MSG(0, "parameter %zu: %s vs %s", i, a[i]->name, b[i]->name);
}

static void test_micro(void)
{
    /* L = 3: N R N R N (reductions at 1 and 3), F = 4 */
    struct sh *s = open_or_exit("micro", "micro.num-layers=3 micro.out-filters=4 " NNI_MICRO, NULL, 0);
    list_params(s);
    /* by hand: stem 324 + 24; cell 0 (c 4): calibrations 2 x 12*4, 10 slots x (2c^2 + 38c = 184), 7 x 16
     * -> 2048; cell 1 (c 8): FRs 12*8 + 4*8, 10 x 432, 7 x 64 -> 4896; cell 2: 4320 + 448; cell 3 (c 16): FRs
     * 2 x 8*16, 10 x 1120, 7 x 256 -> 13248; cell 4: 11200 + 1792; dense 160 + 10 */
    CHECK(nni_micro_params(3, 4, 5, NULL) == 348 + 2048 + 4896 + 4768 + 13248 + 12992 + 170);
    struct enas_child_info ci = info_of(s, tf_arc);
    CHECK_MSG(ci.supergraph_params == nni_micro_params(3, 4, 5, NULL), "supergraph %lld, by hand %lld",
              (long long)ci.supergraph_params, (long long)nni_micro_params(3, 4, 5, NULL));
    CHECK_MSG(ci.child_params == nni_micro_params(3, 4, 5, tf_arc), "child %lld, by hand %lld",
              (long long)ci.child_params, (long long)nni_micro_params(3, 4, 5, tf_arc));
    /* the graph: op weights per slot (no input index), one sep conv per op, both reduction inputs FR'd,
     * gamma/beta only in the stem and the ops' BNs, a classifier bias */
    CHECK(n_named(s, ".in0.", NULL) == 0 && n_named(s, "micro.cell0.n0.x.op0.conv0.", "dw") == 1);
    CHECK(n_named(s, ".conv1.", NULL) == 0);
    CHECK(n_named(s, "micro.cell1.xred0.fr.", NULL) == 2 && n_named(s, "micro.cell1.xred.fr.", NULL) == 2);
    CHECK(n_named(s, ".out_bn.", "gamma") == 0 && n_named(s, ".cal", "gamma") == 0 &&
          n_named(s, ".fr_bn.", "gamma") == 0);
    CHECK(n_named(s, "micro.stem.", "gamma") == 1 && n_named(s, ".bn0.", "gamma") == 5 * 2 * 5 * 2);
    CHECK(n_named(s, "micro.fc.", ".b") == 1);
    int arch[40];
    for (int t = 0; t < 6; t++) {
        char what[48];
        if (t == 0)
            memcpy(arch, tf_arc, sizeof arch);
        else
            sh_random_arch(s, (uint64_t)t, arch);
        snprintf(what, sizeof what, "micro nni arch %d", t);
        steps(s, arch, what);
    }
    sh_close(s);

    /* each setting alone changes the TF default's weights as NNI's network does (L 3, F 4). reduction: cell
     * 1 reads FR(12 -> 8) + BN and FR(4 -> 8) + BN instead of TF's x_red and calibration FR(4 -> 8) + BN
     * (+64); cell 3's four FRs are all 8 -> 16 either way. delta 0: fewer weights, by an amount not worked
     * out here. */
    struct sh *tf = open_or_exit("micro", "micro.num-layers=3 micro.out-filters=4", NULL, 0);
    const int64_t base = info_of(tf, tf_arc).supergraph_params;
    sh_close(tf);
    static const struct {
        const char *opts;
        int64_t delta;
    } one[] = {{"micro.sep-conv-stack=1", 0},
               {"micro.op-weights=shared", 0},
               {"micro.reduction=nni", 64},
               {"micro.bn-affine=false", 0},
               {"micro.fc-bias=true", 10}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        char opts[128];
        snprintf(opts, sizeof opts, "micro.num-layers=3 micro.out-filters=4 %s", one[i].opts);
        s = open_or_exit("micro", opts, NULL, 0);
        const int64_t got = info_of(s, tf_arc).supergraph_params;
        CHECK_MSG(one[i].delta ? got == base + one[i].delta : got < base,
                  "%s: %lld weights, TF's default %lld", one[i].opts, (long long)got, (long long)base);
        sh_random_arch(s, 40 + i, arch);
        steps(s, arch, one[i].opts);
        sh_close(s);
    }

    /* conv-BN-ReLU calibration (NNI's StdConv) is another function than ReLU-conv-BN on the same weights */
    enum { N = 4 };
    static float img[N * 3072];
    int32_t lab[N];
    double loss, acc;
    make_batch(21, N, img, lab);
    struct sh *a =
        open_or_exit("micro", "micro.num-layers=3 micro.out-filters=4", NULL, 0); /* cell 0 calibrates */
    struct sh *b = open_or_exit(
        "micro", "micro.num-layers=3 micro.out-filters=4 micro.calibration=conv_bn_relu", NULL, 0);
    copy_params(a, b);
    CHECK(sh_pass(a, tf_arc, img, lab, N, 0, 0.0, &loss, &acc) == 0);
    float la[N * 10];
    memcpy(la, sh_logits(a)->data, sizeof la);
    CHECK(sh_pass(b, tf_arc, img, lab, N, 0, 0.0, &loss, &acc) == 0);
    double d = 0.0;
    for (int i = 0; i < N * 10; i++)
        d = fmax(d, fabs((double)la[i] - (double)sh_logits(b)->data[i]));
    CHECK_MSG(d > 1e-3, "calibration order: logits differ by only %g", d);
    steps(b, tf_arc, "micro calibration conv_bn_relu");
    sh_close(a);
    sh_close(b);
}

/* ---- controller_style = nni ---- */

static struct enas_controller *ctrl_open(struct sh *s)
{
    struct enas_ctrl_opts o = {
        .lstm_size = 16, .lstm_layers = 1, .tanh_constant = 1.5, .skip_target = 0.4, .seed = 5};
    struct enas_controller *c = NULL;
    struct enas_err err = {0};
    CHECK_MSG(enas__controller_create(&o, sh_desc(s), sh_state(s), &c, &err) == ENAS_OK, "controller: %s",
              err.msg);
    return c;
}

/* Samples that validate, scoring, backward and an Adam step through the NNI hints. */
static void ctrl_run(struct sh *s, struct enas_controller *c)
{
    struct enas_rng r;
    struct enas_err err = {0};
    struct enas_ctrl_sample out;
    int arch[128];
    enas__rng_seed(&r, 3, 0);
    CHECK(enas__controller_arch_len(c) == sh_arch_len(s) && sh_arch_len(s) <= 128);
    for (int k = 0; k < 4; k++) {
        CHECK_MSG(enas__controller_sample(c, &r, arch, &out, &err) == ENAS_OK, "sample: %s", err.msg);
        CHECK_MSG(sh_desc(s)->validate(sh_state(s), arch, sh_arch_len(s), &err) == ENAS_OK, "%s", err.msg);
        CHECK(isfinite(out.log_prob) && out.log_prob > 0.0);
        CHECK(enas__controller_backward(c, 0.1, 0.8, &err) == ENAS_OK);
    }
    CHECK(enas__controller_step(c, 1e-3, 0.9, 0.999, 1e-8, 5.0, NULL, &err) == ENAS_OK);
    CHECK(enas__controller_score(c, arch, &out, &err) == ENAS_OK && isfinite(out.log_prob));
}

static void test_ctrl(void)
{
    /* macro L = 4: LayerChoice1, LayerChoice2, InputChoice3, LayerChoice4, InputChoice5, LayerChoice6,
     * InputChoice7; NNI samples the LayerChoices first */
    struct sh *s =
        open_or_exit("macro", "macro.num-layers=4 macro.out-filters=8 macro.controller-style=nni", NULL, 0);
    const struct enas_space_desc *d = sh_desc(s);
    size_t order[7];
    static const size_t want[7] = {0, 1, 3, 5, 2, 4, 6};
    CHECK(d->sample_order && d->n_decisions(sh_state(s)) == 7);
    d->sample_order(sh_state(s), order);
    CHECK(memcmp(order, want, sizeof order) == 0);
    for (size_t i = 0; i < 7; i++) {
        const struct enas_decision *x = d->decision(sh_state(s), i);
        CHECK_MSG(x->role == ENAS_ROLE_OP && x->group == i && x->anchor == ENAS_ANCHOR_NONE && !x->new_scope,
                  "macro decision %zu (%s): not hinted as an NNI field", i, x->label);
    }
    CHECK(d->decision(sh_state(s), 6)->kind == ENAS_CHOICE_ANY);
    struct enas_controller *c = ctrl_open(s);
    /* a softmax and an embedding per field (InputChoice7: 3 candidates), no attention */
    struct enas_param *p = c ? enas__controller_param(c, "ctrl.w_soft.g6") : NULL;
    CHECK(p && p->value.dims[0] == 16 && p->value.dims[1] == 3);
    CHECK(c && enas__controller_param(c, "ctrl.w_emb.g6") && !enas__controller_param(c, "ctrl.attn1"));
    if (c)
        ctrl_run(s, c);
    enas__controller_destroy(c);
    sh_close(s);
    /* TF's hints stay the default: one op group, attention */
    s = open_or_exit("macro", "macro.num-layers=4 macro.out-filters=8", NULL, 0);
    d = sh_desc(s);
    d->sample_order(sh_state(s), order);
    for (size_t i = 0; i < 7; i++)
        CHECK(order[i] == i);
    c = ctrl_open(s);
    CHECK(c && enas__controller_param(c, "ctrl.attn1") && !enas__controller_param(c, "ctrl.w_soft.g1"));
    enas__controller_destroy(c);
    sh_close(s);

    /* micro: every op decision (normal, then reduce), then every input decision; no biases, no anchors */
    s = open_or_exit("micro", "micro.num-layers=1 micro.out-filters=4 micro.controller-style=nni", NULL, 0);
    d = sh_desc(s);
    size_t mo[40];
    d->sample_order(sh_state(s), mo);
    for (size_t k = 0; k < 20; k++)
        CHECK_MSG(mo[k] == 2 * k + 1 && mo[20 + k] == 2 * k, "sample_order[%zu] = %zu", k, mo[k]);
    for (size_t i = 0; i < 40; i++) {
        const struct enas_decision *x = d->decision(sh_state(s), i);
        CHECK_MSG(x->role == ENAS_ROLE_OP && x->group == i && !x->logit_bias && !x->bias_init &&
                      !x->tanh_reduce && !x->new_scope && !x->warmup_anchors && x->anchor == ENAS_ANCHOR_NONE,
                  "micro decision %zu (%s): not hinted as an NNI field", i, x->label);
    }
    c = ctrl_open(s);
    CHECK(c && !enas__controller_param(c, "ctrl.attn1") && !enas__controller_param(c, "ctrl.b_soft.g1"));
    p = c ? enas__controller_param(c, "ctrl.w_soft.g38") : NULL; /* reduce_node_4_y_input: 6 candidates */
    CHECK(p && p->value.dims[1] == 6);
    if (c)
        ctrl_run(s, c);
    enas__controller_destroy(c);
    sh_close(s);
}

/* ---- micro scoring mode ---- */

/* The largest difference between the logits of images 0..3 scored (inference mode) in two batches that
 * share them and differ in images 4..7. */
static double batch_dependence(const char *opts)
{
    enum { N = 8 };
    static float a[N * 3072], b[N * 3072];
    int32_t la[N], lb[N];
    double loss, acc, d = 0.0;
    make_batch(31, N, a, la);
    make_batch(32, N, b, lb);
    memcpy(b, a, 4 * 3072 * sizeof(float));
    memcpy(lb, la, 4 * sizeof(int32_t));
    struct sh *s = open_or_exit("micro", opts, NULL, 0);
    float first[4 * 10];
    /* a training pass first, so that the running statistics are not their initial values */
    CHECK(sh_pass(s, tf_arc, b, lb, N, 1, 0.0, &loss, &acc) == 0);
    CHECK(sh_pass(s, tf_arc, a, la, N, 0, 0.0, &loss, &acc) == 0);
    memcpy(first, sh_logits(s)->data, sizeof first);
    CHECK(sh_pass(s, tf_arc, b, lb, N, 0, 0.0, &loss, &acc) == 0);
    for (int i = 0; i < 4 * 10; i++)
        d = fmax(d, fabs((double)first[i] - (double)sh_logits(s)->data[i]));
    sh_close(s);
    return d;
}

static void test_eval(void)
{
    const char *small = "micro.num-layers=1 micro.out-filters=4";
    char opts[256];
    /* the engine asks for inference mode when it scores: the running statistics, as NNI's model.eval() */
    double d = batch_dependence(small);
    CHECK_MSG(d < 1e-5, "default: logits depend on the rest of the batch by %g in inference mode", d);
    snprintf(opts, sizeof opts, "%s %s", small, NNI_MICRO);
    d = batch_dependence(opts);
    CHECK_MSG(d < 1e-5, "NNI settings: logits depend on the rest of the batch by %g in inference mode", d);
    /* TF's search mode, asked for by name: batch statistics (and dropout) when scoring too */
    snprintf(opts, sizeof opts, "%s micro.search-batch-stats=true micro.keep-prob=1", small);
    d = batch_dependence(opts);
    CHECK_MSG(d > 1e-3, "search_batch_stats: logits depend on the rest of the batch by only %g", d);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_nni_spaces PLUGIN_DIR BACKEND macro|micro|ctrl|eval\n");
        return 2;
    }
    plugin_dir = argv[1];
    backend = argv[2];
    const char *part = argv[3];
    if (strcmp(part, "macro") == 0) {
        test_macro();
    } else if (strcmp(part, "micro") == 0) {
        test_micro();
    } else if (strcmp(part, "ctrl") == 0) {
        test_ctrl();
    } else if (strcmp(part, "eval") == 0) {
        test_eval();
    } else {
        fprintf(stderr, "unknown part '%s'\n", part);
        return 2;
    }
    return check_exit("test_nni_spaces");
}
