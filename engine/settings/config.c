/* config.c - settings: one schema per section, values from defaults, a libconfig file (config_file.c) and
 * options, in that order; --help and config.cfg. Every change is validated in full before any value is
 * replaced, so a failed load or option leaves the previous values. */
#include "settings/config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/config_impl.h"
#include "util/err.h"
#include "util/file.h"

/* ---- sections and keys ---- */

struct cfg_section *enas__config_find_section(const struct enas_config *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->secs[i]->name, name) == 0)
            return c->secs[i];
    return NULL;
}

/* ---- create, destroy, declare ---- */

enum enas_status enas__config_create(struct enas_config **out, struct enas_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for the configuration");
    return ENAS_OK;
}

static void section_free(struct cfg_section *sec)
{
    if (!sec)
        return;
    enas__cfg_values_free(&sec->cfg, sec->cfg.vals);
    free(sec->name);
    free(sec->owner);
    free(sec);
}

void enas__config_destroy(struct enas_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        section_free(c->secs[i]);
    free(c->secs);
    free(c);
}

enum enas_status enas__config_add_section(struct enas_config *c, const char *name, const char *owner,
                                          const struct enas_setting *table, size_t n, struct enas_err *err)
{
    owner = owner ? owner : "(unknown)";
    if (!name || (name[0] && !enas__schema_is_name(name)))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s: section name '%s' is not [a-z0-9_]+", owner,
                            name ? name : "(null)");
    const struct cfg_section *old = enas__config_find_section(c, name);
    if (old)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "section '%s' declared by both '%s' and '%s'", name,
                            old->owner, owner);
    enum enas_status st = enas__schema_validate(table, n, owner, err);
    if (st != ENAS_OK)
        return st;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct cfg_section **secs = realloc(c->secs, cap * sizeof *secs);
        if (!secs)
            return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for section '%s'", name);
        c->secs = secs;
        c->cap = cap;
    }
    struct cfg_section *sec = calloc(1, sizeof *sec);
    if (!sec || !(sec->name = strdup(name)) || !(sec->owner = strdup(owner))) {
        section_free(sec);
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for section '%s'", name);
    }
    st = enas__cfg_init(&sec->cfg, sec->name, table, n, err);
    if (st != ENAS_OK) {
        section_free(sec);
        return st;
    }
    c->secs[c->n++] = sec;
    return ENAS_OK;
}

const struct enas_cfg *enas__config_section(const struct enas_config *c, const char *name)
{
    const struct cfg_section *sec = enas__config_find_section(c, name);
    return sec ? &sec->cfg : NULL;
}

/* ---- command-line options ---- */

/* Finds the section and key an option names ("micro.num-layers", "batch_size"); 0 if none. */
static int resolve_option(const struct enas_config *c, const char *name, struct cfg_section **sec, long *k)
{
    char buf[2 * ENAS__NAME_MAX + 2];
    if (!enas__schema_swap(buf, sizeof buf, name, '-', '_'))
        return 0;
    char *dot = strchr(buf, '.');
    const char *key = buf;
    if (dot) {
        *dot = '\0';
        key = dot + 1;
    }
    *sec = enas__config_find_section(c, dot ? buf : "");
    *k = *sec ? enas__cfg_find_key(&(*sec)->cfg, key) : -1;
    return *k >= 0;
}

static enum enas_status unknown_option(const struct enas_config *c, const char *name, struct enas_err *err)
{
    struct enas_suggestion sg = {.dist = SIZE_MAX};
    char query[2 * ENAS__NAME_MAX + 2], cand[2 * ENAS__NAME_MAX + 2];
    if (enas__schema_swap(query, sizeof query, name, '-', '_')) {
        sg.query = query;
        for (size_t i = 0; i < c->n; i++)
            for (size_t k = 0; k < c->secs[i]->cfg.n; k++) {
                const char *sn = c->secs[i]->name;
                snprintf(cand, sizeof cand, "%s%s%s", sn, sn[0] ? "." : "", c->secs[i]->cfg.table[k].key);
                enas__schema_suggest(&sg, cand);
            }
    }
    if (sg.best[0]) {
        enas__schema_swap(cand, sizeof cand, sg.best, '_', '-');
        return enas_err_set(err, ENAS_ERR_CONFIG, "unknown option '--%s'; did you mean '--%s'?", name, cand);
    }
    return enas_err_set(err, ENAS_ERR_CONFIG, "unknown option '--%s'; see 'enas --help' for the options",
                        name);
}

enum enas_status enas__config_set_option(struct enas_config *c, const char *name, const char *value,
                                         struct enas_err *err)
{
    struct cfg_section *sec;
    long k;
    if (!resolve_option(c, name, &sec, &k))
        return unknown_option(c, name, err);
    union enas_value v;
    enum enas_status st = enas__cfg_value_from_text(&sec->cfg.table[k], value ? value : "", &v, err);
    if (st != ENAS_OK) {
        char opt[2 * ENAS__NAME_MAX + 2];
        enas__schema_swap(opt, sizeof opt, name, '_', '-');
        enas__err_prefix(err, "--%s: ", opt);
        return st;
    }
    enas__cfg_store(&sec->cfg.table[k], &sec->cfg.vals[k], v);
    return ENAS_OK;
}

enum enas_option_kind enas__config_option_kind(const struct enas_config *c, const char *name)
{
    struct cfg_section *sec;
    long k;
    if (!resolve_option(c, name, &sec, &k))
        return ENAS_OPTION_UNKNOWN;
    return sec->cfg.table[k].type == ENAS_SET_BOOL ? ENAS_OPTION_BOOL : ENAS_OPTION_VALUED;
}

/* ---- help ---- */

static const char *metavar(const struct enas_setting *d)
{
    switch (d->type) {
    case ENAS_SET_INT:
        return "N";
    case ENAS_SET_FLOAT:
        return "X";
    case ENAS_SET_BOOL:
        return "true|false";
    case ENAS_SET_STRING:
        return d->choices ? d->choices : "TEXT";
    }
    return "?";
}

void enas__config_print_help(const struct enas_config *c, FILE *f)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct cfg_section *sec = c->secs[i];
        char pre[ENAS__NAME_MAX + 2], key[ENAS__NAME_MAX + 1], opt[256], def[64], range[96];
        if (sec->name[0])
            fprintf(f, "%sSettings of '%s' (from %s; a group '%s: { ... };' in a config file):\n",
                    i ? "\n" : "", sec->name, sec->owner, sec->name);
        else
            fprintf(f, "%sCore settings (from %s; the top level of a config file):\n", i ? "\n" : "",
                    sec->owner);
        for (size_t k = 0; k < sec->cfg.n; k++) {
            const struct enas_setting *d = &sec->cfg.table[k];
            enas__schema_swap(key, sizeof key, d->key, '_', '-');
            snprintf(opt, sizeof opt, "--%s%s %s", enas__cfg_prefix(&sec->cfg, pre, sizeof pre), key,
                     metavar(d));
            enas__schema_default(d, def, sizeof def);
            enas__schema_range(d, range, sizeof range);
            fprintf(f, "  %-30s default %-13s %-16s %s\n", opt, def, range, d->help ? d->help : "");
        }
    }
}

/* ---- writing ---- */

/* Shortest %.Ng that reads back to exactly x, always with a '.' or exponent so libconfig reads a float. */
static void fmt_float_exact(double x, char *buf, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

static void write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* A value as a settings file (libconfig: quoted strings, L on wide integers) or an option (option) reads it.
 */
static void write_value(FILE *f, const struct enas_setting *d, const union enas_value *v, int option)
{
    char num[64];
    switch (d->type) {
    case ENAS_SET_INT:
        /* L: libconfig 1.5 wraps an unsuffixed integer beyond 32 bits (see check_literal). */
        fprintf(f, "%lld%s", (long long)v->i, !option && (v->i > INT32_MAX || v->i < INT32_MIN) ? "L" : "");
        break;
    case ENAS_SET_FLOAT:
        fmt_float_exact(v->f, num, sizeof num);
        fputs(num, f);
        break;
    case ENAS_SET_BOOL:
        fputs(v->b ? "true" : "false", f);
        break;
    case ENAS_SET_STRING:
        if (option)
            fputs(v->s, f);
        else
            write_string(f, v->s);
        break;
    }
}

static void write_section(FILE *f, const struct cfg_section *sec)
{
    const char *indent = sec->name[0] ? "  " : "";
    if (sec->name[0])
        fprintf(f, "\n# from %s\n%s:\n{\n", sec->owner, sec->name);
    for (size_t k = 0; k < sec->cfg.n; k++) {
        const struct enas_setting *d = &sec->cfg.table[k];
        fprintf(f, "%s# %s\n%s%s = ", indent, d->help ? d->help : "", indent, d->key);
        write_value(f, d, &sec->cfg.vals[k], 0);
        fputs(";\n", f);
    }
    if (sec->name[0])
        fputs("};\n", f);
}

enum enas_status enas__config_write_options(const struct enas_config *c, const char *name,
                                            const char *const *keys, size_t n_keys, FILE *f,
                                            struct enas_err *err)
{
    const struct cfg_section *sec = enas__config_find_section(c, name);
    if (!sec)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "no settings section '%s'", name);
    for (size_t k = 0; k < sec->cfg.n; k++) {
        const struct enas_setting *d = &sec->cfg.table[k];
        size_t i = 0;
        while (keys && i < n_keys && strcmp(keys[i], d->key) != 0)
            i++;
        if (keys && i == n_keys)
            continue;
        if (d->type == ENAS_SET_STRING && strchr(sec->cfg.vals[k].s, '\n'))
            return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                                "setting '%s%s%s' holds a line break; it cannot be written as an option",
                                sec->name, sec->name[0] ? "." : "", d->key);
        fprintf(f, "%s%s%s=", sec->name, sec->name[0] ? "." : "", d->key);
        write_value(f, d, &sec->cfg.vals[k], 1);
        fputc('\n', f);
    }
    return ENAS_OK;
}

enum enas_status enas__config_write(const struct enas_config *c, const char *path, struct enas_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return enas_err_set(err, ENAS_ERR_NOMEM, "cannot write '%s': out of memory", path);
    fprintf(f, "# enas settings: every value of this run; load with --config %s\n", path);
    for (size_t i = 0; i < c->n; i++)
        write_section(f, c->secs[i]);
    const int bad = ferror(f);
    enum enas_status st = fclose(f) != 0 || bad
                              ? enas_err_set(err, ENAS_ERR_NOMEM, "cannot write '%s': out of memory", path)
                              : enas__file_replace(path, text, len, 1, err);
    free(text);
    return st;
}
