/* test_fileio.c - untrusted input files (engine/util/file.c): a regular file is read whole and
 * NUL-terminated; a FIFO is refused at once instead of blocking, a character device (/dev/zero, which never
 * ends), a directory, a missing file and one over the size limit are refused with the path and the reason. A
 * file replaced atomically is either the new one or, when the write fails (a file-size limit standing in for
 * a full disk), still the old one, with no .tmp left. */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util/file.h"

int main(void)
{
    char dir[] = "/tmp/enas_fileio_XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    struct enas_err err = {0};
    char *buf = NULL;
    size_t len = 0;

    snprintf(path, sizeof path, "%s/plain", dir);
    FILE *w = fopen(path, "wb");
    CHECK(w && fwrite("ab\0cd", 1, 5, w) == 5 && fclose(w) == 0);
    CHECK(enas__file_read(path, "test file", 5, &buf, &len, &err) == ENAS_OK);
    CHECK(len == 5 && buf && memcmp(buf, "ab\0cd", 6) == 0); /* the NUL after the data too */
    free(buf);
    CHECK_ERR(enas__file_read(path, "test file", 4, &buf, &len, &err), err, ENAS_ERR_DATA,
              "too large (5 bytes; at most 4)");
    CHECK(buf == NULL);

    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    alarm(20); /* a blocking open would hang the test: fail it instead */
    CHECK_ERR(enas__file_read(path, "settings file", 1 << 20, &buf, &len, &err), err, ENAS_ERR_IO,
              "not a regular file (a FIFO)");
    CHECK(strstr(err.msg, path) != NULL);
    alarm(0);

    CHECK_ERR(enas__file_read("/dev/zero", "checkpoint", 1 << 20, &buf, &len, &err), err, ENAS_ERR_IO,
              "checkpoint '/dev/zero': not a regular file (a character device)");
    CHECK_ERR(enas__file_read(dir, "architecture file", 1 << 20, &buf, &len, &err), err, ENAS_ERR_IO,
              "is a directory");
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK_ERR(enas__file_read(path, "settings file", 1 << 20, &buf, &len, &err), err, ENAS_ERR_IO,
              "No such file or directory");

    FILE *f = NULL;
    uint64_t size = 0;
    snprintf(path, sizeof path, "%s/plain", dir);
    CHECK(enas__file_open(path, "test file", 100, &f, &size, &err) == ENAS_OK && f && size == 5);
    if (f)
        fclose(f);

    /* a stream over the limit (standard input, say) */
    FILE *z = fopen("/dev/zero", "rb");
    CHECK(z != NULL);
    if (z) {
        CHECK_ERR(enas__file_read_stream(z, "-", "architecture file", 10000, &buf, &len, &err), err,
                  ENAS_ERR_DATA, "too large (over 10000 bytes)");
        fclose(z);
    }

    /* atomic replacement */
    snprintf(path, sizeof path, "%s/replaced", dir);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(enas__file_replace(path, "old", 3, 1, &err) == ENAS_OK);
    CHECK(enas__file_replace(path, "newer", 5, 0, &err) == ENAS_OK);
    CHECK(enas__file_read(path, "test file", 100, &buf, &len, &err) == ENAS_OK && len == 5 &&
          !memcmp(buf, "newer", 5));
    free(buf);
    static char big[1 << 16];
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead of killing the process */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK_ERR(enas__file_replace(path, big, sizeof big, 1, &err), err, ENAS_ERR_IO, "File too large");
    setrlimit(RLIMIT_FSIZE, &old_lim);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(enas__file_read(path, "test file", 100, &buf, &len, &err) == ENAS_OK && len == 5 &&
          !memcmp(buf, "newer", 5));
    free(buf);
    snprintf(tmp, sizeof tmp, "%s/no/such/folder/file", dir);
    CHECK_ERR(enas__file_replace(tmp, "x", 1, 0, &err), err, ENAS_ERR_IO, "No such file or directory");
    unlink(path);

    snprintf(path, sizeof path, "%s/fifo", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/plain", dir);
    unlink(path);
    rmdir(dir);
    return check_exit("test_fileio");
}
