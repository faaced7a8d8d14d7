/* checkpoint.c - the checkpoint file (version 2):
 *   "ENASCKPT" | u32 version | u32 state bytes | the state's fields in the order of `fields` below
 *   | best_len x i32 | u64 n | n x (u32 len, name, i64 numel, floats) | u64 FNV-1a of everything before it.
 * Each field is written by itself (never the struct with its padding), so the layout is the table's. */
#include "train/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

static const char magic[8] = {'E', 'N', 'A', 'S', 'C', 'K', 'P', 'T'};

/* The header and the state, in file order. The first two are the header; the rest map to the struct
 * through state_at (same index). The unit test checks that the offsets follow each other. */
static const struct enas_ckpt_field fields[] = {
    {"version", ENAS_CKPT_U32, 1, 8},         {"state_bytes", ENAS_CKPT_U32, 1, 12},
    {"space", ENAS_CKPT_TEXT, 64, 16},        {"epoch", ENAS_CKPT_I64, 1, 80},
    {"batch", ENAS_CKPT_I64, 1, 88},          {"phase", ENAS_CKPT_I64, 1, 96},
    {"global_step", ENAS_CKPT_I64, 1, 104},   {"ctrl_updates", ENAS_CKPT_I64, 1, 112},
    {"ctrl_in_epoch", ENAS_CKPT_I64, 1, 120}, {"adam_t", ENAS_CKPT_I64, 1, 128},
    {"metrics_bytes", ENAS_CKPT_I64, 1, 136}, {"baseline", ENAS_CKPT_F64, 1, 144},
    {"seed", ENAS_CKPT_U64, 1, 152},          {"rng", ENAS_CKPT_U64, 4, 160},
    {"best_reward", ENAS_CKPT_F64, 1, 192},   {"best_len", ENAS_CKPT_I64, 1, 200},
};
#define N_FIELDS    (sizeof fields / sizeof fields[0])
#define N_HEAD      2
#define STATE_AT    16u  /* where the state begins */
#define STATE_BYTES 192u /* and its size */
#define BEST_LEN_AT 200u

static const size_t state_at[N_FIELDS] = {
    0,
    0,
    offsetof(struct enas_ckpt_state, space),
    offsetof(struct enas_ckpt_state, epoch),
    offsetof(struct enas_ckpt_state, batch),
    offsetof(struct enas_ckpt_state, phase),
    offsetof(struct enas_ckpt_state, global_step),
    offsetof(struct enas_ckpt_state, ctrl_updates),
    offsetof(struct enas_ckpt_state, ctrl_in_epoch),
    offsetof(struct enas_ckpt_state, adam_t),
    offsetof(struct enas_ckpt_state, metrics_bytes),
    offsetof(struct enas_ckpt_state, baseline),
    offsetof(struct enas_ckpt_state, seed),
    offsetof(struct enas_ckpt_state, rng),
    offsetof(struct enas_ckpt_state, best_reward),
    offsetof(struct enas_ckpt_state, best_len),
};

static size_t field_bytes(const struct enas_ckpt_field *f)
{
    return f->count * (f->kind == ENAS_CKPT_TEXT ? 1 : f->kind == ENAS_CKPT_U32 ? 4 : 8);
}

const struct enas_ckpt_field *enas__checkpoint_fields(size_t *n)
{
    *n = N_FIELDS;
    return fields;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t enas__checkpoint_checksum(const void *p, size_t len)
{
    return fnv1a(0xcbf29ce484222325ull, p, len);
}

/* The first element that is NaN or infinite, or -1. */
static int64_t first_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

/* ---- writing ---- */

/* A buffered writer on a file descriptor that keeps the first error's errno (stdio would report a full
 * disk only at fclose, with errno long overwritten). */
struct writer {
    int fd;
    int error;
    uint64_t sum;
    size_t used;
    unsigned char buf[1 << 16];
};

static void drain(struct writer *w)
{
    size_t done = 0;
    while (!w->error && done < w->used) {
        ssize_t k = write(w->fd, w->buf + done, w->used - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            w->error = k < 0 ? errno : EIO;
        else
            done += (size_t)k;
    }
    w->used = 0;
}

static void put(struct writer *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    w->sum = fnv1a(w->sum, p, n);
    while (n && !w->error) {
        size_t k = sizeof w->buf - w->used < n ? sizeof w->buf - w->used : n;
        memcpy(w->buf + w->used, b, k);
        w->used += k;
        b += k;
        n -= k;
        if (w->used == sizeof w->buf)
            drain(w);
    }
}

static void sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd); /* makes the rename durable; some file systems refuse, which is harmless */
        close(fd);
    }
}

/* What the writer refuses before it creates anything: values a reader would refuse. */
static enum enas_status check_writable(const char *path, const struct enas_ckpt_state *s,
                                       const struct enas_ckpt_array *a, size_t n, struct enas_err *err)
{
    if (!isfinite(s->baseline) || !isfinite(s->best_reward))
        return enas_err_set(err, ENAS_ERR_NUMERIC,
                            "checkpoint '%s': not written: %s is %g (a checkpoint holds "
                            "finite numbers only); the previous checkpoint is kept",
                            path, isfinite(s->baseline) ? "best_reward" : "baseline",
                            isfinite(s->baseline) ? s->best_reward : s->baseline);
    if (s->best_len < 0 || s->best_len > s->best_cap || (s->best_len > 0 && !s->best_arch))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "checkpoint '%s': not written: best_len %lld with room for "
                            "%lld",
                            path, (long long)s->best_len, (long long)s->best_cap);
    for (size_t i = 0; i < n; i++) {
        int64_t j = first_nonfinite(a[i].data, a[i].numel);
        if (j >= 0)
            return enas_err_set(
                err, ENAS_ERR_NUMERIC,
                "checkpoint '%s': not written: array %zu '%s' holds %g at "
                "index %lld (a checkpoint holds finite numbers only); the previous checkpoint is "
                "kept",
                path, i, a[i].name, (double)a[i].data[j], (long long)j);
    }
    return ENAS_OK;
}

enum enas_status enas__checkpoint_write(const char *path, const struct enas_ckpt_state *s,
                                        const struct enas_ckpt_array *a, size_t n, struct enas_err *err)
{
    enum enas_status st = check_writable(path, s, a, n, err);
    if (st != ENAS_OK)
        return st;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct writer *w = malloc(sizeof *w);
    if (!w)
        return enas_err_set(err, ENAS_ERR_NOMEM, "checkpoint '%s': out of memory", path);
    /* a new file, never whatever a killed run left under the name (a FIFO there would block the open) */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        st = enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': %s", tmp, strerror(errno));
        free(w);
        return st;
    }
    *w = (struct writer){.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666),
                         .sum = 0xcbf29ce484222325ull};
    if (w->fd < 0) {
        st = enas_err_set(err, ENAS_ERR_IO, "checkpoint '%s': %s", tmp, strerror(errno));
        free(w);
        return st;
    }
    uint32_t version = ENAS_CKPT_VERSION, state_bytes = STATE_BYTES;
    put(w, magic, sizeof magic);
    put(w, &version, sizeof version);
    put(w, &state_bytes, sizeof state_bytes);
    for (size_t f = N_HEAD; f < N_FIELDS; f++)
        put(w, (const char *)s + state_at[f], field_bytes(&fields[f]));
    put(w, s->best_arch, (size_t)s->best_len * sizeof(int32_t));
    uint64_t count = n;
    put(w, &count, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)strlen(a[i].name);
        put(w, &len, sizeof len);
        put(w, a[i].name, len);
        put(w, &a[i].numel, sizeof a[i].numel);
        put(w, a[i].data, (size_t)a[i].numel * sizeof(float));
    }
    uint64_t sum = w->sum;
    put(w, &sum, sizeof sum);
    drain(w);
    if (!w->error && fsync(w->fd) != 0)
        w->error = errno;
    if (close(w->fd) != 0 && !w->error)
        w->error = errno;
    if (!w->error && rename(tmp, path) != 0)
        w->error = errno;
    int e = w->error;
    free(w);
    if (e) {
        unlink(tmp);
        return enas_err_set(err, ENAS_ERR_IO,
                            "checkpoint '%s': write failed: %s; the previous checkpoint is kept", path,
                            strerror(e));
    }
    sync_dir(path);
    return ENAS_OK;
}

/* ---- reading ---- */

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

/* Header checks: magic, size, version, state size, checksum. */
static enum enas_status check_frame(const char *path, const unsigned char *buf, size_t len,
                                    struct enas_err *err)
{
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': not an enas checkpoint", path);
    if (len < STATE_AT)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated (%zu bytes)", path, len);
    uint32_t version, state_bytes;
    memcpy(&version, buf + fields[0].offset, sizeof version);
    memcpy(&state_bytes, buf + fields[1].offset, sizeof state_bytes);
    /* Version 1 is refused rather than converted: it stored the best architecture in a fixed int32_t[512]
     * (garbage past it for longer macro architectures) and its raw struct layout was the compiler's. */
    if (version != ENAS_CKPT_VERSION)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': format version %u; this enas reads version %d "
                            "only%s",
                            path, version, ENAS_CKPT_VERSION,
                            version < ENAS_CKPT_VERSION
                                ? " (an older enas wrote it: finish that run with the enas "
                                  "that started it, or start it again)"
                                : "");
    if (state_bytes != STATE_BYTES)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': state_bytes is %u; version %d has %u", path,
                            state_bytes, ENAS_CKPT_VERSION, STATE_BYTES);
    if (len < STATE_AT + STATE_BYTES + 2 * sizeof(uint64_t))
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated (%zu bytes)", path, len);
    uint64_t sum;
    memcpy(&sum, buf + len - sizeof sum, sizeof sum);
    if (enas__checkpoint_checksum(buf, len - sizeof sum) != sum)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': checksum mismatch (truncated or corrupt file)", path);
    return ENAS_OK;
}

/* The state's fields into *st (best_arch left NULL), and where the best architecture's ints start. */
static enum enas_status parse_state(const char *path, const unsigned char *buf, size_t len, int64_t best_cap,
                                    struct enas_ckpt_state *st, struct reader *r, struct enas_err *err)
{
    memset(st, 0, sizeof *st);
    for (size_t f = N_HEAD; f < N_FIELDS; f++)
        memcpy((char *)st + state_at[f], buf + fields[f].offset, field_bytes(&fields[f]));
    r->p = buf + STATE_AT + STATE_BYTES;
    r->end = buf + len - sizeof(uint64_t);
    if (!memchr(st->space, '\0', sizeof st->space))
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': space is not a name (no end in %zu bytes)",
                            path, sizeof st->space);
    if (!isfinite(st->baseline))
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': baseline is %g; allowed: a finite number",
                            path, st->baseline);
    if (!isfinite(st->best_reward))
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': best_reward is %g; allowed: a finite number", path,
                            st->best_reward);
    if (st->best_len < 0 || st->best_len > best_cap)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': best_len is %lld; allowed 0..%lld (the length "
                            "of this run's architectures)",
                            path, (long long)st->best_len, (long long)best_cap);
    if ((size_t)(r->end - r->p) / sizeof(int32_t) < (size_t)st->best_len)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated in best_arch", path);
    return ENAS_OK;
}

/* Matches the file's arrays against the run's, values finite; records where each one's floats start. */
static enum enas_status match_arrays(const char *path, struct reader *r, const struct enas_ckpt_array *a,
                                     size_t n, const unsigned char **starts, struct enas_err *err)
{
    uint64_t count;
    if (take(r, &count, sizeof count) != 0)
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated", path);
    if (count != n)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "checkpoint '%s': %llu arrays; this run has %zu (other settings?)", path,
                            (unsigned long long)count, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = 0;
        int64_t numel = -1;
        char name[512];
        if (take(r, &len, sizeof len) != 0 || len >= sizeof name || take(r, name, len) != 0)
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': array %zu: bad name", path, i);
        name[len] = '\0';
        if (strcmp(name, a[i].name) != 0)
            return enas_err_set(err, ENAS_ERR_DATA,
                                "checkpoint '%s': array %zu is '%s'; this run expects '%s'", path, i, name,
                                a[i].name);
        if (take(r, &numel, sizeof numel) != 0 || numel != a[i].numel)
            return enas_err_set(err, ENAS_ERR_DATA,
                                "checkpoint '%s': '%s' has %lld values; this run has %lld", path, name,
                                (long long)numel, (long long)a[i].numel);
        starts[i] = r->p;
        if ((size_t)(r->end - r->p) / sizeof(float) < (size_t)numel)
            return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': truncated in '%s'", path, name);
        for (int64_t j = 0; j < numel; j++) { /* the floats need not be aligned in the buffer */
            float v;
            memcpy(&v, r->p + (size_t)j * sizeof v, sizeof v);
            if (!isfinite(v))
                return enas_err_set(err, ENAS_ERR_DATA,
                                    "checkpoint '%s': array %zu '%s' holds %g at index %lld; "
                                    "allowed: finite numbers",
                                    path, i, name, (double)v, (long long)j);
        }
        r->p += (size_t)numel * sizeof(float);
    }
    return ENAS_OK;
}

enum enas_status enas__checkpoint_read(const char *path, const char *space, struct enas_ckpt_state *s,
                                       const struct enas_ckpt_array *a, size_t n, enas_ckpt_check_fn check,
                                       void *ctx, struct enas_err *err)
{
    /* What this run's checkpoint can hold, with room for an older format's header to be reported as such:
     * memory stays bounded whatever the file is. */
    uint64_t max = STATE_AT + STATE_BYTES + 2 * sizeof(uint64_t) +
                   (uint64_t)(s->best_cap > 0 ? s->best_cap : 0) * 4 + (1u << 20);
    for (size_t i = 0; i < n; i++)
        max += sizeof(uint32_t) + strlen(a[i].name) + sizeof(int64_t) + (uint64_t)a[i].numel * sizeof(float);
    char *text = NULL;
    size_t len = 0;
    enum enas_status rc = enas__file_read(path, "checkpoint", max, &text, &len, err);
    if (rc != ENAS_OK)
        return rc;
    const unsigned char *buf = (const unsigned char *)text;
    const unsigned char **starts = malloc((n ? n : 1) * sizeof *starts);
    struct enas_ckpt_state st;
    struct reader r = {buf, buf};
    int32_t *best = NULL;
    rc = starts ? check_frame(path, buf, len, err) : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    if (rc == ENAS_OK)
        rc = parse_state(path, buf, len, s->best_cap, &st, &r, err);
    if (rc == ENAS_OK && strncmp(st.space, space, sizeof st.space) != 0)
        rc =
            enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': written for space '%.63s'; this run uses '%s'",
                         path, st.space, space);
    if (rc == ENAS_OK && !(best = malloc((size_t)(st.best_len ? st.best_len : 1) * sizeof *best)))
        rc = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    if (rc == ENAS_OK) {
        take(&r, best, (size_t)st.best_len * sizeof *best); /* parse_state made sure it is there */
        st.best_arch = best;
        st.best_cap = st.best_len;
        rc = match_arrays(path, &r, a, n, starts, err);
    }
    if (rc == ENAS_OK && r.p != r.end)
        rc = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': unexpected data after the arrays", path);
    if (rc == ENAS_OK && check)
        rc = check(ctx, path, &st, err);
    if (rc == ENAS_OK) { /* every check passed: now, and only now, overwrite the run's state */
        int32_t *keep = s->best_arch;
        int64_t cap = s->best_cap;
        *s = st;
        s->best_arch = keep;
        s->best_cap = cap;
        if (st.best_len)
            memcpy(s->best_arch, best, (size_t)st.best_len * sizeof *best);
        for (size_t i = 0; i < n; i++)
            memcpy(a[i].data, starts[i], (size_t)a[i].numel * sizeof(float));
    }
    free(best);
    free(starts);
    free(text);
    return rc;
}

enum enas_status enas__checkpoint_digest(const char *path, uint64_t *digest, struct enas_err *err)
{
    char *text = NULL;
    size_t len = 0;
    enum enas_status st = enas__file_read(path, "checkpoint", (uint64_t)1 << 40, &text, &len, err);
    if (st != ENAS_OK)
        return st;
    const unsigned char *buf = (const unsigned char *)text;
    st = check_frame(path, buf, len, err);
    int64_t best_len = 0;
    if (st == ENAS_OK) {
        memcpy(&best_len, buf + BEST_LEN_AT, sizeof best_len);
        if (best_len < 0 || (uint64_t)best_len > (len - STATE_AT - STATE_BYTES - 2 * sizeof(uint64_t)) / 4)
            st = enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': best_len is %lld: truncated or corrupt",
                              path, (long long)best_len);
    }
    if (st == ENAS_OK) {
        size_t start = STATE_AT + STATE_BYTES + (size_t)best_len * sizeof(int32_t);
        *digest = enas__checkpoint_checksum(buf + start, len - start - sizeof(uint64_t));
    }
    free(text);
    return st;
}
