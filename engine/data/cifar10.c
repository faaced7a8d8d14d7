/* cifar10.c - read the CIFAR-10 binary batches, find their directory, split the training set.
 * Files are read with read(2) in whole-record chunks, so a limit reads no byte past the last image it
 * keeps (stdio would read a buffer ahead). */
#include "data/cifar10.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/path.h"

#define CHUNK_RECORDS 512 /* records per read(2): 1.5 MB, few syscalls, small scratch */

/* Reads exactly len bytes unless the file ends or fails first; returns how many were read, and leaves
 * errno set when the reason was an error. */
static size_t read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Moves cnt records from buf into d at index d->n, checking each label. first is the record number of
 * buf[0] within the file, for messages. */
static enum enas_status unpack_records(const char *path, const uint8_t *buf, int64_t cnt, int64_t first,
                                       struct enas_cifar10 *d, struct enas_err *err)
{
    for (int64_t k = 0; k < cnt; k++) {
        const uint8_t *rec = buf + k * ENAS_CIFAR10_RECORD_BYTES;
        if (rec[0] >= ENAS_CIFAR10_CLASSES)
            return enas_err_set(err, ENAS_ERR_DATA, "%s: record %lld: label %u is not in 0..9", path,
                                (long long)first + k, (unsigned)rec[0]);
        d->labels[d->n] = rec[0];
        memcpy(d->pixels + d->n * ENAS_CIFAR10_IMAGE_BYTES, rec + 1, ENAS_CIFAR10_IMAGE_BYTES);
        d->n++;
    }
    return ENAS_OK;
}

/* Makes room for more records beyond d->n. Each pointer is replaced only by a successful realloc, so
 * that fini frees exactly what is allocated; more is bounded by ENAS_CIFAR10_MAX_RECORDS per file, so the
 * sizes cannot overflow. */
static enum enas_status grow(struct enas_cifar10 *d, int64_t more, const char *path, struct enas_err *err)
{
    if (more <= 0)
        return ENAS_OK; /* realloc(p, 0) frees p: nothing to grow must not touch the pointers */
    size_t total = (size_t)(d->n + more);
    uint8_t *p = realloc(d->pixels, total * ENAS_CIFAR10_IMAGE_BYTES);
    if (p)
        d->pixels = p;
    uint8_t *l = p ? realloc(d->labels, total) : NULL;
    if (l)
        d->labels = l;
    if (!p || !l)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: no memory for %lld images", path, (long long)total);
    return ENAS_OK;
}

/* Reads the records of one open file. take is how many of its records to keep. */
static enum enas_status read_records(int fd, const char *path, int64_t take, struct enas_cifar10 *d,
                                     struct enas_err *err)
{
    uint8_t *buf = malloc((size_t)CHUNK_RECORDS * ENAS_CIFAR10_RECORD_BYTES);
    if (!buf)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s: no memory for the read buffer", path);
    enum enas_status st = ENAS_OK;
    for (int64_t done = 0; done < take && st == ENAS_OK;) {
        int64_t cnt = take - done < CHUNK_RECORDS ? take - done : CHUNK_RECORDS;
        size_t want = (size_t)cnt * ENAS_CIFAR10_RECORD_BYTES;
        errno = 0;
        size_t got = read_full(fd, buf, want);
        if (got < want) {
            st = enas_err_set(err, ENAS_ERR_IO, "%s: short read at record %lld: %s", path,
                              (long long)done + (long long)(got / ENAS_CIFAR10_RECORD_BYTES),
                              errno ? strerror(errno) : "unexpected end of file");
            break;
        }
        st = unpack_records(path, buf, cnt, done, d, err);
        done += cnt;
    }
    free(buf);
    return st;
}

/* A batch file's size must be a positive whole number of records: an empty file (or one that is empty
 * by stat, as /dev/zero, refused as a device by enas__file_open anyway) would add no image silently. */
static enum enas_status check_size(const char *path, uint64_t size, struct enas_err *err)
{
    if (size == 0)
        return enas_err_set(err, ENAS_ERR_DATA,
                            "%s: empty (0 bytes); a CIFAR-10 batch holds 1 to %d records of %d bytes", path,
                            ENAS_CIFAR10_MAX_RECORDS, ENAS_CIFAR10_RECORD_BYTES);
    if (size % ENAS_CIFAR10_RECORD_BYTES != 0)
        return enas_err_set(
            err, ENAS_ERR_DATA,
            "%s: size %llu is not a multiple of the %d-byte record (%llu whole records and %llu "
            "bytes more)",
            path, (unsigned long long)size, ENAS_CIFAR10_RECORD_BYTES,
            (unsigned long long)(size / ENAS_CIFAR10_RECORD_BYTES),
            (unsigned long long)(size % ENAS_CIFAR10_RECORD_BYTES));
    return ENAS_OK;
}

/* Appends up to want records of path (want 0: all of them) to d. */
static enum enas_status load_file(const char *path, int64_t want, struct enas_cifar10 *d,
                                  struct enas_err *err)
{
    FILE *f = NULL;
    uint64_t size = 0;
    enum enas_status st =
        enas__file_open(path, "CIFAR-10 batch", ENAS_CIFAR10_MAX_FILE_BYTES, &f, &size, err);
    if (st == ENAS_OK)
        st = check_size(path, size, err);
    if (st == ENAS_OK) {
        int64_t records = (int64_t)(size / ENAS_CIFAR10_RECORD_BYTES);
        int64_t take = want > 0 && want < records ? want : records;
        st = grow(d, take, path, err);
        if (st == ENAS_OK) /* read(2) on the descriptor: stdio is never used on f, so nothing is read ahead */
            st = read_records(fileno(f), path, take, d, err);
    }
    if (f)
        fclose(f);
    return st;
}

enum enas_status enas__cifar10_load(const char *dir, int test_set, int64_t limit, struct enas_cifar10 *out,
                                    struct enas_err *err)
{
    if (!out)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cifar10: no output");
    memset(out, 0, sizeof *out);
    if (!dir || !*dir)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cifar10: no data directory given");
    if (limit < 0)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cifar10: limit %lld is negative", (long long)limit);
    int n_files = test_set ? 1 : ENAS_CIFAR10_TRAIN_FILES;
    enum enas_status st = ENAS_OK;
    for (int i = 0; i < n_files && st == ENAS_OK; i++) {
        if (limit > 0 && out->n >= limit)
            break; /* the limit is met: later files are not even opened */
        char path[ENAS__PATH_MAX];
        st = test_set ? enas__path_join(path, sizeof path, err, "%s/test_batch.bin", dir)
                      : enas__path_join(path, sizeof path, err, "%s/data_batch_%d.bin", dir, i + 1);
        if (st == ENAS_OK)
            st = load_file(path, limit > 0 ? limit - out->n : 0, out, err);
    }
    if (st != ENAS_OK)
        enas__cifar10_fini(out);
    return st;
}

enum enas_status enas__cifar10_load_file(const char *path, int64_t limit, struct enas_cifar10 *out,
                                         struct enas_err *err)
{
    memset(out, 0, sizeof *out);
    if (limit < 0)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cifar10: limit %lld is negative", (long long)limit);
    enum enas_status st = load_file(path, limit, out, err);
    if (st != ENAS_OK)
        enas__cifar10_fini(out);
    return st;
}

void enas__cifar10_fini(struct enas_cifar10 *d)
{
    if (!d)
        return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* What holds_data found at a candidate. */
enum holds { HOLDS_DATA, HOLDS_NOTHING, HOLDS_DENIED };

/* Looks for dir/data_batch_1.bin. A stat that fails for another reason than absence (permission denied on
 * dir, say) is the answer, so that it is not reported as a missing file. */
static enum holds look_in(const char *dir, char *why, size_t why_cap)
{
    char path[ENAS__PATH_MAX];
    struct stat sb;
    if (enas__path_join(path, sizeof path, NULL, "%s/data_batch_1.bin", dir) != ENAS_OK) {
        snprintf(why, why_cap, "path too long");
        return HOLDS_NOTHING;
    }
    if (stat(path, &sb) == 0) {
        if (S_ISREG(sb.st_mode))
            return HOLDS_DATA;
        snprintf(why, why_cap, "'%s' is not a regular file", path);
        return HOLDS_NOTHING;
    }
    if (errno == ENOENT || errno == ENOTDIR)
        return HOLDS_NOTHING;
    if (errno == EACCES)
        snprintf(why, why_cap, "permission denied: cannot look into directory '%s'", dir);
    else
        snprintf(why, why_cap, "'%s': %s", path, strerror(errno));
    return HOLDS_DENIED;
}

/* HOLDS_DATA if cand (or cand/cifar-10-batches-bin) holds data_batch_1.bin; then out names that directory.
 * Otherwise why says what was wrong with cand. */
static enum holds holds_data(const char *cand, char *out, size_t cap, char *why, size_t why_cap)
{
    char dir[ENAS__PATH_MAX];
    struct stat sb;
    if (stat(cand, &sb) != 0) {
        int denied = errno == EACCES;
        snprintf(why, why_cap, "%s", denied ? "permission denied: cannot reach it" : "no such directory");
        return denied ? HOLDS_DENIED : HOLDS_NOTHING;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(why, why_cap, "not a directory");
        return HOLDS_NOTHING;
    }
    snprintf(why, why_cap, "no data_batch_1.bin");
    const char *subs[] = {"", "/" ENAS_CIFAR10_SUBDIR};
    for (int i = 0; i < 2; i++) {
        enum holds h = enas__path_join(dir, sizeof dir, NULL, "%s%s", cand, subs[i]) != ENAS_OK
                           ? HOLDS_NOTHING
                           : look_in(dir, why, why_cap);
        if (h == HOLDS_DENIED)
            return h;
        if (h != HOLDS_DATA)
            continue;
        const size_t len = strlen(dir);
        if (len >= cap) {
            snprintf(why, why_cap, "path too long");
            return HOLDS_NOTHING;
        }
        memcpy(out, dir, len + 1);
        return HOLDS_DATA;
    }
    return HOLDS_NOTHING;
}

#define GET_HINT                                                                                             \
    "get it with tools/get_cifar10.sh DIR (unpacks to DIR/" ENAS_CIFAR10_SUBDIR ") and pass --data DIR"

enum enas_status enas__cifar10_find_dir(const char *setting, char *out, size_t cap, struct enas_err *err)
{
    if (!out || cap == 0)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "cifar10: no output buffer");
    out[0] = '\0';
    char why[ENAS__PATH_MAX + 128], env_why[ENAS__PATH_MAX + 128] = "not set";
    if (setting && *setting) {
        /* an explicit choice that is wrong must be reported, not papered over by another copy */
        enum holds h = holds_data(setting, out, cap, why, sizeof why);
        if (h == HOLDS_DATA)
            return ENAS_OK;
        out[0] = '\0';
        if (h == HOLDS_DENIED)
            return enas_err_set(err, ENAS_ERR_IO, "CIFAR-10 data setting '%s': %s", setting, why);
        return enas_err_set(
            err, ENAS_ERR_NOT_FOUND,
            "CIFAR-10 not found in the data setting '%s' (%s there or in %s/" ENAS_CIFAR10_SUBDIR
            "); " GET_HINT,
            setting, why, setting);
    }
    const char *env = getenv("ENAS_DATA");
    if (env && *env) {
        if (holds_data(env, out, cap, env_why, sizeof env_why) == HOLDS_DATA)
            return ENAS_OK;
        out[0] = '\0';
    }
    if (holds_data("./data", out, cap, why, sizeof why) == HOLDS_DATA)
        return ENAS_OK;
    out[0] = '\0';
    return enas_err_set(err, ENAS_ERR_NOT_FOUND,
                        "CIFAR-10 not found; looked at: data setting (not set); $ENAS_DATA%s%s%s (%s); "
                        "./data/" ENAS_CIFAR10_SUBDIR " (%s). " GET_HINT ", or set ENAS_DATA=DIR",
                        env && *env ? " '" : "", env && *env ? env : "", env && *env ? "'" : "", env_why,
                        why);
}

enum enas_status enas__cifar10_split(int64_t n, const char *mode, struct enas_cifar10_split *out,
                                     struct enas_err *err)
{
    if (!out)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "split: no output");
    memset(out, 0, sizeof *out);
    if (n < 2)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "split: %lld training images cannot be split into two non-empty parts",
                            (long long)n);
    int64_t n_valid;
    if (mode && strcmp(mode, "half") == 0)
        n_valid = n / 2;
    else if (mode && strcmp(mode, "tf") == 0)
        n_valid = n >= 10000 ? 5000 : (n / 10 > 0 ? n / 10 : 1);
    else
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "split: unknown mode '%s'; use \"half\" or \"tf\"",
                            mode ? mode : "(null)");
    out->train_begin = 0;
    out->train_end = n - n_valid;
    out->valid_begin = n - n_valid;
    out->valid_end = n;
    return ENAS_OK;
}
