/* config_file.c - reading a libconfig settings file into the configuration (enas__config_load_file,
 * config.h): the file's text is read and checked here first (includes spliced, literals that libconfig
 * would wrap refused, NUL bytes refused), then parsed by libconfig, then every value is validated before any
 * is stored, so that a failed load changes nothing. The only file that includes <libconfig.h>. */
#include "settings/config.h"

#include <libconfig.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings/config_impl.h"
#include "util/err.h"
#include "util/file.h"

/* ---- values from a libconfig setting ---- */

static void describe_setting(const config_setting_t *s, char *buf, size_t cap)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, cap, "an integer (%lld)", config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, cap, "a float (%g)", config_setting_get_float(s));
        break;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, cap, "a boolean (%s)", config_setting_get_bool(s) ? "true" : "false");
        break;
    case CONFIG_TYPE_STRING:
        snprintf(buf, cap, "a string (\"%.60s\")", config_setting_get_string(s));
        break;
    case CONFIG_TYPE_GROUP:
        snprintf(buf, cap, "a group");
        break;
    case CONFIG_TYPE_ARRAY:
        snprintf(buf, cap, "an array");
        break;
    case CONFIG_TYPE_LIST:
        snprintf(buf, cap, "a list");
        break;
    default:
        snprintf(buf, cap, "an unknown type");
        break;
    }
}

static enum enas_status val_from_setting(const struct enas_setting *d, const config_setting_t *s,
                                         union enas_value *out, struct enas_err *err)
{
    static const char *const expects[] = {"an integer", "a number", "true or false", "a string in quotes"};
    int t = config_setting_type(s), is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    const char *str = "";
    if (d->type == ENAS_SET_INT && is_int)
        out->i = config_setting_get_int64(s);
    else if (d->type == ENAS_SET_FLOAT && (is_int || t == CONFIG_TYPE_FLOAT))
        out->f = is_int ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
    else if (d->type == ENAS_SET_BOOL && t == CONFIG_TYPE_BOOL)
        out->b = config_setting_get_bool(s) != 0;
    else if (d->type == ENAS_SET_STRING && t == CONFIG_TYPE_STRING)
        str = config_setting_get_string(s);
    else {
        char got[96], allowed[192];
        describe_setting(s, got, sizeof got);
        enas__schema_allowed(d, allowed, sizeof allowed);
        return enas_err_set(err, ENAS_ERR_CONFIG, "expects %s, got %s; allowed: %s", expects[d->type], got,
                            allowed);
    }
    enum enas_status st = enas__schema_check_value(d, str, out, err);
    if (st == ENAS_OK && d->type == ENAS_SET_STRING && !(out->s = strdup(str)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    return st;
}

/* ---- loading a file ---- */

/* at: "FILE:LINE" of the key. */
static enum enas_status unknown_file_key(const struct enas_config *c, const struct enas_cfg *s,
                                         const char *at, const char *key, struct enas_err *err)
{
    struct enas_suggestion sg = {.query = key, .dist = SIZE_MAX};
    char pre[ENAS__NAME_MAX + 2];
    const char *p = enas__cfg_prefix(s, pre, sizeof pre);
    for (size_t k = 0; k < s->n; k++)
        enas__schema_suggest(&sg, s->table[k].key);
    if (!p[0] && enas__config_find_section(c, key))
        return enas_err_set(err, ENAS_ERR_CONFIG, "%s: section '%s' must be a group: %s: { ... };", at, key,
                            key);
    if (sg.best[0])
        return enas_err_set(err, ENAS_ERR_CONFIG, "%s: unknown key '%s%s'; did you mean '%s%s'?", at, p, key,
                            p, sg.best);
    return enas_err_set(err, ENAS_ERR_CONFIG, "%s: unknown key '%s%s'; see 'enas --help' for the settings",
                        at, p, key);
}

static enum enas_status unknown_section(const struct enas_config *c, const char *at, const char *name,
                                        struct enas_err *err)
{
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->n && used < sizeof list; i++) {
        if (!c->secs[i]->name[0])
            continue;
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", c->secs[i]->name);
        used += w > 0 ? (size_t)w : 0;
    }
    return enas_err_set(err, ENAS_ERR_CONFIG, "%s: unknown section '%s'; declared sections: %s", at, name,
                        used ? list : "(none)");
}

/* ---- the text of a settings file ----
 * libconfig 1.5 is handed only text it cannot mishandle. By itself it stops at a NUL byte without a word,
 * wraps integer literals beyond 32 bits (64 with the L suffix; hex ones too: 0x100000020 reads as 32), and
 * its @include opens any path with fopen: a FIFO blocks, a directory exits the process ("input in flex
 * scanner failed"). So each file is read here through util/file.c (regular files, bounded), checked, and
 * every
 * @include is spliced in by this code, with a map from the lines of the combined text back to each file. */

#define CFG_MAX_FILE_BYTES  ((uint64_t)1 << 20) /* one settings file */
#define CFG_MAX_TOTAL_BYTES ((size_t)4 << 20)   /* a file with everything it includes */
#define CFG_MAX_DEPTH       10                  /* @include nesting, libconfig's own limit */
#define CFG_MAX_INCLUDES    256                 /* @include directives in all: fan-out stays small */
#define CFG_MAX_GROUPS      16                  /* enclosing group names kept for messages */
#define CFG_PATH_CAP        4096
#define CFG_AT_CAP          (CFG_PATH_CAP + 16) /* "FILE:LINE" */

struct src_file {
    char *path; /* as opened: the user's path, or the including file's folder joined with the name */
    dev_t dev;
    ino_t ino;
};

/* Lines from out_line on of the combined text are lines from line on of files[file]. */
struct src_seg {
    unsigned out_line, line;
    size_t file;
};

struct source {
    char *text; /* the combined text handed to libconfig */
    size_t len, cap;
    unsigned lines; /* newlines in text */
    struct src_file files[CFG_MAX_INCLUDES + 1];
    size_t n_files;
    struct src_seg segs[2 * CFG_MAX_INCLUDES + 1];
    size_t n_segs;
    size_t open[CFG_MAX_DEPTH + 1]; /* files being spliced, outermost first: a cycle comes back to one */
    int depth;
    char groups[CFG_MAX_GROUPS][ENAS__NAME_MAX + 1]; /* names of the groups around the scan position */
    int n_groups;
    char last_name[ENAS__NAME_MAX + 1];
    char literal_err[ENAS_ERRMSG_SIZE]; /* the first integer literal out of range, reported after parsing */
    struct enas_err *err;
};

/* "FILE:LINE" of a line of the combined text. */
static void src_where(const struct source *s, unsigned out_line, char *buf, size_t cap)
{
    const struct src_seg *g = NULL;
    for (size_t i = 0; i < s->n_segs && s->segs[i].out_line <= out_line; i++)
        g = &s->segs[i]; /* the last one that starts there: earlier ones at the same line hold no line */
    if (!g)
        snprintf(buf, cap, "%s:%u", s->n_files ? s->files[0].path : "?", out_line);
    else
        snprintf(buf, cap, "%s:%u", s->files[g->file].path, g->line + (out_line - g->out_line));
}

static enum enas_status src_append(struct source *s, const char *p, size_t n)
{
    if (n > CFG_MAX_TOTAL_BYTES - s->len)
        return enas_err_set(s->err, ENAS_ERR_CONFIG, "%s: with the files it includes, over %zu bytes",
                            s->files[0].path, CFG_MAX_TOTAL_BYTES);
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *t = realloc(s->text, cap);
        if (!t)
            return enas_err_set(s->err, ENAS_ERR_NOMEM, "%s: out of memory", s->files[0].path);
        s->text = t;
        s->cap = cap;
    }
    memcpy(s->text + s->len, p, n);
    s->len += n;
    s->text[s->len] = '\0';
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))); q++)
        s->lines++;
    return ENAS_OK;
}

/* From the next line of the combined text on, lines come from files[file] at line. */
static enum enas_status src_mark(struct source *s, size_t file, unsigned line)
{
    enum enas_status st = s->len && s->text[s->len - 1] != '\n' ? src_append(s, "\n", 1) : ENAS_OK;
    if (st == ENAS_OK && s->n_segs < sizeof s->segs / sizeof s->segs[0])
        s->segs[s->n_segs++] = (struct src_seg){s->lines + 1, line, file};
    return st;
}

static void src_free(struct source *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i].path);
    free(s->text);
    free(s);
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int hex_value(char ch)
{
    return is_digit(ch)             ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* A character of libconfig's names: [A-Za-z*] first, then [-A-Za-z0-9_*]. */
static int cfg_name_char(char ch, int first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '*' ||
           (!first && (is_digit(ch) || ch == '-' || ch == '_'));
}

struct literal {
    const char *end; /* past the token */
    int is_int;      /* integer, integer64, hex or hex64 (else a float) */
    int wide;        /* with the L suffix: 64 bits */
    int hex;
};

/* The number token at p as libconfig's scanner takes it (the longest match of its integer, integer64, hex,
 * hex64 and float patterns). */
static struct literal lex_number(const char *p, const char *end)
{
    struct literal t = {p, 0, 0, 0};
    const char *q = p;
    if (q + 2 < end && q[0] == '0' && (q[1] == 'x' || q[1] == 'X') && hex_value(q[2]) >= 0) {
        t.is_int = t.hex = 1;
        for (q += 2; q < end && hex_value(*q) >= 0; q++)
            ;
    } else {
        if (*q == '+' || *q == '-')
            q++;
        const char *digits = q;
        while (q < end && is_digit(*q))
            q++;
        int frac = q < end && *q == '.';
        for (q += frac; frac && q < end && is_digit(*q); q++)
            ;
        const char *e = q < end && (*q == 'e' || *q == 'E') ? q + 1 : NULL;
        if (e && e < end && (*e == '+' || *e == '-'))
            e++;
        int expo = e && e < end && is_digit(*e) && (frac || q > digits);
        for (q = expo ? e : q; expo && q < end && is_digit(*q); q++)
            ;
        t.is_int = !frac && !expo && q > digits;
        if (!frac && !expo && q == digits) { /* a lone sign: not a number */
            t.end = p + 1;
            return t;
        }
    }
    if (t.is_int && q < end && *q == 'L') {
        t.wide = 1;
        q += 1 + (q + 1 < end && q[1] == 'L');
    }
    t.end = q;
    return t;
}

/* Whether the integer literal [p, t->end) fits the int (32 bits) or long long (with L) libconfig keeps. */
static int literal_fits(const char *p, const struct literal *t)
{
    int neg = *p == '-';
    p += *p == '-' || *p == '+';
    p += t->hex ? 2 : 0;
    uint64_t v = 0, base = t->hex ? 16 : 10,
             limit = (t->wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX) + (uint64_t)neg;
    for (; p < t->end && *p != 'L'; p++) {
        uint64_t d = (uint64_t)hex_value(*p);
        if (v > (limit - d) / base)
            return 0;
        v = v * base + d;
    }
    return 1;
}

/* Keeps the first literal that libconfig would wrap, with the key it sets, for after parsing. */
static void check_literal(struct source *s, size_t file, unsigned line, const char *p,
                          const struct literal *t)
{
    struct literal wide = *t;
    wide.wide = 1;
    if (!t->is_int || s->literal_err[0] || literal_fits(p, t))
        return;
    char key[(CFG_MAX_GROUPS + 1) * (ENAS__NAME_MAX + 1) + 1] = "", shown[48];
    size_t used = 0;
    for (int i = 0; i < s->n_groups && i < CFG_MAX_GROUPS; i++)
        used += (size_t)snprintf(key + used, sizeof key - used, "%s.", s->groups[i]);
    snprintf(key + used, sizeof key - used, "%s", s->last_name);
    int len = (int)(t->end - p);
    snprintf(shown, sizeof shown, "%.*s%s", len > 40 ? 40 : len, p, len > 40 ? "..." : "");
    int n = snprintf(s->literal_err, sizeof s->literal_err, "%s:%u: ", s->files[file].path, line);
    size_t room = n > 0 && (size_t)n < sizeof s->literal_err ? sizeof s->literal_err - (size_t)n : 0;
    char *msg = s->literal_err + sizeof s->literal_err - room;
    if (key[0] && room)
        msg += snprintf(msg, room, "key '%s': ", key) > 0 ? strlen(msg) : 0;
    room = sizeof s->literal_err - (size_t)(msg - s->literal_err);
    if (!literal_fits(p, &wide))
        snprintf(msg, room,
                 "integer literal %s beyond 64 bits; allowed: -9223372036854775808 to 9223372036854775807",
                 shown);
    else
        snprintf(msg, room,
                 "integer literal %s beyond 32 bits without the L suffix; allowed: write it as %sL", shown,
                 shown);
}

/* A name token: the key a following literal sets; '{' makes it the name of a group. */
static void note_name(struct source *s, const char *p, const char *e)
{
    size_t n = (size_t)(e - p) < ENAS__NAME_MAX ? (size_t)(e - p) : ENAS__NAME_MAX;
    memcpy(s->last_name, p, n);
    s->last_name[n] = '\0';
}

static void note_brace(struct source *s, char ch)
{
    if (ch == '{') {
        if (s->n_groups < CFG_MAX_GROUPS)
            memcpy(s->groups[s->n_groups], s->last_name, sizeof s->last_name);
        s->n_groups++;
    } else if (s->n_groups > 0) {
        s->n_groups--;
    }
    s->last_name[0] = '\0';
}

/* Whether q (a line's first non-blank) starts libconfig's include pattern: ^[ \t]*@include[ \t]+" */
static int is_include(const char *q, const char *end)
{
    static const char kw[] = "@include";
    const size_t n = sizeof kw - 1;
    if ((size_t)(end - q) <= n || memcmp(q, kw, n) != 0 || (q[n] != ' ' && q[n] != '\t'))
        return 0;
    for (q += n; q < end && (*q == ' ' || *q == '\t'); q++)
        ;
    return q < end && *q == '"';
}

static enum enas_status splice_file(struct source *s, const char *path, const char *at, const char *name);

/* The @include at q (line `line` of files[from]): its quoted name (escapes \\ and \" as libconfig reads
 * them) is taken relative to the including file's folder, and the file is spliced in. *after: past the
 * closing quote. */
static enum enas_status include(struct source *s, size_t from, unsigned line, const char *q, const char *end,
                                const char **after)
{
    char at[CFG_AT_CAP], name[CFG_PATH_CAP], path[2 * CFG_PATH_CAP];
    snprintf(at, sizeof at, "%s:%u", s->files[from].path, line);
    q = (const char *)memchr(q, '"', (size_t)(end - q)) + 1;
    size_t n = 0;
    for (; q < end && *q != '"' && *q != '\n'; n++) {
        char ch = *q++;
        if (ch == '\\' && q < end && (*q == '\\' || *q == '"'))
            ch = *q++;
        if (n + 1 >= sizeof name)
            return enas_err_set(s->err, ENAS_ERR_CONFIG,
                                "%s: @include: the file name is longer than %zu bytes", at, sizeof name - 1);
        name[n] = ch;
    }
    name[n] = '\0';
    if (q >= end || *q != '"')
        return enas_err_set(s->err, ENAS_ERR_CONFIG, "%s: @include: the file name lacks its closing quote",
                            at);
    *after = q + 1;
    if (n == 0)
        return enas_err_set(s->err, ENAS_ERR_CONFIG, "%s: @include \"\": no file name", at);
    if (s->depth > CFG_MAX_DEPTH - 1)
        return enas_err_set(s->err, ENAS_ERR_CONFIG, "%s: @include \"%s\": includes nested more than %d deep",
                            at, name, CFG_MAX_DEPTH);
    if (s->n_files > CFG_MAX_INCLUDES)
        return enas_err_set(s->err, ENAS_ERR_CONFIG, "%s: @include \"%s\": more than %d @include in all", at,
                            name, CFG_MAX_INCLUDES);
    const char *from_path = s->files[from].path, *slash = strrchr(from_path, '/');
    if (name[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - from_path), from_path, name);
    return splice_file(s, path, at, name);
}

/* Walks one file's text as libconfig's scanner does (comments, strings, names, numbers), copying it to the
 * combined text with its @include lines replaced by the included files. nested: an included file, which
 * must end outside strings and comments, since libconfig would go on lexing the including file in them. */
static enum enas_status scan_file(struct source *s, size_t file, const char *text, size_t len, int nested)
{
    const char *p = text, *end = text + len, *copied = text, *open_at = NULL;
    unsigned line = 1, open_line = 0;
    int line_start = 1;
    enum enas_status st = src_mark(s, file, 1);
    while (st == ENAS_OK && p < end) {
        if (line_start) {
            line_start = 0;
            const char *q = p;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (is_include(q, end)) {
                st = src_append(s, copied, (size_t)(p - copied));
                if (st == ENAS_OK)
                    st = include(s, file, line, q, end, &p);
                if (st == ENAS_OK)
                    st = src_mark(s, file, line); /* the rest of the directive's line */
                copied = p;
                continue;
            }
        }
        char ch = *p;
        open_at = NULL;
        if (ch == '\n') {
            line++;
            line_start = 1;
            p++;
        } else if (ch == '#' || (ch == '/' && p + 1 < end && p[1] == '/')) {
            while (p < end && *p != '\n')
                p++;
        } else if ((ch == '/' && p + 1 < end && p[1] == '*') || ch == '"') {
            open_at = p;
            open_line = line;
            for (p += ch == '"' ? 1 : 2; p < end; p++) {
                if (ch == '"' ? *p == '"' : (*p == '*' && p + 1 < end && p[1] == '/'))
                    break;
                if (ch == '"' && *p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
                    p++;
                else if (*p == '\n')
                    line++;
            }
            if (p < end) {
                p += ch == '"' ? 1 : 2;
                open_at = NULL;
            }
        } else if (cfg_name_char(ch, 1)) {
            const char *q = p;
            while (p < end && cfg_name_char(*p, 0))
                p++;
            note_name(s, q, p);
        } else if (is_digit(ch) || ch == '.' ||
                   ((ch == '+' || ch == '-') && p + 1 < end && (is_digit(p[1]) || p[1] == '.'))) {
            struct literal t = lex_number(p, end);
            check_literal(s, file, line, p, &t);
            p = t.end;
        } else {
            if (ch == '{' || ch == '}')
                note_brace(s, ch);
            p++;
        }
    }
    if (st == ENAS_OK && nested && open_at)
        return enas_err_set(
            s->err, ENAS_ERR_CONFIG,
            "%s:%u: the %s that starts here does not end in this file; an included file must close "
            "its strings and comments",
            s->files[file].path, open_line, *open_at == '"' ? "string" : "comment");
    return st == ENAS_OK ? src_append(s, copied, (size_t)(end - copied)) : st;
}

/* Reads path (at: "FILE:LINE" of the @include naming it as name, or NULL for the file the user gave) and
 * splices it into the combined text. */
static enum enas_status splice_file(struct source *s, const char *path, const char *at, const char *name)
{
    struct stat sb;
    int known = stat(path, &sb) == 0;
    for (int i = 0; known && i < s->depth; i++) {
        const struct src_file *f = &s->files[s->open[i]];
        if (f->dev == sb.st_dev && f->ino == sb.st_ino)
            return enas_err_set(s->err, ENAS_ERR_CONFIG,
                                "%s: @include \"%s\": include cycle: '%s' is already being read", at, name,
                                f->path);
    }
    char *buf = NULL;
    size_t len = 0;
    enum enas_status st =
        enas__file_read(path, at ? "included file" : "config file", CFG_MAX_FILE_BYTES, &buf, &len, s->err);
    if (st != ENAS_OK) {
        if (!at)
            return st;
        enas__err_prefix(s->err, "%s: @include \"%s\": ", at, name);
        return ENAS_ERR_CONFIG;
    }
    size_t idx = s->n_files;
    struct src_file *f = &s->files[idx];
    if (!(f->path = strdup(path))) {
        free(buf);
        return enas_err_set(s->err, ENAS_ERR_NOMEM, "%s: out of memory", path);
    }
    f->dev = known ? sb.st_dev : 0;
    f->ino = known ? sb.st_ino : 0;
    s->n_files++;
    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        unsigned line = 1;
        const char *bol = buf;
        for (const char *q = buf; q < nul; q++)
            if (*q == '\n') {
                line++;
                bol = q + 1;
            }
        st = enas_err_set(s->err, ENAS_ERR_CONFIG, "%s:%u: a NUL byte at column %zu; a settings file is text",
                          path, line, (size_t)(nul - bol) + 1);
    } else {
        s->open[s->depth++] = idx;
        st = scan_file(s, idx, buf, len, at != NULL);
        s->depth--;
    }
    free(buf);
    return st;
}

static enum enas_status src_read(const char *path, struct source **out, struct enas_err *err)
{
    struct source *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory reading '%s'", path);
    s->err = err;
    enum enas_status st = splice_file(s, path, NULL, NULL);
    if (st == ENAS_OK && !s->text)
        st = src_append(s, "", 0);
    /* libconfig's comment pattern needs the newline after it: "x = 1; # note" as the file's last bytes was
     * a syntax error */
    if (st == ENAS_OK && s->len && s->text[s->len - 1] != '\n')
        st = src_append(s, "\n", 1);
    return st;
}

/* One file being loaded: values are staged per section and committed only when all of them are valid. */
struct load {
    const struct enas_config *c;
    const struct source *src;  /* maps libconfig's lines back to files */
    union enas_value **staged; /* staged[i] parallels c->secs[i]->cfg.vals */
    struct enas_err *err;
};

/* Validates one scalar of the file against section sec (-1: no top level declared) and stages it. */
static enum enas_status apply_one(const struct load *ld, long sec, const config_setting_t *set)
{
    static const struct enas_cfg none = {"", NULL, 0, NULL};
    const struct enas_cfg *s = sec >= 0 ? &ld->c->secs[sec]->cfg : &none;
    const char *key = config_setting_name(set);
    char pre[ENAS__NAME_MAX + 2], at[CFG_AT_CAP];
    src_where(ld->src, config_setting_source_line(set), at, sizeof at);
    long k = sec >= 0 ? enas__cfg_find_key(s, key) : -1;
    if (k < 0)
        return unknown_file_key(ld->c, s, at, key, ld->err);
    union enas_value v;
    enum enas_status st = val_from_setting(&s->table[k], set, &v, ld->err);
    if (st != ENAS_OK) {
        enas__err_prefix(ld->err, "%s: key '%s%s': ", at, enas__cfg_prefix(s, pre, sizeof pre), key);
        return st;
    }
    enas__cfg_store(&s->table[k], &ld->staged[sec][k], v);
    return ENAS_OK;
}

static long section_index(const struct enas_config *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->secs[i]->name, name) == 0)
            return (long)i;
    return -1;
}

/* Walks the root group: scalars are top-level settings, groups are sections. */
static enum enas_status apply_root(const struct load *ld, const config_setting_t *root)
{
    long top = section_index(ld->c, "");
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *set = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(set);
        enum enas_status st = ENAS_OK;
        if (config_setting_type(set) != CONFIG_TYPE_GROUP) {
            st = apply_one(ld, top, set);
        } else {
            long k = section_index(ld->c, name);
            if (k < 0 && top >= 0 && enas__cfg_find_key(&ld->c->secs[top]->cfg, name) >= 0)
                st = apply_one(ld, top, set); /* a core key written as a group: report its type */
            else if (k < 0) {
                char at[CFG_AT_CAP];
                src_where(ld->src, config_setting_source_line(set), at, sizeof at);
                st = unknown_section(ld->c, at, name, ld->err);
            }
            for (int j = 0; k >= 0 && st == ENAS_OK && j < config_setting_length(set); j++)
                st = apply_one(ld, k, config_setting_get_elem(set, (unsigned)j));
        }
        if (st != ENAS_OK)
            return st;
    }
    return ENAS_OK;
}

enum enas_status enas__config_load_file(struct enas_config *c, const char *path, struct enas_err *err)
{
    config_t lc;
    config_init(&lc);
    struct source *src = NULL;
    struct load ld = {c, NULL, NULL, err};
    enum enas_status st = src_read(path, &src, err);
    ld.src = src;
    if (st == ENAS_OK && config_read_string(&lc, src->text) != CONFIG_TRUE) {
        char at[CFG_AT_CAP];
        src_where(src, (unsigned)config_error_line(&lc), at, sizeof at);
        st = enas_err_set(err, ENAS_ERR_CONFIG, "%s: syntax error: %s", at,
                          config_error_text(&lc) ? config_error_text(&lc) : "unknown");
    }
    if (st == ENAS_OK && src->literal_err[0])
        st = enas_err_set(err, ENAS_ERR_CONFIG, "%s", src->literal_err);
    if (st == ENAS_OK && !(ld.staged = calloc(c->n ? c->n : 1, sizeof *ld.staged)))
        st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory loading '%s'", path);
    for (size_t i = 0; i < c->n && st == ENAS_OK; i++)
        if (!(ld.staged[i] = enas__cfg_values_copy(&c->secs[i]->cfg)))
            st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory loading '%s'", path);
    if (st == ENAS_OK)
        st = apply_root(&ld, config_root_setting(&lc));
    for (size_t i = 0; i < c->n && st == ENAS_OK; i++) {
        /* Commit: every section is valid, so swap all staged values in at once. */
        union enas_value *old = c->secs[i]->cfg.vals;
        c->secs[i]->cfg.vals = ld.staged[i];
        ld.staged[i] = old;
    }
    for (size_t i = 0; ld.staged && i < c->n; i++)
        enas__cfg_values_free(&c->secs[i]->cfg, ld.staged[i]);
    free(ld.staged);
    src_free(src);
    config_destroy(&lc);
    return st;
}
