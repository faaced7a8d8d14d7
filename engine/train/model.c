/* model.c - the model file (version 1):
 *   "ENASMODL" | u32 version | u32 0 | u64 settings bytes | settings text
 *   | u64 n | n x (u32 name bytes, name, i64 numel, numel x f32) | u64 FNV-1a of everything before it.
 * Little-endian (the machine's on every platform enas builds for; the magic catches a foreign file). */
#include "train/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"
#include "util/file.h"

static const char magic[8] = {'E', 'N', 'A', 'S', 'M', 'O', 'D', 'L'};
#define NAME_MAX_BYTES 1024u

static int put(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n;
}

enum enas_status enas__model_write(const char *path, const char *settings, struct enas_param *const *ps,
                                   size_t np, struct enas_err *err)
{
    for (size_t i = 0; i < np; i++) {
        const int64_t k = enas_tensor_numel(&ps[i]->value);
        for (int64_t j = 0; j < k; j++)
            if (!isfinite(ps[i]->value.data[j]))
                return enas_err_set(err, ENAS_ERR_NUMERIC,
                                    "model '%s': '%s' is %g at index %lld; not written (the previous file "
                                    "is kept)",
                                    path, ps[i]->name, (double)ps[i]->value.data[j], (long long)j);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return enas_err_set(err, ENAS_ERR_NOMEM, "model '%s': out of memory", path);
    const uint32_t version = ENAS_MODEL_VERSION, zero = 0;
    const uint64_t text_len = strlen(settings), n = np;
    int ok = put(f, magic, sizeof magic) && put(f, &version, 4) && put(f, &zero, 4) && put(f, &text_len, 8) &&
             put(f, settings, text_len) && put(f, &n, 8);
    for (size_t i = 0; ok && i < np; i++) {
        const uint32_t nl = (uint32_t)strlen(ps[i]->name);
        const int64_t k = enas_tensor_numel(&ps[i]->value);
        ok = put(f, &nl, 4) && put(f, ps[i]->name, nl) && put(f, &k, 8) &&
             put(f, ps[i]->value.data, (size_t)k * sizeof(float));
    }
    ok = ok && fflush(f) == 0;
    const uint64_t sum = ok ? enas__checkpoint_checksum(buf, len) : 0;
    ok = ok && put(f, &sum, 8);
    ok = fclose(f) == 0 && ok;
    enum enas_status st = ok ? enas__file_replace(path, buf, len, 1, err)
                             : enas_err_set(err, ENAS_ERR_NOMEM, "model '%s': out of memory", path);
    free(buf);
    return st;
}

void enas__model_free(struct enas_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->arrays[i].name);
        free(m->arrays[i].data);
    }
    free(m->arrays);
    free(m->settings);
    memset(m, 0, sizeof *m);
}

/* A cursor over the file's bytes that never reads past the end. */
struct cur {
    const unsigned char *p;
    size_t at, end;
};

static int take(struct cur *c, void *out, size_t n)
{
    if (n > c->end - c->at)
        return 0;
    memcpy(out, c->p + c->at, n);
    c->at += n;
    return 1;
}

static enum enas_status bad(struct enas_model *m, struct enas_err *err, const char *path, const char *what)
{
    enas__model_free(m);
    return enas_err_set(err, ENAS_ERR_DATA, "model '%s': %s", path, what);
}

/* Header, checksum and settings text; c is left at the array count. */
static enum enas_status read_head(struct cur *c, const char *buf, size_t len, const char *path,
                                  struct enas_model *m, struct enas_err *err)
{
    char mg[8], what[128];
    uint32_t version = 0, zero = 0;
    uint64_t text_len = 0, sum = 0;
    if (len < 8 + 4 + 4 + 8 + 8 + 8 || !take(c, mg, 8) || memcmp(mg, magic, 8) != 0)
        return bad(m, err, path, "not an enas model file (no ENASMODL header)");
    take(c, &version, 4);
    if (version != ENAS_MODEL_VERSION) {
        snprintf(what, sizeof what, "format version %u; this enas reads version %u", version,
                 ENAS_MODEL_VERSION);
        return bad(m, err, path, what);
    }
    memcpy(&sum, buf + len - 8, 8);
    if (sum != enas__checkpoint_checksum(buf, len - 8))
        return bad(m, err, path, "checksum mismatch: the file is damaged or was cut short");
    if (!take(c, &zero, 4) || zero != 0 || !take(c, &text_len, 8) || text_len > c->end - c->at ||
        memchr(buf + c->at, '\0', text_len))
        return bad(m, err, path, "settings text: bad length or a NUL byte");
    if (!(m->settings = malloc(text_len + 1)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    take(c, m->settings, text_len);
    m->settings[text_len] = '\0';
    return ENAS_OK;
}

/* Array i: its name and size, and its values checked (finite) and copied into memory of its own. */
static enum enas_status read_array(struct cur *c, uint64_t i, const char *path, struct enas_model *m,
                                   struct enas_err *err)
{
    char what[320];
    uint32_t nl = 0;
    int64_t k = 0;
    struct enas_model_array *a = &m->arrays[m->n];
    if (!take(c, &nl, 4) || nl == 0 || nl > NAME_MAX_BYTES || nl > c->end - c->at) {
        snprintf(what, sizeof what, "array %llu: bad name length", (unsigned long long)i);
        return bad(m, err, path, what);
    }
    if (!(a->name = malloc(nl + 1)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    take(c, a->name, nl);
    a->name[nl] = '\0';
    m->n++;
    if (strlen(a->name) != nl || !take(c, &k, 8) || k < 0 || (uint64_t)k > (c->end - c->at) / 4) {
        snprintf(what, sizeof what, "array %llu ('%.200s'): bad name or size", (unsigned long long)i,
                 a->name);
        return bad(m, err, path, what);
    }
    a->numel = k;
    if (!(a->data = malloc(((size_t)k + 1) * sizeof *a->data)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    take(c, a->data, (size_t)k * sizeof *a->data);
    for (int64_t j = 0; j < k; j++)
        if (!isfinite(a->data[j])) {
            snprintf(what, sizeof what, "'%.200s' is %g at index %lld", a->name, (double)a->data[j],
                     (long long)j);
            return bad(m, err, path, what);
        }
    return ENAS_OK;
}

enum enas_status enas__model_read(const char *path, struct enas_model *m, struct enas_err *err)
{
    memset(m, 0, sizeof *m);
    char *buf = NULL;
    size_t len = 0;
    enum enas_status st = enas__file_read(path, "model", ENAS_MODEL_MAX_BYTES, &buf, &len, err);
    if (st != ENAS_OK)
        return st;
    struct cur c = {(const unsigned char *)buf, 0, len >= 8 ? len - 8 : 0};
    uint64_t n = 0;
    st = read_head(&c, buf, len, path, m, err);
    if (st == ENAS_OK && (!take(&c, &n, 8) || n > (c.end - c.at) / 12)) /* an array takes 12 bytes at least */
        st = bad(m, err, path, "array count: more arrays than the file has room for");
    if (st == ENAS_OK && n && !(m->arrays = calloc(n, sizeof *m->arrays)))
        st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; st == ENAS_OK && i < n; i++)
        st = read_array(&c, i, path, m, err);
    if (st == ENAS_OK && c.at != c.end) {
        char what[96];
        snprintf(what, sizeof what, "%llu bytes after the last array", (unsigned long long)(c.end - c.at));
        st = bad(m, err, path, what);
    }
    if (st != ENAS_OK)
        enas__model_free(m);
    free(buf);
    return st;
}

enum enas_status enas__model_apply(const struct enas_model *m, const char *path, struct enas_param *const *ps,
                                   size_t np, struct enas_err *err)
{
    if (m->n != np)
        return enas_err_set(
            err, ENAS_ERR_DATA,
            "model '%s': %zu arrays, but the network its settings describe has %zu parameters "
            "and buffers",
            path, m->n, np);
    for (size_t i = 0; i < np; i++) {
        const struct enas_model_array *a = NULL;
        for (size_t j = 0; j < m->n && !a; j++) /* the same order when written by enas: j == i first */
            if (strcmp(m->arrays[(i + j) % m->n].name, ps[i]->name) == 0)
                a = &m->arrays[(i + j) % m->n];
        if (!a)
            return enas_err_set(err, ENAS_ERR_DATA, "model '%s': no array '%s' for the network's parameter",
                                path, ps[i]->name);
        if (a->numel != enas_tensor_numel(&ps[i]->value))
            return enas_err_set(err, ENAS_ERR_DATA,
                                "model '%s': '%s' holds %lld values; the network's has %lld", path, a->name,
                                (long long)a->numel, (long long)enas_tensor_numel(&ps[i]->value));
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < m->n; j++)
            if (strcmp(m->arrays[(i + j) % m->n].name, ps[i]->name) == 0) {
                memcpy(ps[i]->value.data, m->arrays[(i + j) % m->n].data,
                       (size_t)m->arrays[(i + j) % m->n].numel * sizeof(float));
                break;
            }
    return ENAS_OK;
}
