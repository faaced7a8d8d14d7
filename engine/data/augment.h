/* augment.h - one CIFAR-10 record (uint8 CHW) to one normalised float image (HWC), with the NNI
 * example's transforms: RandomCrop(32, padding=4), RandomHorizontalFlip, then per-channel
 * normalisation, plus TF's optional cutout. Pure functions: all randomness comes from the rng passed in,
 * so the result depends only on how that rng was seeded, never on the thread that runs it. */
#ifndef ENAS_ENGINE_AUGMENT_H
#define ENAS_ENGINE_AUGMENT_H

#include <stdint.h>

#include "util/rng.h"

#define ENAS_AUGMENT_PAD 4 /* zero padding per side before the random crop */

/* The reference constants (NNI example, torchvision convention): value = (pixel/255 - mean) / std. */
extern const float enas__augment_mean[3];
extern const float enas__augment_std[3];

struct enas_augment_opts {
    int train;  /* 1: pad-crop, flip and cutout; 0: the eval transform, normalisation only */
    int cutout; /* side of the cutout square, 0 = off; only with train. 1..32 */
};

/* The eval transform of one value: ((float)pixel / 255.0f - mean[c]) / std[c], in float. The padding
 * of the crop is pixel 0 (black in [0,1] space, as torchvision pads before normalising), so padded
 * places read enas__augment_normalize(c, 0) = -mean/std. */
float enas__augment_normalize(int channel, uint8_t pixel);

/* Writes the 32 x 32 x 3 float image (HWC) of the record chw (3 x 32 x 32 bytes) to hwc.
 * With o->train it draws from r, in this order: crop offset dy, dx (each uniform in 0..8 of the
 * 40 x 40 padded image), flip (p = 0.5), then if o->cutout > 0 the square's top-left corner cy, cx (each
 * uniform in 0..31). Output (y, x) is padded (y + dy, (flip ? 31 - x : x) + dx); the cutout square
 * [cy, cy+s) x [cx, cx+s), clipped at the border, is set to 0 afterwards (TF applies it after crop and
 * flip; 0 is the mean colour in normalised space). Without o->train, r is not used and may be NULL. */
void enas__augment_image(const uint8_t *chw, const struct enas_augment_opts *o, struct enas_rng *r,
                         float *hwc);

/* The rng stream id of image pos of batch `batch` of `epoch` for the data stream `purpose` (which
 * batcher: training half, controller half, test set...). A hash, so that nearby tuples give unrelated
 * streams; seed an enas_rng with (seed, this). */
uint64_t enas__augment_stream(uint64_t purpose, uint64_t epoch, uint64_t batch, uint64_t pos);

#endif
