/* ckpt_digest.c - `ckpt_digest FILE`: prints the digest of a checkpoint's arrays (weights, BN
 * statistics, optimizer and controller states), for comparing two runs bit for bit. */
#include <inttypes.h>
#include <stdio.h>

#include "train/checkpoint.h"

int main(int argc, char **argv)
{
    struct enas_err err = {0};
    uint64_t d = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: ckpt_digest FILE\n");
        return 2;
    }
    if (enas__checkpoint_digest(argv[1], &d, &err) != ENAS_OK) {
        fprintf(stderr, "ckpt_digest: %s\n", err.msg);
        return 1;
    }
    printf("%016" PRIx64 "\n", d);
    return 0;
}
