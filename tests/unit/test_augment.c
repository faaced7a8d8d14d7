/* test_augment.c - normalisation values, pad-crop/flip geometry on a coordinate-coded image, cutout,
 * and seeding. */
#include "data/augment.h"
#include "util/rng.h"

#include "check.h"

#include <stdint.h>
#include <string.h>

#define S     32
#define PLANE (S * S)
#define NUMEL (PLANE * 3)

static const float mean[3] = {0.49139968f, 0.48215827f, 0.44653124f};
static const float stdv[3] = {0.24703233f, 0.24348505f, 0.26158768f};

/* Bit-identical, on purpose: the contract is the same bits, not nearly equal floats. */
static int same_bits(const void *a, const void *b, size_t bytes)
{
    return memcmp(a, b, bytes) == 0;
}

static float expect_norm(int c, int p)
{
    return ((float)p / 255.0f - mean[c]) / stdv[c];
}

/* Red = row + 1, green = column + 1, blue = a mix: no pixel of the image is 0 in red or green, so 0
 * there can only be padding. */
static void coded_image(uint8_t *chw)
{
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            chw[y * S + x] = (uint8_t)(y + 1);
            chw[PLANE + y * S + x] = (uint8_t)(x + 1);
            chw[2 * PLANE + y * S + x] = (uint8_t)(y * 7 + x * 3 + 40);
        }
}

static void test_eval(void)
{
    uint8_t chw[NUMEL];
    for (int i = 0; i < NUMEL; i++)
        chw[i] = (uint8_t)(i * 37 + 11);
    float out[NUMEL];
    struct enas_augment_opts o = {0, 16}; /* cutout is ignored without train */
    enas__augment_image(chw, &o, NULL, out);
    int bad = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++)
                bad += out[(y * S + x) * 3 + c] != expect_norm(c, chw[c * PLANE + y * S + x]);
    CHECK_MSG(bad == 0, "%d values differ from (p/255 - mean)/std", bad);
    for (int c = 0; c < 3; c++) {
        CHECK(enas__augment_normalize(c, 0) == -mean[c] / stdv[c]);
        CHECK(enas__augment_normalize(c, 255) == expect_norm(c, 255));
        CHECK(enas__augment_mean[c] == mean[c] && enas__augment_std[c] == stdv[c]);
    }
    CHECK_NEAR(enas__augment_normalize(0, 255), (1.0 - 0.49139968) / 0.24703233, 1e-5);
}

/* The expected value of output (y, x, c) for crop (dy, dx) and flip, straight from the definition. */
static float expect_crop(const uint8_t *chw, int dy, int dx, int flip, int y, int x, int c)
{
    int py = y + dy, px = (flip ? S - 1 - x : x) + dx; /* in the 40 x 40 padded image */
    int sy = py - 4, sx = px - 4;
    if (sy < 0 || sy >= S || sx < 0 || sx >= S)
        return -mean[c] / stdv[c];
    return expect_norm(c, chw[c * PLANE + sy * S + sx]);
}

static void test_crop_flip(void)
{
    uint8_t chw[NUMEL];
    coded_image(chw);
    struct enas_augment_opts o = {1, 0};
    int seen_dy[9] = {0}, seen_dx[9] = {0}, seen_flip[2] = {0}, bad = 0;
    for (uint64_t k = 0; k < 300; k++) {
        float out[NUMEL];
        struct enas_rng r, q;
        enas__rng_seed(&r, 5, k);
        q = r;
        enas__augment_image(chw, &o, &r, out);
        /* the documented draw order: dy, dx, flip */
        int dy = (int)enas__rng_below(&q, 9), dx = (int)enas__rng_below(&q, 9),
            flip = (int)enas__rng_below(&q, 2);
        seen_dy[dy] = seen_dx[dx] = seen_flip[flip] = 1;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < 3; c++)
                    bad += out[(y * S + x) * 3 + c] != expect_crop(chw, dy, dx, flip, y, x, c);
        /* the top-left output pixel, worked out by hand: it reads padded (dy, dx), or (dy, 31 + dx)
         * when flipped, and red/green decode to row + 1 / column + 1 there */
        int sy = dy - 4, sx = (flip ? 31 : 0) + dx - 4;
        int pad = sy < 0 || sx < 0 || sx >= S;
        bad += pad ? out[0] != -mean[0] / stdv[0] || out[1] != -mean[1] / stdv[1]
                   : out[0] != expect_norm(0, sy + 1) || out[1] != expect_norm(1, sx + 1);
    }
    CHECK_MSG(bad == 0, "%d values differ from the padded-window definition", bad);
    int all = seen_flip[0] && seen_flip[1];
    for (int i = 0; i < 9; i++)
        all = all && seen_dy[i] && seen_dx[i];
    CHECK_MSG(all, "300 draws did not reach every offset 0..8 and both flips");
    /* flip alone, no shift: dy = dx = 4 reproduces the image mirrored */
    int mirrored = 0;
    float ref[NUMEL];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++)
                ref[(y * S + x) * 3 + c] = expect_crop(chw, 4, 4, 1, y, x, c);
    for (int x = 0; x < S; x++)
        mirrored += ref[(5 * S + x) * 3 + 1] == expect_norm(1, S - x); /* green = column + 1 */
    CHECK(mirrored == S);
}

static void test_cutout(void)
{
    uint8_t chw[NUMEL];
    coded_image(chw);
    struct enas_augment_opts with = {1, 8}, without = {1, 0};
    int bad = 0, clipped = 0;
    for (uint64_t k = 0; k < 200; k++) {
        float a[NUMEL], b[NUMEL];
        struct enas_rng r1, r2, q;
        enas__rng_seed(&r1, 9, k);
        r2 = q = r1;
        enas__augment_image(chw, &with, &r1, a);
        enas__augment_image(chw, &without, &r2, b);
        for (int i = 0; i < 3; i++)
            enas__rng_below(&q, i < 2 ? 9 : 2);
        int cy = (int)enas__rng_below(&q, S), cx = (int)enas__rng_below(&q, S);
        clipped += cy > S - 8 || cx > S - 8;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int in = y >= cy && y < cy + 8 && x >= cx && x < cx + 8;
                for (int c = 0; c < 3; c++) {
                    float v = a[(y * S + x) * 3 + c];
                    bad += in ? v != 0.0f : v != b[(y * S + x) * 3 + c];
                }
            }
    }
    CHECK_MSG(bad == 0, "%d values wrong: the square must be 0 and the rest unchanged", bad);
    CHECK_MSG(clipped > 0, "no draw put the square across the border");
}

static void test_seeding(void)
{
    uint8_t chw[NUMEL];
    coded_image(chw);
    struct enas_augment_opts o = {1, 16};
    float a[NUMEL], b[NUMEL], c[NUMEL];
    struct enas_rng r;
    int differ = 0;
    for (uint64_t k = 0; k < 20; k++) {
        enas__rng_seed(&r, 42, enas__augment_stream(1, 2, 3, k));
        enas__augment_image(chw, &o, &r, a);
        enas__rng_seed(&r, 42, enas__augment_stream(1, 2, 3, k));
        enas__augment_image(chw, &o, &r, b);
        CHECK(same_bits(a, b, sizeof a));
        enas__rng_seed(&r, 43, enas__augment_stream(1, 2, 3, k));
        enas__augment_image(chw, &o, &r, c);
        differ += !same_bits(a, c, sizeof a);
    }
    CHECK_MSG(differ >= 15, "another seed changed only %d of 20 images", differ);
    /* every field of the stream tuple matters, and swapping fields matters */
    uint64_t base = enas__augment_stream(1, 2, 3, 4);
    CHECK(base != enas__augment_stream(0, 2, 3, 4));
    CHECK(base != enas__augment_stream(1, 3, 3, 4));
    CHECK(base != enas__augment_stream(1, 2, 4, 4));
    CHECK(base != enas__augment_stream(1, 2, 3, 5));
    CHECK(enas__augment_stream(1, 2, 3, 4) != enas__augment_stream(1, 3, 2, 4));
    CHECK(base == enas__augment_stream(1, 2, 3, 4));
}

int main(void)
{
    test_eval();
    test_crop_flip();
    test_cutout();
    test_seeding();
    return check_exit("test_augment");
}
