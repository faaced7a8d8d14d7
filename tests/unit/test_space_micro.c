/* test_space_micro.c - the micro space plugin (spaces/micro) through the engine:
 * `test_space_micro PLUGIN_DIR BACKEND PART`, PART one of
 *   static  decisions, validation messages, DOT, and weight / multiply-add counts against ENAS.md §3 by hand;
 *   ops     every candidate at every position and input, search and final mode, forward and backward;
 *           with BACKEND != ref also against ref with identical weights (every op output, 1e-4, then
 *           gradients, 1e-3, ref's backward running at BACKEND's activations);
 *   paths   only the chosen path gets gradients and BN statistics updates;
 *   extern  registered ops as candidates (with and without channel attributes), and their failures;
 *   train   a fixed architecture learns a 2,000-image CIFAR-10 subset (77 without ENAS_DATA).
 * Debugging ops: MC_ONLY=t runs coverage architecture t alone (35: the TF example), MC_VERBOSE=1 prints
 * errors. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "spacehelp.h"

#include <stdlib.h>
#include <time.h>

static const char *plugin_dir, *backend;

/* ENAS.md §10.2: the TF micro-final example, normal cell then reduction cell. */
static const int tf_final_arc[40] = {0, 2, 0, 0, 0, 4, 0, 1, 0, 4, 1, 1, 1, 0, 0, 1, 0, 2, 1, 1,
                                     1, 0, 1, 0, 0, 3, 0, 2, 1, 1, 3, 1, 1, 0, 0, 4, 0, 3, 1, 1};

static struct sh *open_or_skip(const char *be, const char *opts, const int *arch, size_t len)
{
    struct sh *s = NULL;
    int rc = sh_open(&s, plugin_dir, be, "micro", opts, arch, len);
    if (rc == 77) {
        sh_close(s);
        exit(77);
    }
    CHECK_MSG(rc == 0, "sh_open(%s, '%s') failed", be, opts);
    if (rc) {
        sh_close(s);
        exit(check_exit("test_space_micro"));
    }
    return s;
}

static uint64_t lcg(uint64_t *s)
{
    return (*s = *s * 6364136223846793005ull + 1442695040888963407ull) >> 33;
}

static void make_batch(uint64_t seed, int n, float *img, int32_t *lab)
{
    for (int i = 0; i < n * 32 * 32 * 3; i++)
        img[i] = (float)(lcg(&seed) % 2000) / 1000.0f - 1.0f;
    for (int i = 0; i < n; i++)
        lab[i] = (int32_t)(lcg(&seed) % 10);
}

static void zero_grads(struct sh *s)
{
    size_t np;
    struct enas_param *const *ps = sh_params(s, &np);
    for (size_t i = 0; i < np; i++)
        if (ps[i]->grad)
            memset(ps[i]->grad, 0, (size_t)enas_tensor_numel(&ps[i]->value) * sizeof(float));
}

static double max_abs(const float *a, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i]));
    return m;
}

static int all_finite(const float *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* ---- counts by hand (ENAS.md §3) ---- */

static int64_t bn(int64_t c)
{
    return 2 * c;
} /* gamma, beta */
static int64_t fr(int64_t cin, int64_t f)
{
    return cin * f + bn(f);
} /* 2 x [f/2, cin] 1x1, BN */
static int64_t c1x1(int64_t cin, int64_t f)
{
    return cin * f + bn(f);
} /* ReLU-conv1x1-BN */
static int64_t sep(int k, int64_t f)
{
    return 2 * (k * k * f + f * f + bn(f));
} /* [dw k x k, pw F x F, BN] x 2 */

/* The default candidates: sep3, sep5, avg3, max3, identity (FR at a stride-2 place). */
static int64_t op_default(int op, int64_t f, int stride2)
{
    return op == 0 ? sep(3, f) : op == 1 ? sep(5, f) : op == 4 && stride2 ? fr(f, f) : 0;
}

enum count_mode { SUPER, CHILD, FINAL };

/* Weights of the network per §3: stem conv3x3 3->3F + BN; per cell [search reduction: x_red = FR(prev)],
 * calibration (FR if twice as large, else 1x1 if channels differ), [final: layer_base 1x1], the node ops,
 * search output = one 1x1 F x F per node index (SUPER: all N+2; CHILD: the unused) + BN, final reduction
 * FR of unused inputs; head linear C -> 10 without bias. No aux head. */
static int64_t count_by_hand(int64_t L, int64_t F, int N, int n_ops, int64_t (*opp)(int, int64_t, int),
                             const int *arch, enum count_mode mode)
{
    int64_t total = 27 * 3 * F + bn(3 * F), f = F, cpp = 3 * F, cp = 3 * F, spp = 32, sp = 32;
    for (int64_t id = 0; id < L + 2; id++) {
        int red = id == L / 3 || id == 2 * (L / 3) + 1, used[16] = {0}, u = 0;
        const int *arc = arch ? arch + (red ? 4 * N : 0) : NULL;
        int64_t c0 = cpp, s0 = spp, c1 = cp, s1 = sp, cout, sout;
        f *= red ? 2 : 1;
        if (mode != FINAL && red) {
            total += fr(cp, f);
            c0 = cp, s0 = sp, c1 = f, s1 = (sp + 1) / 2;
        }
        total += s0 != s1 ? fr(c0, f) : c0 != f ? c1x1(c0, f) : 0;
        total += c1 != f ? c1x1(c1, f) : 0;
        total += mode == FINAL ? c1x1(f, f) : 0;
        for (int n = 0; n < N; n++)
            for (int j = 0; j < 2; j++) {
                if (mode == SUPER) {
                    for (int op = 0; op < n_ops; op++)
                        total += (n + 2) * opp(op, f, 0);
                    continue;
                }
                int in = arc[4 * n + 2 * j];
                used[in] = 1;
                total += opp(arc[4 * n + 2 * j + 1], f, mode == FINAL && red && in < 2);
            }
        for (int i = 0; i < N + 2; i++)
            u += !used[i];
        if (mode != FINAL) {
            total += (mode == SUPER ? N + 2 : u) * f * f + bn(f);
            cout = f, sout = s1;
        } else {
            for (int i = 0; i < 2; i++)
                total += red && !used[i] ? fr(f, f) : 0;
            cout = u * f, sout = red ? (s1 + 1) / 2 : s1;
        }
        if (mode != FINAL && red)
            cpp = f, spp = s1;
        else
            cpp = cp, spp = sp;
        cp = cout, sp = sout;
    }
    return total + cp * 10;
}

/* node n: x = node n-1 (h1 for n = 0) through sep3, y = h0 through identity: only the last node is unused */
static const int arch_a[40] = {1, 0, 0, 4, 2, 0, 0, 4, 3, 0, 0, 4, 4, 0, 0, 4, 5, 0, 0, 4,
                               1, 0, 0, 4, 2, 0, 0, 4, 3, 0, 0, 4, 4, 0, 0, 4, 5, 0, 0, 4};
/* every node reads h1 through avg/max pools: h0 and all nodes are unused */
static const int arch_b[40] = {1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3,
                               1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3, 1, 2, 1, 3};

static struct enas_child_info info_of(struct sh *s, const int *arch)
{
    struct enas_child_info ci = {0};
    struct enas_err err = {0};
    enum enas_status st = sh_desc(s)->info(sh_state(s), arch, 40, &ci, &err);
    CHECK_MSG(st == ENAS_OK, "info: %s", err.msg);
    return ci;
}

static void test_counts(void)
{
    /* L=2 F=8: cells R16 R32 N32 N32. Supergraph, worked out on paper: stem 696; cell 0: x_red FR(24->16)
     * 416, FR(24->16) 416, 40 slot-inputs x (sep3 + sep5 = 4f^2 + 76f = 2240), 7 x 256 + 32; cell 1: 576 +
     * 576 + 40 x 6528 + 7232; cells 2, 3: 40 x 6528 + 7232; fc 320. */
    struct sh *s = open_or_skip(backend, "micro.num-layers=2 micro.out-filters=8", NULL, 0);
    CHECK(count_by_hand(2, 8, 5, 5, op_default, NULL, SUPER) == 899480);
    CHECK(count_by_hand(2, 8, 5, 5, op_default, arch_a, CHILD) == 52152);
    struct enas_child_info ci = info_of(s, arch_a);
    CHECK_MSG(ci.supergraph_params == 899480, "supergraph %lld", (long long)ci.supergraph_params);
    CHECK_MSG(ci.child_params == 52152, "search child A %lld", (long long)ci.child_params);
    ci = info_of(s, tf_final_arc);
    CHECK(ci.child_params == count_by_hand(2, 8, 5, 5, op_default, tf_final_arc, CHILD));
    sh_close(s);
    /* final L=2 F=8, A: 696 + 6880 + 21696 + 15424 + 14848 + 320; B: 696 + 1408 + 6144 + 10432 + 13504
     * + 1920. B's multiply-adds (1 image): stem 663552; cells 1114112, 1310720, 655360, 851968; fc 1920. */
    const int *archs[2] = {arch_a, arch_b};
    const int64_t want[2] = {59864, 34104};
    for (int i = 0; i < 2; i++) {
        s = open_or_skip(backend, "micro.num-layers=2 micro.out-filters=8", archs[i], 40);
        ci = info_of(s, archs[i]);
        CHECK(count_by_hand(2, 8, 5, 5, op_default, archs[i], FINAL) == want[i]);
        CHECK_MSG(ci.child_params == want[i], "final %d: %lld", i, (long long)ci.child_params);
        CHECK(ci.supergraph_params == want[i]);
        if (i == 1)
            CHECK_NEAR(ci.child_madds, 4597632.0, 0.5);
        sh_close(s);
    }
    /* default L=6 F=20: supergraph 5,373,140 by hand (cells 130120, 128880, 390640, 388880, 388880,
     * 1318880, 1312160, 1312160; stem 1740; fc 800); the aux head adds 80*128 + 256 + 4*128*768 + 1536 +
     * 7680. */
    s = open_or_skip(backend, "micro.use-aux-heads=true", NULL, 0);
    CHECK(count_by_hand(6, 20, 5, 5, op_default, NULL, SUPER) == 5373140);
    ci = info_of(s, tf_final_arc);
    CHECK_MSG(ci.supergraph_params == 5373140 + 412928, "default supergraph %lld",
              (long long)ci.supergraph_params);
    CHECK(ci.child_params == count_by_hand(6, 20, 5, 5, op_default, tf_final_arc, CHILD));
    sh_close(s);
    s = open_or_skip(backend, "", tf_final_arc, 40);
    ci = info_of(s, tf_final_arc);
    CHECK_MSG(ci.child_params == count_by_hand(6, 20, 5, 5, op_default, tf_final_arc, FINAL), "final %lld",
              (long long)ci.child_params);
    sh_close(s);
}

static int write_buf(void *ctx, const char *text, size_t len)
{
    char *buf = ctx;
    size_t have = strlen(buf);
    if (have + len >= 8192)
        return 1;
    memcpy(buf + have, text, len);
    buf[have + len] = '\0';
    return 0;
}

static void test_static(void)
{
    struct sh *s = open_or_skip(backend, "micro.num-layers=2 micro.out-filters=8", NULL, 0);
    const struct enas_space_desc *d = sh_desc(s);
    void *st = sh_state(s);
    CHECK(d->n_decisions(st) == 40 && sh_arch_len(s) == 40);
    const struct enas_decision *x0 = d->decision(st, 0), *op1 = d->decision(st, 5), *r = d->decision(st, 39);
    CHECK(strcmp(x0->label, "normal_node_0_x_input") == 0 && x0->role == ENAS_ROLE_INPUT &&
          x0->n_candidates == 2);
    CHECK(strcmp(op1->label, "normal_node_1_x_op") == 0 && op1->role == ENAS_ROLE_OP &&
          op1->n_candidates == 5);
    CHECK(op1->tanh_reduce == 1 && op1->logit_bias && op1->logit_bias[0] > 0.0f && op1->logit_bias[4] < 0.0f);
    CHECK(strcmp(r->label, "reduce_node_4_y_op") == 0 && r->logit_bias == NULL);
    CHECK(strcmp(d->decision(st, 38)->label, "reduce_node_4_y_input") == 0 &&
          d->decision(st, 38)->n_candidates == 6);
    CHECK(d->default_epochs == 150);
    struct enas_err err = {0};
    int bad[40];
    memcpy(bad, tf_final_arc, sizeof bad);
    bad[5] = 5;
    CHECK_ERR(d->validate(st, bad, 40, &err), err, ENAS_ERR_INVALID_ARG, "position 5 (normal_node_1_x_op)");
    bad[5] = 0, bad[24] = 7;
    CHECK_ERR(d->validate(st, bad, 40, &err), err, ENAS_ERR_INVALID_ARG,
              "position 24 (reduce_node_1_x_input)");
    CHECK_ERR(d->validate(st, tf_final_arc, 39, &err), err, ENAS_ERR_INVALID_ARG, "39 ints");
    CHECK(d->validate(st, tf_final_arc, 40, &err) == ENAS_OK);
    static char dot[8192];
    dot[0] = '\0';
    CHECK(d->dot(st, tf_final_arc, 40, write_buf, dot, &err) == ENAS_OK);
    CHECK(strstr(dot, "subgraph cluster_normal") && strstr(dot, "subgraph cluster_reduce"));
    CHECK(strstr(dot, "normal_h0 -> normal_n0 [label=\"avg_pool_3x3\"]"));
    CHECK(strstr(dot, "reduce_n1 -> reduce_n2 [label=\"sep_conv_5x5\"]"));
    CHECK(strstr(dot, "normal_n4 -> normal_out") && !strstr(dot, "normal_h0 -> normal_out"));
    sh_close(s);
    /* a fixed network refuses another architecture */
    s = open_or_skip(backend, "micro.num-layers=2 micro.out-filters=8", tf_final_arc, 40);
    CHECK_ERR(sh_desc(s)->validate(sh_state(s), arch_a, 40, &err), err, ENAS_ERR_INVALID_ARG, "position 0");
    sh_close(s);
}

/* Architecture t of the coverage set: at every slot, (input, op) = index (t + offset) mod (inputs * ops),
 * so t = 0 .. 7*5-1 visits every input with every op at every position of both cells. */
static void cover_arch(int t, int *arch)
{
    for (int c = 0; c < 2; c++)
        for (int n = 0; n < 5; n++)
            for (int j = 0; j < 2; j++) {
                int m = (n + 2) * 5, idx = (t + 7 * j + 3 * c) % m;
                arch[20 * c + 4 * n + 2 * j] = idx / 5;
                arch[20 * c + 4 * n + 2 * j + 1] = idx % 5;
            }
}

static void copy_params(struct sh *from, struct sh *to)
{
    size_t na, nb;
    struct enas_param *const *a = sh_params(from, &na), *const *b = sh_params(to, &nb);
    CHECK(na == nb);
    for (size_t i = 0; i < na && i < nb; i++) {
        CHECK_MSG(strcmp(a[i]->name, b[i]->name) == 0 && enas_tensor_same_shape(&a[i]->value, &b[i]->value),
                  "param %zu: %s vs %s", i, a[i]->name, b[i]->name);
        if (enas_tensor_same_shape(&a[i]->value, &b[i]->value))
            memcpy(b[i]->value.data, a[i]->value.data,
                   (size_t)enas_tensor_numel(&a[i]->value) * sizeof(float));
    }
}

/* ||a - b|| / max(||a||, floor) in 2-norms */
static double rel_err(const float *a, const float *b, int64_t n, double floor)
{
    double d = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        d += ((double)a[i] - (double)b[i]) * ((double)a[i] - (double)b[i]);
        m += (double)a[i] * (double)a[i];
    }
    return sqrt(d) / fmax(sqrt(m), floor);
}

/* Every gradient of other within 1e-3 relative of ref's (2-norms), both backwards having run at the same
 * activations (sh_pass_at). Gradients that are zero in exact arithmetic (a BN shift reaching only further
 * BNs through linear ops) are noise in both: norms below 1e-2 of the network's RMS gradient count as such. */
static void compare_grads(struct sh *ref, struct sh *other, const char *what)
{
    size_t na, nb, bad = 0;
    struct enas_param *const *a = sh_params(ref, &na), *const *b = sh_params(other, &nb);
    double worst = 0.0, ss = 0.0, cnt = 0.0;
    for (size_t i = 0; i < na; i++)
        for (int64_t k = 0; a[i]->grad && k < enas_tensor_numel(&a[i]->value); k++, cnt += 1.0)
            ss += (double)a[i]->grad[k] * (double)a[i]->grad[k];
    const double rms = sqrt(ss / fmax(cnt, 1.0));
    for (size_t i = 0; i < na && i < nb; i++) {
        if (!a[i]->grad)
            continue;
        const int64_t n = enas_tensor_numel(&a[i]->value);
        const double e = rel_err(a[i]->grad, b[i]->grad, n, 1e-2 * rms * sqrt((double)n));
        worst = fmax(worst, e);
        if (!(e <= 1e-3) && bad++ < (getenv("MC_ONLY") ? 1000 : 3))
            fprintf(stderr, "%s: gradient of %s differs by %g\n", what, a[i]->name, e);
    }
    if (getenv("MC_VERBOSE"))
        fprintf(stderr, "%s: worst gradient error %g\n", what, worst);
    CHECK_MSG(bad == 0, "%s: %zu gradients differ", what, bad);
}

/* One training pass without a step: finite loss and logits, and a gradient at the stem. With at: the
 * backward at at's activations (sh_pass_at), which must agree with s's own within 1e-4. */
static void pass_checked(struct sh *s, struct sh *at, const int *arch, const float *img, const int32_t *lab,
                         int n, const char *what)
{
    double loss = NAN, acc;
    struct sh_adopted ad = {0};
    zero_grads(s);
    int rc = at ? sh_pass_at(s, at, arch, img, lab, n, &ad, &loss, &acc)
                : sh_pass(s, arch, img, lab, n, 1, 0.0, &loss, &acc);
    CHECK_MSG(rc == 0 && isfinite(loss), "%s: pass failed (loss %g)", what, loss);
    if (rc)
        return;
    CHECK_MSG(!at || ad.worst <= 1e-4, "%s: the output of op call %zu of %zu (%s) differs by %g", what,
              ad.record, ad.n_records, ad.op, ad.worst);
    if (at && getenv("MC_VERBOSE"))
        fprintf(stderr, "%s: worst activation error %g (op call %zu, %s; %zu of %zu compared)\n", what,
                ad.worst, ad.record, ad.op, ad.n_compared, ad.n_records);
    CHECK_MSG(all_finite(sh_logits(s)->data, enas_tensor_numel(sh_logits(s))), "%s: logits not finite", what);
    size_t np;
    struct enas_param *const *ps = sh_params(s, &np);
    int stem = 0;
    for (size_t i = 0; i < np; i++)
        if (strstr(ps[i]->name, ".stem.conv.w"))
            stem = max_abs(ps[i]->grad, enas_tensor_numel(&ps[i]->value)) > 0.0;
    CHECK_MSG(stem, "%s: no gradient reached the stem", what);
}

/* sh[0] BACKEND, sh[1] ref (with reopen: both opened anew, in final mode as networks of arch, and BACKEND
 * given ref's weights): BACKEND's pass, then ref's at BACKEND's activations, every output and gradient
 * compared. */
static void parity(struct sh **sh, const char *opts, const int *arch, int final, int reopen, const float *img,
                   const int32_t *lab, int n, const char *what)
{
    if (reopen) {
        for (int i = 0; i < 2; i++) {
            sh_close(sh[i]);
            sh[i] = open_or_skip(i ? "ref" : backend, opts, final ? arch : NULL, final ? 40 : 0);
        }
        if (sh[0])
            sh_keep_outputs(sh[0], 1); /* ref's pass reads them after this one's backward */
        copy_params(sh[1], sh[0]);
    }
    pass_checked(sh[0], NULL, arch, img, lab, n, what);
    pass_checked(sh[1], sh[0], arch, img, lab, n, what);
    compare_grads(sh[1], sh[0], what);
}

/* On ref alone: every coverage architecture (and the TF example) runs forward and backward at L=3
 * (N R N R N: normal cells before, between and after the reductions), aux head and drop path included.
 * Parity with ref: L=1 (R R N), batch 8, no aux head, dropout or drop path (a BN over 4 values or a
 * random mask tests no kernel), in search mode (one supergraph) and final mode (one network per
 * architecture): every op output within 1e-4, then, ref's backward running at BACKEND's activations,
 * every gradient within 1e-3. Rounding tips a ReLU input that lies within about 1e-6 of zero to either
 * side, and a max pool's near-tie likewise; one such element alone moves gradients by up to 5% in these
 * small BN networks (their weight gradients are sums that largely cancel), so both backwards must see the
 * same values: the same activations make the comparison exact up to rounding, with max pools included. */
static void test_ops(void)
{
    const int cmp = strcmp(backend, "ref") != 0;
    const char *aux = "micro.num-layers=3 micro.out-filters=4 micro.use-aux-heads=true";
    const char *plain =
        "micro.num-layers=1 micro.out-filters=4 micro.keep-prob=1 micro.drop-path-keep-prob=1";
    enum { N = 8 };
    static float img[N * 3072];
    int32_t lab[N];
    int arch[40], n = cmp ? N : 4;
    char what[64];
    make_batch(5, N, img, lab);
    for (int final = 0; final < 2; final++) {
        struct sh *sh[2] = {NULL, NULL};
        for (int t = 0; t <= 35; t++) {
            if (t < 35)
                cover_arch(t, arch);
            else
                memcpy(arch, tf_final_arc, sizeof arch);
            if (getenv("MC_ONLY") && atoi(getenv("MC_ONLY")) != t)
                continue;
            snprintf(what, sizeof what, "%s arch %d on %s", final ? "final" : "search", t, backend);
            if (!cmp) {
                if (final || !sh[0]) {
                    sh_close(sh[0]);
                    sh[0] = open_or_skip(backend, final && t < 35 ? plain : aux, final ? arch : NULL, 40);
                }
                pass_checked(sh[0], NULL, arch, img, lab, n, what);
                continue;
            }
            parity(sh, plain, arch, final, final || !sh[0], img, lab, n, what);
        }
        for (int i = 0; i < 2; i++)
            sh_close(sh[i]);
    }
}

/* scope of a slot candidate's weights: micro.cell<id>.n<node>.<x|y>.in<input>.op<k>.<...> */
static void test_paths(void)
{
    struct sh *s = open_or_skip(backend, "micro.num-layers=3 micro.out-filters=4", NULL, 0);
    enum { N = 4 };
    static float img[N * 3072];
    int32_t lab[N];
    int arch[40];
    make_batch(9, N, img, lab);
    sh_random_arch(s, 3, arch);
    size_t np;
    struct enas_param *const *ps = sh_params(s, &np);
    float **snap = calloc(np, sizeof *snap);
    for (size_t i = 0; i < np; i++) {
        size_t bytes = (size_t)enas_tensor_numel(&ps[i]->value) * sizeof(float);
        snap[i] = malloc(bytes);
        memcpy(snap[i], ps[i]->value.data, bytes);
    }
    pass_checked(s, NULL, arch, img, lab, N, "paths");
    int seen[2][2] = {{0}}; /* [chosen][buffer] */
    for (size_t i = 0; i < np; i++) {
        int cell, n, in, op, chosen, unused = 1;
        char xy, rest[64];
        const int buffer = ps[i]->grad == NULL;
        const int64_t numel = enas_tensor_numel(&ps[i]->value);
        const int moved = buffer ? memcmp(snap[i], ps[i]->value.data, (size_t)numel * sizeof(float)) != 0
                                 : max_abs(ps[i]->grad, numel) > 0.0;
        int red = 0;
        if (sscanf(ps[i]->name, "micro.cell%d.n%d.%c.in%d.op%d.%63s", &cell, &n, &xy, &in, &op, rest) == 6) {
            red = cell == 1 || cell == 3;
            const int *a = arch + (red ? 20 : 0) + 4 * n + (xy == 'y' ? 2 : 0);
            chosen = a[0] == in && a[1] == op;
        } else if (sscanf(ps[i]->name, "micro.cell%d.out%d.%63s", &cell, &n, rest) == 3 &&
                   strcmp(rest, "w") == 0) {
            red = cell == 1 || cell == 3;
            for (int k = 0; k < 10; k++)
                unused &= arch[(red ? 20 : 0) + 2 * k] != n;
            chosen = unused;
        } else {
            continue;
        }
        seen[chosen][buffer]++;
        CHECK_MSG(moved == chosen, "%s: %s, but its %s", ps[i]->name, chosen ? "on the path" : "off the path",
                  buffer ? (moved ? "statistics changed" : "statistics did not change")
                         : (moved ? "gradient is not zero" : "gradient is zero"));
    }
    CHECK(seen[0][0] && seen[0][1] && seen[1][0] && seen[1][1]);
    for (size_t i = 0; i < np; i++)
        free(snap[i]);
    free(snap);
    sh_close(s);
}

/* sep3 | relu | conv(kernel=3) | identity | avg3: relu and identity are FR'd at stride-2 places, conv
 * too (a registered op gets factorized_reduce first there) and has 9 F^2 weights (no bias). */
static int64_t op_extern(int op, int64_t f, int stride2)
{
    int64_t w = op == 0 ? sep(3, f) : op == 2 ? 9 * f * f : 0;
    return w + ((op == 1 || op == 2 || op == 3) && stride2 ? fr(f, f) : 0);
}

/* The status of creating the micro space (L 1, F 4) with micro.ops = ops on a fresh engine: spacehelp's
 * sh_open only says whether it worked. */
static enum enas_status create_status(const char *ops, struct enas_err *err)
{
    const char *dirs[] = {plugin_dir};
    struct enas_host *h = NULL;
    struct enas_config *cfg = NULL;
    struct enas_load_report *rep = NULL;
    const struct enas_space_desc *desc = NULL;
    enum enas_status st = enas__host_create(&h, err);
    if (st == ENAS_OK)
        st = enas__config_create(&cfg, err);
    if (st == ENAS_OK) {
        enas__loader_load_all(h, dirs, 1, &rep, err);
        st = rep && !rep->n_failed ? ENAS_OK
                                   : enas_err_set(err, ENAS_ERR_PLUGIN_LOAD, "plugins failed to load");
    }
    if (st == ENAS_OK && !(desc = enas__registry_find_space(h->reg, "micro", err)))
        st = ENAS_ERR_NOT_FOUND;
    if (st == ENAS_OK)
        st = enas__registry_declare_sections(h->reg, cfg, err);
    if (st == ENAS_OK) {
        enas__host_set_config(h, cfg);
        st = enas__config_set_option(cfg, "micro.num-layers", "1", err);
    }
    if (st == ENAS_OK)
        st = enas__config_set_option(cfg, "micro.out-filters", "4", err);
    if (st == ENAS_OK)
        st = enas__config_set_option(cfg, "micro.ops", ops, err);
    if (st == ENAS_OK)
        st = enas__host_init_backend(h, backend, 1, enas__config_section(cfg, backend), err);
    void *state = NULL;
    if (st == ENAS_OK) {
        struct enas_space_args a = {h->api, h, enas__config_section(cfg, "micro"), 32, 32, 3, 10, NULL, 0};
        st = desc->create(&a, &state, err);
    }
    if (state)
        desc->destroy(state);
    enas__loader_report_destroy(rep);
    enas__config_destroy(cfg);
    enas__host_destroy(h);
    return st;
}

static void test_extern(void)
{
    const char *opts = "micro.num-layers=3 micro.out-filters=4 "
                       "micro.ops=sep_conv_3x3|relu|conv(kernel=3)|identity|avg_pool_3x3";
    enum { N = 4 };
    static float img[N * 3072];
    int32_t lab[N];
    int arch[40];
    make_batch(13, N, img, lab);
    struct sh *s = open_or_skip(backend, opts, NULL, 0);
    CHECK(info_of(s, tf_final_arc).supergraph_params == count_by_hand(3, 4, 5, 5, op_extern, NULL, SUPER));
    for (int t = 0; t < 35; t += 3) {
        cover_arch(t, arch);
        pass_checked(s, NULL, arch, img, lab, N, "extern search");
    }
    sh_close(s);
    cover_arch(4, arch);
    for (int i = 0; i < 20; i++)
        arch[2 * i + 1] = 1 + i % 2; /* relu and conv everywhere, reduction inputs included */
    s = open_or_skip(backend, opts, arch, 40);
    CHECK(info_of(s, arch).child_params == count_by_hand(3, 4, 5, 5, op_extern, arch, FINAL));
    pass_checked(s, NULL, arch, img, lab, N, "extern final");
    sh_close(s);
    /* a name nobody registered, attributes on a built-in, an empty candidate: the space is not created */
    const char *bad[] = {"micro.ops=sep_conv_3x3|no_such_op", "micro.ops=sep_conv_3x3(kernel=5)|identity",
                         "micro.ops=sep_conv_3x3||identity"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = NULL;
        CHECK_MSG(sh_open(&s, plugin_dir, backend, "micro", bad[i], NULL, 0) != 0, "'%s' was accepted",
                  bad[i]);
        sh_close(s);
    }
    /* ... and a name nobody registered is an error of the ops setting (ENAS_ERR_CONFIG: exit 2), not a
     * run-time failure (it was ENAS_ERR_NOT_FOUND: exit 1), named as such */
    struct enas_err err = {0};
    CHECK_ERR(create_status("sep_conv_3x3|no_such_op", &err), err, ENAS_ERR_CONFIG,
              "micro.ops: candidate 'no_such_op': no op named 'no_such_op'; registered ops: ");
    CHECK_ERR(create_status("identity|relu", &err), err, ENAS_OK, NULL);
    /* a candidate that changes the shape breaks the contract: the pass fails (the message names it) */
    s = open_or_skip(backend, "micro.num-layers=1 micro.out-filters=4 micro.ops=identity|max_pool(stride=2)",
                     NULL, 0);
    for (int i = 0; i < 40; i++)
        arch[i] = i % 2 ? 1 : 0;
    double loss, acc;
    fprintf(stderr, "(an error about candidate 'max_pool' is expected next)\n");
    CHECK(sh_pass(s, arch, img, lab, N, 1, 0.0, &loss, &acc) != 0);
    sh_close(s);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* TF example architecture, L=2 F=8, batch 32, SGD with a cosine schedule, at most 300 steps or 60 s
 * (wall clock), on the first 2,000 training images; accuracy on the next 500. */
static void test_train(void)
{
    float *img = NULL;
    int32_t *lab = NULL;
    int rc = sh_cifar(2500, &img, &lab);
    if (rc == 77)
        exit(77);
    CHECK(rc == 0);
    if (rc)
        return;
    struct sh *s = open_or_skip(backend, "micro.num-layers=2 micro.out-filters=8 micro.drop-path-keep-prob=1",
                                tf_final_arc, 40);
    enum { B = 32, TRAIN = 2000, STEPS = 300 };
    static float batch[B * 3072];
    int32_t blab[B];
    uint64_t seed = 1;
    const double t0 = now();
    int step = 0;
    double loss = 0.0, acc = 0.0;
    for (; step < STEPS && now() - t0 < 60.0; step++) {
        for (int i = 0; i < B; i++) {
            int k = (int)(lcg(&seed) % TRAIN);
            memcpy(batch + i * 3072, img + (size_t)k * 3072, 3072 * sizeof(float));
            blab[i] = lab[k];
        }
        double lr =
            0.05 * (0.5 + 0.5 * cos(3.14159265358979 * fmax((double)step / STEPS, (now() - t0) / 60.0)));
        if (sh_pass(s, tf_final_arc, batch, blab, B, 1, lr, &loss, &acc) != 0) {
            CHECK(0);
            break;
        }
    }
    double correct = 0.0;
    for (int i = TRAIN; i < 2500; i += 100) {
        double l, a;
        CHECK(sh_pass(s, tf_final_arc, img + (size_t)i * 3072, lab + i, 100, 0, 0.0, &l, &a) == 0);
        correct += a * 100.0;
    }
    double held = correct / 500.0;
    printf("train: %d steps in %.1f s, last loss %.3f, held-out accuracy %.3f\n", step, now() - t0, loss,
           held);
    CHECK_MSG(held > 0.30, "held-out accuracy %.3f after %d steps", held, step);
    sh_close(s);
    free(img);
    free(lab);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_space_micro PLUGIN_DIR BACKEND static|ops|paths|extern|train\n");
        return 2;
    }
    plugin_dir = argv[1];
    backend = argv[2];
    const char *part = argv[3];
    if (strcmp(part, "static") == 0) {
        test_static();
        test_counts();
    } else if (strcmp(part, "ops") == 0) {
        test_ops();
    } else if (strcmp(part, "paths") == 0) {
        test_paths();
    } else if (strcmp(part, "extern") == 0) {
        test_extern();
    } else if (strcmp(part, "train") == 0) {
        test_train();
    } else {
        fprintf(stderr, "unknown part '%s'\n", part);
        return 2;
    }
    return check_exit("test_space_micro");
}
