/* batcher.h - minibatches of one index range of a loaded CIFAR-10 set, prepared ahead by worker threads.
 * Every random choice is drawn from (seed, stream, epoch, batch, position): the batches are
 * bit-identical whatever the number of workers and whichever worker prepares which batch. */
#ifndef ENAS_ENGINE_BATCHER_H
#define ENAS_ENGINE_BATCHER_H

#include <stdint.h>

#include "enas/status.h"
#include "enas/tensor.h"

#include "data/cifar10.h"

struct enas_batcher;

struct enas_batcher_opts {
    const struct enas_cifar10 *data; /* borrowed; must outlive the batcher and not change */
    int64_t begin, end;              /* the images [begin, end) of data; 0 <= begin < end <= data->n */
    int64_t batch_size;              /* >= 1 */
    int drop_last;   /* 1: drop the last partial batch; 0 (the references' default): keep it, smaller */
    int shuffle;     /* 1: a new permutation every epoch; 0: in index order (evaluation) */
    int augment;     /* 1: the training transform (pad-crop, flip, cutout); 0: normalise only */
    int cutout;      /* cutout side with augment, 0 = off, else 1..32 */
    uint64_t seed;   /* the run's seed */
    uint64_t stream; /* tells apart batchers that share a seed: e.g. 0 training half, 1 controller half */
    int workers;     /* background threads, 0 = every batch is prepared in the caller by next() */
    int depth;       /* ring buffers (how far workers run ahead + batches the caller holds); 0 = default
                      * (max(2, 2 * workers)) */
};

/* One minibatch. Owned by the batcher; valid from next() until release() or start_epoch(). */
struct enas_batch {
    struct enas_tensor images; /* n x 32 x 32 x 3, NHWC, normalised */
    int32_t *labels;           /* n labels in 0..9 */
    int64_t n;                 /* batch_size, or fewer for the last batch of an epoch */
    int64_t epoch;
    int64_t index; /* batch number within the epoch, from 0 */
};

/* Checks the options, allocates every buffer and starts the workers; no epoch runs until
 * start_epoch. On error *out is NULL. */
enum enas_status enas__batcher_create(const struct enas_batcher_opts *o, struct enas_batcher **out,
                                      struct enas_err *err);

/* Stops the workers and frees everything; accepts NULL. Safe mid-epoch and with batches still held
 * (they become invalid): workers finish at most the batch each is preparing, then exit. */
void enas__batcher_destroy(struct enas_batcher *b);

/* Begins epoch `epoch` (any number; its permutation is drawn from (seed, stream, epoch)), abandoning
 * what is left of the current one; workers start preparing at once. Every batch taken must have been
 * released first (else ENAS_ERR_INVALID_ARG), because their buffers are reused. */
enum enas_status enas__batcher_start_epoch(struct enas_batcher *b, int64_t epoch, struct enas_err *err);
/* The same, from batch `first` of the epoch on (0 <= first <= the batches per epoch): the batches before it
 * are not prepared at all. */
enum enas_status enas__batcher_start_at(struct enas_batcher *b, int64_t epoch, int64_t first,
                                        struct enas_err *err);

/* The next batch of the epoch in order, waiting for a worker if needed. At the end of the epoch returns
 * ENAS_OK with *out = NULL. ENAS_ERR_INVALID_ARG if no epoch was started or if the caller holds so
 * many batches that the next one has no free buffer (release some, or raise depth). */
enum enas_status enas__batcher_next(struct enas_batcher *b, const struct enas_batch **out,
                                    struct enas_err *err);

/* Like next, but endless: at the end of an epoch it starts epoch + 1 and goes on (the caller must
 * have released every batch by then, as for start_epoch). */
enum enas_status enas__batcher_next_cycling(struct enas_batcher *b, const struct enas_batch **out,
                                            struct enas_err *err);

/* Hands a batch's buffer back for reuse. NULL is ignored. */
void enas__batcher_release(struct enas_batcher *b, const struct enas_batch *batch);

/* Batches per epoch: ceil(len / batch_size), or floor with drop_last. */
int64_t enas__batcher_num_batches(const struct enas_batcher *b);

#endif
