/* cfg.c - one section's values (cfg.h): defaults, values from text, typed reads, and stand-alone sections
 * parsed from "key=value" text (op attributes). Every value is checked against its setting
 * (enas__schema_check_value) before it is stored. */
#include "settings/cfg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings/config_impl.h"
#include "util/err.h"

long enas__cfg_find_key(const struct enas_cfg *s, const char *key)
{
    for (size_t k = 0; k < s->n; k++)
        if (strcmp(s->table[k].key, key) == 0)
            return (long)k;
    return -1;
}

void enas__cfg_values_free(const struct enas_cfg *s, union enas_value *v)
{
    if (!v)
        return;
    for (size_t k = 0; k < s->n; k++)
        if (s->table[k].type == ENAS_SET_STRING)
            free(v[k].s);
    free(v);
}

union enas_value *enas__cfg_values_copy(const struct enas_cfg *s)
{
    union enas_value *v = calloc(s->n ? s->n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t k = 0; k < s->n; k++) {
        if (s->table[k].type != ENAS_SET_STRING) {
            v[k] = s->vals[k];
        } else if (!(v[k].s = strdup(s->vals[k].s))) {
            enas__cfg_values_free(s, v);
            return NULL;
        }
    }
    return v;
}

/* Writes `sec.` (or nothing for the top level / attributes) so messages can say 'micro.num_layers'. */
const char *enas__cfg_prefix(const struct enas_cfg *s, char *buf, size_t cap)
{
    if (!s->name || !s->name[0])
        return "";
    snprintf(buf, cap, "%s.", s->name);
    return buf;
}

enum enas_status enas__cfg_init(struct enas_cfg *s, const char *name, const struct enas_setting *t, size_t n,
                                struct enas_err *err)
{
    s->name = name;
    s->table = t;
    s->n = n;
    s->vals = calloc(n ? n : 1, sizeof *s->vals);
    if (!s->vals)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for %zu settings", n);
    for (size_t k = 0; k < n; k++) {
        switch (t[k].type) {
        case ENAS_SET_INT:
            s->vals[k].i = (int64_t)t[k].def;
            break;
        case ENAS_SET_FLOAT:
            s->vals[k].f = t[k].def;
            break;
        case ENAS_SET_BOOL:
            s->vals[k].b = t[k].def != 0.0;
            break;
        case ENAS_SET_STRING:
            if (!(s->vals[k].s = strdup(t[k].def_str ? t[k].def_str : ""))) {
                enas__cfg_values_free(s, s->vals);
                s->vals = NULL;
                return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for setting '%s'", t[k].key);
            }
            break;
        }
    }
    return ENAS_OK;
}

/* ---- values from text (options, op attributes) ---- */

static enum enas_status bool_from_text(const char *text, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return ENAS_OK;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return ENAS_OK;
        }
    }
    return ENAS_ERR_CONFIG;
}

/* Parses text by d's type into *out (a fresh string for STRING); err gets "<what>; allowed: ...". */
enum enas_status enas__cfg_value_from_text(const struct enas_setting *d, const char *text,
                                           union enas_value *out, struct enas_err *err)
{
    char allowed[192], *end = NULL;
    enas__schema_allowed(d, allowed, sizeof allowed);
    errno = 0;
    switch (d->type) {
    case ENAS_SET_INT:
        out->i = strtoll(text, &end, 10);
        if (end == text || *end || errno == ERANGE)
            return enas_err_set(err, ENAS_ERR_CONFIG, "'%s' is not an integer; allowed: %s", text, allowed);
        break;
    case ENAS_SET_FLOAT:
        out->f = strtod(text, &end);
        if (end == text || *end)
            return enas_err_set(err, ENAS_ERR_CONFIG, "'%s' is not a number; allowed: %s", text, allowed);
        break;
    case ENAS_SET_BOOL:
        if (bool_from_text(text, &out->b) != ENAS_OK)
            return enas_err_set(err, ENAS_ERR_CONFIG,
                                "'%s' is not a boolean; allowed: true|false|1|0|yes|no|on|off", text);
        break;
    case ENAS_SET_STRING:
        break;
    }
    enum enas_status st = enas__schema_check_value(d, text, out, err);
    if (st == ENAS_OK && d->type == ENAS_SET_STRING && !(out->s = strdup(text)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    return st;
}

/* Replaces vals[k] by v, freeing the string it held. */
void enas__cfg_store(const struct enas_setting *d, union enas_value *slot, union enas_value v)
{
    if (d->type == ENAS_SET_STRING)
        free(slot->s);
    *slot = v;
}

/* ---- typed reads ---- */

static const union enas_value *cfg_get(const struct enas_cfg *s, const char *key, enum enas_setting_type t,
                                       const char *fn)
{
    static const char *const names[] = {"an int", "a float", "a bool", "a string"};
    long k = s && key ? enas__cfg_find_key(s, key) : -1;
    if (k >= 0 && s->table[k].type == t)
        return &s->vals[k];
    fprintf(stderr, "enas: internal error: %s: %s%s%s'%s' is not %s setting%s\n", fn,
            s && s->name ? "section '" : "", s && s->name ? s->name : "", s && s->name ? "', " : "",
            key ? key : "(null)", names[t], k < 0 ? " (no such key)" : "");
    return NULL;
}

int64_t enas__cfg_int(const struct enas_cfg *s, const char *key)
{
    const union enas_value *v = cfg_get(s, key, ENAS_SET_INT, "cfg_int");
    return v ? v->i : 0;
}

double enas__cfg_float(const struct enas_cfg *s, const char *key)
{
    const union enas_value *v = cfg_get(s, key, ENAS_SET_FLOAT, "cfg_float");
    return v ? v->f : 0.0;
}

int enas__cfg_bool(const struct enas_cfg *s, const char *key)
{
    const union enas_value *v = cfg_get(s, key, ENAS_SET_BOOL, "cfg_bool");
    return v ? v->b : 0;
}

const char *enas__cfg_string(const struct enas_cfg *s, const char *key)
{
    const union enas_value *v = cfg_get(s, key, ENAS_SET_STRING, "cfg_string");
    return v ? v->s : "";
}

/* ---- stand-alone sections (op attributes) ---- */

static enum enas_status attr_unknown(const struct enas_cfg *s, const char *key, struct enas_err *err)
{
    char list[256] = "";
    size_t used = 0;
    for (size_t k = 0; k < s->n && used < sizeof list; k++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", s->table[k].key);
        used += w > 0 ? (size_t)w : 0;
    }
    if (!s->n)
        return enas_err_set(err, ENAS_ERR_CONFIG, "unknown key '%s'; this takes no attributes", key);
    return enas_err_set(err, ENAS_ERR_CONFIG, "unknown key '%s'; accepted keys: %s", key, list);
}

/* Applies one "key=value" token (modified in place) to s; seen[] catches a key given twice. */
static enum enas_status attr_apply(struct enas_cfg *s, char *tok, unsigned char *seen, struct enas_err *err)
{
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok)
        return enas_err_set(err, ENAS_ERR_CONFIG, "'%s' is not key=value", tok);
    *eq = '\0';
    long k = enas__cfg_find_key(s, tok);
    if (k < 0)
        return attr_unknown(s, tok, err);
    if (seen[k])
        return enas_err_set(err, ENAS_ERR_CONFIG, "key '%s' given twice", tok);
    seen[k] = 1;
    union enas_value v;
    enum enas_status st = enas__cfg_value_from_text(&s->table[k], eq + 1, &v, err);
    if (st != ENAS_OK) {
        enas__err_prefix(err, "key '%s': ", tok);
        return st;
    }
    enas__cfg_store(&s->table[k], &s->vals[k], v);
    return ENAS_OK;
}

enum enas_status enas__cfg_from_string(const struct enas_setting *table, size_t n, const char *text,
                                       struct enas_cfg **out, struct enas_err *err)
{
    *out = NULL;
    enum enas_status st = enas__schema_validate(table, n, "attributes", err);
    if (st != ENAS_OK)
        return st;
    struct enas_cfg *s = calloc(1, sizeof *s);
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!s || !seen) {
        free(s);
        free(seen);
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    }
    st = enas__cfg_init(s, NULL, table, n, err);
    for (const char *p = text ? text : ""; st == ENAS_OK;) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        size_t len = strcspn(p, " \t\r\n");
        char *tok = strndup(p, len);
        st = tok ? attr_apply(s, tok, seen, err) : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
        free(tok);
        p += len;
    }
    free(seen);
    if (st != ENAS_OK) {
        enas__cfg_destroy(s);
        return st;
    }
    *out = s;
    return ENAS_OK;
}

void enas__cfg_destroy(struct enas_cfg *s)
{
    if (!s)
        return;
    enas__cfg_values_free(s, s->vals);
    free(s);
}
