/* test_cifar10.c - the CIFAR-10 reader, the data-directory search and the split, on small files made
 * here. With the argument "real" it instead loads the real set found through $ENAS_DATA or ./data and
 * skips (77) when there is none. */
#define _DEFAULT_SOURCE /* setgroups, mkfifo, symlink */
#include "data/cifar10.h"

#include "check.h"
#include "rm_tree.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];

/* Known contents: image g (counting across all training files) has label g % 10 and bytes below. */
static uint8_t pixel_of(int64_t g, int64_t j)
{
    return (uint8_t)((g * 7 + j * 13 + (j >> 8)) & 0xff);
}

/* Writes n records of images first.. to dir/name; bad_at >= 0 gives that record label 10; extra
 * appends stray bytes. */
static void write_file(const char *dir, const char *name, int64_t first, int n, int bad_at, int extra)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot create %s", path);
    if (!f)
        return;
    for (int k = 0; k < n; k++) {
        int64_t g = first + k;
        fputc(k == bad_at ? 10 : (int)(g % 10), f);
        for (int64_t j = 0; j < ENAS_CIFAR10_IMAGE_BYTES; j++)
            fputc(pixel_of(g, j), f);
    }
    for (int k = 0; k < extra; k++)
        fputc(1, f);
    fclose(f);
}

static void make_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmp, name);
    CHECK(mkdir(out, 0700) == 0);
}

static const int train_counts[5] = {3, 4, 2, 5, 1};

static int check_contents(const struct enas_cifar10 *d, int64_t n, int64_t first)
{
    int bad = 0;
    for (int64_t i = 0; i < n && i < d->n; i++) {
        bad += d->labels[i] != (uint8_t)((first + i) % 10);
        for (int64_t j = 0; j < ENAS_CIFAR10_IMAGE_BYTES; j++)
            bad += d->pixels[i * ENAS_CIFAR10_IMAGE_BYTES + j] != pixel_of(first + i, j);
    }
    return bad == 0;
}

static void test_good_files(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "good");
    int64_t g = 0;
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        write_file(dir, name, g, train_counts[i], -1, 0);
        g += train_counts[i];
    }
    write_file(dir, "test_batch.bin", 1000, 6, -1, 0);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 15 && check_contents(&d, 15, 0));
    enas__cifar10_fini(&d);
    CHECK(d.n == 0 && d.pixels == NULL && d.labels == NULL);
    /* limits that end inside a file, at a file's end, and beyond everything */
    const int64_t limits[] = {1, 5, 7, 14, 15, 100};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        CHECK_ERR(enas__cifar10_load(dir, 0, limits[i], &d, &err), err, ENAS_OK, NULL);
        int64_t want = limits[i] < 15 ? limits[i] : 15;
        CHECK_MSG(d.n == want && check_contents(&d, want, 0), "limit %lld: n %lld", (long long)limits[i],
                  (long long)d.n);
        enas__cifar10_fini(&d);
    }
    CHECK_ERR(enas__cifar10_load(dir, 1, 0, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 6 && check_contents(&d, 6, 1000));
    enas__cifar10_fini(&d);
    CHECK_ERR(enas__cifar10_load(dir, 0, -1, &d, &err), err, ENAS_ERR_INVALID_ARG, "negative");
}

static void test_missing_file(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "missing");
    write_file(dir, "data_batch_1.bin", 0, 3, -1, 0);
    write_file(dir, "data_batch_2.bin", 3, 4, -1, 0);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_IO, "data_batch_3.bin': ");
    CHECK_ERR(ENAS_ERR_IO, err, ENAS_ERR_IO, strerror(ENOENT));
    CHECK(d.n == 0 && d.pixels == NULL && d.labels == NULL);
    /* a limit met by the first two files never opens the third */
    CHECK_ERR(enas__cifar10_load(dir, 0, 7, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 7 && check_contents(&d, 7, 0));
    enas__cifar10_fini(&d);
    CHECK_ERR(enas__cifar10_load(dir, 1, 0, &d, &err), err, ENAS_ERR_IO, "test_batch.bin");
}

static void test_bad_size(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "badsize");
    write_file(dir, "data_batch_1.bin", 0, 2, -1, 5);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 1, &d, &err), err, ENAS_ERR_DATA,
              "data_batch_1.bin: size 6151 is not a multiple of the 3073-byte record");
    CHECK(d.n == 0 && d.pixels == NULL);
}

static void test_bad_label(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "badlabel");
    write_file(dir, "data_batch_1.bin", 0, 3, -1, 0);
    write_file(dir, "data_batch_2.bin", 3, 600, 517, 0); /* past the first read chunk */
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_DATA,
              "data_batch_2.bin: record 517: label 10 is not in 0..9");
    CHECK(d.n == 0 && d.pixels == NULL && d.labels == NULL);
    /* the bad record lies beyond the limit: never read, so no error */
    CHECK_ERR(enas__cifar10_load(dir, 0, 3 + 517, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 520 && check_contents(&d, 520, 0));
    enas__cifar10_fini(&d);
    CHECK_ERR(enas__cifar10_load(dir, 0, 3 + 518, &d, &err), err, ENAS_ERR_DATA, "record 517: label 10");
}

static void sized_file(const char *dir, const char *name, off_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f && ftruncate(fileno(f), size) == 0, "cannot make %s", path);
    if (f)
        fclose(f);
}

/* An empty batch file was 0 images, and then a double free (realloc(p, 0) freed the pointer kept). */
static void test_empty_file(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "emptyfile");
    write_file(dir, "data_batch_1.bin", 0, 3, -1, 0);
    sized_file(dir, "data_batch_2.bin", 0);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_DATA,
              "data_batch_2.bin: empty (0 bytes); a CIFAR-10 batch holds 1 to 10000 records of 3073 bytes");
    CHECK(d.n == 0 && d.pixels == NULL && d.labels == NULL);
    /* empty files first: the second one's realloc(p, 0) freed the first one's malloc(0), which was freed
     * again */
    make_dir(dir, sizeof dir, "emptyfirst");
    sized_file(dir, "data_batch_1.bin", 0);
    sized_file(dir, "data_batch_2.bin", 0);
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_DATA, "data_batch_1.bin: empty");
    CHECK(d.n == 0 && d.pixels == NULL && d.labels == NULL);
    sized_file(dir, "test_batch.bin", 0);
    CHECK_ERR(enas__cifar10_load(dir, 1, 0, &d, &err), err, ENAS_ERR_DATA, "test_batch.bin: empty");
    enas__cifar10_fini(&d);
}

/* The official files hold 10,000 records; one more is refused before anything is read (sparse files: label 0,
 * black images). */
static void test_file_size_bound(void)
{
    char dir[256];
    make_dir(dir, sizeof dir, "sizes");
    sized_file(dir, "data_batch_1.bin", (off_t)ENAS_CIFAR10_MAX_RECORDS * ENAS_CIFAR10_RECORD_BYTES);
    sized_file(dir, "data_batch_2.bin", (off_t)(ENAS_CIFAR10_MAX_RECORDS + 1) * ENAS_CIFAR10_RECORD_BYTES);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, ENAS_CIFAR10_MAX_RECORDS, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == ENAS_CIFAR10_MAX_RECORDS);
    enas__cifar10_fini(&d);
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_DATA,
              "data_batch_2.bin': too large (30733073 bytes; at most 30730000)");
    CHECK(d.n == 0 && d.pixels == NULL);
    /* a size far beyond memory: refused by its size, not by a failed allocation */
    sized_file(dir, "data_batch_2.bin", (off_t)1 << 36);
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_DATA, "data_batch_2.bin': too large");
}

/* A FIFO blocked the reader forever (open waits for a writer), /dev/zero read as an empty file. */
static void test_not_regular(void)
{
    char dir[256], path[512];
    make_dir(dir, sizeof dir, "special");
    write_file(dir, "data_batch_1.bin", 0, 3, -1, 0);
    snprintf(path, sizeof path, "%s/data_batch_2.bin", dir);
    CHECK(symlink("/dev/zero", path) == 0);
    struct enas_err err = {0};
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_IO,
              "data_batch_2.bin': not a regular file (a character device)");
    CHECK(d.n == 0 && d.pixels == NULL);
    CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_IO,
              "data_batch_2.bin': not a regular file (a FIFO)");
    CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
    CHECK_ERR(enas__cifar10_load(dir, 0, 0, &d, &err), err, ENAS_ERR_IO, "data_batch_2.bin': is a directory");
    /* data_batch_1.bin as a FIFO: the directory search does not take it for the data */
    char fifo_dir[256], out[512];
    make_dir(fifo_dir, sizeof fifo_dir, "fifo1");
    snprintf(path, sizeof path, "%s/data_batch_1.bin", fifo_dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_ERR(enas__cifar10_find_dir(fifo_dir, out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND,
              "data_batch_1.bin' is not a regular file");
}

/* Runs fn where file modes bind: in this process when not root, else in a child that becomes nobody.
 * Returns 0 when it ran (its failures are counted), 77 when neither is possible. */
static int as_unprivileged(void (*fn)(void))
{
    if (geteuid() != 0) {
        fn();
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 77;
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        fn();
        _exit(check_failures ? 1 : 0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        check_failures++;
    else if (WEXITSTATUS(status) == 77)
        return 77;
    else
        check_failures += WEXITSTATUS(status) != 0;
    return 0;
}

static char denied[256], denied_sub[300], unreadable[256];

static void denied_checks(void)
{
    struct enas_err err = {0};
    char out[512], want[400];
    /* a directory that cannot be looked into was reported as lacking data_batch_1.bin */
    snprintf(want, sizeof want, "permission denied: cannot look into directory '%s'", denied);
    CHECK_ERR(enas__cifar10_find_dir(denied, out, sizeof out, &err), err, ENAS_ERR_IO, want);
    CHECK_ERR(ENAS_ERR_IO, err, ENAS_ERR_IO, "CIFAR-10 data setting '");
    setenv("ENAS_DATA", denied, 1);
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND, want);
    unsetenv("ENAS_DATA");
    snprintf(want, sizeof want, "permission denied: cannot look into directory '%s/" ENAS_CIFAR10_SUBDIR "'",
             denied_sub);
    CHECK_ERR(enas__cifar10_find_dir(denied_sub, out, sizeof out, &err), err, ENAS_ERR_IO, want);
    /* a file that cannot be read is named with the reason */
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(unreadable, 0, 0, &d, &err), err, ENAS_ERR_IO,
              "data_batch_2.bin': Permission denied");
    CHECK(d.n == 0 && d.pixels == NULL);
}

static int test_permissions(void)
{
    char sub[400];
    CHECK(chmod(tmp, 0755) == 0); /* reachable by nobody when the checks run as nobody */
    make_dir(denied, sizeof denied, "denied");
    write_file(denied, "data_batch_1.bin", 0, 1, -1, 0);
    make_dir(denied_sub, sizeof denied_sub, "denied_sub");
    snprintf(sub, sizeof sub, "%s/" ENAS_CIFAR10_SUBDIR, denied_sub);
    CHECK(chmod(denied_sub, 0755) == 0 && mkdir(sub, 0700) == 0);
    write_file(sub, "data_batch_1.bin", 0, 1, -1, 0);
    make_dir(unreadable, sizeof unreadable, "unreadable");
    write_file(unreadable, "data_batch_1.bin", 0, 2, -1, 0);
    write_file(unreadable, "data_batch_2.bin", 2, 2, -1, 0);
    snprintf(sub, sizeof sub, "%s/data_batch_2.bin", unreadable);
    CHECK(chmod(unreadable, 0755) == 0 && chmod(sub, 0) == 0);
    snprintf(sub, sizeof sub, "%s/data_batch_1.bin", unreadable);
    CHECK(chmod(sub, 0644) == 0);
    CHECK(chmod(denied, 0) == 0);
    snprintf(sub, sizeof sub, "%s/" ENAS_CIFAR10_SUBDIR, denied_sub);
    CHECK(chmod(sub, 0) == 0);
    int rc = as_unprivileged(denied_checks);
    CHECK(chmod(denied, 0700) == 0 && chmod(sub, 0700) == 0); /* so that rm_tree can remove them */
    if (rc == 77)
        printf("test_cifar10: permission checks skipped: cannot run as an unprivileged user\n");
    return rc;
}

static void set_env(const char *v)
{
    if (v)
        setenv("ENAS_DATA", v, 1);
    else
        unsetenv("ENAS_DATA");
}

static void test_find_dir(void)
{
    char flat[256], nested[256], empty[256], sub[300], cwd[PATH_MAX], out[512];
    make_dir(flat, sizeof flat, "flat");
    write_file(flat, "data_batch_1.bin", 0, 1, -1, 0);
    make_dir(nested, sizeof nested, "nested");
    snprintf(sub, sizeof sub, "%s/" ENAS_CIFAR10_SUBDIR, nested);
    CHECK(mkdir(sub, 0700) == 0);
    write_file(sub, "data_batch_1.bin", 0, 1, -1, 0);
    make_dir(empty, sizeof empty, "empty");
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(empty) == 0); /* so that ./data is absent */
    struct enas_err err = {0};

    /* the setting wins over ENAS_DATA, and a wrong setting does not fall through to it */
    set_env(nested);
    CHECK_ERR(enas__cifar10_find_dir(flat, out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, flat) == 0);
    CHECK_ERR(enas__cifar10_find_dir(nested, out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, sub) == 0);
    CHECK_ERR(enas__cifar10_find_dir(empty, out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND, empty);
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, "data setting");
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, "no data_batch_1.bin");
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, "tools/get_cifar10.sh");
    CHECK(out[0] == '\0');
    CHECK_ERR(enas__cifar10_find_dir("/nonexistent/x", out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND,
              "'/nonexistent/x' (no such directory");

    /* no setting: ENAS_DATA, then ./data */
    CHECK_ERR(enas__cifar10_find_dir("", out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, sub) == 0);
    set_env("");
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND,
              "data setting (not set); $ENAS_DATA (not set); ./data/" ENAS_CIFAR10_SUBDIR
              " (no such directory)");
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, "tools/get_cifar10.sh DIR");
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, "--data DIR");
    set_env(empty);
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_ERR_NOT_FOUND,
              "(no data_batch_1.bin)");
    CHECK_ERR(ENAS_ERR_NOT_FOUND, err, ENAS_ERR_NOT_FOUND, empty);
    CHECK(mkdir("data", 0700) == 0 && mkdir("data/" ENAS_CIFAR10_SUBDIR, 0700) == 0);
    write_file("data/" ENAS_CIFAR10_SUBDIR, "data_batch_1.bin", 0, 1, -1, 0);
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, "./data/" ENAS_CIFAR10_SUBDIR) == 0);
    set_env(NULL);
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, "./data/" ENAS_CIFAR10_SUBDIR) == 0);
    set_env(flat);
    CHECK_ERR(enas__cifar10_find_dir(NULL, out, sizeof out, &err), err, ENAS_OK, NULL);
    CHECK(strcmp(out, flat) == 0);
    char tiny[8];
    CHECK_ERR(enas__cifar10_find_dir(flat, tiny, sizeof tiny, &err), err, ENAS_ERR_NOT_FOUND,
              "path too long");
    CHECK(chdir(cwd) == 0);
    set_env(NULL);
}

static void test_split(void)
{
    struct enas_err err = {0};
    struct enas_cifar10_split s;
    CHECK_ERR(enas__cifar10_split(50000, "half", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_begin == 0 && s.train_end == 25000 && s.valid_begin == 25000 && s.valid_end == 50000);
    CHECK_ERR(enas__cifar10_split(7, "half", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_end == 4 && s.valid_begin == 4 && s.valid_end == 7);
    CHECK_ERR(enas__cifar10_split(50000, "tf", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_end == 45000 && s.valid_begin == 45000 && s.valid_end == 50000);
    CHECK_ERR(enas__cifar10_split(10000, "tf", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_end == 5000 && s.valid_end == 10000);
    CHECK_ERR(enas__cifar10_split(2000, "tf", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_end == 1800 && s.valid_begin == 1800 && s.valid_end == 2000);
    CHECK_ERR(enas__cifar10_split(5, "tf", &s, &err), err, ENAS_OK, NULL);
    CHECK(s.train_end == 4 && s.valid_end == 5);
    CHECK_ERR(enas__cifar10_split(1, "half", &s, &err), err, ENAS_ERR_INVALID_ARG, "1 training images");
    CHECK_ERR(enas__cifar10_split(100, "thirds", &s, &err), err, ENAS_ERR_INVALID_ARG,
              "unknown mode 'thirds'; use \"half\" or \"tf\"");
}

/* The real training set: 2,000 images with every class present in plausible numbers. */
static int test_real(void)
{
    char dir[4096];
    struct enas_err err = {0};
    if (enas__cifar10_find_dir(NULL, dir, sizeof dir, &err) != ENAS_OK) {
        printf("test_cifar10 real: skipped: %s\n", err.msg);
        return 77;
    }
    struct enas_cifar10 d;
    CHECK_ERR(enas__cifar10_load(dir, 0, 2000, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 2000);
    int64_t hist[10] = {0};
    for (int64_t i = 0; i < d.n; i++)
        hist[d.labels[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK_MSG(hist[c] >= 100 && hist[c] <= 300, "class %d: %lld of 2000", c, (long long)hist[c]);
    enas__cifar10_fini(&d);
    CHECK_ERR(enas__cifar10_load(dir, 1, 0, &d, &err), err, ENAS_OK, NULL);
    CHECK(d.n == 10000);
    enas__cifar10_fini(&d);
    return check_exit("test_cifar10 real");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "real") == 0)
        return test_real();
    snprintf(tmp, sizeof tmp, "/tmp/enas_cifar10_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_good_files();
    test_missing_file();
    test_bad_size();
    test_bad_label();
    test_empty_file();
    test_file_size_bound();
    test_not_regular();
    test_find_dir();
    test_permissions();
    test_split();
    rm_tree(tmp);
    return check_exit("test_cifar10");
}
