/* test_checkpoint.c - checkpoints round trip exactly, the longest architecture a space allows included; a
 * corrupt, truncated, foreign, old-format or mismatched file, a FIFO or a device, a non-finite value and a
 * state the run's own check refuses are named errors that change nothing; a write that cannot happen or
 * that would store a non-finite value leaves the old checkpoint in place. */
#include "check.h"
#include "train/checkpoint.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest architecture of the in-tree spaces: macro with 256 layers, L(L+1)/2 ints. */
#define LONGEST (256 * 257 / 2)

static char dir[64];
static int32_t best_out[LONGEST], best_in[LONGEST];

static void fill(float *x, int n, float base)
{
    for (int i = 0; i < n; i++)
        x[i] = base + (float)i * 0.25f;
}

static void expect_fail(const char *path, const char *space, struct enas_ckpt_array *arr, size_t n,
                        const char *needle)
{
    struct enas_ckpt_state s;
    memset(&s, 0x5a, sizeof s);
    s.best_arch = best_in;
    s.best_cap = LONGEST;
    best_in[0] = -7;
    float keep0 = arr[0].data[0];
    struct enas_err err;
    enum enas_status st = enas__checkpoint_read(path, space, &s, arr, n, NULL, NULL, &err);
    CHECK_ERR(st, err, st == ENAS_ERR_IO ? ENAS_ERR_IO : ENAS_ERR_DATA, needle);
    CHECK(st != ENAS_OK);
    CHECK(arr[0].data[0] == keep0 && s.epoch == 0x5a5a5a5a5a5a5a5all &&
          best_in[0] == -7); /* nothing changed */
}

static void rewrite(const char *path, long at, int truncate_to, unsigned char flip)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    if (truncate_to >= 0) {
        CHECK(ftruncate(fileno(f), truncate_to) == 0);
    } else {
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ flip, f);
    }
    fclose(f);
}

/* Overwrites n bytes at `at` and makes the checksum right again: what a crafted file looks like. */
static void patch(const char *path, long at, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    unsigned char *buf = malloc((size_t)len);
    fseek(f, 0, SEEK_SET);
    CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
    memcpy(buf + at, bytes, n);
    uint64_t sum = enas__checkpoint_checksum(buf, (size_t)len - 8);
    memcpy(buf + len - 8, &sum, 8);
    fseek(f, 0, SEEK_SET);
    CHECK(fwrite(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    free(buf);
}

static long field_at(const char *name)
{
    size_t n;
    const struct enas_ckpt_field *f = enas__checkpoint_fields(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return (long)f[i].offset;
    CHECK_MSG(0, "no field '%s'", name);
    return 0;
}

static int refused_epoch;

/* The run's own check: here, epochs above 10 are refused. */
static enum enas_status check_epoch(void *ctx, const char *path, const struct enas_ckpt_state *s,
                                    struct enas_err *err)
{
    int *calls = ctx;
    ++*calls;
    CHECK(s->best_len == LONGEST && s->best_arch && s->best_arch[LONGEST - 1] == best_out[LONGEST - 1]);
    if (s->epoch > 10) {
        refused_epoch = (int)s->epoch;
        return enas_err_set(err, ENAS_ERR_DATA, "checkpoint '%s': epoch is %lld; allowed 0..10", path,
                            (long long)s->epoch);
    }
    return ENAS_OK;
}

static void copy_file(const char *from, const char *to)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/enas_ckpt.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char path[128], copy[160];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);

    /* the file's fields follow each other without gaps */
    size_t nf;
    const struct enas_ckpt_field *fl = enas__checkpoint_fields(&nf);
    CHECK(nf > 2 && fl[0].offset == 8);
    for (size_t i = 0; i + 1 < nf; i++) {
        size_t bytes = fl[i].count * (fl[i].kind == ENAS_CKPT_TEXT ? 1 : fl[i].kind == ENAS_CKPT_U32 ? 4 : 8);
        CHECK_MSG(fl[i].offset + bytes == fl[i + 1].offset, "field '%s' does not end where '%s' begins",
                  fl[i].name, fl[i + 1].name);
    }

    float w[10], b[3], w2[10], b2[3];
    fill(w, 10, 1.0f);
    fill(b, 3, -2.0f);
    for (int i = 0; i < LONGEST; i++)
        best_out[i] = i % 7 == 0 ? 3 : i % 2;
    struct enas_ckpt_array arr[] = {{"layer0.w", w, 10}, {"layer0.b", b, 3}};
    struct enas_ckpt_state s = {.epoch = 3,
                                .batch = 17,
                                .global_step = 1234,
                                .baseline = 0.625,
                                .seed = 99,
                                .best_reward = 0.5,
                                .best_len = LONGEST,
                                .best_arch = best_out,
                                .best_cap = LONGEST};
    snprintf(s.space, sizeof s.space, "micro");
    s.rng[2] = 0xdeadbeefull;
    struct enas_err err;
    CHECK(enas__checkpoint_write(path, &s, arr, 2, &err) == ENAS_OK);
    CHECK(access(path, F_OK) == 0);
    snprintf(copy, sizeof copy, "%s.tmp", path);
    CHECK(access(copy, F_OK) != 0); /* no temporary left behind */

    /* the longest architecture round trips, every int of it */
    struct enas_ckpt_array back[] = {{"layer0.w", w2, 10}, {"layer0.b", b2, 3}};
    struct enas_ckpt_state r = {.best_arch = best_in, .best_cap = LONGEST};
    CHECK(enas__checkpoint_read(path, "micro", &r, back, 2, NULL, NULL, &err) == ENAS_OK);
    CHECK(memcmp(w, w2, sizeof w) == 0 && memcmp(b, b2, sizeof b) == 0);
    CHECK(r.epoch == 3 && r.batch == 17 && r.global_step == 1234 && r.baseline == 0.625 &&
          r.rng[2] == 0xdeadbeefull);
    CHECK(r.best_len == LONGEST && r.best_reward == 0.5 && r.best_arch == best_in && r.best_cap == LONGEST);
    CHECK(memcmp(best_in, best_out, sizeof best_out) == 0);
    /* a reader with less room than the file's architecture refuses it, naming the field and the range */
    r.best_cap = LONGEST - 1;
    CHECK_ERR(enas__checkpoint_read(path, "micro", &r, back, 2, NULL, NULL, &err), err, ENAS_ERR_DATA,
              "best_len is 32896; allowed 0..32895");
    r.best_cap = LONGEST;

    /* the run's check sees the whole state and its refusal changes nothing */
    int calls = 0;
    fill(w2, 10, 7.0f);
    CHECK(enas__checkpoint_read(path, "micro", &r, back, 2, check_epoch, &calls, &err) == ENAS_OK &&
          calls == 1);
    CHECK(w2[0] == w[0]);
    snprintf(copy, sizeof copy, "%s/crafted.bin", dir);
    copy_file(path, copy);
    int64_t epoch = 1000000000000000ll;
    patch(copy, field_at("epoch"), &epoch, sizeof epoch);
    fill(w2, 10, 7.0f);
    best_in[0] = -7;
    r.epoch = 5;
    CHECK_ERR(enas__checkpoint_read(copy, "micro", &r, back, 2, check_epoch, &calls, &err), err,
              ENAS_ERR_DATA, "epoch is 1000000000000000; allowed 0..10");
    CHECK(calls == 2 && refused_epoch != 0 && w2[0] == 7.0f && r.epoch == 5 && best_in[0] == -7);

    fill(w2, 10, 7.0f);
    expect_fail(path, "macro", back, 2, "written for space 'micro'; this run uses 'macro'");
    struct enas_ckpt_array renamed[] = {{"layer0.w", w2, 10}, {"layer0.gamma", b2, 3}};
    expect_fail(path, "micro", renamed, 2, "array 1 is 'layer0.b'; this run expects 'layer0.gamma'");
    struct enas_ckpt_array resized[] = {{"layer0.w", w2, 9}, {"layer0.b", b2, 3}};
    expect_fail(path, "micro", resized, 2, "'layer0.w' has 10 values; this run has 9");
    expect_fail(path, "micro", back, 1, "2 arrays; this run has 1");
    snprintf(copy, sizeof copy, "%s/missing.bin", dir);
    expect_fail(copy, "micro", back, 2, "missing.bin': No such file");

    /* crafted with a valid checksum: a non-finite value anywhere is refused, naming where */
    snprintf(copy, sizeof copy, "%s/crafted.bin", dir);
    copy_file(path, copy);
    float nan = NAN;
    long w_at = field_at("best_len") + 8 + 4L * LONGEST + 8 + 4 + 8 + 8; /* count, len, "layer0.w", numel */
    patch(copy, w_at + 4 * 6, &nan, sizeof nan);
    expect_fail(copy, "micro", back, 2, "array 0 'layer0.w' holds nan at index 6; allowed: finite numbers");
    copy_file(path, copy);
    double inf = INFINITY;
    patch(copy, field_at("baseline"), &inf, sizeof inf);
    expect_fail(copy, "micro", back, 2, "baseline is inf; allowed: a finite number");
    copy_file(path, copy);
    double dnan = NAN;
    patch(copy, field_at("best_reward"), &dnan, sizeof dnan);
    expect_fail(copy, "micro", back, 2, "best_reward is nan; allowed: a finite number");
    copy_file(path, copy);
    int64_t neg = -1;
    patch(copy, field_at("best_len"), &neg, sizeof neg);
    expect_fail(copy, "micro", back, 2, "best_len is -1; allowed 0..32896");
    /* an older format is named with both versions */
    copy_file(path, copy);
    uint32_t v1 = 1;
    patch(copy, field_at("version"), &v1, sizeof v1);
    expect_fail(copy, "micro", back, 2, "format version 1; this enas reads version 2 only");

    /* corrupt one byte of a weight: checksum */
    copy_file(path, copy);
    rewrite(copy, w_at + 8, -1, 0x10);
    expect_fail(copy, "micro", back, 2, "checksum mismatch");
    /* truncated */
    copy_file(path, copy);
    rewrite(copy, 0, 300, 0);
    expect_fail(copy, "micro", back, 2, "checksum mismatch");
    copy_file(path, copy);
    rewrite(copy, 0, 12, 0);
    expect_fail(copy, "micro", back, 2, "truncated");
    /* not a checkpoint */
    FILE *f = fopen(copy, "w");
    fputs("batch_size = 64;\n", f);
    fclose(f);
    expect_fail(copy, "micro", back, 2, "not an enas checkpoint");
    /* far larger than this run's checkpoint can be: refused before it is read */
    CHECK(truncate(copy, 64l << 20) == 0);
    expect_fail(copy, "micro", back, 2, "too large");
    /* a FIFO and a device are refused at once (a read would block, or never end) */
    alarm(30);
    snprintf(copy, sizeof copy, "%s/fifo.bin", dir);
    CHECK(mkfifo(copy, 0600) == 0);
    expect_fail(copy, "micro", back, 2, "not a regular file (a FIFO)");
    expect_fail("/dev/zero", "micro", back, 2, "not a regular file (a character device)");
    alarm(0);

    /* a write that cannot happen leaves the old file alone */
    snprintf(copy, sizeof copy, "%s/nodir/checkpoint.bin", dir);
    CHECK_ERR(enas__checkpoint_write(copy, &s, arr, 2, &err), err, ENAS_ERR_IO, "nodir/checkpoint.bin.tmp");
    CHECK(enas__checkpoint_read(path, "micro", &r, back, 2, NULL, NULL, &err) == ENAS_OK);
    /* a non-finite value is never written: the array and index are named, the old checkpoint stays, no
     * temporary file is left */
    struct stat before, after;
    CHECK(stat(path, &before) == 0);
    w[4] = -INFINITY;
    CHECK_ERR(enas__checkpoint_write(path, &s, arr, 2, &err), err, ENAS_ERR_NUMERIC,
              "not written: array 0 'layer0.w' holds -inf at index 4");
    w[4] = 2.0f;
    b[2] = NAN;
    CHECK_ERR(enas__checkpoint_write(path, &s, arr, 2, &err), err, ENAS_ERR_NUMERIC,
              "array 1 'layer0.b' holds nan at index 2");
    b[2] = 0.0f;
    s.baseline = NAN;
    CHECK_ERR(enas__checkpoint_write(path, &s, arr, 2, &err), err, ENAS_ERR_NUMERIC,
              "not written: baseline is nan");
    s.baseline = 0.625;
    s.best_reward = INFINITY;
    CHECK_ERR(enas__checkpoint_write(path, &s, arr, 2, &err), err, ENAS_ERR_NUMERIC,
              "not written: best_reward is inf");
    s.best_reward = 0.5;
    CHECK(stat(path, &after) == 0 && before.st_ino == after.st_ino && before.st_size == after.st_size);
    snprintf(copy, sizeof copy, "%s.tmp", path);
    CHECK(access(copy, F_OK) != 0);
    CHECK(enas__checkpoint_read(path, "micro", &r, back, 2, NULL, NULL, &err) == ENAS_OK &&
          r.baseline == 0.625);
    /* whatever a killed run left as the temporary file, a FIFO even, is replaced, not opened (which would
     * block) */
    CHECK(mkfifo(copy, 0600) == 0);
    alarm(30);
    CHECK(enas__checkpoint_write(path, &s, arr, 2, &err) == ENAS_OK);
    alarm(0);
    CHECK(access(copy, F_OK) != 0);
    CHECK(enas__checkpoint_read(path, "micro", &r, back, 2, NULL, NULL, &err) == ENAS_OK);

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_exit("test_checkpoint");
}
