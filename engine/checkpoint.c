/* checkpoint.c - the checkpoint file:
 *   "ENASCKPT" | u32 version | u32 sizeof state | state | u64 n | n x (u32 len, name, i64 numel, floats)
 *   | u64 FNV-1a of everything before it. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'E', 'N', 'A', 'S', 'C', 'K', 'P', 'T'};

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct writer {
    FILE *f;
    uint64_t sum;
    int bad;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (!w->bad && n && fwrite(p, 1, n, w->f) != n)
        w->bad = 1;
    w->sum = fnv1a(w->sum, p, n);
}

static enum enas_status sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* makes the rename durable; some file systems refuse, which is harmless */
        close(fd);
    }
    return ENAS_OK;
}

enum enas_status enas__ckpt_write(const char *path, const struct enas_ckpt_state *s, const struct enas_ckpt_array *a,
                                  size_t n, struct enas_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct writer w = {fopen(tmp, "wb"), 0xcbf29ce484222325ull, 0};
    if (!w.f)
        return enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': %s", tmp, strerror(errno));
    uint32_t version = ENAS_CKPT_VERSION, ssize = (uint32_t)sizeof *s;
    uint64_t count = n;
    put(&w, magic, sizeof magic);
    put(&w, &version, sizeof version);
    put(&w, &ssize, sizeof ssize);
    put(&w, s, sizeof *s);
    put(&w, &count, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(a[i].name);
        put(&w, &len, sizeof len);
        put(&w, a[i].name, len);
        put(&w, &a[i].numel, sizeof a[i].numel);
        put(&w, a[i].data, (size_t)a[i].numel * sizeof(float));
    }
    uint64_t sum = w.sum;
    put(&w, &sum, sizeof sum);
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
        w.bad = 1;
    if (fclose(w.f) != 0)
        w.bad = 1;
    if (w.bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': write failed: %s", path, strerror(e));
    }
    return sync_dir(path);
}

static unsigned char *slurp(const char *path, size_t *len, struct enas_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': cannot read it", path);
        return NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

struct reader {
    const unsigned char *p, *end;
};

static int take(struct reader *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

/* Header checks: magic, version, state size, checksum. */
static enum enas_status check_frame(const char *path, const unsigned char *buf, size_t len, struct enas_err *err)
{
    size_t head = sizeof magic + 2 * sizeof(uint32_t);
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': not an enas checkpoint", path);
    if (len < head + sizeof(uint64_t))
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated (%zu bytes)", path, len);
    uint32_t version, ssize;
    memcpy(&version, buf + sizeof magic, sizeof version);
    memcpy(&ssize, buf + sizeof magic + sizeof version, sizeof ssize);
    if (version != ENAS_CKPT_VERSION || ssize != sizeof(struct enas_ckpt_state))
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': format version %u; this enas reads version %d",
                            path, version, ENAS_CKPT_VERSION);
    uint64_t sum;
    memcpy(&sum, buf + len - sizeof sum, sizeof sum);
    if (fnv1a(0xcbf29ce484222325ull, buf, len - sizeof sum) != sum)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': checksum mismatch (truncated or corrupt file)",
                            path);
    return ENAS_OK;
}

/* Matches the file's arrays against the run's; records where each one's floats start. */
static enum enas_status match_arrays(const char *path, struct reader *r, const struct enas_ckpt_array *a, size_t n,
                                     const unsigned char **starts, struct enas_err *err)
{
    uint64_t count;
    if (take(r, &count, sizeof count) != 0)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated", path);
    if (count != n)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': %llu arrays; this run has %zu (other settings?)",
                            path, (unsigned long long)count, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = 0;
        int64_t numel = -1;
        char name[512];
        if (take(r, &len, sizeof len) != 0 || len >= sizeof name || take(r, name, len) != 0)
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': array %zu: bad name", path, i);
        name[len] = '\0';
        if (strcmp(name, a[i].name) != 0)
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': array %zu is '%s'; this run expects '%s'", path,
                                i, name, a[i].name);
        if (take(r, &numel, sizeof numel) != 0 || numel != a[i].numel)
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': '%s' has %lld values; this run has %lld", path,
                                name, (long long)numel, (long long)a[i].numel);
        starts[i] = r->p;
        if ((size_t)(r->end - r->p) < (size_t)numel * sizeof(float))
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated in '%s'", path, name);
        r->p += (size_t)numel * sizeof(float);
    }
    return ENAS_OK;
}

enum enas_status enas__ckpt_read(const char *path, const char *space, struct enas_ckpt_state *s,
                                 const struct enas_ckpt_array *a, size_t n, struct enas_err *err)
{
    size_t len = 0;
    unsigned char *buf = slurp(path, &len, err);
    if (!buf)
        return ENAS_ERR_IO;
    const unsigned char **starts = malloc((n ? n : 1) * sizeof *starts);
    struct enas_ckpt_state st;
    enum enas_status rc = starts ? check_frame(path, buf, len, err) : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    struct reader r = {buf + sizeof magic + 2 * sizeof(uint32_t), buf + len - sizeof(uint64_t)};
    if (rc == ENAS_OK && take(&r, &st, sizeof st) != 0)
        rc = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated", path);
    if (rc == ENAS_OK && strncmp(st.space, space, sizeof st.space) != 0)
        rc = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': written for space '%.63s'; this run uses '%s'", path,
                          st.space, space);
    if (rc == ENAS_OK)
        rc = match_arrays(path, &r, a, n, starts, err);
    if (rc == ENAS_OK && r.p != r.end)
        rc = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': unexpected data after the arrays", path);
    if (rc == ENAS_OK) { /* every check passed: now, and only now, overwrite the run's state */
        *s = st;
        for (size_t i = 0; i < n; i++)
            memcpy(a[i].data, starts[i], (size_t)a[i].numel * sizeof(float));
    }
    free(starts);
    free(buf);
    return rc;
}

enum enas_status enas__ckpt_digest(const char *path, uint64_t *digest, struct enas_err *err)
{
    size_t len = 0;
    unsigned char *buf = slurp(path, &len, err);
    if (!buf)
        return ENAS_ERR_IO;
    enum enas_status st = check_frame(path, buf, len, err);
    size_t start = sizeof magic + 2 * sizeof(uint32_t) + sizeof(struct enas_ckpt_state);
    if (st == ENAS_OK && len < start + 2 * sizeof(uint64_t))
        st = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated", path);
    if (st == ENAS_OK)
        *digest = fnv1a(0xcbf29ce484222325ull, buf + start, len - start - sizeof(uint64_t));
    free(buf);
    return st;
}
