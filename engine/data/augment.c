/* augment.c - pad-crop, flip, cutout and normalisation of one CIFAR-10 image.
 * Normalised values come from a per-channel table of the 256 possible pixels, computed with the same
 * float expression as enas__augment_normalize, so both paths give identical bits. */
#include "data/augment.h"

#include <pthread.h>
#include <string.h>

#define SIDE  32
#define PLANE (SIDE * SIDE)

const float enas__augment_mean[3] = {0.49139968f, 0.48215827f, 0.44653124f};
const float enas__augment_std[3] = {0.24703233f, 0.24348505f, 0.26158768f};

static float norm_table[3][256];
static pthread_once_t norm_once = PTHREAD_ONCE_INIT;

float enas__augment_normalize(int channel, uint8_t pixel)
{
    return ((float)pixel / 255.0f - enas__augment_mean[channel]) / enas__augment_std[channel];
}

static void fill_norm_table(void)
{
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 256; p++)
            norm_table[c][p] = enas__augment_normalize(c, (uint8_t)p);
}

static void eval_image(const uint8_t *chw, float *hwc)
{
    for (int i = 0; i < PLANE; i++)
        for (int c = 0; c < 3; c++)
            hwc[i * 3 + c] = norm_table[c][chw[c * PLANE + i]];
}

/* Output (y, x) reads source (y + dy - PAD, sx(x)) where the source may lie in the padding. */
static void crop_flip_image(const uint8_t *chw, int dy, int dx, int flip, float *hwc)
{
    for (int y = 0; y < SIDE; y++) {
        int sy = y + dy - ENAS_AUGMENT_PAD;
        for (int x = 0; x < SIDE; x++) {
            int sx = (flip ? SIDE - 1 - x : x) + dx - ENAS_AUGMENT_PAD;
            float *o = hwc + (size_t)(y * SIDE + x) * 3;
            int inside = sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE;
            for (int c = 0; c < 3; c++)
                o[c] = norm_table[c][inside ? chw[c * PLANE + sy * SIDE + sx] : 0];
        }
    }
}

static void cutout_image(int cy, int cx, int size, float *hwc)
{
    int y1 = cy + size < SIDE ? cy + size : SIDE;
    int x1 = cx + size < SIDE ? cx + size : SIDE;
    for (int y = cy; y < y1; y++)
        memset(hwc + (size_t)(y * SIDE + cx) * 3, 0, sizeof(float) * 3 * (size_t)(x1 - cx));
}

void enas__augment_image(const uint8_t *chw, const struct enas_augment_opts *o, struct enas_rng *r,
                         float *hwc)
{
    pthread_once(&norm_once, fill_norm_table);
    if (!o->train) {
        eval_image(chw, hwc);
        return;
    }
    /* draw order is part of the contract (header): changing it changes every seeded run */
    int dy = (int)enas__rng_below(r, 2 * ENAS_AUGMENT_PAD + 1);
    int dx = (int)enas__rng_below(r, 2 * ENAS_AUGMENT_PAD + 1);
    int flip = (int)enas__rng_below(r, 2);
    crop_flip_image(chw, dy, dx, flip, hwc);
    if (o->cutout > 0) {
        int cy = (int)enas__rng_below(r, SIDE);
        int cx = (int)enas__rng_below(r, SIDE);
        cutout_image(cy, cx, o->cutout, hwc);
    }
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t enas__augment_stream(uint64_t purpose, uint64_t epoch, uint64_t batch, uint64_t pos)
{
    /* each field goes through the mixer separately, so (e, b) and (b, e) differ */
    uint64_t h = mix64(purpose + 0x9e3779b97f4a7c15ull);
    h = mix64(h ^ (epoch + 0x632be59bd9b4e019ull));
    h = mix64(h ^ (batch + 0x8cb92ba72f3d8dd7ull));
    return mix64(h ^ (pos + 0xd1b54a32d192ed03ull));
}
