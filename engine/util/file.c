/* file.c - regular files of a bounded size, opened without blocking (file.h). */
#define _GNU_SOURCE
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a plain file";
}

enum enas_status enas__file_open(const char *path, const char *what, uint64_t max_bytes, FILE **f,
                                 uint64_t *size, struct enas_err *err)
{
    *f = NULL;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return enas_err_set(err, ENAS_ERR_IO, "%s '%s': %s", what, path, strerror(errno));
    struct stat sb;
    enum enas_status st = ENAS_OK;
    if (fstat(fd, &sb) != 0)
        st = enas_err_set(err, ENAS_ERR_IO, "%s '%s': cannot stat it: %s", what, path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = enas_err_set(err, ENAS_ERR_IO, "%s '%s': is a directory", what, path);
    else if (!S_ISREG(sb.st_mode))
        st = enas_err_set(err, ENAS_ERR_IO, "%s '%s': not a regular file (%s)", what, path,
                          kind_of(sb.st_mode));
    else if ((uint64_t)sb.st_size > max_bytes)
        st = enas_err_set(err, ENAS_ERR_DATA, "%s '%s': too large (%llu bytes; at most %llu)", what, path,
                          (unsigned long long)sb.st_size, (unsigned long long)max_bytes);
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 || !(*f = fdopen(fd, "rb")))
        st = enas_err_set(err, ENAS_ERR_IO, "%s '%s': %s", what, path, strerror(errno));
    if (st != ENAS_OK) {
        close(fd);
        return st;
    }
    if (size)
        *size = (uint64_t)sb.st_size;
    return ENAS_OK;
}

enum enas_status enas__file_read_stream(FILE *f, const char *name, const char *what, uint64_t max_bytes,
                                        char **buf, size_t *len, struct enas_err *err)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    *buf = NULL;
    if (!b)
        return enas_err_set(err, ENAS_ERR_NOMEM, "%s '%s': out of memory", what, name);
    for (;;) {
        if (cap - n < 2) {
            char *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                return enas_err_set(err, ENAS_ERR_NOMEM, "%s '%s': out of memory", what, name);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if ((uint64_t)n > max_bytes) {
            free(b);
            return enas_err_set(err, ENAS_ERR_DATA, "%s '%s': too large (over %llu bytes)", what, name,
                                (unsigned long long)max_bytes);
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(b);
        return enas_err_set(err, ENAS_ERR_IO, "%s '%s': read error", what, name);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return ENAS_OK;
}

enum enas_status enas__file_read(const char *path, const char *what, uint64_t max_bytes, char **buf,
                                 size_t *len, struct enas_err *err)
{
    FILE *f = NULL;
    *buf = NULL;
    enum enas_status st = enas__file_open(path, what, max_bytes, &f, NULL, err);
    if (st != ENAS_OK)
        return st;
    /* read to the end rather than trusting st_size: a file that grows as it is read stays bounded */
    st = enas__file_read_stream(f, path, what, max_bytes, buf, len, err);
    fclose(f);
    return st;
}

enum enas_status enas__file_replace(const char *path, const void *data, size_t len, int durable,
                                    struct enas_err *err)
{
    const size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return enas_err_set(err, ENAS_ERR_NOMEM, "cannot write '%s': out of memory", path);
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        enum enas_status st = enas_err_set(err, ENAS_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    int bad = (len && fwrite(data, 1, len, f) != len) || fflush(f) != 0 || (durable && fsync(fileno(f)) != 0);
    int e = errno; /* the reason for the message */
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        e = errno;
    }
    enum enas_status st = ENAS_OK;
    if (bad) {
        unlink(tmp);
        st = enas_err_set(err, ENAS_ERR_IO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
    }
    free(tmp);
    return st;
}
