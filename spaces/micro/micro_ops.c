/* micro_ops.c - the candidate-op list of the micro space and how each candidate is built from engine
 * ops. A token is either a vocabulary name (sep_conv_KxK, conv_KxK, avg_pool_KxK, max_pool_KxK,
 * identity) or any registered op name, optionally with attributes: "name(key=value,key=value)". */
#include "micro.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int attr_char(char ch)
{
    return name_char(ch) || ch == '=' || ch == '.' || ch == '-' || ch == '+' || ch == ' ' || ch == ',';
}

/* Recognises "<prefix>KxK" with an odd K in 1..11 (the patterns written out, so "sep_conv_03x3" is no match).
 */
static int vocab_kernel(const char *name, const char *prefix)
{
    for (int k = 1; k <= 11; k += 2) {
        char want[MC_NAME];
        snprintf(want, sizeof want, "%s%dx%d", prefix, k, k);
        if (strcmp(name, want) == 0)
            return k;
    }
    return 0;
}

static void classify(struct mc_cand_def *d)
{
    static const struct {
        const char *prefix;
        enum mc_kind kind;
    } vocab[] = {{"sep_conv_", MC_SEP}, {"conv_", MC_CONV}, {"avg_pool_", MC_AVG}, {"max_pool_", MC_MAX}};
    d->kind = MC_EXTERN;
    d->k = 0;
    if (strcmp(d->name, "identity") == 0) {
        d->kind = MC_IDENTITY;
        return;
    }
    for (size_t i = 0; i < sizeof vocab / sizeof vocab[0]; i++) {
        int k = vocab_kernel(d->name, vocab[i].prefix);
        if (k) {
            d->kind = vocab[i].kind;
            d->k = k;
            return;
        }
    }
    memcpy(d->op, d->name, sizeof d->op); /* same size: the name always fits */
}

/* One token (already trimmed, len > 0) into d. */
static enum enas_status parse_token(const char *tok, size_t len, struct mc_cand_def *d, struct enas_err *err)
{
    const char *open = memchr(tok, '(', len);
    size_t nlen = open ? (size_t)(open - tok) : len;
    memset(d, 0, sizeof *d);
    if (nlen == 0 || nlen >= MC_NAME)
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "micro: ops: candidate '%.*s': the name must have 1 to %d characters", (int)len,
                            tok, MC_NAME - 1);
    for (size_t i = 0; i < nlen; i++)
        if (!name_char(tok[i]))
            return enas_err_set(err, ENAS_ERR_CONFIG, "micro: ops: candidate '%.*s': names are [a-z0-9_]+",
                                (int)len, tok);
    memcpy(d->name, tok, nlen);
    if (open) {
        size_t alen = len >= nlen + 2 ? len - nlen - 2 : 0; /* without the parentheses */
        if (len < nlen + 2 || tok[len - 1] != ')' || alen >= MC_ATTRS)
            return enas_err_set(err, ENAS_ERR_CONFIG,
                                "micro: ops: candidate '%.*s': write attributes as name(key=value,key=value)",
                                (int)len, tok);
        for (size_t i = 0; i < alen; i++) {
            char ch = open[1 + i];
            if (!attr_char(ch))
                return enas_err_set(err, ENAS_ERR_CONFIG,
                                    "micro: ops: candidate '%.*s': character '%c' in its attributes",
                                    (int)len, tok, ch);
            d->attrs[i] = ch == ',' ? ' ' : ch;
        }
    }
    classify(d);
    if (d->kind != MC_EXTERN && d->attrs[0])
        return enas_err_set(err, ENAS_ERR_CONFIG,
                            "micro: ops: candidate '%s' is built in and takes no attributes", d->name);
    return ENAS_OK;
}

enum enas_status mc_parse_ops(struct mc_state *m, const char *text, struct enas_err *err)
{
    m->n_ops = 0;
    for (const char *p = text ? text : "";;) {
        size_t len = strcspn(p, "|");
        const char *t = p, *end = p + len;
        while (t < end && (*t == ' ' || *t == '\t'))
            t++;
        while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == t)
            return enas_err_set(err, ENAS_ERR_CONFIG, "micro: ops: empty candidate %u in '%s'", m->n_ops,
                                text);
        if (m->n_ops == MC_MAX_OPS)
            return enas_err_set(err, ENAS_ERR_CONFIG, "micro: ops: more than %d candidates in '%s'",
                                MC_MAX_OPS, text);
        struct mc_cand_def *d = &m->defs[m->n_ops];
        enum enas_status st = parse_token(t, (size_t)(end - t), d, err);
        if (st != ENAS_OK)
            return st;
        for (unsigned i = 0; i < m->n_ops; i++)
            if (strcmp(m->defs[i].name, d->name) == 0 && strcmp(m->defs[i].attrs, d->attrs) == 0)
                return enas_err_set(err, ENAS_ERR_CONFIG, "micro: ops: candidate '%s' is listed twice",
                                    d->name);
        m->n_ops++;
        if (!p[len])
            break;
        p += len + 1;
    }
    return ENAS_OK;
}

enum enas_status mc_op(struct mc_state *m, struct enas_op **out, const char *name, const char *scope,
                       struct enas_err *err, const char *fmt, ...)
{
    char attrs[MC_ATTRS + 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(attrs, sizeof attrs, fmt, ap);
    va_end(ap);
    *out = NULL;
    if (m->n_all == m->cap_all) {
        size_t cap = m->cap_all ? 2 * m->cap_all : 256;
        struct enas_op **a = m->api->alloc(cap * sizeof *a);
        if (!a)
            return enas_err_set(err, ENAS_ERR_NOMEM, "micro: out of memory for op '%s' at %s", name, scope);
        if (m->n_all)
            memcpy(a, m->all, m->n_all * sizeof *a);
        m->api->free(m->all);
        m->all = a;
        m->cap_all = cap;
    }
    enum enas_status st = m->api->op_create(m->host, name, attrs, scope, out, err);
    if (st != ENAS_OK) {
        enas_err_prefix(err, "micro: %s: ", scope);
        return st;
    }
    m->all[m->n_all++] = *out;
    return ENAS_OK;
}

/* Both to f channels; the BN sits outside the engine's factorized_reduce op, which has none. */
enum enas_status mc_fr_bn(struct mc_state *m, int64_t cin, int64_t f, int affine, const char *scope,
                          struct mc_conv_bn *out, struct enas_err *err)
{
    char sc[200];
    snprintf(sc, sizeof sc, "%s.fr", scope);
    enum enas_status st = mc_op(m, &out->conv, "factorized_reduce", sc, err,
                                "in_channels=%lld out_channels=%lld", (long long)cin, (long long)f);
    snprintf(sc, sizeof sc, "%s.fr_bn", scope);
    if (st == ENAS_OK)
        st = mc_op(m, &out->bn, "batch_norm", sc, err, "channels=%lld%s", (long long)f,
                   affine ? "" : " affine=false");
    return st;
}

/* A registered op: tried with in_channels/out_channels first, then (when it has no such attributes)
 * with only the attributes the token gave. */
static enum enas_status extern_create(struct mc_state *m, const struct mc_cand_def *d, int64_t f,
                                      const char *scope, struct enas_op **op, struct enas_err *err)
{
    struct enas_err first = {0};
    enum enas_status st = mc_op(m, op, d->op, scope, &first, "in_channels=%lld out_channels=%lld %s",
                                (long long)f, (long long)f, d->attrs);
    if (st == ENAS_ERR_CONFIG && strstr(first.msg, "unknown key"))
        return mc_op(m, op, d->op, scope, err, "%s", d->attrs);
    if (st == ENAS_ERR_NOT_FOUND) {
        /* no plugin provides the name (or several do): the ops setting is wrong, a settings error (exit 2),
         * the same wherever the candidate sits, so the place mc_op put in front is left out */
        char head[MC_NAME + 256];
        int len = snprintf(head, sizeof head, "micro: %s: ", scope);
        int same = len > 0 && (size_t)len < sizeof head && strncmp(first.msg, head, (size_t)len) == 0;
        return enas_err_set(err, ENAS_ERR_CONFIG, "%s", first.msg + (same ? len : 0));
    }
    if (st != ENAS_OK && err)
        *err = first;
    return st;
}

static enum enas_status stacked(struct mc_state *m, const struct mc_cand_def *d, int64_t f, int stride,
                                const char *scope, struct mc_cand *c, struct enas_err *err)
{
    const int n = d->kind == MC_SEP ? m->sep_stack : 1;
    enum enas_status st = ENAS_OK;
    for (int s = 0; s < n && st == ENAS_OK; s++) {
        struct mc_conv_bn *p = s == 0 ? &c->pre : &c->post;
        char sc[200];
        snprintf(sc, sizeof sc, "%s.conv%d", scope, s);
        st = mc_op(m, &p->conv, d->kind == MC_SEP ? "sep_conv" : "conv", sc, err,
                   "in_channels=%lld out_channels=%lld kernel=%d stride=%d relu_input=true", (long long)f,
                   (long long)f, d->k, s == 0 ? stride : 1);
        snprintf(sc, sizeof sc, "%s.bn%d", scope, s);
        if (st == ENAS_OK)
            st = mc_op(m, &p->bn, "batch_norm", sc, err, "channels=%lld", (long long)f);
    }
    return st;
}

enum enas_status mc_cand_create(struct mc_state *m, unsigned k, int64_t f, int stride, const char *scope,
                                struct mc_cand *c, struct enas_err *err)
{
    const struct mc_cand_def *d = &m->defs[k];
    enum enas_status st = ENAS_OK;
    memset(c, 0, sizeof *c);
    switch (d->kind) {
    case MC_SEP:
    case MC_CONV:
        st = stacked(m, d, f, stride, scope, c, err);
        break;
    case MC_AVG:
    case MC_MAX:
        break; /* weightless: the shared instances in m->pool */
    case MC_IDENTITY:
        if (stride == 2)
            st = mc_fr_bn(m, f, f, 1, scope, &c->pre, err);
        break;
    case MC_EXTERN:
        if (stride == 2)
            st = mc_fr_bn(m, f, f, 1, scope, &c->pre, err);
        if (st == ENAS_OK)
            st = extern_create(m, d, f, scope, &c->ext, err);
        if (st != ENAS_OK) /* a settings error here is one of the ops setting: name it */
            enas_err_prefix(err, "%scandidate '%s': ", st == ENAS_ERR_CONFIG ? "micro.ops: " : "", d->name);
        break;
    }
    return st;
}
