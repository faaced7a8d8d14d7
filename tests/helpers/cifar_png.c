/* cifar_png.c - `cifar_png BATCH INDEX OUT.png|OUT.jpg [SCALE]`: writes record INDEX of a CIFAR-10 batch
 * file as a picture (PNG lossless, JPEG at quality 95), each pixel SCALE x SCALE (default 1), through stb's
 * writer: pictures for the tests of enas eval --images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cifar_png BATCH INDEX OUT.png|OUT.jpg [SCALE]\n");
        return 2;
    }
    const long index = atol(argv[2]);
    const int scale = argc > 4 ? atoi(argv[4]) : 1;
    unsigned char rec[3073];
    FILE *f = fopen(argv[1], "rb");
    if (!f || scale < 1 || fseek(f, index * 3073L, SEEK_SET) != 0 ||
        fread(rec, 1, sizeof rec, f) != sizeof rec) {
        fprintf(stderr, "cifar_png: cannot read record %ld of %s\n", index, argv[1]);
        return 1;
    }
    fclose(f);
    const int side = 32 * scale;
    unsigned char *px = malloc((size_t)side * side * 3);
    if (!px)
        return 1;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            for (int c = 0; c < 3; c++)
                px[((size_t)y * side + x) * 3 + c] = rec[1 + c * 1024 + (y / scale) * 32 + x / scale];
    const char *out = argv[3], *ext = strrchr(out, '.');
    const int ok = ext && strcmp(ext, ".png") == 0 ? stbi_write_png(out, side, side, 3, px, side * 3)
                                                   : stbi_write_jpg(out, side, side, 3, px, 95);
    free(px);
    if (!ok) {
        fprintf(stderr, "cifar_png: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
