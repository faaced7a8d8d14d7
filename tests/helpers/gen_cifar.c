/* gen_cifar.c - `gen_cifar DIR N`: writes N generated images in the CIFAR-10 binary layout to
 * DIR/data_batch_1.bin .. data_batch_5.bin and DIR/test_batch.bin. The label is learnable: class c
 * images have a brighter patch whose position and colour depend on c, on a noisy background. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static int write_file(const char *dir, const char *name, long n, uint64_t *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char rec[3073];
    for (long i = 0; i < n; i++) {
        int c = (int)(next(s) % 10);
        rec[0] = (unsigned char)c;
        for (int k = 1; k < 3073; k++)
            rec[k] = (unsigned char)(40 + next(s) % 80);
        int y0 = (c / 5) * 16 + 4, x0 = (c % 5) * 6 + 1, ch = c % 3;
        for (int y = y0; y < y0 + 8; y++)
            for (int x = x0; x < x0 + 5; x++)
                rec[1 + ch * 1024 + y * 32 + x] = 250;
        if (fwrite(rec, 1, sizeof rec, f) != sizeof rec) {
            fclose(f);
            return -1;
        }
    }
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_cifar DIR N\n");
        return 2;
    }
    /* every batch file gets at least one image (the reader refuses an empty one) and at most 10,000 */
    char *end = NULL;
    long n = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end || n < 5 || n > 50000) {
        fprintf(stderr, "gen_cifar: N must be an integer from 5 to 50000, got '%s'\n", argv[2]);
        return 2;
    }
    uint64_t s = 2024;
    const char *names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin"};
    for (int b = 0; b < 5; b++)
        if (write_file(argv[1], names[b], n / 5 + (b < n % 5), &s) != 0) {
            perror("gen_cifar");
            return 1;
        }
    return write_file(argv[1], "test_batch.bin", n / 5 > 0 ? n / 5 : 1, &s) == 0 ? 0 : 1;
}
