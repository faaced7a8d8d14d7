/* arch.c - architecture text formats over a space's decisions. Nothing here knows a particular
 * space: the labels are the NNI keys, the decision order is the TF order. */
#include "arch/arch.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/json.h"
#include "util/err.h"

size_t enas__arch_len(const struct enas_arch_space *s)
{
    size_t n = 0, k = s->desc->n_decisions(s->state);
    for (size_t i = 0; i < k; i++) {
        const struct enas_decision *d = s->desc->decision(s->state, i);
        n += d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates;
    }
    return n;
}

/* The candidate's name: its NNI name, else its index. buf holds at least 24 bytes. */
static const char *cand_name(const struct enas_decision *d, unsigned j, char *buf, size_t cap)
{
    if (d->candidate_names && d->candidate_names[j])
        return d->candidate_names[j];
    snprintf(buf, cap, "%u", j);
    return buf;
}

enum enas_status enas__arch_validate(const struct enas_arch_space *s, const int *arch, size_t len,
                                     struct enas_err *err)
{
    size_t want = enas__arch_len(s), k = s->desc->n_decisions(s->state), pos = 0;
    if (len != want)
        return enas_err_set(err, ENAS_ERR_DATA, "%zu values; the %s space with these settings takes %zu", len,
                            s->desc->name, want);
    for (size_t i = 0; i < k; i++) {
        const struct enas_decision *d = s->desc->decision(s->state, i);
        char buf[24];
        if (d->kind == ENAS_CHOICE_ONE) {
            if (arch[pos] < 0 || (unsigned)arch[pos] >= d->n_candidates)
                return enas_err_set(err, ENAS_ERR_DATA, "position %zu (%s): %d is out of range 0..%u", pos,
                                    d->label, arch[pos], d->n_candidates - 1);
            pos++;
            continue;
        }
        for (unsigned j = 0; j < d->n_candidates; j++, pos++)
            if (arch[pos] != 0 && arch[pos] != 1)
                return enas_err_set(err, ENAS_ERR_DATA, "position %zu (%s, candidate %s): %d is not 0 or 1",
                                    pos, d->label, cand_name(d, j, buf, sizeof buf), arch[pos]);
    }
    if (s->desc->validate)
        return s->desc->validate(s->state, arch, len, err);
    return ENAS_OK;
}

enum enas_status enas__arch_check_text(const char *text, size_t len, const char *name, struct enas_err *err)
{
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return ENAS_OK;
    size_t line = 1, col = 1;
    for (const char *p = text; p < nul; p++) {
        col = *p == '\n' ? 1 : col + 1;
        line += *p == '\n';
    }
    return enas_err_set(err, ENAS_ERR_DATA,
                        "%s:%zu:%zu: a NUL byte (byte %zu of the file); an architecture file is text", name,
                        line, col, (size_t)(nul - text));
}

/* ---- TF integer string ---- */

static enum enas_status parse_tf(const char *text, int **arch, size_t *len, struct enas_err *err)
{
    size_t cap = 64, n = 0;
    int *a = malloc(cap * sizeof *a);
    if (!a)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    for (const char *p = text;;) {
        while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == '|'))
            p++; /* ENAS.md writes layers apart with '|'; commas come from Python lists */
        if (!*p)
            break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < -1000000 || v > 1000000 ||
            (*end && !isspace((unsigned char)*end) && *end != ',' && *end != '|')) {
            int w = 0;
            while (p[w] && !isspace((unsigned char)p[w]) && w < 20)
                w++;
            free(a);
            return enas_err_set(err, ENAS_ERR_DATA, "position %zu: '%.*s' is not an integer", n, w, p);
        }
        if (n == cap) {
            int *b = realloc(a, (cap *= 2) * sizeof *a);
            if (!b) {
                free(a);
                return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
            }
            a = b;
        }
        a[n++] = (int)v;
        p = end;
    }
    *arch = a;
    *len = n;
    return ENAS_OK;
}

/* ---- NNI JSON ----
 *
 * Which values NNI's reader takes, and how, is decided by microsoft/nni nni/nas/pytorch/fixed.py
 * (FixedArchitecture._from_human_readable_architecture; the same rule in v1.x at
 * src/sdk/pynni/nni/nas/pytorch/fixed.py and in v2.0 .. v2.8, removed with the legacy framework in v2.9).
 * In words: a bare value counts as a list of one; a list is a MASK when it has one entry per candidate and
 * its entries are all booleans or all floats as Python's json reads them (written with a fraction or an
 * exponent: 1.0, 0.0, 1e0); anything else is a list of candidates, each an index or a name, and every
 * candidate it names is chosen. Ints never make a mask, so [0, 1] and [1, 0] are the indices 0 and 1 (both
 * chosen), as is a mix like [1, 0.0]; whole floats in a list of candidates are indices (2.0 is 2).
 * Stricter than NNI, which silently drops what matches no candidate and keeps other floats as weights: a
 * mask entry other than 0/1, an index out of range or not whole, and a boolean outside a mask (Python
 * would take true as the index 1) are errors naming the key. */

/* Where each line of the text starts: the JSON reader gives a value's line and column (in bytes), and the
 * rule above needs the number as written (1 or 1.0), which a double does not keep. */
struct jtext {
    const char *text, *name;
    size_t *line_at, n_lines, len;
};

/* A number written with a fraction or an exponent: a float to Python's json, an int otherwise. */
static int json_is_float(const struct jtext *t, const struct enas_json *v)
{
    if (v->type != ENAS_JSON_NUMBER || v->line < 1 || (size_t)v->line > t->n_lines || v->col < 1)
        return 0;
    size_t at = t->line_at[v->line - 1] + (size_t)v->col - 1;
    for (const char *p = t->text + (at < t->len ? at : t->len); *p && strchr("+-0123456789.eE", *p); p++)
        if (*p == '.' || *p == 'e' || *p == 'E')
            return 1;
    return 0;
}

/* One candidate given as an index or a name; -1 with err set when it is neither. */
static int json_cand(const struct enas_decision *d, const struct enas_json *v, const char *name, int in_list,
                     struct enas_err *err)
{
    char buf[24];
    if (v->type == ENAS_JSON_NUMBER && v->num == floor(v->num) && v->num >= 0 && v->num < d->n_candidates)
        return (int)v->num;
    if (v->type == ENAS_JSON_STRING)
        for (unsigned j = 0; j < d->n_candidates; j++)
            if (strcmp(v->str, cand_name(d, j, buf, sizeof buf)) == 0)
                return (int)j;
    char first[24], last[24];
    snprintf(first, sizeof first, "%s", cand_name(d, 0, buf, sizeof buf));
    snprintf(last, sizeof last, "%s", cand_name(d, d->n_candidates - 1, buf, sizeof buf));
    if (v->type == ENAS_JSON_STRING)
        enas_err_set(err, ENAS_ERR_DATA, "%s:%d:%d: key '%s': '%s' is not a candidate (%s .. %s)", name,
                     v->line, v->col, d->label, v->str, first, last);
    else if (v->type == ENAS_JSON_NUMBER)
        enas_err_set(err, ENAS_ERR_DATA, "%s:%d:%d: key '%s': %g is not a candidate index (0 .. %u)", name,
                     v->line, v->col, d->label, v->num, d->n_candidates - 1);
    else if (v->type == ENAS_JSON_BOOL)
        enas_err_set(err, ENAS_ERR_DATA,
                     "%s:%d:%d: key '%s': %s is not a candidate; booleans make a mask, a list of %u booleans "
                     "(one per candidate) and nothing else",
                     name, v->line, v->col, d->label, v->num ? "true" : "false", d->n_candidates);
    else if (in_list)
        enas_err_set(err, ENAS_ERR_DATA, "%s:%d:%d: key '%s': expected a candidate index or name (%s .. %s)",
                     name, v->line, v->col, d->label, first, last);
    else
        enas_err_set(
            err, ENAS_ERR_DATA,
            "%s:%d:%d: key '%s': expected a candidate index, a name (%s .. %s), a list of them, or a "
            "mask of %u booleans or floats 0/1",
            name, v->line, v->col, d->label, first, last, d->n_candidates);
    return -1;
}

/* Fills bits[0..n) from a value by the rule above: a mask, or a candidate or list of candidates. */
static enum enas_status json_choice(const struct enas_decision *d, const struct enas_json *v,
                                    const struct jtext *t, int *bits, struct enas_err *err)
{
    memset(bits, 0, d->n_candidates * sizeof *bits);
    int list = v->type == ENAS_JSON_ARRAY;
    const struct enas_json *items = list ? v->items : v;
    size_t n = list ? v->n : 1;
    int all_bool = 1, all_float = 1;
    for (size_t i = 0; i < n; i++) {
        all_bool &= items[i].type == ENAS_JSON_BOOL;
        all_float &= json_is_float(t, &items[i]);
    }
    if ((all_bool || all_float) && n == d->n_candidates && n > 0) {
        for (size_t i = 0; i < n; i++) {
            const struct enas_json *e = &items[i];
            if (e->num != 0 && e->num != 1)
                return enas_err_set(
                    err, ENAS_ERR_DATA,
                    "%s:%d:%d: key '%s': %g is not 0 or 1 (a list of %u floats is a mask, one "
                    "entry per candidate)",
                    t->name, e->line, e->col, d->label, e->num, d->n_candidates);
            bits[i] = e->num != 0;
        }
        return ENAS_OK;
    }
    for (size_t i = 0; i < n; i++) {
        int j = json_cand(d, &items[i], t->name, list, err);
        if (j < 0)
            return ENAS_ERR_DATA;
        bits[j] = 1;
    }
    return ENAS_OK;
}

static enum enas_status json_one(const struct enas_decision *d, const struct enas_json *v,
                                 const struct jtext *t, int *out, struct enas_err *err)
{
    int *bits = calloc(d->n_candidates, sizeof *bits);
    if (!bits)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    enum enas_status st = json_choice(d, v, t, bits, err);
    int count = 0;
    for (unsigned j = 0; j < d->n_candidates && st == ENAS_OK; j++)
        if (bits[j]) {
            *out = (int)j;
            count++;
        }
    free(bits);
    if (st == ENAS_OK && count != 1)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "%s:%d:%d: key '%s': exactly one candidate must be chosen, got %d", t->name,
                            v->line, v->col, d->label, count);
    return st;
}

static enum enas_status parse_json(const struct enas_arch_space *s, const char *text, const char *name,
                                   int *a, struct enas_err *err)
{
    struct enas_json *doc = NULL;
    enum enas_status st = enas__json_parse(text, name, &doc, err);
    if (st != ENAS_OK)
        return st;
    size_t k = s->desc->n_decisions(s->state), pos = 0;
    struct jtext t = {text, name, NULL, 1, strlen(text)};
    for (size_t i = 0; i < t.len; i++)
        t.n_lines += text[i] == '\n';
    if (!(t.line_at = malloc(t.n_lines * sizeof *t.line_at))) {
        enas__json_free(doc);
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    }
    t.line_at[0] = 0;
    for (size_t i = 0, l = 1; i < t.len; i++)
        if (text[i] == '\n')
            t.line_at[l++] = i + 1;
    if (doc->type != ENAS_JSON_OBJECT)
        st = enas_err_set(err, ENAS_ERR_DATA, "%s:%d:%d: expected a JSON object of decisions", name,
                          doc->line, doc->col);
    for (size_t m = 0; m < doc->n && st == ENAS_OK; m++) { /* every key must be a decision */
        size_t i = 0;
        while (i < k && strcmp(s->desc->decision(s->state, i)->label, doc->keys[m]) != 0)
            i++;
        if (i == k)
            st = enas_err_set(err, ENAS_ERR_DATA,
                              "%s:%d:%d: unknown key '%s' (not a decision of the %s space)", name,
                              doc->items[m].line, doc->items[m].col, doc->keys[m], s->desc->name);
    }
    for (size_t i = 0; i < k && st == ENAS_OK; i++) {
        const struct enas_decision *d = s->desc->decision(s->state, i);
        const struct enas_json *v = enas__json_get(doc, d->label);
        if (!v)
            st = enas_err_set(err, ENAS_ERR_DATA, "%s: missing key '%s'", name, d->label);
        else if (d->kind == ENAS_CHOICE_ONE)
            st = json_one(d, v, &t, &a[pos], err);
        else
            st = json_choice(d, v, &t, &a[pos], err);
        pos += d->kind == ENAS_CHOICE_ONE ? 1 : d->n_candidates;
    }
    free(t.line_at);
    enas__json_free(doc);
    return st;
}

enum enas_status enas__arch_parse(const struct enas_arch_space *s, const char *text, const char *name,
                                  int **arch, size_t *len, struct enas_err *err)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    *arch = NULL;
    *len = 0;
    enum enas_status st;
    if (*p == '{' || *p == '[') { /* JSON; a top-level list is reported as not an object */
        size_t n = enas__arch_len(s);
        int *a = malloc((n ? n : 1) * sizeof *a);
        if (!a)
            return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
        st = parse_json(s, text, name, a, err);
        if (st != ENAS_OK) {
            free(a);
            return st;
        }
        *arch = a;
        *len = n;
    } else if ((st = parse_tf(text, arch, len, err)) != ENAS_OK) {
        enas__err_prefix(err, "%s: ", name);
        return st;
    }
    st = enas__arch_validate(s, *arch, *len, err);
    if (st != ENAS_OK) {
        enas__err_prefix(err, "%s: ", name);
        free(*arch);
        *arch = NULL;
        *len = 0;
    }
    return st;
}

/* ---- writing ---- */

struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
};

static ENAS_PRINTF(2, 3) void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)w < b->cap) {
            b->n += (size_t)w;
            return;
        }
        size_t cap = (b->cap + (size_t)w + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void sb_json_string(struct sbuf *b, const char *str)
{
    sb_printf(b, "\"");
    for (const char *p = str; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_printf(b, "\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            sb_printf(b, "\\u%04x", (unsigned)(unsigned char)*p);
        else
            sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

struct entry {
    const struct enas_decision *d;
    size_t pos;
};

/* NNI-v1 sorts keys as Python's sort_keys does: by code point, i.e. byte order for ASCII. */
static int by_label(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->d->label, ((const struct entry *)b)->d->label);
}

/* A value in NNI style: single choices as ints; subsets as [] / one value bare / a list. */
static void write_value(struct sbuf *b, const struct entry *e, const int *arch, int names)
{
    const struct enas_decision *d = e->d;
    char buf[24];
    if (d->kind == ENAS_CHOICE_ONE) {
        sb_printf(b, "%d", arch[e->pos]);
        return;
    }
    unsigned count = 0, last = 0;
    for (unsigned j = 0; j < d->n_candidates; j++)
        if (arch[e->pos + j]) {
            count++;
            last = j;
        }
    if (count == 0) {
        sb_printf(b, "[]");
    } else if (count == 1 && names) {
        sb_json_string(b, cand_name(d, last, buf, sizeof buf));
    } else if (count == 1) {
        sb_printf(b, "%u", last);
    } else {
        sb_printf(b, "[");
        const char *sep = "\n    ";
        for (unsigned j = 0; j < d->n_candidates; j++)
            if (arch[e->pos + j]) {
                sb_printf(b, "%s", sep);
                if (names)
                    sb_json_string(b, cand_name(d, j, buf, sizeof buf));
                else
                    sb_printf(b, "%u", j);
                sep = ",\n    ";
            }
        sb_printf(b, "\n  ]");
    }
}

static void write_json(struct sbuf *b, const struct enas_arch_space *s, const int *arch,
                       enum enas_arch_format f)
{
    size_t k = s->desc->n_decisions(s->state), pos = 0, n = 0;
    struct entry *es = malloc((k ? k : 1) * sizeof *es);
    if (!es) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < k; i++) {
        es[i].d = s->desc->decision(s->state, i);
        es[i].pos = pos;
        pos += es[i].d->kind == ENAS_CHOICE_ONE ? 1 : es[i].d->n_candidates;
    }
    struct entry *order = malloc((k ? k : 1) * sizeof *order);
    if (!order) {
        free(es);
        b->oom = 1;
        return;
    }
    if (f == ENAS_ARCH_NNI) {
        memcpy(order, es, k * sizeof *es);
        qsort(order, k, sizeof *order, by_label);
        n = k;
    } else { /* Retiarii: every op choice first, then every input choice (ENAS.md 10.4) */
        for (int role = 0; role < 2; role++)
            for (size_t i = 0; i < k; i++)
                if ((es[i].d->role == ENAS_ROLE_OP) == (role == 0))
                    order[n++] = es[i];
    }
    sb_printf(b, "{");
    for (size_t i = 0; i < n; i++) {
        sb_printf(b, "%s\n  ", i ? "," : "");
        sb_json_string(b, order[i].d->label);
        sb_printf(b, ": ");
        write_value(b, &order[i], arch, f == ENAS_ARCH_NNI);
    }
    sb_printf(b, "\n}\n");
    free(order);
    free(es);
}

char *enas__arch_format(const struct enas_arch_space *s, const int *arch, size_t len, enum enas_arch_format f)
{
    struct sbuf b = {0};
    if (f == ENAS_ARCH_TF) {
        for (size_t i = 0; i < len; i++)
            sb_printf(&b, "%s%d", i ? " " : "", arch[i]);
        sb_printf(&b, "\n");
    } else {
        write_json(&b, s, arch, f);
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
