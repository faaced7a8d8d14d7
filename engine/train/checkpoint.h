/* checkpoint.h - a run's full state in one file: scalars (position in the run, baseline, random
 * streams), the best architecture so far at its real length, and named float arrays (shared weights, BN
 * statistics, optimizer and controller states). Written atomically (temporary file, fsync, rename, fsync
 * of the folder) with a format version and a checksum; reading verifies everything before it changes
 * anything. A checkpoint never holds a NaN or an infinity: the writer refuses one, the reader too.
 * Byte order: the machine's (little-endian on every platform enas builds for); the magic catches a foreign
 * file. */
#ifndef ENAS_ENGINE_CHECKPOINT_H
#define ENAS_ENGINE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "enas/status.h"

/* 2: fields stored one by one, the best architecture at its real length (version 1 stored a fixed
 * int32_t[512] that longer macro architectures overran). */
#define ENAS_CKPT_VERSION 2

struct enas_ckpt_state {
    char space[64];        /* the space the weights belong to */
    int64_t epoch;         /* the epoch to run next (or to continue) */
    int64_t batch;         /* shared-weight batches of that epoch already done */
    int64_t phase;         /* 0: in phase 1 (shared weights), 1: phase 1 done for this epoch */
    int64_t global_step;   /* shared-weight steps so far */
    int64_t ctrl_updates;  /* controller updates so far */
    int64_t ctrl_in_epoch; /* controller updates done in the current epoch's phase 2 */
    int64_t adam_t;        /* the controller optimizer's step count */
    int64_t metrics_bytes; /* length of metrics.jsonl when written: later lines are dropped on resume */
    double baseline;
    uint64_t seed;
    uint64_t rng[4];    /* the controller's sampling stream */
    double best_reward; /* the best derived architecture so far (0 until an epoch ends) */
    int64_t best_len;   /* its length: 0 until an epoch ends */
    /* Not stored as such: best_len ints follow the fields in the file. */
    int32_t *best_arch; /* borrowed from the owner, room for best_cap ints */
    int64_t best_cap;
};

/* A named array of floats, borrowed from its owner. */
struct enas_ckpt_array {
    const char *name;
    float *data;
    int64_t numel;
};

/* Writes path atomically. An array or a field holding a NaN or an infinity is refused before anything is
 * written (ENAS_ERR_NUMERIC, naming the array and the index); so is a write that fails (ENAS_ERR_IO, with
 * the system's reason: a full disk, a file-size limit). Either way the previous checkpoint stays in place
 * and no temporary file is left. Errors name the path. */
enum enas_status enas__checkpoint_write(const char *path, const struct enas_ckpt_state *s,
                                        const struct enas_ckpt_array *a, size_t n, struct enas_err *err);

/* The run's own checks of a state read from a file (ranges against its settings); called after every
 * check of the file itself and before anything is changed. Messages are complete (they name the file). */
typedef enum enas_status (*enas_ckpt_check_fn)(void *ctx, const char *path, const struct enas_ckpt_state *s,
                                               struct enas_err *err);

/* Reads path into *s and into the arrays, which must match the file exactly (same names, order and
 * sizes). s->best_arch and s->best_cap say where the best architecture goes and how long it may be; they
 * are kept. Every check (a regular file of the size the arrays need, magic, version, checksum, space,
 * finite numbers, names, sizes, then check(ctx, ...) when not NULL) runs before anything is written; on
 * error nothing is changed and the message names the path and what is wrong. */
enum enas_status enas__checkpoint_read(const char *path, const char *space, struct enas_ckpt_state *s,
                                       const struct enas_ckpt_array *a, size_t n, enas_ckpt_check_fn check,
                                       void *ctx, struct enas_err *err);

/* A digest (FNV-1a) of the arrays of a checkpoint file, after verifying its checksum: equal digests mean
 * bit-identical weights and optimizer states, whatever the run's position or log sizes. */
enum enas_status enas__checkpoint_digest(const char *path, uint64_t *digest, struct enas_err *err);

/* For tools that inspect or craft checkpoints (tests): the file's header and state fields, in file order. */
enum enas_ckpt_kind { ENAS_CKPT_TEXT, ENAS_CKPT_U32, ENAS_CKPT_I64, ENAS_CKPT_U64, ENAS_CKPT_F64 };
struct enas_ckpt_field {
    const char *name;
    enum enas_ckpt_kind kind;
    size_t count;  /* values (bytes for TEXT) */
    size_t offset; /* from the start of the file */
};
const struct enas_ckpt_field *enas__checkpoint_fields(size_t *n);
/* The checksum of the first len bytes (stored after them, at the end of the file). */
uint64_t enas__checkpoint_checksum(const void *p, size_t len);

#endif
