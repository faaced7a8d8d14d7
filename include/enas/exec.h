/* exec.h - the per-call context that the engine hands to ops and spaces while a network runs. */
#ifndef ENAS_EXEC_H
#define ENAS_EXEC_H

#include <stddef.h>
#include <stdint.h>

struct enas_host;
struct enas_host_api;

/* Owned by the engine; valid for the duration of one call. Ops never keep the pointer. */
struct enas_exec {
    const struct enas_host_api *api;
    struct enas_host *host;
    void *backend; /* the selected backend's context (its init's result); NULL for op-only plugins */
    int training;  /* 1: batch-statistics BN, active dropout, forward recorded for backward */
    int threads;   /* worker threads the op may use (the `threads` setting resolved) */
    double arg;    /* per-call scalar given to op_call (drop path: keep probability); NAN if none */
    /* forward only: memory kept with this call's tape record and handed back to backward as `saved`
     * (masks, batch statistics). NULL when out of memory. Freed by the engine after backward. */
    void *(*save)(struct enas_exec *x, size_t bytes);
    /* backward only: what forward got from save(), or NULL if it saved nothing. */
    void *saved;
    /* Scratch memory valid until the op returns; 64-byte aligned; NULL when out of memory. */
    void *(*scratch)(struct enas_exec *x, size_t bytes);
    /* The call's random stream (dropout masks); deterministic under the run's seed. */
    uint64_t (*rng_u64)(struct enas_exec *x);
};

#endif
