/* json.c - recursive-descent JSON reader. Depth is bounded so a hostile file cannot exhaust the
 * stack; every error names the line and column where it was noticed. */
#include "arch/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct parser {
    const char *p, *name;
    int line, col;
    struct enas_err *err;
};

static enum enas_status fail(struct parser *ps, const char *what)
{
    return enas_err_set(ps->err, ENAS_ERR_DATA, "%s:%d:%d: %s", ps->name, ps->line, ps->col, what);
}

static void advance(struct parser *ps)
{
    if (*ps->p == '\n') {
        ps->line++;
        ps->col = 1;
    } else {
        ps->col++;
    }
    ps->p++;
}

static void skip_ws(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        advance(ps);
}

static int literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(ps->p, word, n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        advance(ps);
    return 1;
}

static enum enas_status parse_value(struct parser *ps, struct enas_json *v, int depth);

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

static enum enas_status parse_escape(struct parser *ps, char *o, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = strchr(from, ps->p[1]);
    if (ps->p[1] && hit) {
        o[(*n)++] = to[hit - from];
        advance(ps);
        advance(ps);
        return ENAS_OK;
    }
    unsigned cp;
    if (ps->p[1] != 'u' || !hex4(ps->p + 2, &cp))
        return fail(ps, "bad escape in string");
    if (cp == 0) /* it would end the decoded string early: "Layer\u0000x" would read as "Layer" */
        return fail(ps, "\\u0000 (a NUL character) in a string");
    for (int i = 0; i < 6; i++)
        advance(ps);
    *n += put_utf8(o + *n, cp); /* surrogate pairs are not needed for architecture keys */
    return ENAS_OK;
}

static enum enas_status parse_string(struct parser *ps, char **out)
{
    advance(ps); /* opening quote */
    const char *end = ps->p;
    while (*end && *end != '"')
        end += (*end == '\\' && end[1]) ? 2 : 1;
    char *s = malloc((size_t)(end - ps->p) + 1);
    size_t n = 0;
    if (!s)
        return enas_err_set(ps->err, ENAS_ERR_NOMEM, "%s: out of memory", ps->name);
    while (*ps->p && *ps->p != '"') {
        if ((unsigned char)*ps->p < 0x20) {
            free(s);
            return fail(ps, "control character in string");
        }
        if (*ps->p == '\\') {
            if (parse_escape(ps, s, &n) != ENAS_OK) {
                free(s);
                return ENAS_ERR_DATA;
            }
            continue;
        }
        s[n++] = *ps->p;
        advance(ps);
    }
    if (*ps->p != '"') {
        free(s);
        return fail(ps, "unterminated string");
    }
    advance(ps);
    s[n] = '\0';
    *out = s;
    return ENAS_OK;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) at p, 0 if there is
 * none. strtod alone also takes hex, "inf", "nan" and "1." that JSON readers refuse. */
static size_t number_len(const char *p)
{
    const char *q = p + (*p == '-');
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (is_digit(*q))
            q++;
    else
        return 0;
    if (*q == '.') {
        if (!is_digit(*++q))
            return 0;
        while (is_digit(*q))
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q += q[1] == '+' || q[1] == '-' ? 2 : 1;
        if (!is_digit(*q))
            return 0;
        while (is_digit(*q))
            q++;
    }
    return (size_t)(q - p);
}

static enum enas_status parse_number(struct parser *ps, struct enas_json *v)
{
    char *end;
    size_t len = number_len(ps->p);
    errno = 0;
    v->num = len ? strtod(ps->p, &end) : 0.0;
    if (!len || end != ps->p + len || errno == ERANGE)
        return fail(ps, "bad number");
    v->type = ENAS_JSON_NUMBER;
    while (ps->p < end)
        advance(ps);
    return ENAS_OK;
}

static enum enas_status push(struct parser *ps, struct enas_json *v, size_t *cap)
{
    if (v->n < *cap)
        return ENAS_OK;
    size_t c = *cap ? *cap * 2 : 8;
    struct enas_json *items = realloc(v->items, c * sizeof *items);
    if (!items)
        return enas_err_set(ps->err, ENAS_ERR_NOMEM, "%s: out of memory", ps->name);
    v->items = items;
    if (v->type == ENAS_JSON_OBJECT) {
        char **keys = realloc(v->keys, c * sizeof *keys);
        if (!keys)
            return enas_err_set(ps->err, ENAS_ERR_NOMEM, "%s: out of memory", ps->name);
        v->keys = keys;
    }
    *cap = c;
    return ENAS_OK;
}

struct key_at {
    const char *key;
    size_t i;
    int line, col;
};

static int by_key(const void *a, const void *b)
{
    const struct key_at *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* An object's keys must differ: Python's json keeps the last of equal keys, a first-match lookup the first,
 * so a duplicate would mean different architectures to different readers. The first repeat in document
 * order is reported, at its own position. at[i] holds key i's position; it is sorted here. */
static enum enas_status check_unique(struct parser *ps, struct key_at *at, size_t n)
{
    qsort(at, n, sizeof *at, by_key);
    const struct key_at *dup = NULL, *first = NULL;
    for (size_t i = 1; i < n; i++)
        if (strcmp(at[i].key, at[i - 1].key) == 0 && (!dup || at[i].i < dup->i)) {
            dup = &at[i];
            first = &at[i - 1];
        }
    if (!dup)
        return ENAS_OK;
    return enas_err_set(
        ps->err, ENAS_ERR_DATA, "%s:%d:%d: duplicate key '%.80s%s' (first at line %d, column %d)", ps->name,
        dup->line, dup->col, dup->key, strlen(dup->key) > 80 ? "..." : "", first->line, first->col);
}

/* One "key": value member into v->keys[v->n], v->items[v->n]; at gets the key's position. */
static enum enas_status parse_member(struct parser *ps, struct enas_json *v, struct key_at *at, int depth)
{
    if (*ps->p != '"')
        return fail(ps, "expected a key string");
    at->line = ps->line;
    at->col = ps->col;
    at->i = v->n;
    if (parse_string(ps, &v->keys[v->n]) != ENAS_OK)
        return ENAS_ERR_DATA;
    at->key = v->keys[v->n];
    v->n++; /* counted now so that the key is freed on a later error */
    skip_ws(ps);
    if (*ps->p != ':')
        return fail(ps, "expected ':' after the key");
    advance(ps);
    skip_ws(ps);
    return parse_value(ps, &v->items[v->n - 1], depth + 1) != ENAS_OK ? ENAS_ERR_DATA : ENAS_OK;
}

/* Arrays and objects: elements separated by commas, closed by `close`. *at (objects) grows with the keys. */
static enum enas_status parse_elements(struct parser *ps, struct enas_json *v, char close, int depth,
                                       struct key_at **at)
{
    size_t cap = 0;
    advance(ps);
    skip_ws(ps);
    if (*ps->p == close) {
        advance(ps);
        return ENAS_OK;
    }
    for (;;) {
        skip_ws(ps);
        size_t old_cap = cap;
        if (push(ps, v, &cap) != ENAS_OK)
            return ENAS_ERR_NOMEM;
        if (close == '}' && cap != old_cap) {
            struct key_at *a = realloc(*at, cap * sizeof *a);
            if (!a)
                return enas_err_set(ps->err, ENAS_ERR_NOMEM, "%s: out of memory", ps->name);
            *at = a;
        }
        struct enas_json *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (close == '}') {
            if (parse_member(ps, v, &(*at)[v->n], depth) != ENAS_OK)
                return ENAS_ERR_DATA;
        } else {
            v->n++;
            if (parse_value(ps, item, depth + 1) != ENAS_OK)
                return ENAS_ERR_DATA;
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            advance(ps);
            continue;
        }
        if (*ps->p == close) {
            advance(ps);
            return ENAS_OK;
        }
        return fail(ps, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static enum enas_status parse_seq(struct parser *ps, struct enas_json *v, char close, int depth)
{
    struct key_at *at = NULL;
    enum enas_status st = parse_elements(ps, v, close, depth, &at);
    if (st == ENAS_OK && close == '}' && v->n > 1)
        st = check_unique(ps, at, v->n);
    free(at);
    return st;
}

static enum enas_status parse_value(struct parser *ps, struct enas_json *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(ps, "nested too deeply");
    skip_ws(ps);
    v->line = ps->line;
    v->col = ps->col;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? ENAS_JSON_OBJECT : ENAS_JSON_ARRAY;
        return parse_seq(ps, v, c == '{' ? '}' : ']', depth);
    }
    if (c == '"') {
        v->type = ENAS_JSON_STRING;
        return parse_string(ps, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v);
    if (literal(ps, "true") || literal(ps, "false")) {
        v->type = ENAS_JSON_BOOL;
        v->num = c == 't';
        return ENAS_OK;
    }
    if (literal(ps, "null")) {
        v->type = ENAS_JSON_NULL;
        return ENAS_OK;
    }
    return fail(ps, c ? "unexpected character" : "unexpected end of input");
}

static void free_inner(struct enas_json *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free_inner(&j->items[i]);
        if (j->type == ENAS_JSON_OBJECT)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
}

void enas__json_free(struct enas_json *j)
{
    if (!j)
        return;
    free_inner(j);
    free(j);
}

enum enas_status enas__json_parse(const char *text, const char *name, struct enas_json **out,
                                  struct enas_err *err)
{
    struct parser ps = {text, name, 1, 1, err};
    struct enas_json *v = calloc(1, sizeof *v);
    *out = NULL;
    if (!v)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: out of memory", name);
    enum enas_status st = parse_value(&ps, v, 0);
    if (st == ENAS_OK) {
        skip_ws(&ps);
        if (*ps.p)
            st = fail(&ps, "unexpected text after the JSON value");
    }
    if (st != ENAS_OK) {
        enas__json_free(v);
        return st;
    }
    *out = v;
    return ENAS_OK;
}

const struct enas_json *enas__json_get(const struct enas_json *obj, const char *key)
{
    if (!obj || obj->type != ENAS_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}
