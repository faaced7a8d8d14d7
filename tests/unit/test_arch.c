/* test_arch.c - architecture formats over spaces whose decisions mimic the ENAS macro space (6 layers)
 * and micro space (5 nodes): the examples of ENAS.md §10 convert exactly, random architectures round
 * trip TF -> NNI -> TF and TF -> Retiarii -> TF, and each malformed input gets its named error. */
#include "arch/arch.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L = 6, NODES = 5, MAX_DEC = 64 };

struct fake {
    struct enas_decision d[MAX_DEC];
    char labels[MAX_DEC][40];
    size_t n;
};

static const char *const layer_names[] = {"layer_0", "layer_1", "layer_2", "layer_3", "layer_4"};

static size_t fake_n(void *st)
{
    return ((struct fake *)st)->n;
}

static const struct enas_decision *fake_dec(void *st, size_t i)
{
    return &((struct fake *)st)->d[i];
}

static struct enas_decision *add(struct fake *f, enum enas_choice_kind k, enum enas_choice_role r, unsigned n,
                                 const char *label)
{
    struct enas_decision *d = &f->d[f->n];
    snprintf(f->labels[f->n], sizeof f->labels[0], "%s", label);
    *d = (struct enas_decision){.label = f->labels[f->n], .kind = k, .role = r, .n_candidates = n};
    f->n++;
    return d;
}

static void make_macro(struct fake *f)
{
    char l[40];
    f->n = 0;
    for (int i = 0; i < L; i++) {
        snprintf(l, sizeof l, "LayerChoice%d", i == 0 ? 1 : 2 * i);
        add(f, ENAS_CHOICE_ONE, ENAS_ROLE_OP, 6, l);
        if (i > 0) {
            snprintf(l, sizeof l, "InputChoice%d", 2 * i + 1);
            add(f, ENAS_CHOICE_ANY, ENAS_ROLE_INPUT, (unsigned)i, l)->candidate_names = layer_names;
        }
    }
}

static void make_micro(struct fake *f)
{
    static const char *const cells[] = {"normal", "reduce"}, *const slots[] = {"x", "y"};
    char l[40];
    f->n = 0;
    for (int c = 0; c < 2; c++)
        for (int n = 0; n < NODES; n++)
            for (int s = 0; s < 2; s++) {
                snprintf(l, sizeof l, "%s_node_%d_%s_input", cells[c], n, slots[s]);
                add(f, ENAS_CHOICE_ONE, ENAS_ROLE_INPUT, (unsigned)n + 2, l);
                snprintf(l, sizeof l, "%s_node_%d_%s_op", cells[c], n, slots[s]);
                add(f, ENAS_CHOICE_ONE, ENAS_ROLE_OP, 5, l);
            }
}

static const struct enas_space_desc macro_desc = {
    .name = "macro", .n_decisions = fake_n, .decision = fake_dec};
static const struct enas_space_desc micro_desc = {
    .name = "micro", .n_decisions = fake_n, .decision = fake_dec};

static void test_macro_examples(void)
{
    struct fake f;
    make_macro(&f);
    struct enas_arch_space s = {&macro_desc, &f};
    struct enas_err err;
    int *a = NULL;
    size_t n = 0;
    CHECK(enas__arch_len(&s) == L + L * (L - 1) / 2);
    const char *tf = "0 | 3 0 | 0 1 0 | 2 0 0 1 | 2 0 0 0 0 | 3 1 1 0 1 0";
    CHECK(enas__arch_parse(&s, tf, "ex", &a, &n, &err) == ENAS_OK);
    char *nni = enas__arch_format(&s, a, n, ENAS_ARCH_NNI);
    const char *want =
        "{\n  \"InputChoice11\": [\n    \"layer_0\",\n    \"layer_1\",\n    \"layer_3\"\n  ],\n"
        "  \"InputChoice3\": [],\n  \"InputChoice5\": \"layer_0\",\n  \"InputChoice7\": \"layer_2\",\n"
        "  \"InputChoice9\": [],\n  \"LayerChoice1\": 0,\n  \"LayerChoice10\": 3,\n"
        "  \"LayerChoice2\": 3,\n  \"LayerChoice4\": 0,\n  \"LayerChoice6\": 2,\n  \"LayerChoice8\": 2\n}\n";
    CHECK_MSG(nni && strcmp(nni, want) == 0, "got:\n%s", nni ? nni : "(null)");
    char *ret = enas__arch_format(&s, a, n, ENAS_ARCH_NNI_RETIARII);
    const char *want_r = "{\n  \"LayerChoice1\": 0,\n  \"LayerChoice2\": 3,\n  \"LayerChoice4\": 0,\n"
                         "  \"LayerChoice6\": 2,\n  \"LayerChoice8\": 2,\n  \"LayerChoice10\": 3,\n"
                         "  \"InputChoice3\": [],\n  \"InputChoice5\": 0,\n  \"InputChoice7\": 2,\n"
                         "  \"InputChoice9\": [],\n  \"InputChoice11\": [\n    0,\n    1,\n    3\n  ]\n}\n";
    CHECK_MSG(ret && strcmp(ret, want_r) == 0, "got:\n%s", ret ? ret : "(null)");
    char *back = enas__arch_format(&s, a, n, ENAS_ARCH_TF);
    CHECK(back && strcmp(back, "0 3 0 0 1 0 2 0 0 1 2 0 0 0 0 3 1 1 0 1 0\n") == 0);
    /* NNI's reader also takes names in lists, single-element lists and full-length boolean masks */
    const char *loose =
        "{\"LayerChoice1\": [0], \"LayerChoice2\": 3, \"InputChoice3\": [false], \"LayerChoice4\": 0,"
        " \"InputChoice5\": [\"layer_0\"], \"LayerChoice6\": 2, \"InputChoice7\": 2, \"LayerChoice8\": 2,"
        " \"InputChoice9\": [], \"LayerChoice10\": 3, \"InputChoice11\": [true, true, false, true, false]}";
    int *b = NULL;
    size_t nb = 0;
    CHECK(enas__arch_parse(&s, loose, "loose", &b, &nb, &err) == ENAS_OK && nb == n &&
          memcmp(a, b, n * sizeof *a) == 0);
    free(b);
    free(back);
    free(ret);
    free(nni);
    free(a);
}

static void test_micro_example(void)
{
    struct fake f;
    make_micro(&f);
    struct enas_arch_space s = {&micro_desc, &f};
    struct enas_err err;
    int *a = NULL;
    size_t n = 0;
    const char *tf =
        "0 2 0 0  0 4 0 1  0 4 1 1  1 0 0 1  0 2 1 1   1 0 1 0  0 3 0 2  1 1 3 1  1 0 0 4  0 3 1 1";
    CHECK(enas__arch_parse(&s, tf, "micro", &a, &n, &err) == ENAS_OK && n == 40);
    char *nni = enas__arch_format(&s, a, n, ENAS_ARCH_NNI);
    CHECK(nni && strstr(nni, "\"normal_node_0_x_op\": 2,") && strstr(nni, "\"normal_node_1_x_op\": 4,"));
    CHECK(nni && strstr(nni, "\"reduce_node_2_y_input\": 3,") && strstr(nni, "\"reduce_node_3_y_op\": 4,"));
    int *b = NULL;
    size_t nb = 0;
    CHECK(enas__arch_parse(&s, nni, "nni", &b, &nb, &err) == ENAS_OK && nb == n &&
          memcmp(a, b, n * sizeof *a) == 0);
    free(b);
    free(nni);
    free(a);
}

static void round_trips(const struct enas_arch_space *s, uint64_t seed)
{
    size_t n = enas__arch_len(s);
    int a[256], pos;
    for (int rep = 0; rep < 200; rep++) {
        pos = 0;
        for (size_t i = 0; i < s->desc->n_decisions(s->state); i++) {
            const struct enas_decision *d = s->desc->decision(s->state, i);
            for (unsigned j = 0; j < (d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates); j++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                a[pos++] = d->kind == ENAS_CHOICE_ONE ? (int)((seed >> 33) % d->n_candidates)
                                                      : (int)((seed >> 33) & 1);
            }
        }
        for (int f = ENAS_ARCH_TF; f <= ENAS_ARCH_NNI_RETIARII; f++) {
            char *text = enas__arch_format(s, a, n, (enum enas_arch_format)f);
            int *b = NULL;
            size_t nb = 0;
            struct enas_err err;
            CHECK(text && enas__arch_parse(s, text, "rt", &b, &nb, &err) == ENAS_OK);
            CHECK(nb == n && b && memcmp(a, b, n * sizeof *a) == 0);
            free(b);
            free(text);
        }
    }
}

static void expect_error(const struct enas_arch_space *s, const char *text, const char *needle)
{
    struct enas_err err;
    int *a = (int *)&err;
    size_t n = 99;
    CHECK_ERR(enas__arch_parse(s, text, "f.arch", &a, &n, &err), err, ENAS_ERR_DATA, needle);
    CHECK(a == NULL && n == 0);
}

static void test_errors(void)
{
    struct fake f;
    make_macro(&f);
    struct enas_arch_space s = {&macro_desc, &f};
    expect_error(&s, "0 3 0", "f.arch: 3 values; the macro space with these settings takes 21");
    expect_error(&s, "7 | 3 0 | 0 1 0 | 2 0 0 1 | 2 0 0 0 0 | 3 1 1 0 1 0",
                 "position 0 (LayerChoice1): 7 is out of range 0..5");
    expect_error(&s, "0 | 3 2 | 0 1 0 | 2 0 0 1 | 2 0 0 0 0 | 3 1 1 0 1 0",
                 "position 2 (InputChoice3, candidate layer_0): 2 is not 0 or 1");
    expect_error(&s, "0 3 x", "f.arch: position 2: 'x' is not an integer");
    expect_error(&s, "{\"LayerChoice1\": 0,\n \"Bogus\": 1}", "f.arch:2:11: unknown key 'Bogus'");
    expect_error(&s, "{\"LayerChoice1\": 0}", "f.arch: missing key 'LayerChoice2'");
    expect_error(&s, "{\"LayerChoice1\": 0,\n  \"LayerChoice2\" 3}",
                 "f.arch:2:18: expected ':' after the key");
    expect_error(&s, "{\"LayerChoice1\": 0", "f.arch:1:19: expected ',' or '}'");
    expect_error(&s, "[1, 2]", "f.arch:1:1: expected a JSON object of decisions");
    make_macro(&f);
    char doc[1024];
    snprintf(doc, sizeof doc, "{\"LayerChoice1\": 0, \"LayerChoice2\": 3, \"InputChoice3\": \"layer_7\"}");
    expect_error(&s, doc, "key 'InputChoice3': 'layer_7' is not a candidate (layer_0 .. layer_0)");
    snprintf(doc, sizeof doc, "{\"LayerChoice1\": [0, 1]}");
    expect_error(&s, doc, "key 'LayerChoice1': exactly one candidate must be chosen, got 2");
}

/* NNI JSON of a valid architecture of s with `extra` added as its last members. */
static char *json_with(const struct enas_arch_space *s, const char *extra)
{
    size_t n = enas__arch_len(s);
    int *a = calloc(n, sizeof *a);
    char *text = a ? enas__arch_format(s, a, n, ENAS_ARCH_NNI) : NULL;
    free(a);
    char *close = text ? strrchr(text, '}') : NULL;
    char *out = close ? malloc(strlen(text) + strlen(extra) + 8) : NULL;
    if (out)
        sprintf(out, "%.*s,%s}", (int)(close - text), text, extra);
    free(text);
    return out;
}

/* Duplicate keys (Python keeps the last, a first-match lookup the first), NUL characters, and numbers that
 * strtod takes but JSON does not were all read as something. */
static void test_strict_json(void)
{
    struct fake f;
    make_macro(&f);
    struct enas_arch_space s = {&macro_desc, &f};
    char *doc = json_with(&s, "\n  \"LayerChoice1\": 5\n");
    CHECK(doc != NULL);
    if (doc)
        expect_error(&s, doc, "f.arch:14:3: duplicate key 'LayerChoice1' (first at line 7, column 3)");
    free(doc);
    struct fake g;
    make_micro(&g);
    struct enas_arch_space m = {&micro_desc, &g};
    doc =
        json_with(&m, " \"reduce_node_0_x_op\": 1, \"normal_node_4_y_input\": 2, \"normal_node_2_x_op\": 0");
    if (doc)
        expect_error(&m, doc, "f.arch:42:3: duplicate key 'reduce_node_0_x_op' (first at line 23, column 3)");
    free(doc);
    expect_error(&s, "{\"LayerChoice1\": 0, \"LayerChoice1\": 0}",
                 "f.arch:1:21: duplicate key 'LayerChoice1'");
    expect_error(&s, "{\"LayerChoice1\\u0000x\": 0}", "f.arch:1:15: \\u0000 (a NUL character) in a string");
    expect_error(&s, "{\"LayerChoice1\": 0x1}", "f.arch:1:18: bad number");
    expect_error(&s, "{\"LayerChoice1\": -inf}", "f.arch:1:18: bad number");
    expect_error(&s, "{\"LayerChoice1\": nan}", "f.arch:1:18: unexpected character");
    expect_error(&s, "{\"LayerChoice1\": 1.}", "f.arch:1:18: bad number");
    expect_error(&s, "{\"LayerChoice1\": 1e}", "f.arch:1:18: bad number");
    expect_error(&s, "{\"LayerChoice1\": 01}", "f.arch:1:18: bad number");
    expect_error(&s, "{\"LayerChoice1\": 1e999}", "f.arch:1:18: bad number");

    /* a NUL byte ends the text for the parser: it is found in the bytes read */
    struct enas_err err = {0};
    static const char nul[] = "0 | 3 0\n| 0\0 1 0";
    CHECK_ERR(enas__arch_check_text(nul, sizeof nul - 1, "f.arch", &err), err, ENAS_ERR_DATA,
              "f.arch:2:4: a NUL byte (byte 11 of the file); an architecture file is text");
    CHECK_ERR(enas__arch_check_text(nul, 11, "f.arch", &err), err, ENAS_OK, NULL);
}

/* Reads a 6-layer macro architecture in NNI JSON whose LayerChoice1 (6 candidates), InputChoice5 (2) and
 * InputChoice7 (3) are given as written (the rest fixed: ops 3 0 2 2 3, no other skips) and writes it as a
 * TF string in tf; NULL when it parses, else the error message. */
static const char *parse_nni(const struct enas_arch_space *s, const char *ic5, const char *ic7,
                             const char *lc1, char tf[64], struct enas_err *err)
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"LayerChoice1\": %s, \"LayerChoice2\": 3, \"InputChoice3\": [], \"LayerChoice4\": 0,\n"
             " \"InputChoice5\": %s, \"LayerChoice6\": 2, \"InputChoice7\": %s, \"LayerChoice8\": 2,\n"
             " \"InputChoice9\": [], \"LayerChoice10\": 3, \"InputChoice11\": []}",
             lc1, ic5, ic7);
    int *a = NULL;
    size_t n = 0;
    tf[0] = '\0';
    if (enas__arch_parse(s, doc, "m.json", &a, &n, err) != ENAS_OK)
        return err->msg;
    char *text = enas__arch_format(s, a, n, ENAS_ARCH_TF);
    snprintf(tf, 64, "%s", text ? text : "");
    free(text);
    free(a);
    return NULL;
}

/* NNI's rule (nni/nas/pytorch/fixed.py): a list with one entry per candidate that is all booleans or all
 * floats is a mask; any other list holds indices or names. [1.0, 0.0] was read as the indices 1 and 0. */
static void test_nni_masks(void)
{
    struct fake f;
    make_macro(&f);
    struct enas_arch_space s = {&macro_desc, &f};
    struct enas_err err;
    char tf[64];
    static const struct {
        const char *ic5, *ic7, *lc1;
        int op;                    /* LayerChoice1 */
        const char *bits5, *bits7; /* InputChoice5, InputChoice7 */
    } ok[] = {
        /* full-length lists of floats or of booleans are masks */
        {"[1.0, 0.0]", "[]", "0", 0, "1 0", "0 0 0"},
        {"[0.0, 1.0]", "[1.0, 0.0, 1.0]", "0", 0, "0 1", "1 0 1"},
        {"[true, false]", "[false, false, true]", "0", 0, "1 0", "0 0 1"},
        {"[1e0, -0.0]", "[0E0, 0.0, 0.0]", "0", 0, "1 0", "0 0 0"},
        {"[0.0, 0.0]", "[1.0, 1.0, 1.0]", "[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]", 2, "0 0", "1 1 1"},
        {"[]", "[]", "[false, false, false, false, false, true]", 5, "0 0", "0 0 0"},
        /* ints never make a mask: [0, 1] and [1, 0] are the indices 0 and 1 */
        {"[0, 1]", "[]", "0", 0, "1 1", "0 0 0"},
        {"[1, 0]", "[1, 1]", "0", 0, "1 1", "0 1 0"},
        /* nor does a mix of ints and floats, or a list of floats of another length: indices (2.0 == 2) */
        {"[1, 0.0]", "[0.0, 2.0]", "0", 0, "1 1", "1 0 1"},
        {"[1.0]", "[2.0]", "4.0", 4, "0 1", "0 0 1"},
        {"\"layer_1\"", "[\"layer_0\", 1.0]", "[1.0]", 1, "0 1", "1 1 0"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "%d 3 0 0 %s 2 %s 2 0 0 0 0 3 0 0 0 0 0\n", ok[i].op, ok[i].bits5,
                 ok[i].bits7);
        const char *e = parse_nni(&s, ok[i].ic5, ok[i].ic7, ok[i].lc1, tf, &err);
        CHECK_MSG(!e && strcmp(tf, want) == 0, "case %zu (%s, %s, %s): %s%s", i, ok[i].ic5, ok[i].ic7,
                  ok[i].lc1, e ? e : "got ", e ? "" : tf);
    }
    /* a bare value is a list of one: for the 1-candidate InputChoice3, 1.0 and true are masks */
    make_macro(&f);
    const char *one = "{\"LayerChoice1\": 0, \"LayerChoice2\": 3, \"InputChoice3\": %s, \"LayerChoice4\": 0,"
                      " \"InputChoice5\": [], \"LayerChoice6\": 2, \"InputChoice7\": [], \"LayerChoice8\": 2,"
                      " \"InputChoice9\": [], \"LayerChoice10\": 3, \"InputChoice11\": []}";
    static const struct {
        const char *v;
        int bit;
    } bare[] = {{"1.0", 1}, {"true", 1}, {"0.0", 0}, {"false", 0}, {"[1.0]", 1}, {"[false]", 0}, {"0", 1}};
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++) {
        char doc[1024];
        snprintf(doc, sizeof doc, one, bare[i].v);
        int *a = NULL;
        size_t n = 0;
        CHECK_MSG(enas__arch_parse(&s, doc, "m.json", &a, &n, &err) == ENAS_OK && a && a[2] == bare[i].bit,
                  "InputChoice3: %s: %s", bare[i].v, a ? "wrong bit" : err.msg);
        free(a);
    }

    /* a mask's entries are 0 or 1; booleans are not indices; indices are in range and whole */
    static const struct {
        const char *ic5, *ic7, *lc1, *want;
    } bad[] = {
        {"[0.5, 0.5]", "[]", "0",
         "m.json:2:19: key 'InputChoice5': 0.5 is not 0 or 1 (a list of 2 floats is a"},
        {"[0.0, 2.0]", "[]", "0",
         "m.json:2:24: key 'InputChoice5': 2 is not 0 or 1 (a list of 2 floats is a"},
        {"[]", "[1.0, -1.0, 0.0]", "0",
         "m.json:2:63: key 'InputChoice7': -1 is not 0 or 1 (a list of 3 floats"},
        {"[true, 1]", "[]", "0", "m.json:2:19: key 'InputChoice5': true is not a candidate"},
        {"[true]", "[]", "0", "m.json:2:19: key 'InputChoice5': true is not a candidate"},
        {"[]", "[true, false]", "0", "m.json:2:58: key 'InputChoice7': true is not a candidate"},
        {"[]", "[]", "true", "m.json:1:18: key 'LayerChoice1': true is not a candidate"},
        {"[0.5]", "[]", "0", "m.json:2:19: key 'InputChoice5': 0.5 is not a candidate index (0 .. 1)"},
        {"[2]", "[]", "0", "m.json:2:19: key 'InputChoice5': 2 is not a candidate index (0 .. 1)"},
        {"[]", "[3.0, 0.0]", "0", "m.json:2:58: key 'InputChoice7': 3 is not a candidate index (0 .. 2)"},
        {"[]", "[]", "[1.0, 1.0, 0.0, 0.0, 0.0, 0.0]",
         "m.json:1:18: key 'LayerChoice1': exactly one candidate must be chosen, got 2"},
        {"[null]", "[]", "0", "m.json:2:19: key 'InputChoice5': expected a candidate index or name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *e = parse_nni(&s, bad[i].ic5, bad[i].ic7, bad[i].lc1, tf, &err);
        CHECK_MSG(e && strstr(e, bad[i].want), "case %zu (%s, %s, %s): want '%s', got %s%s", i, bad[i].ic5,
                  bad[i].ic7, bad[i].lc1, bad[i].want, e ? e : "TF ", e ? "" : tf);
    }
}

int main(void)
{
    struct fake f;
    test_macro_examples();
    test_micro_example();
    make_macro(&f);
    struct enas_arch_space sm = {&macro_desc, &f};
    round_trips(&sm, 1);
    struct fake g;
    make_micro(&g);
    struct enas_arch_space su = {&micro_desc, &g};
    round_trips(&su, 2);
    test_errors();
    test_strict_json();
    test_nni_masks();
    return check_exit("test_arch");
}
