/* test_checkpoint.c - checkpoints round trip exactly; a corrupt, truncated, foreign or mismatched file
 * is a named error that changes nothing; a failed write leaves the old checkpoint in place. */
#include "check.h"
#include "checkpoint.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static void fill(float *x, int n, float base)
{
    for (int i = 0; i < n; i++)
        x[i] = base + (float)i * 0.25f;
}

static void expect_fail(const char *path, const char *space, struct enas_ckpt_array *arr, size_t n, const char *needle)
{
    struct enas_ckpt_state s;
    memset(&s, 0x5a, sizeof s);
    float keep0 = arr[0].data[0];
    struct enas_err err;
    enum enas_status st = enas__ckpt_read(path, space, &s, arr, n, &err);
    CHECK_ERR(st, err, st == ENAS_ERR_IO ? ENAS_ERR_IO : ENAS_ERR_DATA, needle);
    CHECK(st != ENAS_OK);
    CHECK(arr[0].data[0] == keep0 && s.epoch == 0x5a5a5a5a5a5a5a5all); /* nothing changed */
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

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/enas_ckpt.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char path[128], copy[160];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    float w[10], b[3], w2[10], b2[3];
    fill(w, 10, 1.0f);
    fill(b, 3, -2.0f);
    struct enas_ckpt_array arr[] = {{"layer0.w", w, 10}, {"layer0.b", b, 3}};
    struct enas_ckpt_state s = {.epoch = 3, .batch = 17, .global_step = 1234, .baseline = 0.625, .seed = 99};
    snprintf(s.space, sizeof s.space, "micro");
    s.rng[2] = 0xdeadbeefull;
    struct enas_err err;
    CHECK(enas__ckpt_write(path, &s, arr, 2, &err) == ENAS_OK);
    CHECK(access(path, F_OK) == 0);
    snprintf(copy, sizeof copy, "%s.tmp", path);
    CHECK(access(copy, F_OK) != 0); /* no temporary left behind */

    struct enas_ckpt_array back[] = {{"layer0.w", w2, 10}, {"layer0.b", b2, 3}};
    struct enas_ckpt_state r;
    CHECK(enas__ckpt_read(path, "micro", &r, back, 2, &err) == ENAS_OK);
    CHECK(memcmp(w, w2, sizeof w) == 0 && memcmp(b, b2, sizeof b) == 0);
    CHECK(r.epoch == 3 && r.batch == 17 && r.global_step == 1234 && r.baseline == 0.625 && r.rng[2] == 0xdeadbeefull);

    fill(w2, 10, 7.0f);
    expect_fail(path, "macro", back, 2, "written for space 'micro'; this run uses 'macro'");
    struct enas_ckpt_array renamed[] = {{"layer0.w", w2, 10}, {"layer0.gamma", b2, 3}};
    expect_fail(path, "micro", renamed, 2, "array 1 is 'layer0.b'; this run expects 'layer0.gamma'");
    struct enas_ckpt_array resized[] = {{"layer0.w", w2, 9}, {"layer0.b", b2, 3}};
    expect_fail(path, "micro", resized, 2, "'layer0.w' has 10 values; this run has 9");
    expect_fail(path, "micro", back, 1, "2 arrays; this run has 1");
    snprintf(copy, sizeof copy, "%s/missing.bin", dir);
    expect_fail(copy, "micro", back, 2, "missing.bin': No such file");

    /* corrupt one byte of a weight: checksum */
    char cmd[400];
    snprintf(copy, sizeof copy, "%s/corrupt.bin", dir);
    snprintf(cmd, sizeof cmd, "cp %s %s", path, copy);
    CHECK(system(cmd) == 0);
    rewrite(copy, 200, -1, 0x10);
    expect_fail(copy, "micro", back, 2, "checksum mismatch");
    /* truncated */
    CHECK(system(cmd) == 0);
    rewrite(copy, 0, 300, 0);
    expect_fail(copy, "micro", back, 2, "checksum mismatch");
    CHECK(system(cmd) == 0);
    rewrite(copy, 0, 12, 0);
    expect_fail(copy, "micro", back, 2, "truncated");
    /* not a checkpoint */
    FILE *f = fopen(copy, "w");
    fputs("batch_size = 64;\n", f);
    fclose(f);
    expect_fail(copy, "micro", back, 2, "not an enas checkpoint");
    /* a write that cannot happen leaves the old file alone */
    snprintf(copy, sizeof copy, "%s/nodir/checkpoint.bin", dir);
    CHECK_ERR(enas__ckpt_write(copy, &s, arr, 2, &err), err, ENAS_ERR_IO, "nodir/checkpoint.bin.tmp");
    CHECK(enas__ckpt_read(path, "micro", &r, back, 2, &err) == ENAS_OK);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return check_exit("test_checkpoint");
}
