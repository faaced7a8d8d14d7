/* mkseeds.c - `mkseeds DIR`: the binary seeds of the fuzz corpus, written by the program's own writers so
 * that they follow its formats: DIR/ckpt/valid (a checkpoint of fuzz_ckpt's two arrays), DIR/model/valid (a
 * model of fuzz_model's two parameters) and DIR/cifar/ (a file of two records, and one of three). The text
 * seeds (settings, architectures) are in the repo. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/cifar10.h"
#include "train/checkpoint.h"
#include "train/model.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    char path[4200];
    struct enas_err err = {0};
    snprintf(path, sizeof path, "%s/ckpt", argv[1]);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/ckpt/valid", argv[1]);
    float w[6] = {1, 2, 3, 4, 5, 6}, m[6] = {0.5f, 0, 0, 0, 0, -1};
    const struct enas_ckpt_array arrays[] = {{"net.w", w, 6}, {"net.w (momentum)", m, 6}};
    int32_t best[5] = {0, 1, 2, 1, 0};
    struct enas_ckpt_state st;
    memset(&st, 0, sizeof st);
    st.best_arch = best;
    st.best_cap = 5;
    st.best_len = 5;
    st.best_reward = 0.25;
    snprintf(st.space, sizeof st.space, "micro");
    st.epoch = 1;
    st.seed = 7;
    st.rng[0] = 1;
    if (enas__checkpoint_write(path, &st, arrays, 2, &err) != ENAS_OK) {
        fprintf(stderr, "mkseeds: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model", argv[1]);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/model/valid", argv[1]);
    struct enas_param pw = {.name = "net.w", .value = {.ndim = 1, .dims = {6}, .data = w}},
                      pb = {.name = "net.b", .value = {.ndim = 1, .dims = {2}, .data = m}};
    struct enas_param *const ps[] = {&pw, &pb};
    if (enas__model_write(path, "space=micro\narch=0 1\n", ps, 2, &err) != ENAS_OK) {
        fprintf(stderr, "mkseeds: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/cifar", argv[1]);
    mkdir(path, 0777);
    for (int n = 2; n <= 3; n++) {
        snprintf(path, sizeof path, "%s/cifar/records%d", argv[1], n);
        FILE *f = fopen(path, "wb");
        for (int r = 0; f && r < n; r++) {
            fputc(r * 4, f);
            for (int i = 0; i < ENAS_CIFAR10_IMAGE_BYTES; i++)
                fputc((i * 7 + r) & 0xff, f);
        }
        if (!f || fclose(f) != 0) {
            fprintf(stderr, "mkseeds: cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}
