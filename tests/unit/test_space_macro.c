/* test_space_macro.c - the macro space (spaces/macro): `test_space_macro PLUGIN_DIR BACKEND MODE`.
 * unit:   decisions and labels, TF string / NNI round trip (ENAS.md 10.1), validate, DOT, parameter counts
 *         against hand formulas, multiply-adds, every op at every position with no / all / random skips
 *         forward and backward (search and fixed), and no gradient or BN update off the chosen path;
 *         with BACKEND != ref also logits and gradients against ref from identical weights.
 * train:  a fixed architecture learns a 2,000-image CIFAR-10 subset (77 without ENAS_DATA). */
#include "check.h"
#include "spacehelp.h"

#include "arch/arch.h"

#include <stdlib.h>
#include <time.h>

#define SMALL "macro.num-layers=4 macro.out-filters=8 macro.keep-prob=1"

static const char *plugin_dir;

/* Hand formulas from ENAS.md 2.1-2.4 (BN gamma + beta = 2 per channel; buffers excluded). Search mode,
 * every tensor F wide: branch = 1x1 conv F^2 + BN 2F, then conv k: k^2 F^2 + 2F, sep k: k^2 F + F^2 + 2F,
 * pool: nothing. */
static int64_t branch_search(int op, int64_t f)
{
    static const int64_t k2[4] = {9, 9, 25, 25};
    int64_t base = f * f + 2 * f;
    if (op >= 4)
        return base;
    return base + (op % 2 ? k2[op] * f + f * f : k2[op] * f * f) + 2 * f;
}

/* stem (27F + 2F) + branches + skip BN (2F per layer >= 1) + n_fr x (FR F^2 + BN 2F) + FC 10F. */
static int64_t child_search(const int *ops, int64_t L, int64_t f, int64_t n_fr)
{
    int64_t n = 29 * f + 2 * f * (L - 1) + n_fr * (f * f + 2 * f) + 10 * f;
    for (int64_t i = 0; i < L; i++)
        n += branch_search(ops[i], f);
    return n;
}

/* Supergraph: every branch of every layer (42F^2 + 54F for 6 branches) and an FR per list position at
 * both reductions: (d + 1) + (2d + 1) with d = L / 3. */
static int64_t super_search(int64_t L, int64_t f)
{
    int64_t per_layer = 0;
    for (int b = 0; b < 6; b++)
        per_layer += branch_search(b, f);
    CHECK(per_layer == 42 * f * f + 54 * f);
    int64_t d = L / 3;
    return 29 * f + L * per_layer + 2 * f * (L - 1) + (3 * d + 2) * (f * f + 2 * f) + 10 * f;
}

static size_t arch_pos(int i)
{
    return (size_t)(i * (i + 1) / 2);
}

/* ops per layer; skips: 0 none, 1 all, 2 random (seeded). */
static void make_arch(int L, const int *ops, int skips, uint64_t seed, int *arch)
{
    for (int i = 0; i < L; i++) {
        arch[arch_pos(i)] = ops[i];
        for (int j = 0; j < i; j++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            arch[arch_pos(i) + 1 + (size_t)j] = skips == 2 ? (int)(seed >> 63) : skips;
        }
    }
}

static void fill_images(float *img, int32_t *y, int n, uint64_t seed)
{
    for (int i = 0; i < n * 3072; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        img[i] = (float)(seed >> 40) / 16777216.0f - 0.5f;
    }
    for (int i = 0; i < n; i++)
        y[i] = i % 10;
}

static void zero_grads(struct sh *s)
{
    size_t np;
    struct enas_param *const *ps = sh_params(s, &np);
    for (size_t k = 0; k < np; k++)
        if (ps[k]->grad)
            memset(ps[k]->grad, 0, (size_t)enas_tensor_numel(&ps[k]->value) * sizeof(float));
}

/* One training pass (no step) on 4 images; logits and every gradient finite. */
static void check_pass(struct sh *s, const int *arch, const char *what)
{
    float img[4 * 3072];
    int32_t y[4];
    double loss = NAN, acc;
    fill_images(img, y, 4, 5);
    zero_grads(s);
    int rc = sh_pass(s, arch, img, y, 4, 1, 0.0, &loss, &acc);
    CHECK_MSG(rc == 0 && isfinite(loss), "%s: pass failed or loss %g", what, loss);
    size_t np, bad = 0;
    struct enas_param *const *ps = sh_params(s, &np);
    for (size_t k = 0; k < np; k++)
        for (int64_t i = 0; ps[k]->grad && i < enas_tensor_numel(&ps[k]->value); i++)
            bad += !isfinite(ps[k]->grad[i]);
    CHECK_MSG(bad == 0, "%s: %zu non-finite gradients", what, bad);
}

static void test_decisions(void)
{
    struct sh *s = NULL;
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", "", NULL, 0) == 0);
    const struct enas_space_desc *d = sh_desc(s);
    CHECK(d->default_epochs == 310);
    CHECK(d->n_decisions(sh_state(s)) == 23);
    CHECK(sh_arch_len(s) == 78);
    const struct enas_decision *d0 = d->decision(sh_state(s), 0), *d1 = d->decision(sh_state(s), 1);
    const struct enas_decision *d2 = d->decision(sh_state(s), 2), *dl = d->decision(sh_state(s), 22);
    CHECK(strcmp(d0->label, "LayerChoice1") == 0 && d0->kind == ENAS_CHOICE_ONE && d0->n_candidates == 6);
    CHECK(strcmp(d1->label, "LayerChoice2") == 0 && d1->role == ENAS_ROLE_OP);
    /* TF GeneralController: layer 0's anchor is an extra LSTM step, later ones the skip query */
    CHECK(d0->new_scope && d0->anchor == ENAS_ANCHOR_STEP && !d1->new_scope &&
          d1->anchor == ENAS_ANCHOR_NONE);
    CHECK(d2->anchor == ENAS_ANCHOR_QUERY && dl->anchor == ENAS_ANCHOR_QUERY);
    CHECK(strcmp(d2->label, "InputChoice3") == 0 && d2->kind == ENAS_CHOICE_ANY && d2->n_candidates == 1);
    CHECK(strcmp(dl->label, "InputChoice23") == 0 && dl->n_candidates == 11 && dl->role == ENAS_ROLE_INPUT);
    CHECK(strcmp(dl->candidate_names[10], "layer_10") == 0);
    CHECK(d->decision(sh_state(s), 23) == NULL);
    sh_close(s);
}

/* ENAS.md 10.1 / 10.3: the first six layers of the TF final arc. */
static void test_roundtrip(void)
{
    static const char tf[] = "0 3 0 0 1 0 2 0 0 1 2 0 0 0 0 3 1 1 0 1 0";
    static const int want[] = {0, 3, 0, 0, 1, 0, 2, 0, 0, 1, 2, 0, 0, 0, 0, 3, 1, 1, 0, 1, 0};
    struct sh *s = NULL;
    struct enas_err err = {0};
    int *a = NULL, *b = NULL;
    size_t n = 0, nb = 0;
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", "macro.num-layers=6", NULL, 0) == 0);
    struct enas_arch_space as = {sh_desc(s), sh_state(s)};
    CHECK(enas__arch_parse(&as, tf, "tf", &a, &n, &err) == ENAS_OK && n == 21);
    for (size_t i = 0; a && i < n && n == 21; i++)
        CHECK(a[i] == want[i]);
    char *text = a ? enas__arch_format(&as, a, n, ENAS_ARCH_TF) : NULL;
    CHECK(text && strncmp(text, tf, sizeof tf - 1) == 0);
    free(text);
    text = a ? enas__arch_format(&as, a, n, ENAS_ARCH_NNI) : NULL;
    CHECK(text && strstr(text, "\"LayerChoice2\": 3") && strstr(text, "\"InputChoice3\": []") &&
          strstr(text, "\"InputChoice5\": \"layer_0\"") && strstr(text, "\"InputChoice7\": \"layer_2\"") &&
          strstr(text, "\"LayerChoice10\": 3") && strstr(text, "\"layer_3\""));
    CHECK(text && enas__arch_parse(&as, text, "nni", &b, &nb, &err) == ENAS_OK && nb == n);
    CHECK(b && nb == n && memcmp(a, b, n * sizeof *a) == 0);
    free(text);
    free(b);
    b = NULL;
    text = a ? enas__arch_format(&as, a, n, ENAS_ARCH_NNI_RETIARII) : NULL; /* candidate indices */
    CHECK(text && strstr(text, "\"InputChoice5\": 0") && strstr(text, "\"InputChoice7\": 2"));
    CHECK(text && enas__arch_parse(&as, text, "retiarii", &b, &nb, &err) == ENAS_OK && nb == n);
    CHECK(b && nb == n && memcmp(a, b, n * sizeof *a) == 0);
    free(text);
    free(a);
    free(b);
    sh_close(s);
}

struct sbuf {
    char *p;
    size_t n;
};

static int sbuf_write(void *ctx, const char *text, size_t len)
{
    struct sbuf *b = ctx;
    char *q = realloc(b->p, b->n + len + 1);
    if (!q)
        return 1;
    memcpy(q + b->n, text, len);
    b->n += len;
    q[b->n] = '\0';
    b->p = q;
    return 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int64_t child_params(struct sh *s, const int *arch, double *madds)
{
    struct enas_child_info ci = {0};
    struct enas_err err = {0};
    CHECK(sh_desc(s)->info(sh_state(s), arch, sh_arch_len(s), &ci, &err) == ENAS_OK);
    if (madds)
        *madds = ci.child_madds;
    return ci.child_params;
}

/* num_branches = 4 rejects pooling ops, naming the layer; bad bits; a wrong length. */
static void test_validate_dot(void)
{
    struct sh *s = NULL;
    struct enas_err err = {0};
    int arch[10];
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL " macro.num-branches=4", NULL, 0) == 0);
    const struct enas_space_desc *d = sh_desc(s);
    const int ops[4] = {0, 1, 5, 3};
    make_arch(4, ops, 1, 0, arch);
    CHECK_ERR(d->validate(sh_state(s), arch, 10, &err), err, ENAS_ERR_INVALID_ARG, "layer 2 (position 3)");
    arch[3] = 2, arch[5] = 2;
    CHECK_ERR(d->validate(sh_state(s), arch, 10, &err), err, ENAS_ERR_INVALID_ARG, "skip bit 1");
    CHECK_ERR(d->validate(sh_state(s), arch, 9, &err), err, ENAS_ERR_INVALID_ARG, "10 ints");
    arch[5] = 0;
    CHECK(d->validate(sh_state(s), arch, 10, &err) == ENAS_OK);
    struct sbuf out = {0};
    CHECK(d->dot(sh_state(s), arch, 10, sbuf_write, &out, &err) == ENAS_OK);
    CHECK(out.p && strstr(out.p, "digraph macro {") &&
          strstr(out.p, "layer3 [label=\"layer 3: sep conv 5x5") && strstr(out.p, "stem -> layer0;") &&
          strstr(out.p, "layer3 -> head;") && strstr(out.p, "stem -> layer3 [style=dashed]"));
    CHECK(count(out.p, "style=dashed") == 5 && count(out.p, "peripheries=2") == 2);
    free(out.p);
    sh_close(s);
}

/* Search L=4 F=8 (d = 1: reductions after layers 0 and 1) and L=12 F=36; fixed L=4 F=8. */
static void test_counts(void)
{
    struct sh *s = NULL;
    int arch[78];
    double madds = 0;
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL, NULL, 0) == 0);
    const int a_ops[4] = {0, 1, 2, 3}, b_ops[4] = {4, 5, 0, 1}, pool_ops[4] = {4, 4, 4, 4};
    make_arch(4, a_ops, 1, 0, arch);
    CHECK(super_search(4, 8) == 13240);
    struct enas_child_info ci = {0};
    CHECK(sh_desc(s)->info(sh_state(s), arch, 10, &ci, NULL) == ENAS_OK && ci.supergraph_params == 13240);
    /* all skips: every list position is read after both reductions, so all 2 + 3 FRs run */
    CHECK(child_params(s, arch, NULL) == child_search(a_ops, 4, 8, 5));
    /* no skips: only the chain's FRs (position 1 at the first reduction, 2 at the second) */
    make_arch(4, b_ops, 0, 0, arch);
    CHECK(child_params(s, arch, NULL) == child_search(b_ops, 4, 8, 2));
    /* madds of one image, all avg pool, no skips: stem 32*32*27*8, 1x1 convs H*W*8*8 at 32, 16, 8, 8,
     * FRs Ho*Wo*8*8 at 16 and 8, FC 8*10 */
    make_arch(4, pool_ops, 0, 0, arch);
    child_params(s, arch, &madds);
    CHECK_NEAR(madds, 1024.0 * 216 + 64.0 * (1024 + 256 + 64 + 64) + 64.0 * (256 + 64) + 80, 0.5);
    sh_close(s);

    CHECK(sh_open(&s, plugin_dir, "ref", "macro", "", NULL, 0) == 0);
    int ops12[12];
    for (int i = 0; i < 12; i++)
        ops12[i] = i % 6;
    make_arch(12, ops12, 1, 0, arch);
    CHECK(super_search(12, 36) == 697860);
    CHECK(sh_desc(s)->info(sh_state(s), arch, 78, &ci, NULL) == ENAS_OK && ci.supergraph_params == 697860);
    CHECK(ci.child_params == child_search(ops12, 12, 36, 14)); /* d = 4: 5 + 9 FRs */
    sh_close(s);

    /* Fixed (final) L=4 F=8: widths 8 / 16 / 32 for layers 0 / 1 / 2-3 (doubled at each reduction);
     * ops conv3, sep5, sep3, max3; skips layer1 [1], layer2 [0 1], layer3 [1 0 1]. ReLU-conv-BN branches,
     * then for i >= 1 concat -> 1x1 ((1 + skips) f -> f) + BN:
     *   stem 29*8 = 232; L0 conv3 f=8: 10f^2 + 4f = 672; L1 sep5 f=16: 2f^2 + 29f = 976, join 2f^2 + 2f =
     * 544; L2 sep3 f=32: 2f^2 + 13f = 2464, join 2112; L3 max f=32: f^2 + 2f = 1088, join 3f^2 + 2f = 3136;
     *   FRs (every one is read): 2 x (8*16 + 2*16) + 3 x (16*32 + 2*32) = 320 + 1728; FC 32*10 = 320. */
    static const int c_arch[10] = {0, 3, 1, 1, 0, 1, 5, 1, 0, 1};
    const int64_t c_want = 232 + 672 + 976 + 544 + 2464 + 2112 + 1088 + 3136 + 320 + 1728 + 320;
    CHECK(c_want == 13592);
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL, c_arch, 10) == 0);
    CHECK(sh_desc(s)->info(sh_state(s), c_arch, 10, &ci, NULL) == ENAS_OK);
    CHECK(ci.child_params == c_want && ci.supergraph_params == c_want);
    sh_close(s);
    /* TF's final code: ops 1/3 as ordinary convs: sep5 -> 26f^2 + 4f at f=16, sep3 -> 10f^2 + 4f at f=32 */
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL " macro.final-sep-conv=false", c_arch, 10) == 0);
    CHECK(child_params(s, c_arch, NULL) == c_want - 976 - 2464 + (26 * 256 + 64) + (10 * 1024 + 128));
    sh_close(s);
}

/* Every op at every position, no / all / random skips, search and fixed, forward and backward. */
static void test_ops(const char *backend)
{
    struct sh *s = NULL;
    int arch[10];
    char what[64];
    if (sh_open(&s, plugin_dir, backend, "macro", SMALL, NULL, 0) != 0)
        CHECK(0);
    for (int op = 0; s && op < 6; op++)
        for (int sk = 0; sk < 3; sk++) {
            const int ops[4] = {op, op, op, op};
            make_arch(4, ops, sk, (uint64_t)op, arch);
            snprintf(what, sizeof what, "search op %d skips %d", op, sk);
            check_pass(s, arch, what);
        }
    sh_close(s);
    for (int op = 0; op < 6; op++)
        for (int sk = 0; sk < 3; sk++) {
            const int ops[4] = {op, op, op, op};
            make_arch(4, ops, sk, 7 + (uint64_t)op, arch);
            snprintf(what, sizeof what, "fixed op %d skips %d", op, sk);
            CHECK(sh_open(&s, plugin_dir, backend, "macro", SMALL, arch, 10) == 0);
            check_pass(s, arch, what);
            sh_close(s);
        }
}

/* A fixed network runs only its own architecture. */
static void test_fixed_mismatch(void)
{
    struct sh *s = NULL;
    struct enas_err err = {0};
    int arch[10], other[10];
    const int ops[4] = {0, 1, 2, 3};
    make_arch(4, ops, 2, 3, arch);
    memcpy(other, arch, sizeof arch);
    other[0] = 2;
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL, arch, 10) == 0);
    struct enas_child_info ci;
    CHECK_ERR(sh_desc(s)->info(sh_state(s), other, 10, &ci, &err), err, ENAS_ERR_INVALID_ARG, "position 0");
    sh_close(s);
    other[0] = 9;
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL, other, 10) == 1);
    sh_close(s);
}

/* Is parameter `name` on the path of ops {4, 5, 0, 1} without skips (FRs of positions 1 and 2 only)? */
static int on_path(const char *name)
{
    static const char *const used[] = {"macro.stem.",           "macro.fc.",
                                       "macro.layer0.branch4.", "macro.layer1.branch5.",
                                       "macro.layer2.branch0.", "macro.layer3.branch1.",
                                       "macro.layer1.skip_bn.", "macro.layer2.skip_bn.",
                                       "macro.layer3.skip_bn.", "macro.reduce0.from1.",
                                       "macro.reduce1.from2."};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        if (strncmp(name, used[i], strlen(used[i])) == 0)
            return 1;
    return 0;
}

/* Off the chosen path: zero gradient and BN statistics untouched; on it: some gradient, updated stats. */
static void test_chosen_only(void)
{
    struct sh *s = NULL;
    int arch[10];
    const int ops[4] = {4, 5, 0, 1};
    make_arch(4, ops, 0, 0, arch);
    CHECK(sh_open(&s, plugin_dir, "ref", "macro", SMALL, NULL, 0) == 0);
    size_t np, total = 0;
    struct enas_param *const *ps = sh_params(s, &np);
    for (size_t k = 0; k < np; k++)
        total += (size_t)enas_tensor_numel(&ps[k]->value);
    float *before = malloc((total + 1) * sizeof *before), *at = before;
    for (size_t k = 0; before && k < np; k++, at += enas_tensor_numel(&ps[k - 1]->value))
        memcpy(at, ps[k]->value.data, (size_t)enas_tensor_numel(&ps[k]->value) * sizeof *at);
    check_pass(s, arch, "chosen path");
    int bad = 0, n_on = 0;
    at = before;
    for (size_t k = 0; before && k < np; at += enas_tensor_numel(&ps[k]->value), k++) {
        const struct enas_param *p = ps[k];
        int64_t n = enas_tensor_numel(&p->value), nz = 0, moved = 0;
        for (int64_t i = 0; i < n; i++) {
            nz += p->grad && p->grad[i] != 0.0f;
            moved += p->value.data[i] != at[i];
        }
        int on = on_path(p->name), touched = p->grad ? nz > 0 : moved > 0;
        n_on += on;
        if (on != touched) {
            fprintf(stderr, "%s: on path %d, %s %lld of %lld\n", p->name, on,
                    p->grad ? "grads" : "stats moved", (long long)(p->grad ? nz : moved), (long long)n);
            bad++;
        }
    }
    CHECK(bad == 0 && n_on > 20);
    free(before);
    sh_close(s);
}

/* max |a - b| over max |b|, with a floor: the beta of a BN that feeds another training-mode BN has a zero
 * gradient in exact arithmetic (the shift cancels), and so has the running mean behind a zero-mean input;
 * both backends give rounding noise there, which `floor` (1% of the largest value of its kind) absorbs. */
static double rel_diff(const float *a, const float *b, int64_t n, double floor)
{
    double d = 0, m = floor;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? d / m : d;
}

static double max_abs(struct enas_param *const *ps, size_t n, int grads)
{
    double m = 0;
    for (size_t k = 0; k < n; k++)
        for (int64_t i = 0; (grads ? ps[k]->grad != NULL : 1) && i < enas_tensor_numel(&ps[k]->value); i++)
            m = fmax(m, fabs((double)(grads ? ps[k]->grad[i] : ps[k]->value.data[i])));
    return m;
}

/* BACKEND against ref from identical weights: logits and every gradient within 1e-3 relative. */
static int test_parity(const char *backend, const int *fixed)
{
    struct sh *r = NULL, *b = NULL;
    int arch[10], rc = sh_open(&b, plugin_dir, backend, "macro", SMALL, fixed, fixed ? 10 : 0);
    if (rc == 77) {
        sh_close(b);
        return 77;
    }
    const int ops[4] = {0, 1, 3, 2};
    make_arch(4, ops, 2, 11, arch);
    if (fixed)
        memcpy(arch, fixed, sizeof arch);
    CHECK(rc == 0 && sh_open(&r, plugin_dir, "ref", "macro", SMALL, fixed, fixed ? 10 : 0) == 0);
    size_t nr = 0, nb = 0;
    struct enas_param *const *pr = r ? sh_params(r, &nr) : NULL, *const *pb = b ? sh_params(b, &nb) : NULL;
    CHECK(rc == 0 && nr == nb && nr > 0);
    for (size_t k = 0; rc == 0 && k < nr && nr == nb; k++) {
        CHECK(strcmp(pr[k]->name, pb[k]->name) == 0);
        memcpy(pb[k]->value.data, pr[k]->value.data,
               (size_t)enas_tensor_numel(&pr[k]->value) * sizeof(float));
    }
    check_pass(r, arch, "parity: ref");
    check_pass(b, arch, "parity: backend");
    const struct enas_tensor *lr = sh_logits(r), *lb = sh_logits(b);
    CHECK(lr && lb && rel_diff(lb->data, lr->data, enas_tensor_numel(lr), 0.0) < 1e-3);
    const double gfloor = 1e-2 * max_abs(pr, nr, 1), vfloor = 1e-2 * max_abs(pr, nr, 0);
    for (size_t k = 0; rc == 0 && k < nr && nr == nb; k++) {
        const int g = pr[k]->grad != NULL;
        double d = rel_diff(g ? pb[k]->grad : pb[k]->value.data, g ? pr[k]->grad : pr[k]->value.data,
                            enas_tensor_numel(&pr[k]->value), g ? gfloor : vfloor);
        CHECK_MSG(d < 1e-3, "%s: %s relative difference %g", pr[k]->name, g ? "gradient" : "value", d);
    }
    sh_close(r);
    sh_close(b);
    return rc;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* L=4 fixed: conv3; sep3 + skip stem; conv3 + skip layer0; conv5 + skips stem, layer1. SGD steps of 32 from
 * the first 1,800 images (cosine lr from 0.05), then the last 200 in inference mode. F=16 (16/32/64) for
 * 300 steps on oneDNN (about 10 s on 2 cores); without it ref, single-threaded, gets F=8 (8/16/32) and 200
 * steps (about 3 minutes: the fallback only keeps the check alive where oneDNN is missing). */
static int test_train(const char *backend)
{
    static const int arch[10] = {0, 1, 1, 0, 0, 1, 2, 1, 0, 1};
    enum { B = 32, NTRAIN = 1800, NTEST = 200 };
    float *img = NULL, *batch = malloc((size_t)B * 3072 * sizeof *batch);
    int32_t *y = NULL, yb[B];
    struct sh *s = NULL;
    int steps = 300, rc = sh_cifar(NTRAIN + NTEST, &img, &y);
    if (rc == 0 && (rc = sh_open(&s, plugin_dir, backend, "macro", "macro.num-layers=4 macro.out-filters=16",
                                 arch, 10)) == 77) {
        sh_close(s);
        backend = "ref";
        steps = 200;
        rc = sh_open(&s, plugin_dir, backend, "macro", "macro.num-layers=4 macro.out-filters=8", arch, 10);
    }
    double t0 = now(), tail = 0, held = 0, loss, acc;
    uint64_t seed = 3;
    for (int step = 0; rc == 0 && batch && step < steps; step++) {
        for (int i = 0; i < B; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int64_t k = (int64_t)((seed >> 33) % NTRAIN);
            memcpy(batch + (size_t)i * 3072, img + k * 3072, 3072 * sizeof *batch);
            yb[i] = y[k];
        }
        double lr = 0.025 * (1.0 + cos(3.14159265358979 * step / (double)steps));
        rc = sh_pass(s, arch, batch, yb, B, 1, lr, &loss, &acc);
        tail += step >= steps - 50 ? acc / 50 : 0;
    }
    for (int part = 0; rc == 0 && part < 2; part++) {
        int64_t at = NTRAIN + part * (NTEST / 2);
        rc = sh_pass(s, arch, img + at * 3072, y + at, NTEST / 2, 0, 0, &loss, &acc);
        held += acc / 2;
    }
    if (rc == 0)
        printf("train (%s): %d steps of %d in %.1f s; train accuracy (last 50 steps) %.3f, held-out %.3f\n",
               backend, steps, B, now() - t0, tail, held);
    CHECK(rc == 77 || (rc == 0 && held > 0.30));
    sh_close(s);
    free(img);
    free(y);
    free(batch);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_space_macro PLUGIN_DIR BACKEND unit|train\n");
        return 2;
    }
    plugin_dir = argv[1];
    if (strcmp(argv[3], "train") == 0) {
        setenv("ENAS_DATA", "data", 0); /* ctest runs this from the source root */
        if (test_train(argv[2]) == 77)
            return 77;
    } else if (strcmp(argv[2], "ref") != 0) {
        static const int fixed[10] = {0, 3, 1, 1, 0, 1, 5, 1, 0, 1};
        if (test_parity(argv[2], NULL) == 77)
            return 77;
        test_parity(argv[2], fixed);
        test_ops(argv[2]);
    } else {
        test_decisions();
        test_roundtrip();
        test_validate_dot();
        test_counts();
        test_fixed_mismatch();
        test_chosen_only();
        test_ops("ref");
    }
    return check_exit("test_space_macro");
}
