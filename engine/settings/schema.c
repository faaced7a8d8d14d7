/* schema.c - the rules of settings tables and their values (schema.h). */
#include "settings/schema.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int enas__schema_is_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (size_t i = 0; i <= ENAS__NAME_MAX; i++) {
        char c = s[i];
        if (!c)
            return 1;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 0; /* longer than ENAS__NAME_MAX, or no NUL where one should be */
}

/* A name that failed enas__schema_is_name: what is wrong with it. */
enum enas_status enas__schema_bad_name(const char *what, const char *s, struct enas_err *err)
{
    if (!s)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s '(null)' is not a valid name ([a-z0-9_]+)", what);
    if (strnlen(s, ENAS__NAME_MAX + 1) > ENAS__NAME_MAX)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s '%.*s...' is longer than %d bytes (or has no terminating NUL)", what,
                            ENAS__NAME_MAX, s, ENAS__NAME_MAX);
    return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s '%s' is not a valid name ([a-z0-9_]+)", what, s);
}

/* A plugin's text (a description, help, a default, choices): NULL or at most ENAS__TEXT_MAX bytes; one
 * line (no control characters) when it is printed as one. */
enum enas_status enas__schema_check_text(const char *owner, const char *member, const char *t, int one_line,
                                         struct enas_err *err)
{
    if (!t)
        return ENAS_OK;
    size_t len = strnlen(t, ENAS__TEXT_MAX + 1);
    if (len > ENAS__TEXT_MAX)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s: %s is longer than %d bytes (or has no terminating NUL): '%.40s...'", owner,
                            member, ENAS__TEXT_MAX, t);
    for (size_t i = 0; one_line && i < len; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG,
                "%s: %s has a control character (byte 0x%02x at offset %zu); it must be one line", owner,
                member, (unsigned)(unsigned char)t[i], i);
    return ENAS_OK;
}

int enas__schema_is_choice(const char *choices, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == wl && strncmp(p, word, len) == 0)
            return 1;
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

static void fmt_bound(char *buf, size_t cap, enum enas_setting_type t, double x)
{
    if (t == ENAS_SET_INT)
        snprintf(buf, cap, "%.0f", x);
    else
        snprintf(buf, cap, "%g", x);
}

/* "[1, 65536]", ">= 1", "<= 5" or "" (unbounded). */
void enas__schema_range(const struct enas_setting *d, char *buf, size_t cap)
{
    char lo[40], hi[40];
    fmt_bound(lo, sizeof lo, d->type, d->min);
    fmt_bound(hi, sizeof hi, d->type, d->max);
    buf[0] = '\0';
    if (d->type != ENAS_SET_INT && d->type != ENAS_SET_FLOAT)
        return;
    if (isfinite(d->min) && isfinite(d->max))
        snprintf(buf, cap, "[%s, %s]", lo, hi);
    else if (isfinite(d->min))
        snprintf(buf, cap, ">= %s", lo);
    else if (isfinite(d->max))
        snprintf(buf, cap, "<= %s", hi);
}

void enas__schema_allowed(const struct enas_setting *d, char *buf, size_t cap)
{
    char range[96];
    enas__schema_range(d, range, sizeof range);
    switch (d->type) {
    case ENAS_SET_INT:
    case ENAS_SET_FLOAT:
        snprintf(buf, cap, "%s%s%s", d->type == ENAS_SET_INT ? "an integer" : "a number",
                 range[0] == '[' ? " in "
                 : range[0]      ? " "
                                 : "",
                 range);
        break;
    case ENAS_SET_BOOL:
        snprintf(buf, cap, "true or false");
        break;
    case ENAS_SET_STRING:
        if (d->choices)
            snprintf(buf, cap, "one of %s", d->choices);
        else
            snprintf(buf, cap, "any text");
        break;
    }
}

void enas__schema_default(const struct enas_setting *d, char *buf, size_t cap)
{
    switch (d->type) {
    case ENAS_SET_INT:
        snprintf(buf, cap, "%.0f", d->def);
        break;
    case ENAS_SET_FLOAT:
        snprintf(buf, cap, "%g", d->def);
        break;
    case ENAS_SET_BOOL:
        snprintf(buf, cap, "%s", d->def != 0.0 ? "true" : "false");
        break;
    case ENAS_SET_STRING:
        snprintf(buf, cap, "%s", d->def_str && d->def_str[0] ? d->def_str : "\"\"");
        break;
    }
}

static int int_in_range(int64_t v, double lo, double hi)
{
    /* Compared as integers: near 2^53 a double comparison would round v and let 2^53 + 1 through. */
    if (lo > 0x1p63 || hi < -0x1p63)
        return 0;
    if (lo > -0x1p63 && v < (int64_t)ceil(lo))
        return 0;
    if (hi < 0x1p63 && v > (int64_t)floor(hi))
        return 0;
    return 1;
}

/* Range, finiteness and choices of a value already of the right type; err gets "<what>; allowed: ...". */
enum enas_status enas__schema_check_value(const struct enas_setting *d, const char *str,
                                          const union enas_value *v, struct enas_err *err)
{
    char allowed[192];
    enas__schema_allowed(d, allowed, sizeof allowed);
    switch (d->type) {
    case ENAS_SET_INT:
        if (!int_in_range(v->i, d->min, d->max))
            return enas_err_set(err, ENAS_ERR_CONFIG, "value %lld is out of range; allowed: %s",
                                (long long)v->i, allowed);
        break;
    case ENAS_SET_FLOAT:
        if (!isfinite(v->f))
            return enas_err_set(err, ENAS_ERR_CONFIG, "value %g is not a finite number; allowed: %s", v->f,
                                allowed);
        if (v->f < d->min || v->f > d->max)
            return enas_err_set(err, ENAS_ERR_CONFIG, "value %g is out of range; allowed: %s", v->f, allowed);
        break;
    case ENAS_SET_BOOL:
        break;
    case ENAS_SET_STRING:
        if (d->choices && !enas__schema_is_choice(d->choices, str))
            return enas_err_set(err, ENAS_ERR_CONFIG, "'%s' is not a choice; allowed: %s", str, allowed);
        break;
    }
    return ENAS_OK;
}

static enum enas_status check_number(const struct enas_setting *s, const char *what, int integral,
                                     struct enas_err *err)
{
    if (isnan(s->min) || isnan(s->max) || s->min > s->max)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s': empty range [%g, %g]", what, s->key,
                            s->min, s->max);
    if (isnan(s->def) || s->def < s->min || s->def > s->max)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s': default %g is outside [%g, %g]",
                            what, s->key, s->def, s->min, s->max);
    if (integral && (!(fabs(s->def) < 0x1p63) || s->def != floor(s->def)))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s': default %g is not an integer", what,
                            s->key, s->def);
    return ENAS_OK;
}

static enum enas_status check_setting(const struct enas_setting *s, const char *what, struct enas_err *err)
{
    switch (s->type) {
    case ENAS_SET_INT:
        return check_number(s, what, 1, err);
    case ENAS_SET_FLOAT:
        return check_number(s, what, 0, err);
    case ENAS_SET_BOOL:
        if (s->def != 0.0 && s->def != 1.0)
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "%s: setting '%s': bool default must be 0 or 1, not %g", what, s->key,
                                s->def);
        return ENAS_OK;
    case ENAS_SET_STRING:
        if (s->choices) {
            const char *def = s->def_str ? s->def_str : "";
            if (!*s->choices)
                return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s': choices is empty", what,
                                    s->key);
            if (!enas__schema_is_choice(s->choices, def))
                return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                    "%s: setting '%s': default '%s' is not one of %s", what, s->key, def,
                                    s->choices);
        }
        return ENAS_OK;
    }
    return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s': unknown type %d", what, s->key,
                        (int)s->type);
}

enum enas_status enas__schema_validate(const struct enas_setting *t, size_t n, const char *what,
                                       struct enas_err *err)
{
    /* before any entry is read: a count that does not match the table would read past it */
    if (n > ENAS__SETTINGS_MAX)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: %zu settings; at most %d are allowed", what, n,
                            ENAS__SETTINGS_MAX);
    if (n > 0 && !t)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: settings table is NULL but its count is %zu",
                            what, n);
    for (size_t i = 0; i < n; i++) {
        if (!enas__schema_is_name(t[i].key)) {
            char head[200];
            snprintf(head, sizeof head, "%s: setting %zu: key", what, i);
            return enas__schema_bad_name(head, t[i].key, err);
        }
        char owner[300];
        snprintf(owner, sizeof owner, "%s: setting '%s'", what, t[i].key);
        enum enas_status st = enas__schema_check_text(owner, "help", t[i].help, 1, err);
        if (st == ENAS_OK)
            st = enas__schema_check_text(owner, "def_str", t[i].def_str, 0, err);
        if (st == ENAS_OK)
            st = enas__schema_check_text(owner, "choices", t[i].choices, 0, err);
        if (st != ENAS_OK)
            return st;
        for (size_t j = 0; j < i; j++)
            if (strcmp(t[i].key, t[j].key) == 0)
                return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: setting '%s' is declared twice", what,
                                    t[i].key);
        st = check_setting(&t[i], what, err);
        if (st != ENAS_OK)
            return st;
    }
    return ENAS_OK;
}

/* ---- suggestions ---- */

/* Copies src into dst (size cap) with every `from` replaced by `to`; 0 if it does not fit. */
int enas__schema_swap(char *dst, size_t cap, const char *src, char from, char to)
{
    size_t len = strlen(src);
    if (len >= cap)
        return 0;
    for (size_t i = 0; i <= len; i++)
        dst[i] = src[i] == from ? to : src[i];
    return 1;
}

/* Levenshtein distance; SIZE_MAX for names too long to be typos of a key. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[ENAS__NAME_MAX * 2 + 2];
    if (la > ENAS__NAME_MAX * 2 || lb > ENAS__NAME_MAX * 2)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A candidate counts when it is at most 2 edits away and shorter edits than the query itself, so that
 * a two-letter typo does not "match" every two-letter key. */
void enas__schema_suggest(struct enas_suggestion *sg, const char *cand)
{
    size_t d = edit_distance(sg->query, cand);
    if (d <= 2 && d < strlen(sg->query) && d < sg->dist && strlen(cand) < sizeof sg->best) {
        sg->dist = d;
        strcpy(sg->best, cand);
    }
}
