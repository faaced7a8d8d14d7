/* checkpoint.h - a run's full state in one file: scalars (position in the run, baseline, random
 * streams) and named float arrays (shared weights, BN statistics, optimizer and controller states).
 * Written atomically (temporary file, fsync, rename, fsync of the folder) with a format version and a
 * checksum; reading verifies everything before it changes anything. Byte order: the machine's
 * (little-endian on every platform enas builds for); the magic catches a foreign file. */
#ifndef ENAS_ENGINE_CHECKPOINT_H
#define ENAS_ENGINE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "enas/status.h"

#define ENAS_CKPT_VERSION 1

struct enas_ckpt_state {
    char space[64];           /* the space the weights belong to */
    int64_t epoch;            /* the epoch to run next (or to continue) */
    int64_t batch;            /* shared-weight batches of that epoch already done */
    int64_t phase;            /* 0: in phase 1 (shared weights), 1: phase 1 done for this epoch */
    int64_t global_step;      /* shared-weight steps so far */
    int64_t ctrl_updates;     /* controller updates so far */
    int64_t ctrl_in_epoch;    /* controller updates done in the current epoch's phase 2 */
    int64_t adam_t;           /* the controller optimizer's step count */
    int64_t metrics_bytes;    /* length of metrics.jsonl when written: later lines are dropped on resume */
    double baseline;
    uint64_t seed;
    uint64_t rng[4];          /* the controller's sampling stream */
    double best_reward;       /* the best derived architecture so far, and its length and ints */
    int64_t best_len;
    int32_t best_arch[512];
};

/* A named array of floats, borrowed from its owner. */
struct enas_ckpt_array {
    const char *name;
    float *data;
    int64_t numel;
};

/* Writes path atomically. Errors name the path. */
enum enas_status enas__ckpt_write(const char *path, const struct enas_ckpt_state *s, const struct enas_ckpt_array *a,
                                  size_t n, struct enas_err *err);

/* Reads path into *s and into the arrays, which must match the file exactly (same names, order and
 * sizes). Every check (magic, version, size, checksum, space, names, sizes) runs before anything is
 * written; on error nothing is changed and the message names the path and what is wrong. */
enum enas_status enas__ckpt_read(const char *path, const char *space, struct enas_ckpt_state *s,
                                 const struct enas_ckpt_array *a, size_t n, struct enas_err *err);

/* A digest (FNV-1a) of the arrays of a checkpoint file, after verifying its checksum: equal digests mean
 * bit-identical weights and optimizer states, whatever the run's position or log sizes. */
enum enas_status enas__ckpt_digest(const char *path, uint64_t *digest, struct enas_err *err);

#endif
